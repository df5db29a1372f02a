package cache_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
)

// openExampleDB opens a migrated in-memory SQLite database.
func openExampleDB() *gorm.DB {
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1) // every connection to :memory: is a database of its own
	if err := cache.AutoMigrate(db); err != nil {
		log.Fatal(err)
	}
	return db
}

func ExampleCached() {
	db := openExampleDB()

	// Store a value that expires in a minute.
	if err := cache.Cached(db, "greeting").Set("hello", cache.In(time.Minute)); err != nil {
		log.Fatal(err)
	}

	// Later, read it back.
	var s string
	ok, err := cache.Cached(db, "greeting").Get(&s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s, ok)

	// A key never set, or expired, is a miss, not an error.
	ok, _ = cache.Cached(db, "nothing").Exists()
	fmt.Println(ok)
	// Output:
	// hello true
	// false
}

func ExampleGet() {
	db := openExampleDB()
	type profile struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	_ = cache.Cached(db, "profile:7").Set(profile{Name: "Ada", Roles: []string{"admin"}})

	p, ok, err := cache.Get[profile](db, "profile:7")
	fmt.Println(p.Name, p.Roles, ok, err)
	// Output: Ada [admin] true <nil>
}

func ExampleGetOrSet() {
	db := openExampleDB()
	lookups := 0
	price := func() (float64, error) {
		lookups++ // an expensive call, made only on a miss
		return 9.99, nil
	}
	for range 3 {
		p, err := cache.GetOrSet(db, "price:42", price, cache.In(10*time.Minute))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p)
	}
	fmt.Println("lookups:", lookups)
	// Output:
	// 9.99
	// 9.99
	// 9.99
	// lookups: 1
}

func ExampleEntry_Increment() {
	db := openExampleDB()
	// A fixed-window rate limit: the first hit starts a one-minute window.
	for range 3 {
		n, err := cache.Cached(db, "hits:10.0.0.1").Increment(1, cache.In(time.Minute))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("hits:", n)
	}
	// Output:
	// hits: 1
	// hits: 2
	// hits: 3
}

func ExampleEntry_Add() {
	db := openExampleDB()
	// Add writes only when the key is free: a simple lock or dedup marker.
	first, _ := cache.Cached(db, "job:report").Add("worker-1", cache.In(time.Minute))
	second, _ := cache.Cached(db, "job:report").Add("worker-2", cache.In(time.Minute))
	fmt.Println(first, second)
	// Output: true false
}

func ExampleClearExpired() {
	db := openExampleDB()
	_ = cache.Cached(db, "old").Set(1, cache.In(-time.Minute))
	_ = cache.Cached(db, "new").Set(2, cache.In(time.Hour))

	// In a job runner (cron, river, asynq, ...), run this periodically:
	n, err := cache.ClearExpired(db)
	fmt.Println(n, err)
	// Output: 1 <nil>
}

func ExampleRunClearExpired() {
	db := openExampleDB()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	// Clear expired entries every five minutes next to the HTTP server; the
	// goroutine ends when ctx is cancelled.
	go func() {
		if err := cache.RunClearExpired(ctx, db, 5*time.Minute); err != nil {
			log.Print(err)
		}
	}()

	srv := &http.Server{Addr: "127.0.0.1:0"}
	_ = srv // srv.ListenAndServe() in a real program
}

func ExampleStats() {
	db := openExampleDB()
	_ = cache.Cached(db, "a").Set(1)
	_ = cache.Cached(db, "b").Set(2, cache.In(time.Hour))
	_ = cache.Cached(db, "c").Set(3, cache.In(-time.Hour))
	st, _ := cache.Stats(db)
	fmt.Printf("%+v\n", st)
	// Output: {Total:3 Live:2 Unexpired:1 Expired:1 Forever:1}
}

func ExampleExpired() {
	db := openExampleDB()
	_ = cache.Cached(db, "a").Set(1, cache.In(-time.Hour))
	_ = cache.Cached(db, "b").Set(2)

	// The scopes filter CachedItem queries like any GORM scope.
	var items []cache.CachedItem
	db.Scopes(cache.Expired).Find(&items)
	for _, it := range items {
		fmt.Println(it.Key, string(it.Value))
	}
	// Output: a 1
}
