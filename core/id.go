package core

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
)

// idAlphabet is PHP's session ID alphabet (ext/session bin_to_readable):
// a prefix of it of size 2^bits is used for bits per character 4, 5 and 6.
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-"

// MinIDLength and MaxIDLength bound every session ID sessionkit accepts,
// whether a client presents it or a store's CreateID mints it: 22 is PHP's
// smallest session.sid_length, and 250 is the longest ID PHP's files handler
// (and stores/filestore) can keep, a file name having at most 255 bytes of
// which "sess_" takes 5. Checking incoming IDs against these bounds (not the
// configured IDLength) keeps IDs minted by PHP or by an earlier
// configuration valid.
const (
	MinIDLength = 22
	MaxIDLength = 250
)

// minIDBits is the least entropy of an ID (OWASP ASVS 7.2.3: at least 128
// bits), for the configured generator and for IDs a store mints.
const minIDBits = 128

// ValidID reports whether id has the syntax of a session ID: MinIDLength to
// MaxIDLength characters from PHP's alphabet [A-Za-z0-9,-]. It is the check
// every ID passes before a store may see it.
func ValidID(id string) bool {
	if len(id) < MinIDLength || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return false
		}
	}
	return true
}

// strongID reports whether an ID a store minted (CreateID) is valid and
// carries at least minIDBits of entropy, judged by the smallest of PHP's
// alphabets its characters fit in: hex (4 bits a character), 0-9a-v (5),
// or the full alphabet (6). A store's ID is only as random as its
// generator; this refuses the ones that cannot be random enough.
func strongID(id string) bool {
	if !ValidID(id) {
		return false
	}
	bits := 4
	for i := 0; i < len(id); i++ {
		if p := strings.IndexByte(idAlphabet, id[i]); p >= 32 {
			bits = 6
			break
		} else if p >= 16 {
			bits = 5
		}
	}
	return len(id)*bits >= minIDBits
}

func idChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ',' || c == '-'
}

// idGenerator mints IDs of length characters with bits bits of entropy each.
type idGenerator struct {
	length int
	bits   uint
	rand   io.Reader // nil: crypto/rand
}

func newIDGenerator(length, bits int, r io.Reader) (idGenerator, error) {
	if bits < 4 || bits > 6 {
		return idGenerator{}, errorf(ErrConfig, "IDBitsPerChar must be 4, 5 or 6, got %d", bits)
	}
	if length < MinIDLength || length > MaxIDLength {
		return idGenerator{}, errorf(ErrConfig, "IDLength must be %d to %d, got %d", MinIDLength, MaxIDLength, length)
	}
	if length*bits < minIDBits {
		return idGenerator{}, errorf(ErrConfig, "IDLength %d × %d bits is below %d bits of entropy", length, bits, minIDBits)
	}
	return idGenerator{length: length, bits: uint(bits), rand: r}, nil
}

// New returns a fresh ID. A failing random source is an error, never a
// weaker ID.
func (g idGenerator) New() (string, error) {
	var rawBuf, outBuf [MaxIDLength]byte
	n := (g.length*int(g.bits) + 7) / 8
	raw := rawBuf[:n]
	var err error
	if g.rand == nil {
		_, err = rand.Read(raw)
	} else {
		err = readFull(g.rand, raw)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRNG, err)
	}
	// Pack LSB first, as PHP's bin_to_readable does.
	out := outBuf[:g.length]
	mask := uint32(1)<<g.bits - 1
	var acc uint32
	var have uint
	p := 0
	for i := range out {
		if have < g.bits {
			acc |= uint32(raw[p]) << have
			p++
			have += 8
		}
		out[i] = idAlphabet[acc&mask]
		acc >>= g.bits
		have -= g.bits
	}
	return string(out), nil
}

// readFull fills b from r through a buffer of its own, so that b (New's
// stack buffer) does not escape through the interface call: minting an ID
// with crypto/rand allocates only the ID.
func readFull(r io.Reader, b []byte) error {
	tmp := make([]byte, len(b))
	if _, err := io.ReadFull(r, tmp); err != nil {
		return err
	}
	copy(b, tmp)
	return nil
}
