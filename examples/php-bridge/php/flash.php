<?php
// GET: show the flash messages (from either side) once. POST msg=TEXT: add one.
require __DIR__ . '/session.php';
start_session();
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $_SESSION[FLASHES][] = (string)($_POST['msg'] ?? '');
    echo "flash added\n";
    exit;
}
foreach ($_SESSION[FLASHES] ?? [] as $msg) {
    echo "flash: $msg\n";
}
unset($_SESSION[FLASHES]);
