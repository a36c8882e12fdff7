<?php
// GET: the counter. POST: add one. Go's /counter counts in the same
// session; the session lock keeps every increment of both.
require __DIR__ . '/session.php';
if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    start_session(['read_and_close' => true]);
    echo $_SESSION['n'] ?? 0, "\n";
    exit;
}
start_session();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
echo $_SESSION['n'], "\n";
