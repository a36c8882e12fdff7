<?php
// GET: who is logged in and what is in the cart (Go's /cart adds to it).
require __DIR__ . '/session.php';
start_session(['read_and_close' => true]); // only reads: releases the lock at once
echo 'user: ', $_SESSION['user'] ?? 'anonymous', "\n";
foreach ($_SESSION['cart'] ?? [] as $item) {
    echo "cart: $item\n";
}
