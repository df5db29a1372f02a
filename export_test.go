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
