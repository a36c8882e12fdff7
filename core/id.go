package core

import (
	"crypto/rand"
	"fmt"
	"io"
)

// idAlphabet is PHP's session ID alphabet (ext/session bin_to_readable):
// a prefix of it of size 2^bits is used for bits per character 4, 5 and 6.
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-"

// Bounds of an ID accepted from a client or a store's CreateID. Incoming IDs
// are checked against these (not the configured length) so that IDs minted
// by PHP or by an earlier configuration stay valid.
const (
	minIDLength = 16
	maxIDLength = 256
	minIDBits   = 128
)

// ValidID reports whether id has the syntax of a session ID: 16 to 256
// characters from PHP's alphabet [A-Za-z0-9,-]. It is the check every ID
// passes before a store may see it.
func ValidID(id string) bool {
	if len(id) < minIDLength || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return false
		}
	}
	return true
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
	if length < minIDLength || length > maxIDLength {
		return idGenerator{}, errorf(ErrConfig, "IDLength must be %d to %d, got %d", minIDLength, maxIDLength, length)
	}
	if length*bits < minIDBits {
		return idGenerator{}, errorf(ErrConfig, "IDLength %d × %d bits is below %d bits of entropy", length, bits, minIDBits)
	}
	return idGenerator{length: length, bits: uint(bits), rand: r}, nil
}

// New returns a fresh ID. A failing random source is an error, never a
// weaker ID.
func (g idGenerator) New() (string, error) {
	var rawBuf, outBuf [maxIDLength]byte
	n := (g.length*int(g.bits) + 7) / 8
	raw := rawBuf[:n]
	var err error
	if g.rand == nil {
		_, err = rand.Read(raw)
	} else {
		_, err = io.ReadFull(g.rand, raw)
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
