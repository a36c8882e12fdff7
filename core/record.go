package core

import (
	"encoding/binary"
	"fmt"
	"time"
)

// record is what the Manager stores under a session ID: the session's
// metadata in a small fixed header, then the codec's bytes. Keeping the
// metadata outside the user's values means timeouts survive any codec and
// the application can never overwrite them by accident.
//
// Besides live sessions there are two kinds of marker records, both
// without payload:
//   - a forward (movedTo set) replaces the record of a regenerated ID: it
//     says where the session went and when (written). Requests that were
//     already in flight when it was written, or that arrive within
//     Config.RegenerateGrace, follow it; later ones find a dead token.
//   - a tombstone (gone) is what a logout swaps in before it deletes the
//     record, so that a concurrent compare-and-swap (a commit, a
//     regenerate) cannot succeed against the record it is destroying.
type record struct {
	created  time.Time // when the session was first written
	deadline time.Time // absolute timeout; carried over by Regenerate
	written  time.Time // when this record was written (for a forward: when the ID moved)
	remember bool      // persistent ("remember me") session
	gone     bool      // tombstone of a destroyed session
	user     string    // owner, for UserIndex; may be empty
	movedTo  string    // set on a regenerated session's old ID
	payload  []byte    // the codec's bytes
}

const (
	recordMagic0, recordMagic1 = 'S', 'K'
	recordVersion              = 1

	flagRemember = 1 << 0
	flagMoved    = 1 << 1
	flagGone     = 1 << 2

	// maxUserLength bounds the user name a session can be bound to
	// (Session.SetUser) and a record may carry.
	maxUserLength = 1024
)

// live reports whether r holds a session (not a forward nor a tombstone).
func (r *record) live() bool { return r.movedTo == "" && !r.gone }

func (r *record) encode() []byte {
	b := make([]byte, 0, 40+len(r.user)+len(r.movedTo)+len(r.payload))
	var flags byte
	if r.remember {
		flags |= flagRemember
	}
	if r.movedTo != "" {
		flags |= flagMoved
	}
	if r.gone {
		flags |= flagGone
	}
	b = append(b, recordMagic0, recordMagic1, recordVersion, flags)
	b = binary.AppendVarint(b, r.created.UnixNano())
	b = binary.AppendVarint(b, r.deadline.UnixNano())
	b = binary.AppendVarint(b, r.written.UnixNano())
	b = appendRecordString(b, r.user)
	if r.movedTo != "" {
		b = appendRecordString(b, r.movedTo)
	}
	return append(b, r.payload...)
}

func appendRecordString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeRecord parses a stored record. It never panics and allocates only
// the user name and forward ID, both bounded; the payload aliases data.
func decodeRecord(data []byte) (record, error) {
	var r record
	if len(data) < 4 || data[0] != recordMagic0 || data[1] != recordMagic1 {
		return r, fmt.Errorf("%w: not a sessionkit record", ErrCorrupt)
	}
	if data[2] != recordVersion {
		return r, fmt.Errorf("%w: record version %d", ErrCorrupt, data[2])
	}
	flags := data[3]
	p := recordParser{b: data[4:]}
	r.created = time.Unix(0, p.varint())
	r.deadline = time.Unix(0, p.varint())
	r.written = time.Unix(0, p.varint())
	r.user = p.str(maxUserLength)
	r.remember = flags&flagRemember != 0
	r.gone = flags&flagGone != 0
	if flags&flagMoved != 0 {
		r.movedTo = p.str(MaxIDLength)
		if p.err == nil && !ValidID(r.movedTo) {
			p.err = fmt.Errorf("%w: bad forward id", ErrCorrupt)
		}
	}
	if p.err != nil {
		return record{}, p.err
	}
	r.payload = p.b
	return r, nil
}

// recordParser reads the record header; the first failure sticks.
type recordParser struct {
	b   []byte
	err error
}

func (p *recordParser) varint() int64 {
	if p.err != nil {
		return 0
	}
	v, n := binary.Varint(p.b)
	if n <= 0 {
		p.err = fmt.Errorf("%w: bad record header", ErrCorrupt)
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *recordParser) str(limit int) string {
	if p.err != nil {
		return ""
	}
	n, k := binary.Uvarint(p.b)
	if k <= 0 || n > uint64(limit) || n > uint64(len(p.b)-k) {
		p.err = fmt.Errorf("%w: bad record header", ErrCorrupt)
		return ""
	}
	s := string(p.b[k : k+int(n)])
	p.b = p.b[k+int(n):]
	return s
}
