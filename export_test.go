package cache

import "time"

// SetClock makes the package read the time from now until restore is
// called. Only tests that run alone (not t.Parallel) may use it.
func SetClock(now func() time.Time) (restore func()) {
	old := clock
	clock = func() time.Time { return now().UTC() }
	return func() { clock = old }
}

// FetchesInFlight returns the number of Fetch loads in progress in this
// process, so that a test can wait for a background refresh to finish.
func FetchesInFlight() int {
	fetchFlights.mu.Lock()
	defer fetchFlights.mu.Unlock()
	return len(fetchFlights.m)
}

// GetOrSetWaiting returns the number of callers waiting for the GetOrSet
// flight of key (in any pool or table), 0 when there is none, so that a
// test can tell when a follower has joined.
func GetOrSetWaiting(key string) int {
	flights.mu.Lock()
	defer flights.mu.Unlock()
	n := 0
	for k, f := range flights.m {
		if k.key == key {
			n += f.waiting
		}
	}
	return n
}
