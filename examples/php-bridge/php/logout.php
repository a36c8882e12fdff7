<?php
// POST: log out, on both sides: the session is destroyed and the cookie
// removed (session_destroy() alone keeps the cookie).
require __DIR__ . '/session.php';
require_post();
start_session();
$_SESSION = [];
session_destroy();
$p = session_get_cookie_params();
setcookie(session_name(), '', [
    'expires' => 1,
    'path' => $p['path'],
    'domain' => $p['domain'],
    'secure' => $p['secure'],
    'httponly' => $p['httponly'],
    'samesite' => $p['samesite'],
]);
echo "logged out\n";
