//go:build race

package filestore_test

// raceEnabled tells the tests they run under the race detector, which
// slows every system call's Go side several times over.
const raceEnabled = true
