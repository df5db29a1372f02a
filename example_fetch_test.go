package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	cache "github.com/gormcache/cache"
)

func ExampleFetch() {
	db := openExampleDB()

	// A slow, flaky upstream: it answers, then goes down.
	down := false
	forecast := func(ctx context.Context) (string, error) {
		if down {
			return "", errors.New("weather API: 503")
		}
		return "sunny", nil
	}
	opts := cache.FetchOptions{
		TTL:         50 * time.Millisecond, // fresh for 50 ms (minutes, in a real app)
		Stale:       0,                     // no stale serving: wait for the load once expired
		FailSafe:    time.Hour,             // but serve the old forecast for an hour if the API fails
		HardTimeout: 2 * time.Second,       // and never wait for it more than 2 s
	}
	v, err := cache.Fetch(db, "forecast:paris", forecast, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)

	time.Sleep(100 * time.Millisecond) // the forecast expires...
	down = true                        // ...and the API goes down
	v, err = cache.Fetch(db, "forecast:paris", forecast, opts)
	fmt.Println(v, err)

	// Get sees an expired entry: only Fetch serves old values.
	_, ok, _ := cache.Get[string](db, "forecast:paris")
	fmt.Println(ok)
	// Output:
	// sunny
	// sunny <nil>
	// false
}

func ExampleLock() {
	db := openExampleDB()

	report := cache.NewLock(db, "nightly-report", 10*time.Minute)
	ok, err := report.TryAcquire()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first:", ok)

	// Another worker (or process) wants the same lock.
	other := cache.NewLock(db, "nightly-report", 10*time.Minute)
	ok, _ = other.TryAcquire()
	fmt.Println("second:", ok)

	ok, _ = report.Release()
	fmt.Println("released:", ok)
	ok, _ = other.TryAcquire()
	fmt.Println("second, again:", ok)
	// Output:
	// first: true
	// second: false
	// released: true
	// second, again: true
}
