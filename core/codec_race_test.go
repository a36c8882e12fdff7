//go:build race

package core

// raceEnabled: the race detector turns off the tiny allocator, so every
// allocation under 16 bytes takes 16 and the cost model, made for normal
// builds, undercounts small numbers put in an any.
const raceEnabled = true
