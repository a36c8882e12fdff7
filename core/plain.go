package core

import (
	"errors"
	"maps"
	"net/url"
	"strconv"
	"time"
)

// MetaKey is the reserved key under which a Manager with
// Config.PlainRecords keeps a session's metadata inside its data, where a
// PHP application sharing the store sees $_SESSION['__sessionkit'] as a
// string and leaves it alone (PHP rewrites unknown keys unchanged). The
// string is URL-encoded form values: c and d are the creation time and
// absolute deadline in Unix seconds, u the user of SetUser, r=1 a
// remembered session; a regenerated ID's record holds m (the new ID) and t
// (when it moved, Unix nanoseconds), a logout's tombstone g=1. A session
// without it (one PHP created) counts its absolute timeout from the
// request that first read it, until sessionkit writes it.
const MetaKey = "__sessionkit"

// plainFlashKey holds flash messages in PlainRecords mode: a list of
// strings PHP code can read and append to.
const plainFlashKey = "__sessionkit_flashes"

// envelopeFlashKey holds flash messages in sessionkit's own records; the
// leading NUL keeps it out of the way of application keys.
const envelopeFlashKey = "\x00flash"

// payload encodes values for record r: the codec's bytes, which in
// PlainRecords mode also carry r's metadata under MetaKey.
func (m *Manager) payload(r *record, values map[string]any) ([]byte, error) {
	v := values
	if m.cfg.PlainRecords {
		v = make(map[string]any, len(values)+1)
		maps.Copy(v, values)
		v[MetaKey] = r.meta()
	}
	b, err := m.cfg.Codec.Encode(v)
	if err != nil && !errors.Is(err, ErrUnsupportedType) {
		err = errorf(ErrUnsupportedType, "%v", err) // a codec of its own errors, such as phpcodec
	}
	return b, err
}

// seal returns the bytes the store holds for r with payload: sessionkit's
// header and the payload, or in PlainRecords mode the payload alone.
func (m *Manager) seal(r *record, payload []byte) []byte {
	if m.cfg.PlainRecords {
		return payload
	}
	r.payload = payload
	return r.encode()
}

// marker returns the stored bytes of a forward or a tombstone.
func (m *Manager) marker(r record) ([]byte, error) {
	p, err := m.payload(&r, nil)
	if err != nil {
		return nil, err
	}
	return m.seal(&r, p), nil
}

// decodeForLoad is decode for a request's load. With BinaryCodec the values
// are checked (a corrupt record fails here, as with decode) but left encoded
// in rec.payload (lazy): a request that reads one value decodes that value
// alone (Session.Get), and one that reads none decodes nothing.
func (m *Manager) decodeForLoad(data []byte) (rec record, values map[string]any, lazy bool, err error) {
	bc, ok := m.cfg.Codec.(BinaryCodec)
	if !ok || m.cfg.PlainRecords || len(data) > m.cfg.MaxDataSize {
		rec, values, err = m.decode(data)
		return rec, values, false, err
	}
	if rec, err = decodeRecord(data); err != nil || !rec.live() {
		return rec, nil, false, err
	}
	if err = bc.check(rec.payload); err != nil {
		return rec, nil, false, wrapCorrupt(err)
	}
	return rec, nil, true, nil
}

// decode parses a stored record and, for a live session, its values.
// r.payload is what payload returns for unchanged values, so that lazy
// write can compare the two.
func (m *Manager) decode(data []byte) (record, map[string]any, error) {
	if len(data) > m.cfg.MaxDataSize { // Commit never writes more (ErrTooLarge)
		return record{}, nil, errorf(ErrCorrupt, "record of %d bytes exceeds MaxDataSize", len(data))
	}
	if !m.cfg.PlainRecords {
		rec, err := decodeRecord(data)
		if err != nil || !rec.live() {
			return rec, nil, err
		}
		values, err := m.cfg.Codec.Decode(rec.payload)
		return rec, values, wrapCorrupt(err)
	}
	values, err := m.cfg.Codec.Decode(data)
	if err != nil {
		return record{}, nil, wrapCorrupt(err)
	}
	rec, err := parseMeta(values[MetaKey])
	if err != nil {
		return record{}, nil, err
	}
	delete(values, MetaKey)
	rec.payload = data
	if !rec.live() {
		return rec, nil, nil
	}
	if rec.created.IsZero() { // made by PHP: the absolute timeout starts now
		rec.created = time.Now()
		m.setDeadline(&rec)
	}
	return rec, values, nil
}

func wrapCorrupt(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) {
		return err
	}
	return errorf(ErrCorrupt, "%v", err)
}

// meta is r's metadata as MetaKey's string.
func (r *record) meta() string {
	v := url.Values{}
	switch {
	case r.gone:
		v.Set("g", "1")
	case r.movedTo != "":
		v.Set("m", r.movedTo)
		v.Set("t", strconv.FormatInt(r.written.UnixNano(), 10))
	}
	if !r.created.IsZero() {
		v.Set("c", strconv.FormatInt(r.created.Unix(), 10))
		v.Set("d", strconv.FormatInt(r.deadline.Unix(), 10))
	}
	if r.user != "" {
		v.Set("u", r.user)
	}
	if r.remember {
		v.Set("r", "1")
	}
	return v.Encode()
}

// parseMeta reads MetaKey's value; nil (no metadata) is a live session
// whose creation is unknown.
func parseMeta(x any) (record, error) {
	var r record
	if x == nil {
		return r, nil
	}
	s, ok := x.(string)
	if !ok || len(s) > 4*maxUserLength {
		return r, errorf(ErrCorrupt, "%s is not sessionkit's metadata", MetaKey)
	}
	v, err := url.ParseQuery(s)
	if err != nil {
		return r, errorf(ErrCorrupt, "%s: %v", MetaKey, err)
	}
	num := func(k string) int64 {
		n, perr := strconv.ParseInt(v.Get(k), 10, 64)
		if perr != nil && err == nil {
			err = errorf(ErrCorrupt, "%s: bad %s", MetaKey, k)
		}
		return n
	}
	if v.Has("c") {
		r.created, r.deadline = time.Unix(num("c"), 0), time.Unix(num("d"), 0)
	}
	r.user, r.remember, r.gone = v.Get("u"), v.Get("r") == "1", v.Get("g") == "1"
	if v.Has("m") {
		r.movedTo, r.written = v.Get("m"), time.Unix(0, num("t"))
		if !ValidID(r.movedTo) && err == nil {
			err = errorf(ErrCorrupt, "%s: bad forward id", MetaKey)
		}
	}
	if len(r.user) > maxUserLength && err == nil {
		err = errorf(ErrCorrupt, "%s: user name too long", MetaKey)
	}
	return r, err
}
