<?php
// session.php lets phpcodec's tests use PHP's own session module. It reads
// a JSON request on stdin and answers JSON on stdout:
//
//   php session.php write HANDLER DIR ID   {"statements": [...], "sort": bool}
//       starts session ID in DIR, runs the PHP statements (they fill
//       $_SESSION), sorts the keys if asked, and lets PHP write the file.
//   php session.php read HANDLER DIR ID    {"name": ["key", ...], ...}
//       starts session ID as PHP reads it from DIR and answers
//       {"dumps": {"name": base64(var_dump of each key)}, "encoded": base64(session_encode())}.
//   php session.php decode HANDLER DIR -   ["base64 data", ...]
//       answers, for each input, whether session_decode() accepts it.
//   php session.php floats - - -           ["16 hex digits of a float64's bits", ...]
//       answers serialize() of each float (the hex digits are big-endian).

enum Suit: string
{
    case Hearts = 'H';
    case Spades = 'S';
}

enum Pure
{
    case A;
}

class Pt
{
    public $x = 1;
    protected $y = 2;
    private $z = 3;
}

class Magic
{
    public array $a = [1];

    public function __serialize(): array
    {
        return [10, 'k' => $this->a];
    }

    public function __unserialize(array $data): void
    {
        $this->a = $data['k'];
    }
}

class OldSer implements Serializable
{
    public string $data = 'raw:q';

    public function serialize(): string
    {
        return $this->data;
    }

    public function unserialize(string $data): void
    {
        $this->data = $data;
    }
}

[, $mode, $handler, $dir, $id] = $argv;
$in = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);

if ($mode === 'floats') {
    $out = [];
    foreach ($in as $hex) {
        $out[] = serialize(unpack('E', hex2bin($hex))[1]);
    }
    echo json_encode($out, JSON_THROW_ON_ERROR);
    exit;
}

ini_set('session.save_handler', 'files');
ini_set('session.save_path', $dir);
ini_set('session.serialize_handler', $handler);
ini_set('session.use_cookies', '0');
ini_set('session.use_strict_mode', '0');
ini_set('session.cache_limiter', '');
ini_set('session.gc_probability', '0');

function start(string $id): void
{
    session_id($id);
    if (!session_start()) {
        fwrite(STDERR, "session_start failed\n");
        exit(1);
    }
}

switch ($mode) {
    case 'write':
        start($id);
        foreach ($in['statements'] as $php) {
            eval($php);
        }
        if ($in['sort']) {
            ksort($_SESSION, SORT_STRING);
        }
        session_write_close();
        echo '{}';
        break;

    case 'read':
        start($id);
        $dumps = [];
        foreach ($in as $name => $keys) {
            ob_start();
            foreach ($keys as $k) {
                if (array_key_exists($k, $_SESSION)) {
                    var_dump($_SESSION[$k]);
                } else {
                    echo "MISSING $k\n";
                }
            }
            // Object handles (#3) depend on the order PHP created them in.
            $dumps[$name] = base64_encode(preg_replace('/^(\s*object\(.*?\))#\d+/m', '$1', ob_get_clean()));
        }
        echo json_encode(['dumps' => $dumps, 'encoded' => base64_encode((string) session_encode())], JSON_THROW_ON_ERROR);
        session_abort();
        break;

    case 'decode':
        $out = [];
        foreach ($in as $i => $data) {
            start("decode$i");
            $out[] = @session_decode(base64_decode($data));
            if (session_status() === PHP_SESSION_ACTIVE) {
                session_abort();
            }
        }
        echo json_encode($out, JSON_THROW_ON_ERROR);
        break;

    default:
        fwrite(STDERR, "unknown mode $mode\n");
        exit(2);
}
