<?php
// session.php starts the session shared with the Go service; every page
// includes it first. Both sides fail closed: when the session cannot be
// started — the store is down, the lock was not acquired in time, the data
// does not decode — the page answers 503 instead of running without it.

header('Content-Type: text/plain; charset=utf-8');

// The key under which sessionkit keeps flash messages in PHP's format: a
// list of strings, shown once by whichever side reads them first.
const FLASHES = '__sessionkit_flashes';

function start_session(array $options = []): void
{
    // phpredis 5 reports a lock it gave up on with a notice, then reads
    // the session without the lock (its write would then fail); phpredis
    // 6 and the other failures warn. Either way: no page.
    set_error_handler(function (int $no, string $msg): bool {
        throw new ErrorException($msg, 0, $no);
    }, E_WARNING | E_NOTICE);
    try {
        $started = session_start($options);
    } catch (ErrorException $e) {
        error_log('session_start: ' . $e->getMessage());
        $started = false;
    } finally {
        restore_error_handler();
    }
    if (!$started) {
        if (session_status() === PHP_SESSION_ACTIVE) {
            session_abort(); // write nothing, release what is held
        }
        http_response_code(503);
        exit("session unavailable\n");
    }
}

function require_post(): void
{
    if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
        http_response_code(405);
        exit("POST only\n");
    }
}
