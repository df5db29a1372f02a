package cache_test

import (
	"fmt"
	"log"

	cache "github.com/gormcache/cache"
)

// A second cache in the same database: db.Table names its table, for
// AutoMigrate and every function.
func ExampleAutoMigrate_table() {
	db := openExampleDB()
	sessions := db.Table("sessions_cache")
	if err := cache.AutoMigrate(sessions); err != nil {
		log.Fatal(err)
	}
	_ = cache.Cached(db, "k").Set("in cached_items")
	_ = cache.Cached(sessions, "k").Set("in sessions_cache")

	a, _, _ := cache.Get[string](db, "k")
	b, _, _ := cache.Get[string](sessions, "k")
	st, _ := cache.Stats(sessions)
	fmt.Println(a)
	fmt.Println(b)
	fmt.Println(st.Total)
	// Output:
	// in cached_items
	// in sessions_cache
	// 1
}
