package phpcodec

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// decoder parses PHP's serialize() grammar as ext/standard/var_unserializer
// does, with the same leniencies (i:+5, i:007, d:.5, d:1e3, S: escapes), the
// same limits (element counts checked against the remaining input before
// anything is allocated, maxDepth) and the same back-reference numbering.
//
// Every value is parsed into a cell (a *any that will hold it). slots is
// PHP's var_hash: the cell of every value except R:, in order, so that
// "R:n;" and "r:n;" can find value n. R:n turns the value in cell n into a
// *Ref shared by both places.
type decoder struct {
	data  []byte
	pos   int
	slots []*any
	// children is a stack of the slot numbers of the elements of the arrays
	// being parsed (-1 for an R: element, which has none), so an array that
	// ends up an *Array can point its elements' slots at their new cells.
	children []int
	depth    int
	// promised counts the elements that the arrays and objects being parsed
	// still announce, each at least minElement bytes further on: a count
	// must fit what is left after them, or nested counts could each fit the
	// input alone and together allocate far more than it.
	promised int
}

// minElement is the fewest bytes an array element or property takes: "i:0;N;".
const minElement = 6

func (d *decoder) fail(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrCorrupt, d.pos, fmt.Sprintf(format, args...))
}

// namedCell is one session key and the cell holding its value.
type namedCell struct {
	name string
	cell *any
}

// sessionPHP parses the php format: KEY|VALUE, back to back. As in PHP, a
// key is everything up to the next "|" and the values share one
// back-reference numbering, starting at 1 for the first value.
func (d *decoder) sessionPHP() (map[string]any, error) {
	var vars []namedCell
	for d.pos < len(d.data) {
		bar := bytes.IndexByte(d.data[d.pos:], '|')
		if bar < 0 {
			return nil, d.fail("session key without \"|\"")
		}
		name := string(d.data[d.pos : d.pos+bar])
		d.pos += bar + 1
		cell := new(any)
		if err := d.value(cell); err != nil {
			return nil, err
		}
		vars = append(vars, namedCell{name, cell})
	}
	return d.collect(vars)
}

// sessionBinary parses the php_binary format: a length byte (its top bit
// ignored, as PHP does), the key, the value, back to back.
func (d *decoder) sessionBinary() (map[string]any, error) {
	var vars []namedCell
	for d.pos < len(d.data) {
		n := int(d.data[d.pos] & 0x7f)
		if d.pos+n >= len(d.data) {
			return nil, d.fail("session key runs past the end")
		}
		name := string(d.data[d.pos+1 : d.pos+1+n])
		d.pos += 1 + n
		cell := new(any)
		if err := d.value(cell); err != nil {
			return nil, err
		}
		vars = append(vars, namedCell{name, cell})
	}
	return d.collect(vars)
}

// collect builds the session from its keys once every back-reference is
// resolved (an R: may still turn an earlier value into a *Ref).
func (d *decoder) collect(vars []namedCell) (map[string]any, error) {
	m := make(map[string]any, len(vars))
	for _, v := range vars {
		if _, dup := m[v.name]; dup {
			return nil, fmt.Errorf("%w: session key %q appears twice", ErrCorrupt, v.name)
		}
		m[v.name] = *v.cell
	}
	return m, nil
}

// sessionSerialize parses the php_serialize format: one serialized array
// whose keys are the session keys (integer keys become their decimal
// string). As in PHP, "N;" is an empty session and bytes after the array
// are ignored.
func (d *decoder) sessionSerialize() (map[string]any, error) {
	if len(d.data) == 0 {
		return map[string]any{}, nil
	}
	var root any
	if err := d.value(&root); err != nil {
		return nil, err
	}
	switch r := root.(type) {
	case nil:
		return map[string]any{}, nil
	case []any:
		m := make(map[string]any, len(r))
		for i, v := range r {
			m[strconv.Itoa(i)] = v
		}
		return m, nil
	case *Array:
		m := make(map[string]any, len(r.Entries))
		for _, e := range r.Entries {
			m[keyString(e.Key)] = e.Value
		}
		return m, nil
	case *Ref:
		return nil, fmt.Errorf("%w: the session array holds a reference to itself", ErrCorrupt)
	}
	return nil, fmt.Errorf("%w: php_serialize data is a %s, not an array", ErrCorrupt, phpType(root))
}

// keyString is an array key as a session key: integers in decimal.
func keyString(k any) string {
	if i, ok := k.(int64); ok {
		return strconv.FormatInt(i, 10)
	}
	return k.(string)
}

func phpType(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	}
	return "object"
}

// value parses one value into cell.
func (d *decoder) value(cell *any) error {
	if d.pos >= len(d.data) {
		return d.fail("unexpected end of data")
	}
	c := d.data[d.pos]
	if c != 'R' {
		d.slots = append(d.slots, cell)
	}
	switch c {
	case 'N':
		if !d.skip("N;") {
			return d.fail("bad null")
		}
		*cell = nil
	case 'b':
		switch {
		case d.skip("b:0;"):
			*cell = false
		case d.skip("b:1;"):
			*cell = true
		default:
			return d.fail("bad bool")
		}
	case 'i':
		i, err := d.int()
		if err != nil {
			return err
		}
		*cell = i
	case 'd':
		f, err := d.float()
		if err != nil {
			return err
		}
		*cell = f
	case 's', 'S':
		s, err := d.string()
		if err != nil {
			return err
		}
		*cell = s
	case 'a':
		return d.array(cell)
	case 'O':
		return d.object(cell)
	case 'C':
		return d.custom(cell)
	case 'E':
		return d.enum(cell)
	case 'r':
		return d.objectRef(cell)
	case 'R':
		return d.ref(cell)
	default:
		return d.fail("unexpected %q", c)
	}
	return nil
}

// skip consumes lit if the input continues with it.
func (d *decoder) skip(lit string) bool {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return false
	}
	d.pos += len(lit)
	return true
}

// int parses "i:<int>;", an optional sign and at least one digit.
func (d *decoder) int() (int64, error) {
	d.pos += len("i:")
	start := d.pos
	i, digits, err := d.signed()
	if err != nil {
		return 0, err
	}
	if digits == 0 || !d.skip(";") {
		d.pos = start
		return 0, d.fail("bad int")
	}
	return i, nil
}

// signed parses what PHP's parse_iv2 does: an optional sign, then decimal
// digits, possibly none (PHP reads "O:3:\"Foo\"::{}" as 0 properties). A
// number out of int64's range is an error (PHP clamps it with a warning).
func (d *decoder) signed() (n int64, digits int, err error) {
	neg := false
	if d.pos < len(d.data) && (d.data[d.pos] == '-' || d.data[d.pos] == '+') {
		neg = d.data[d.pos] == '-'
		d.pos++
	}
	var u uint64
	for ; d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9'; d.pos++ {
		digit := uint64(d.data[d.pos] - '0')
		if u > (math.MaxUint64-digit)/10 {
			return 0, 0, d.fail("integer out of range")
		}
		u = u*10 + digit
		digits++
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), digits, nil
	case neg && u <= math.MaxInt64+1:
		return int64(-u), digits, nil
	}
	return 0, 0, d.fail("integer out of range")
}

// unsigned parses one or more decimal digits.
func (d *decoder) unsigned() (int, error) {
	start := d.pos
	n := 0
	for ; d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9'; d.pos++ {
		digit := int(d.data[d.pos] - '0')
		if n > (math.MaxInt32-digit)/10 {
			// No length or count in a session can be this large; the check
			// against the remaining input would fail anyway.
			return 0, d.fail("number too large")
		}
		n = n*10 + digit
	}
	if d.pos == start {
		return 0, d.fail("digits expected")
	}
	return n, nil
}

// float parses "d:<float>;": NAN, INF, -INF or a decimal number with an
// optional exponent, in the forms PHP's lexer accepts (5, -.5, 5., 1e3,
// 1.5E+300).
func (d *decoder) float() (float64, error) {
	d.pos += len("d:")
	start := d.pos
	switch {
	case d.skip("NAN;"):
		return math.NaN(), nil
	case d.skip("INF;"):
		return math.Inf(1), nil
	case d.skip("-INF;"):
		return math.Inf(-1), nil
	}
	p := d.pos
	digitsFrom := func(p int) int {
		for p < len(d.data) && d.data[p] >= '0' && d.data[p] <= '9' {
			p++
		}
		return p
	}
	if p < len(d.data) && (d.data[p] == '-' || d.data[p] == '+') {
		p++
	}
	intEnd := digitsFrom(p)
	mantissaDigits := intEnd - p
	p = intEnd
	if p < len(d.data) && d.data[p] == '.' {
		fracEnd := digitsFrom(p + 1)
		mantissaDigits += fracEnd - (p + 1)
		p = fracEnd
	}
	if mantissaDigits == 0 {
		return 0, d.fail("bad float")
	}
	if p < len(d.data) && (d.data[p] == 'e' || d.data[p] == 'E') {
		p++
		if p < len(d.data) && (d.data[p] == '-' || d.data[p] == '+') {
			p++
		}
		expEnd := digitsFrom(p)
		if expEnd == p {
			return 0, d.fail("bad float exponent")
		}
		p = expEnd
	}
	if p >= len(d.data) || d.data[p] != ';' {
		return 0, d.fail("bad float")
	}
	// Out of range is not an error: like PHP, 1e999 is INF and 1e-999 is 0.
	f, err := strconv.ParseFloat(string(d.data[start:p]), 64)
	if err != nil && !isRangeError(err) {
		return 0, d.fail("bad float")
	}
	d.pos = p + 1
	return f, nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// string parses s:<len>:"<bytes>"; or the escaped form S:<len>:"…";, where
// \xx (two hex digits) stands for one byte.
func (d *decoder) string() (string, error) {
	escaped := d.data[d.pos] == 'S'
	d.pos++
	if !d.skip(":") {
		return "", d.fail("bad string")
	}
	n, err := d.unsigned()
	if err != nil {
		return "", err
	}
	if !d.skip(":\"") {
		return "", d.fail("bad string")
	}
	if n > len(d.data)-d.pos {
		return "", d.fail("string length %d runs past the end", n)
	}
	var s string
	if escaped {
		if s, err = d.unescape(n); err != nil {
			return "", err
		}
	} else {
		s = string(d.data[d.pos : d.pos+n])
		d.pos += n
	}
	if !d.skip("\";") {
		return "", d.fail("string does not end where its length says")
	}
	return s, nil
}

func (d *decoder) unescape(n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		if d.pos >= len(d.data) {
			return "", d.fail("escaped string runs past the end")
		}
		c := d.data[d.pos]
		d.pos++
		if c == '\\' {
			if d.pos+2 > len(d.data) {
				return "", d.fail("escaped string runs past the end")
			}
			hi, ok1 := unhex(d.data[d.pos])
			lo, ok2 := unhex(d.data[d.pos+1])
			if !ok1 || !ok2 {
				return "", d.fail("bad escape")
			}
			c = hi<<4 | lo
			d.pos += 2
		}
		b[i] = c
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// key parses an array key or property name: i: or s:/S:. For arrays
// (numeric true) a string that PHP treats as an integer becomes one.
func (d *decoder) key(numeric bool) (arrayKey, error) {
	if d.pos >= len(d.data) {
		return arrayKey{}, d.fail("unexpected end of data")
	}
	switch d.data[d.pos] {
	case 'i':
		i, err := d.int()
		return arrayKey{i: i}, err
	case 's', 'S':
		s, err := d.string()
		if err != nil {
			return arrayKey{}, err
		}
		if numeric {
			if i, ok := intKey(s); ok {
				return arrayKey{i: i}, nil
			}
		}
		return arrayKey{s: s, isStr: true}, nil
	}
	return arrayKey{}, d.fail("array key must be an int or a string")
}

// count parses "<n>:{" after a: or O: and checks n against what is left,
// so a count the input cannot hold fails before anything is allocated. The
// caller parses the n elements, calling next before each.
func (d *decoder) count(n int64) (int, error) {
	if !d.skip(":{") {
		return 0, d.fail("bad element count")
	}
	if n < 0 || n > int64((len(d.data)-d.pos)/minElement-d.promised) {
		return 0, d.fail("element count %d does not fit the remaining %d bytes", n, len(d.data)-d.pos)
	}
	d.promised += int(n)
	return int(n), nil
}

// next marks the start of an element that count announced.
func (d *decoder) next() { d.promised-- }

func (d *decoder) enter() error {
	if d.depth >= maxDepth {
		return d.fail("nested deeper than %d levels", maxDepth)
	}
	d.depth++
	return nil
}

// array parses a:<n>:{<key><value>…}. A list (keys 0…n-1 in order) becomes
// []any, anything else *Array.
func (d *decoder) array(cell *any) error {
	d.pos += len("a:")
	n64, err := d.unsigned()
	if err != nil {
		return err
	}
	n, err := d.count(int64(n64))
	if err != nil {
		return err
	}
	vals := make([]any, n)
	var keys []arrayKey // nil while the keys so far are 0, 1, …
	if n > 0 {
		// PHP checks the depth only for arrays with elements.
		if err := d.enter(); err != nil {
			return err
		}
		base := len(d.children)
		for i := range vals {
			d.next()
			k, err := d.key(true)
			if err != nil {
				return err
			}
			if keys == nil && (k.isStr || k.i != int64(i)) {
				keys = make([]arrayKey, n)
				for j := 0; j < i; j++ {
					keys[j] = arrayKey{i: int64(j)}
				}
			}
			if keys != nil {
				keys[i] = k
			}
			slot := -1
			if d.pos < len(d.data) && d.data[d.pos] != 'R' {
				slot = len(d.slots)
			}
			d.children = append(d.children, slot)
			if err := d.value(&vals[i]); err != nil {
				return err
			}
		}
		d.depth--
		if keys != nil {
			if err := d.checkKeys(keys); err != nil {
				return err
			}
			arr := &Array{Entries: make([]Entry, n)}
			for i := range vals {
				arr.Entries[i] = Entry{Key: keys[i].value(), Value: vals[i]}
				if s := d.children[base+i]; s >= 0 {
					d.slots[s] = &arr.Entries[i].Value
				}
			}
			d.children = d.children[:base]
			if !d.skip("}") {
				return d.fail("array does not end where its count says")
			}
			finish(cell, arr)
			return nil
		}
		d.children = d.children[:base]
	}
	if !d.skip("}") {
		return d.fail("array does not end where its count says")
	}
	finish(cell, vals)
	return nil
}

// finish stores a finished array in its cell. If an R: inside the array
// referred to the array itself, the cell already holds that *Ref, still
// empty: the array becomes its value.
func finish(cell *any, v any) {
	if r, ok := (*cell).(*Ref); ok {
		r.Value = v
		return
	}
	*cell = v
}

// checkKeys rejects an array or object with a key twice. PHP would keep the
// last value (and, in the middle of the data, let back-references reach
// the overwritten one); it never writes such data itself.
func (d *decoder) checkKeys(keys []arrayKey) error {
	if len(keys) <= 16 {
		for i, k := range keys {
			for _, prev := range keys[:i] {
				if prev == k {
					return d.fail("key %s appears twice", keyPath(k.value()))
				}
			}
		}
		return nil
	}
	seen := make(map[arrayKey]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			return d.fail("key %s appears twice", keyPath(k.value()))
		}
		seen[k] = struct{}{}
	}
	return nil
}

// className parses <len>:"<name>": of O:, C: and E: (the caller has
// consumed the letter and its colon).
func (d *decoder) className() (string, error) {
	n, err := d.unsigned()
	if err != nil {
		return "", err
	}
	if !d.skip(":\"") {
		return "", d.fail("bad class name")
	}
	if n == 0 || n > len(d.data)-d.pos {
		return "", d.fail("class name length %d does not fit", n)
	}
	name := string(d.data[d.pos : d.pos+n])
	d.pos += n
	return name, nil
}

// object parses O:<len>:"<Class>":<n>:{<name><value>…}. The *Object is in
// its cell before its properties are parsed, so r: inside can refer to it.
func (d *decoder) object(cell *any) error {
	d.pos += len("O:")
	class, err := d.className()
	if err != nil {
		return err
	}
	if !validClassName(class) {
		return d.fail("%q is not a valid class name", class)
	}
	if !d.skip("\":") {
		return d.fail("bad object")
	}
	n64, _, err := d.signed()
	if err != nil {
		return err
	}
	n, err := d.count(n64)
	if err != nil {
		return err
	}
	obj := &Object{Class: class, Props: make([]Entry, n)}
	*cell = obj
	if err := d.enter(); err != nil {
		return err
	}
	keys := make([]arrayKey, n)
	for i := range obj.Props {
		d.next()
		// Property names stay as written (a property "5" is not the integer
		// 5), but PHP would still see "5" and 5 as one name.
		k, err := d.key(false)
		if err != nil {
			return err
		}
		obj.Props[i].Key = k.value()
		keys[i], _ = normKey(obj.Props[i].Key)
		if err := d.value(&obj.Props[i].Value); err != nil {
			return err
		}
	}
	d.depth--
	if err := d.checkKeys(keys); err != nil {
		return err
	}
	if !d.skip("}") {
		return d.fail("object does not end where its count says")
	}
	return nil
}

// custom parses C:<len>:"<Class>":<n>:{<n bytes>}, kept as it is.
func (d *decoder) custom(cell *any) error {
	d.pos += len("C:")
	class, err := d.className()
	if err != nil {
		return err
	}
	if !validClassName(class) {
		return d.fail("%q is not a valid class name", class)
	}
	if !d.skip("\":") {
		return d.fail("bad custom object")
	}
	n, _, err := d.signed()
	if err != nil {
		return err
	}
	if !d.skip(":{") {
		return d.fail("bad custom object")
	}
	if n < 0 || n >= int64(len(d.data)-d.pos) || d.data[d.pos+int(n)] != '}' {
		return d.fail("custom object data does not end where its length says")
	}
	*cell = &CustomObject{Class: class, Data: string(d.data[d.pos : d.pos+int(n)])}
	d.pos += int(n) + 1
	return nil
}

// enum parses E:<len>:"<Class>:<Case>";.
func (d *decoder) enum(cell *any) error {
	d.pos += len("E:")
	name, err := d.className()
	if err != nil {
		return err
	}
	if !d.skip("\";") {
		return d.fail("bad enum")
	}
	colon := strings.IndexByte(name, ':')
	if colon < 0 || !validClassName(name[:colon]) || !validCaseName(name[colon+1:]) {
		return d.fail("%q is not an enum case name", name)
	}
	*cell = &Enum{Class: name[:colon], Case: name[colon+1:]}
	return nil
}

// backRef parses the slot number of r:<n>; or R:<n>; and returns its cell.
func (d *decoder) backRef(cell *any) (*any, error) {
	d.pos += len("r:")
	n, err := d.unsigned()
	if err != nil {
		return nil, err
	}
	if !d.skip(";") {
		return nil, d.fail("bad back-reference")
	}
	if n < 1 || n > len(d.slots) || d.slots[n-1] == cell {
		return nil, d.fail("back-reference to value %d, which does not exist", n)
	}
	return d.slots[n-1], nil
}

// objectRef parses r:<n>;, a second place for the object that is value n.
func (d *decoder) objectRef(cell *any) error {
	target, err := d.backRef(cell)
	if err != nil {
		return err
	}
	v := *target
	if r, ok := v.(*Ref); ok {
		v = r.Value
	}
	if objectPointer(v) == nil {
		return d.fail("r: back-reference to a value that is not an object")
	}
	*cell = v
	return nil
}

// ref parses R:<n>;, a PHP reference to value n: from now on both places
// hold the same *Ref.
func (d *decoder) ref(cell *any) error {
	target, err := d.backRef(cell)
	if err != nil {
		return err
	}
	r, ok := (*target).(*Ref)
	if !ok {
		r = &Ref{Value: *target}
		*target = r
	}
	*cell = r
	return nil
}
