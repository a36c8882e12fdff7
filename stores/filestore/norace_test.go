//go:build !race

package filestore_test

// raceEnabled tells the tests they run under the race detector.
const raceEnabled = false
