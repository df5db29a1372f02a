package cache_test

import (
	"fmt"
	"time"

	cache "github.com/gormcache/cache"
)

// List reads a page at a time; Next is the cursor of the following page.
func ExampleList() {
	db := openExampleDB()
	for _, k := range []string{"user:1", "user:2", "session:9", "User:3"} {
		_ = cache.Cached(db, k).Set(true, cache.In(time.Hour))
	}
	_ = cache.Cached(db, "user:4").Set(true, cache.In(-time.Hour))

	opts := cache.ListOptions{Status: cache.StatusLive, Contains: "user:", Limit: 2}
	for {
		page, err := cache.List(db, opts)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, e := range page.Entries {
			fmt.Println(e.Key, e.Status, e.Size)
		}
		if page.Next == "" {
			break
		}
		opts.After = page.Next
	}
	// Output:
	// User:3 unexpired 4
	// user:2 unexpired 4
	// user:1 unexpired 4
}

// Inspect shows an entry as stored, even one that reads no longer see.
func ExampleInspect() {
	db := openExampleDB()
	_ = cache.Cached(db, "greeting").Set("hello", cache.In(-time.Minute))

	var s string
	ok, _ := cache.Cached(db, "greeting").Get(&s)
	fmt.Println("read:", ok)

	e, found, _ := cache.Inspect(db, "greeting")
	fmt.Println("inspect:", found, e.Status, string(e.Value))
	// Output:
	// read: false
	// inspect: true expired "hello"
}

func ExampleMeasure() {
	db := openExampleDB()
	_ = cache.Cached(db, "a").Set("abc")
	_ = cache.Cached(db, "b").Set(12, cache.At(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	m, _ := cache.Measure(db)
	fmt.Println(m.ValueBytes, "bytes of values, next expiry", m.OldestExpiry.Format(time.RFC3339))
	// Output: 7 bytes of values, next expiry 2030-01-02T03:04:05Z
}

func ExampleParseStatus() {
	st, err := cache.ParseStatus("unexpired")
	fmt.Println(st == cache.StatusUnexpired, err)
	_, err = cache.ParseStatus("fresh")
	fmt.Println(err)
	// Output:
	// true <nil>
	// cache: invalid status "fresh": use all, live, unexpired, expired or forever
}
