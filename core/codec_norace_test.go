//go:build !race

package core

// raceEnabled: see codec_race_test.go.
const raceEnabled = false
