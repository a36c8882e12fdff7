//go:build !race

package sqlitestore_test

// raceDetector tells the tests they run under the race detector, which
// slows the pure-Go SQLite tenfold.
const raceDetector = false
