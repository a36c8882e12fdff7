<?php
// GET: what Go's /types stored, as PHP sees it. POST: store one value of
// each kind for Go's /types to print.
require __DIR__ . '/session.php';

function describe(mixed $v): string
{
    if ($v === null) {
        return 'null';
    }
    if (!is_array($v)) {
        return get_debug_type($v) . '(' . var_export($v, true) . ')';
    }
    $parts = [];
    foreach ($v as $k => $x) {
        $parts[] = var_export($k, true) . ' => ' . describe($x);
    }
    return '[' . implode(', ', $parts) . ']';
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    start_session(['read_and_close' => true]);
    echo describe($_SESSION['from_go'] ?? null), "\n";
    exit;
}
start_session();
$_SESSION['from_php'] = [
    'int' => 42,
    'float' => 0.1 + 0.2,
    'bool' => true,
    'null' => null,
    'string' => 'a "quoted" | string; with: separators',
    'list' => ['a', 'b'],
    'map' => ['k' => 'v', 7 => 'seven'],
];
echo "set\n";
