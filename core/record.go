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
type record struct {
	created  time.Time // when the session was first written
	deadline time.Time // absolute timeout; carried over by Regenerate
	written  time.Time // when this record was written (last seen)
	remember bool      // persistent ("remember me") session
	user     string    // owner, for UserIndex; may be empty
	movedTo  string    // set on a regenerated session's grace record
	payload  []byte    // the codec's bytes
}

const (
	recordMagic0, recordMagic1 = 'S', 'K'
	recordVersion              = 1

	flagRemember = 1 << 0
	flagMoved    = 1 << 1
)

func (r *record) encode() []byte {
	b := make([]byte, 0, 40+len(r.user)+len(r.movedTo)+len(r.payload))
	var flags byte
	if r.remember {
		flags |= flagRemember
	}
	if r.movedTo != "" {
		flags |= flagMoved
	}
	b = append(b, recordMagic0, recordMagic1, recordVersion, flags)
	b = binary.AppendVarint(b, r.created.UnixNano())
	b = binary.AppendVarint(b, r.deadline.UnixNano())
	b = binary.AppendVarint(b, r.written.UnixNano())
	b = appendString(b, r.user)
	if r.movedTo != "" {
		b = appendString(b, r.movedTo)
	}
	return append(b, r.payload...)
}

func decodeRecord(data []byte) (record, error) {
	var r record
	if len(data) < 4 || data[0] != recordMagic0 || data[1] != recordMagic1 {
		return r, fmt.Errorf("%w: not a sessionkit record", ErrCorrupt)
	}
	if data[2] != recordVersion {
		return r, fmt.Errorf("%w: record version %d", ErrCorrupt, data[2])
	}
	flags := data[3]
	d := &decoder{b: data[4:]}
	r.created = time.Unix(0, d.varint())
	r.deadline = time.Unix(0, d.varint())
	r.written = time.Unix(0, d.varint())
	r.user = d.str()
	r.remember = flags&flagRemember != 0
	if flags&flagMoved != 0 {
		r.movedTo = d.str()
		if d.err == nil && !ValidID(r.movedTo) {
			d.fail("bad forward id")
		}
	}
	if d.err != nil {
		return record{}, d.err
	}
	r.payload = d.b
	return r, nil
}
