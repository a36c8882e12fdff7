package core

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Hostile records: stored bytes crafted to make Decode allocate as much as
// possible per input byte. Each builder returns a record of about size
// bytes.

// hostileValue opens a session record holding one value under the key "k".
func hostileValue(tag byte) []byte { return []byte{1, 1, 'k', tag} }

// fillTo appends copies of elem to b up to size bytes.
func fillTo(b []byte, size int, elem ...byte) []byte {
	for len(b)+len(elem) <= size {
		b = append(b, elem...)
	}
	return b
}

// withCount writes a count of n elements, then the elements.
func withCount(b []byte, size int, elem ...byte) []byte {
	n := (size - len(b) - binary.MaxVarintLen64) / len(elem)
	b = binary.AppendUvarint(b, uint64(n))
	for i := 0; i < n; i++ {
		b = append(b, elem...)
	}
	return b
}

// nestedClaims opens maxNesting+1 collections of this tag, each claiming as many
// elements as bytes remain: what made the old decoder allocate 2,600 times
// its input (the count was checked against the input left, once per level).
func nestedClaims(tag byte, size int) []byte {
	b := []byte{1, 0}
	for i := 0; i <= maxNesting+1; i++ {
		b = append(b, tag)
		b = binary.AppendUvarint(b, uint64(size-len(b)-binary.MaxVarintLen64))
		if tag == tagMap {
			b = append(b, 0)
		}
	}
	return fillTo(b, size, 0)
}

// hostileDoc is a registered type with costly parts for JSON to fill.
type hostileDoc struct {
	Items []hostileItem
	Ptrs  []*hostileItem
	ByKey map[string]hostileItem
	ByID  map[int64][]string
	Grid  [][]int32
	Blob  []byte
	Text  []string
	When  []time.Time
	N     int64 `json:",string"`
}

type hostileItem struct {
	A, B, C, D, E, F, G, H int64
	Name                   string
}

func init() {
	if err := RegisterType[hostileDoc](); err != nil {
		panic(err)
	}
}

// registeredValue wraps js as the value of a registered hostileDoc.
func registeredValue(js []byte) []byte {
	b := hostileValue(tagRegistered)
	name := "github.com/sessionkit/sessionkit/core.hostileDoc"
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...)
}

// hostileJSON fills a JSON array in field of hostileDoc with elem.
func hostileJSON(field, elem string, size int) []byte {
	js := []byte(`{"` + field + `":[`)
	for len(js)+len(elem)+3+100 < size {
		js = append(js, elem...)
		js = append(js, ',')
	}
	js = append(js, elem...)
	js = append(js, "]}"...)
	return registeredValue(js)
}

// hostileJSONMap fills a JSON object in field with distinct keys.
func hostileJSONMap(field, value string, intKeys bool, size int) []byte {
	js := []byte(`{"` + field + `":{`)
	for i := 0; len(js)+len(value)+20+100 < size; i++ {
		if i > 0 {
			js = append(js, ',')
		}
		if intKeys {
			js = fmt.Appendf(js, `"%d":%s`, i, value)
		} else {
			js = fmt.Appendf(js, `"%x":%s`, i, value)
		}
	}
	js = append(js, "}}"...)
	return registeredValue(js)
}

func hostileRecords(size int) []struct {
	name string
	data []byte
} {
	tz := []byte{1, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30} // 30-minute offset: a zone of its own
	timeElem := append([]byte{tagTime, byte(len(tz))}, tz...)
	return []struct {
		name string
		data []byte
	}{
		{"nested lists claiming the input", nestedClaims(tagList, size)},
		{"nested maps claiming the input", nestedClaims(tagMap, size)},
		{"count beyond the input", fillTo(binary.AppendUvarint(hostileValue(tagStrings), 1<<40), size, 0)},
		{"list of nils", withCount(hostileValue(tagList), size, tagNil)},
		{"list of empty lists", withCount(hostileValue(tagList), size, tagList, 0)},
		{"list of empty maps", withCount(hostileValue(tagList), size, tagMap, 0)},
		{"list of empty byte slices", withCount(hostileValue(tagList), size, tagBytes, 0)},
		{"list of 1-byte strings", withCount(hostileValue(tagList), size, tagString, 1, 'x')},
		{"list of ints over 255", withCount(hostileValue(tagList), size, tagInt, 0x80, 0x04)},
		{"list of odd-offset times", withCount(hostileValue(tagList), size, timeElem...)},
		{"string map of empty entries", withCount(hostileValue(tagStringMap), size, 0, 0)},
		{"map of empty keys and nils", withCount(hostileValue(tagMap), size, 0, tagNil)},
		{"strings, all empty", withCount(hostileValue(tagStrings), size, 0)},
		{"ints, all zero", withCount(hostileValue(tagInts), size, 0)},
		{"top-level map of empty keys", withCount(nil, size, 0, tagNil)},
		{"json slice of empty structs", hostileJSON("Items", "{}", size)},
		{"json slice of pointers to empty structs", hostileJSON("Ptrs", "{}", size)},
		{"json with spaces around keys", registeredValue([]byte(` { "Items" : [` + strings.Repeat(` { } ,`, size/6-20) + ` { } ] } `))},
		{"json slice of empty slices", hostileJSON("Grid", "[]", size)},
		{"json slice of empty strings", hostileJSON("Text", `""`, size)},
		{"json slice of escaped strings", hostileJSON("Text", `"\u0041"`, size)},
		{"json slice of times", hostileJSON("When", `"2026-01-01T00:00:00+00:30"`, size)},
		{"json map of empty structs", hostileJSONMap("ByKey", "{}", false, size)},
		{"json int map of nulls", hostileJSONMap("ByID", "null", true, size)},
		{"json int map of empty lists", hostileJSONMap("ByID", "[]", true, size)},
		{"json repeated quoted field", registeredValue([]byte(`{` + strings.Repeat(`"N":"1",`, size/8-20) + `"N":"1"}`))},
	}
}

// allocatedBy returns the bytes f allocates, the least of a few runs, so
// that other goroutines' allocations do not count.
func allocatedBy(f func()) int64 {
	f() // first-use allocations: type caches, time zones
	best := int64(-1)
	for i := 0; i < 3; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		if n := int64(after.TotalAlloc - before.TotalAlloc); best < 0 || n < best {
			best = n
		}
	}
	return best
}

// decodeCharged decodes data and returns what the decoder charged to its budget.
func decodeCharged(data []byte) (map[string]any, int64, error) {
	budget := decodeBudget(len(data))
	d := &decoder{b: data, left: budget, budget: budget}
	m := d.stringMap(0)
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return m, budget - d.left, d.err
}

// costSlack covers what the decoder allocates besides values: its own
// state, and on failure the error it returns and those it wraps.
const costSlack = 2 << 10

// A crafted 1 MiB record costs at most 4 MiB to decode, and whatever the
// size, no more than the decoder charged to its budget.
func TestBinaryCodecDecodeAllocBound(t *testing.T) {
	for _, size := range []int{1 << 20, 200 << 10, 4 << 10} {
		for _, h := range hostileRecords(size) {
			t.Run(fmt.Sprintf("%d/%s", size, h.name), func(t *testing.T) {
				var err error
				n := allocatedBy(func() { _, err = BinaryCodec{}.Decode(h.data) })
				if err != nil && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				t.Logf("%d bytes in, %d allocated (%.2f×), err=%v", len(h.data), n, float64(n)/float64(len(h.data)), err)
				if limit := decodeBudget(len(h.data)); n > limit {
					t.Errorf("allocated %d bytes, limit %d", n, limit)
				}
				if len(h.data) >= 1<<20 && n > 4*int64(len(h.data)) {
					t.Errorf("allocated %d bytes for %d bytes of input, more than 4×", n, len(h.data))
				}
				_, cost, _ := decodeCharged(h.data)
				if n > cost+costSlack && !raceEnabled {
					t.Errorf("allocated %d bytes, charged only %d", n, cost)
				}
			})
		}
	}
}

func BenchmarkCodecDecodeHostile(b *testing.B) {
	for _, h := range hostileRecords(1 << 20) {
		b.Run(strings.ReplaceAll(h.name, " ", "-"), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := 0; i < b.N; i++ {
				if _, err := (BinaryCodec{}).Decode(h.data); err != nil && !errors.Is(err, ErrCorrupt) {
					b.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			perOp := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
			b.ReportMetric(perOp, "alloc-B/op")
			b.ReportMetric(perOp/float64(len(h.data)), "alloc/input-byte")
		})
	}
}

// Encode adds up exactly what Decode charges, so it never writes a record
// the decoder would refuse; and the charge bounds what Decode allocates.
func TestCodecCostModel(t *testing.T) {
	items := make([]hostileItem, 40)
	for i := range items {
		items[i] = hostileItem{A: int64(i) << 40, Name: strings.Repeat("n", i)}
	}
	doc := hostileDoc{
		Items: items, Ptrs: []*hostileItem{&items[1], nil},
		ByKey: map[string]hostileItem{"a": items[2], "é\"<": items[3]},
		ByID:  map[int64][]string{-1: {"x"}, 1 << 40: nil, 7: {}},
		Grid:  [][]int32{{1, 2}, nil, {}}, Blob: []byte("blob"), Text: []string{"", "a\nb"},
		When: []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 1800)), time.Unix(0, 0).UTC()},
		N:    1 << 50,
	}
	bigMap := map[string]any{}
	bigStrings := map[string]string{}
	for i := 0; i < 1000; i++ {
		bigMap[fmt.Sprint(i)] = i
		bigStrings[fmt.Sprint(i)] = "v"
	}
	for name, v := range map[string]map[string]any{
		"empty":   {},
		"scalars": {"a": 1, "b": 1000, "c": -1, "d": int8(-1), "e": int16(-300), "f": int32(1 << 20), "g": int64(255), "h": uint(256), "i": uint16(65535), "j": uint32(7), "k": uint64(1 << 63), "l": float32(1.5), "m": 0.0, "n": 2.5, "o": time.Second, "p": true, "q": nil},
		"strings": {"": "", "s": "x", "long": strings.Repeat("y", 40000), "b": []byte{}, "b2": []byte("abc")},
		"times":   {"utc": time.Unix(1, 2).UTC(), "hour": time.Unix(1, 2).In(time.FixedZone("", 3600)), "odd": time.Unix(1, 2).In(time.FixedZone("x", 1800))},
		"slices":  {"s": []string{"", "a", strings.Repeat("b", 300)}, "i": []int{1, -1, 1 << 40}, "l": []any{1, "a", []any{}, map[string]any{}}},
		"maps":    {"sm": map[string]string{"a": "b", "": ""}, "m": map[string]any{"x": map[string]any{"y": []any{nil}}}, "big": bigMap, "bigs": bigStrings},
		"doc":     {"doc": doc, "nested": []any{doc, map[string]any{"d": hostileDoc{}}}},
	} {
		t.Run(name, func(t *testing.T) {
			data, cost, err := encodeValues(v)
			if err != nil {
				t.Fatal(err)
			}
			got, charge, err := decodeCharged(data)
			if err != nil {
				t.Fatal(err)
			}
			if charge != cost {
				t.Errorf("Encode counted %d, Decode charged %d", cost, charge)
			}
			if !reflect.DeepEqual(got, v) && name != "times" {
				t.Errorf("round trip changed the values")
			}
			n := allocatedBy(func() { BinaryCodec{}.Decode(data) })
			t.Logf("%d bytes, charged %d, allocated %d", len(data), charge, n)
			if n > charge+costSlack && !raceEnabled {
				t.Errorf("allocated %d bytes, charged only %d", n, charge)
			}
		})
	}
}

// growCost and jsonMapCost bound what encoding/json allocates filling a
// slice or a map one element at a time.
func TestJSONGrowthCosts(t *testing.T) {
	elems := []reflect.Type{
		reflect.TypeOf(uint8(0)), reflect.TypeOf(""), reflect.TypeOf([]int(nil)),
		reflect.TypeOf(hostileItem{}), reflect.TypeOf([40]byte{}), reflect.TypeOf([125]*int{}),
	}
	for _, n := range []int{1, 2, 5, 9, 17, 100, 255, 256, 257, 300, 513, 1000, 5000, 20000} {
		for _, et := range elems {
			zero, _ := json.Marshal(reflect.Zero(et).Interface())
			list := []byte("[" + strings.TrimSuffix(strings.Repeat(string(zero)+",", n), ",") + "]")
			p := reflect.New(reflect.SliceOf(et))
			real := allocatedBy(func() {
				p.Elem().SetZero()
				if err := json.Unmarshal(list, p.Interface()); err != nil {
					t.Fatal(err)
				}
			})
			if c := growCost(int64(n), int64(et.Size())) + jsonFixed + 2*heapSize(16); real > c {
				t.Errorf("%d × %s: allocated %d, growCost %d", n, et, real, c)
			}
		}
		var obj strings.Builder
		obj.WriteString("{")
		for i := 0; i < n; i++ {
			if i > 0 {
				obj.WriteString(",")
			}
			fmt.Fprintf(&obj, `"%d":0`, i)
		}
		obj.WriteString("}")
		var m map[string]int
		js := []byte(obj.String())
		real := allocatedBy(func() {
			m = nil
			if err := json.Unmarshal(js, &m); err != nil {
				t.Fatal(err)
			}
		})
		keys := int64(0)
		for i := 0; i < n; i++ {
			keys += stringSlot + strCost(len(fmt.Sprint(i)))
		}
		if c := jsonMapCost(int64(n), 24) + keys + jsonFixed + 16; real > c {
			t.Errorf("map of %d: allocated %d, jsonMapCost and keys %d", n, real, c)
		}
	}
}

// FuzzBinaryCodecDecodeCost checks the cost model on arbitrary records:
// Decode allocates no more than it charged to its budget. Reading the
// allocation statistics stops the world, so it measures one input in eight,
// chosen by checksum so that a failing input fails again when minimized.
func FuzzBinaryCodecDecodeCost(f *testing.F) {
	for _, h := range hostileRecords(1 << 10) {
		f.Add(h.data)
	}
	seed, _ := BinaryCodec{}.Encode(map[string]any{"a": []any{1, "x", map[string]any{"t": time.Unix(5, 0)}}, "d": hostileDoc{Items: make([]hostileItem, 2)}})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if crc32.ChecksumIEEE(data)%8 != 0 {
			_, _, err := decodeCharged(data)
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatal(err)
			}
			return
		}
		// TotalAlloc counts the whole process: the fuzzing engine's own
		// goroutines allocate now and then. The least of three
		// measurements is the decode's.
		var cost, alloc int64
		for try := 0; try < 3 && (try == 0 || alloc > cost+costSlack); try++ {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, cost, _ = decodeCharged(data)
			runtime.ReadMemStats(&after)
			if a := int64(after.TotalAlloc - before.TotalAlloc); try == 0 || a < alloc {
				alloc = a
			}
		}
		if alloc > cost+costSlack && !raceEnabled {
			t.Fatalf("allocated %d bytes, charged %d", alloc, cost)
		}
	})
}
