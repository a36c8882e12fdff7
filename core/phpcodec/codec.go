package phpcodec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Codec is one of PHP's session.serialize_handler formats. Its Encode and
// Decode methods make it a core.Codec. The zero value is PHP, the format PHP
// uses by default.
type Codec int

// PHP's three session serializers.
const (
	// PHP is the "php" handler, PHP's default: KEY|VALUE for each session
	// key, back to back.
	PHP Codec = iota
	// PHPSerialize is the "php_serialize" handler: serialize($_SESSION).
	PHPSerialize
	// PHPBinary is the "php_binary" handler: a length byte, the key and the
	// value for each session key.
	PHPBinary
)

var handlerNames = [...]string{PHP: "php", PHPSerialize: "php_serialize", PHPBinary: "php_binary"}

// ForHandler returns the codec for a session.serialize_handler name as PHP's
// ini file spells it: "php", "php_serialize" or "php_binary".
func ForHandler(name string) (Codec, error) {
	if i := slices.Index(handlerNames[:], name); i >= 0 {
		return Codec(i), nil
	}
	return 0, fmt.Errorf("phpcodec: unknown session.serialize_handler %q (want php, php_serialize or php_binary)", name)
}

// String returns the codec's session.serialize_handler name.
func (c Codec) String() string {
	if c.valid() {
		return handlerNames[c]
	}
	return fmt.Sprintf("phpcodec.Codec(%d)", int(c))
}

func (c Codec) valid() bool { return c >= 0 && int(c) < len(handlerNames) }

// Encode writes values in the codec's format, byte for byte as PHP 8.2 would
// write the same $_SESSION with its keys in sorted byte order (a Go map has
// no order of its own). Values that PHP cannot hold, and keys that PHP would
// drop or could not reach, make Encode fail with ErrUnrepresentable; nothing
// is ever left out silently.
func (c Codec) Encode(values map[string]any) ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("%w: %v", ErrUnrepresentable, c)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	e := encoder{}
	if c == PHPSerialize {
		// serialize($_SESSION): the session array itself is value 1.
		e.n = 1
		e.buf = append(e.buf, "a:"...)
		e.buf = appendUint(e.buf, uint64(len(keys)))
		e.buf = append(e.buf, ":{"...)
		if len(keys) > 0 {
			e.depth = 1
		}
	}
	for _, k := range keys {
		switch c {
		case PHP:
			if err := checkTopKey(k, true); err != nil {
				return nil, err
			}
			e.buf = append(e.buf, k...)
			e.buf = append(e.buf, '|')
		case PHPBinary:
			if err := checkTopKey(k, false); err != nil {
				return nil, err
			}
			if len(k) > maxBinaryKey {
				return nil, &encodeError{path: []string{strconv.Quote(k)}, reason: fmt.Sprintf("php_binary keys are at most %d bytes (PHP skips longer ones)", maxBinaryKey)}
			}
			e.buf = append(e.buf, byte(len(k)))
			e.buf = append(e.buf, k...)
		case PHPSerialize:
			e.appendKey(k)
		}
		if err := e.value(values[k]); err != nil {
			return nil, prependPath(err, strconv.Quote(k))
		}
	}
	if c == PHPSerialize {
		e.buf = append(e.buf, '}')
	}
	if e.buf == nil {
		e.buf = []byte{}
	}
	return e.buf, nil
}

// maxBinaryKey is the longest key php_binary can store: its length byte
// keeps the top bit for a flag PHP no longer uses.
const maxBinaryKey = 127

// checkTopKey rejects the session keys that the php and php_binary formats
// cannot carry. A key that looks like an integer is one PHP code cannot
// reach: $_SESSION['5'] means $_SESSION[5], an integer key, which these
// formats skip when PHP writes the session. In the php format a key with
// "|" would end early; PHP writes an empty session instead.
func checkTopKey(k string, noPipe bool) error {
	if _, numeric := intKey(k); numeric {
		return &encodeError{path: []string{strconv.Quote(k)}, reason: "an integer-like session key is unreachable from PHP code and dropped when PHP writes the session"}
	}
	if noPipe && strings.IndexByte(k, '|') >= 0 {
		return &encodeError{path: []string{strconv.Quote(k)}, reason: `a key containing "|" makes PHP write an empty session in the php format`}
	}
	return nil
}

// Decode parses a session PHP wrote with this codec's handler. Empty data is
// an empty session. PHP arrays whose keys are 0, 1, … n-1 in order become
// []any, other arrays *Array; objects become *Object, *CustomObject or
// *Enum; references become shared *Ref values (see the package
// documentation for the whole mapping).
func (c Codec) Decode(data []byte) (map[string]any, error) {
	if !c.valid() {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, c)
	}
	d := decoder{data: data}
	switch c {
	case PHPSerialize:
		return d.sessionSerialize()
	case PHPBinary:
		return d.sessionBinary()
	}
	return d.sessionPHP()
}
