// Package phpcodec reads and writes PHP's session formats, so that Go and
// PHP can share one session store during a migration. The three values PHP,
// PHPSerialize and PHPBinary are PHP's session.serialize_handler formats
// "php" (PHP's default), "php_serialize" and "php_binary"; each has the
// Encode and Decode methods of a core.Codec. ForHandler picks one by the
// name in php.ini.
//
// The bytes are PHP 8.2's, byte for byte: floats as serialize() prints them
// with the default serialize_precision = -1 (d:0.1; d:1.0E+25; d:-0;
// d:INF;), objects and references kept as PHP wrote them. A session PHP
// wrote decodes and encodes back to the same bytes whenever its keys are in
// sorted byte order, the order in which Encode writes a Go map; otherwise
// only the order of the top-level keys (and so the numbers inside
// back-references) changes.
//
// # Go and PHP values
//
//	PHP                             Decode gives                  Encode takes
//	null                            nil                           nil, nil pointers of the types below
//	bool                            bool                          bool
//	int                             int64                         int, int8…int64, uint…uint64 up to math.MaxInt64
//	float                           float64                       float64, float32
//	string (bytes)                  string                        string, []byte
//	array with keys 0…n-1 in order  []any                         []any, []string, []int
//	any other array                 *Array (ordered entries)      *Array, Array, map[string]any, map[string]string
//	object (O:)                     *Object                       *Object, Object
//	Serializable object (C:)        *CustomObject                 *CustomObject, CustomObject
//	enum case (E:)                  *Enum                         *Enum, Enum
//	reference (&; R: in the data)   the same *Ref in each place   the same *Ref in each place
//	one object in two places (r:)   the same pointer              the same pointer
//
// Everything else — structs, time.Time, time.Duration, other maps and
// slices, uint64 above math.MaxInt64 — makes Encode fail with
// ErrUnrepresentable; nothing is converted loosely or dropped. Go maps are
// written with their keys sorted; a key that PHP treats as an integer ("5",
// "-1", not "05") becomes one (i:5), as it does in PHP. An empty array
// decodes as an empty []any, so a Go map that went through PHP's format
// comes back as *Array, or as []any when its keys were "0", "1", ….
//
// Objects are never instantiated: an *Object is its class name and its
// properties, under PHP's mangled names ("\x00*\x00name" for protected,
// "\x00Class\x00name" for private ones; Object.Get finds either). PHP reads
// them back as instances of the class, or as __PHP_Incomplete_Class, which
// it writes back unchanged.
//
// # What PHP cannot hold
//
// Encode refuses, with ErrUnrepresentable, a session that PHP would lose
// part of: in the php format a key containing "|" (PHP writes an empty
// session instead); in the php and php_binary formats a key that PHP reads
// as an integer (PHP code cannot reach $_SESSION['5'] there, and PHP drops
// integer keys when it writes); in php_binary a key longer than 127 bytes
// (PHP skips it); arrays or objects nested deeper than 4096 levels (PHP's
// unserialize_max_depth; a Go value that contains itself hits this limit);
// two keys of one *Array that PHP sees as one (5 and "5").
//
// # Untrusted input
//
// Decode reads what PHP's own decoder reads, with its leniencies (i:+5;,
// i:007;, d:.5;, d:1e3;, S: escaped strings; bytes after a php_serialize
// array are ignored). It refuses, with ErrCorrupt, what PHP never writes
// and would read only by losing data: integers out of int64's range (PHP
// clamps them), a key twice in one array, object or session (PHP keeps the
// last), php_serialize data that is not an array or that holds a reference
// to the session array itself. Decode never panics, nests at most 4096
// levels like PHP, and checks every length and count against the bytes
// left before it allocates, so memory stays proportional to the input.
package phpcodec
