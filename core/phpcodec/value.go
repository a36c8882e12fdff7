package phpcodec

import "strconv"

// Array is a PHP array that is not a plain list: its keys are not 0, 1, …
// n-1 in order. Entries keep PHP's order, so the array is written back as
// PHP wrote it. A Key is an int64 or a string; a string that PHP would
// treat as an integer ("5", not "05") is an integer key, as in PHP.
type Array struct {
	Entries []Entry
}

// Entry is one key and value of an Array, or one property of an Object.
type Entry struct {
	Key   any // int64 or string; Encode also takes int
	Value any
}

// Get returns the value under key (an int, int64 or string, compared as PHP
// compares array keys: "5" and 5 are the same key).
func (a *Array) Get(key any) (any, bool) {
	return lookup(a.Entries, key)
}

// Object is a PHP object written by serialize() as O:, kept opaque: the
// class is never instantiated and the properties come back byte for byte.
// Property names are PHP's mangled ones: "name" for a public property,
// "\x00*\x00name" for a protected one and "\x00Class\x00name" for a private
// one of Class. A class with __serialize() may also use int64 keys.
//
// Decode returns *Object; the same pointer in two places is one PHP object
// (written as an r: back-reference the second time).
type Object struct {
	Class string
	Props []Entry
}

// Get returns the property called name as the object's own class sees it:
// the public, protected or private (of Class) property of that name.
func (o *Object) Get(name string) (any, bool) {
	for _, k := range [...]string{name, "\x00*\x00" + name, "\x00" + o.Class + "\x00" + name} {
		if v, ok := lookup(o.Props, k); ok {
			return v, true
		}
	}
	return nil, false
}

// CustomObject is a PHP object written as C: by a class implementing PHP's
// (deprecated) Serializable interface. Data is what the class's serialize()
// method returned, kept byte for byte. Decode returns *CustomObject. (PHP
// itself, when the class is not loaded, reads such an object as an empty
// __PHP_Incomplete_Class and writes it back without Data.)
type CustomObject struct {
	Class string
	Data  string
}

// Enum is a PHP 8.1 enum case, written as E:"Class:Case". Decode returns
// *Enum.
type Enum struct {
	Class string
	Case  string
}

// Ref is a PHP reference (&): every place that holds the same *Ref shares
// one variable, as $_SESSION['a'] = &$x; $_SESSION['b'] = &$x; do. PHP writes
// the value at the first place and an R: back-reference at the others.
// Value is never itself a *Ref.
type Ref struct {
	Value any
}

// lookup finds key among entries, comparing keys as PHP does.
func lookup(entries []Entry, key any) (any, bool) {
	want, ok := normKey(key)
	if !ok {
		return nil, false
	}
	for _, e := range entries {
		if k, ok := normKey(e.Key); ok && k == want {
			return e.Value, true
		}
	}
	return nil, false
}

// arrayKey is a key as PHP stores it: an integer or a non-integer string.
type arrayKey struct {
	s     string
	i     int64
	isStr bool
}

// value returns the key as an Entry holds it: int64 or string.
func (k arrayKey) value() any {
	if k.isStr {
		return k.s
	}
	return k.i
}

// normKey turns an Entry key into the key PHP would store, or reports that
// the key has a type PHP arrays cannot have.
func normKey(k any) (arrayKey, bool) {
	switch k := k.(type) {
	case int64:
		return arrayKey{i: k}, true
	case int:
		return arrayKey{i: int64(k)}, true
	case string:
		if i, ok := intKey(k); ok {
			return arrayKey{i: i}, true
		}
		return arrayKey{s: k, isStr: true}, true
	}
	return arrayKey{}, false
}

// intKey reports whether PHP treats the string s as an integer when it is
// used as an array key (ZEND_HANDLE_NUMERIC_STR): an optional "-" and
// decimal digits without a leading zero, within int64. "0" is one, "-0",
// "05", "+5" and " 5" are not.
func intKey(s string) (int64, bool) {
	if s == "" || len(s) > len("-9223372036854775808") {
		return 0, false
	}
	digits := s
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" || (digits[0] == '0' && (len(digits) > 1 || len(s) > 1)) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// validClassName reports whether PHP accepts name as a class name in
// serialized data: not empty, not starting with "\", and only letters,
// digits, "_", "\" and bytes from 0x80 (zend_is_valid_class_name).
func validClassName(name string) bool {
	if name == "" || name[0] == '\\' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isLabelByte(c) && c != '\\' {
			return false
		}
	}
	return true
}

// validCaseName reports whether name can name an enum case: a PHP label.
func validCaseName(name string) bool {
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isLabelByte(name[i]) {
			return false
		}
	}
	return true
}

func isLabelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}
