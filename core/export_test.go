package core

import (
	"io"
	"time"
)

// SetIDRandForTest makes m mint IDs from r, so tests can check that a
// failing random source is an error and never a weak ID.
func SetIDRandForTest(m *Manager, r io.Reader) { m.ids.rand = r }

// SignForTest returns m's token for id as signed at time at.
// It is not safe beside other uses of m.
func SignForTest(m *Manager, id string, at time.Time) (string, error) {
	defer func(now func() time.Time) { m.tokens.now = now }(m.tokens.now)
	m.tokens.now = func() time.Time { return at }
	return m.tokens.sign(id)
}
