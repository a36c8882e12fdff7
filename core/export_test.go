package core

import "io"

// SetIDRandForTest makes m mint IDs from r, so tests can check that a
// failing random source is an error and never a weak ID.
func SetIDRandForTest(m *Manager, r io.Reader) { m.ids.rand = r }
