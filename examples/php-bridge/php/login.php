<?php
// POST user=NAME: log in. The Go service sees the user at once.
require __DIR__ . '/session.php';
require_post();
$user = (string)($_POST['user'] ?? '');
if ($user === '') {
    http_response_code(400);
    exit("user missing\n");
}
start_session();
session_regenerate_id(true); // a new ID for the logged-in session; Go follows the cookie
$_SESSION['user'] = $user;
echo "logged in as $user\n";
