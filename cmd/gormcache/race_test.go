//go:build race

package main_test

// raceEnabled makes the tests build a binary with the race detector too.
const raceEnabled = true
