package cache

import (
	"fmt"
	"testing"
	"time"
)

// TestFailuresBounded: the per-key pauses after failed loads stay within
// maxFailures entries. When full, passed pauses make room for a new one;
// when every pause is still running, the new failure is not remembered (its
// key is loaded again at once) rather than grow the map. Not parallel: the
// map is the package's.
func TestFailuresBounded(t *testing.T) {
	saved := fetchFailures.m
	fetchFailures.m = nil
	t.Cleanup(func() { fetchFailures.m = saved })
	key := func(i int) flightKey { return flightKey{table: "t", key: fmt.Sprint(i)} }

	for i := range maxFailures {
		recordFailure(key(i), -time.Hour) // already passed
	}
	recordFailure(key(-1), time.Hour)
	if !failedRecently(key(-1)) {
		t.Fatal("a full map of passed pauses did not make room")
	}
	if n := len(fetchFailures.m); n > maxFailures || n == 0 {
		t.Fatalf("%d entries after pruning", n)
	}

	fetchFailures.m = nil
	for i := range maxFailures {
		recordFailure(key(i), time.Hour)
	}
	recordFailure(key(-2), time.Hour)
	if n := len(fetchFailures.m); n != maxFailures {
		t.Fatalf("%d entries, not at most %d", n, maxFailures)
	}
	if failedRecently(key(-2)) {
		t.Fatal("a failure was remembered beyond the bound")
	}
}
