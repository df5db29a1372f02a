package cache_test

import (
	"fmt"
	"time"

	cache "github.com/gormcache/cache"
)

func ExampleWithTags() {
	db := openExampleDB()
	// Everything about product 7 carries its tag.
	product7 := cache.WithTags(db, "product:7")
	_ = cache.Cached(product7, "product:7:page").Set("<html>…</html>")
	_ = cache.Cached(cache.WithTags(db, "product:7", "category:3"), "category:3:list").Set([]int{7, 8})
	_ = cache.Cached(db, "home").Set("untagged")

	tags, _ := cache.Cached(db, "category:3:list").Tags()
	fmt.Println(tags)

	// Product 7 changed: drop everything cached about it.
	n, err := cache.InvalidateTags(db, "product:7")
	fmt.Println(n, err)
	// Output:
	// [category:3 product:7]
	// 2 <nil>
}

func ExampleDeletePrefix() {
	db := openExampleDB()
	_ = cache.Cached(db, "tenant:42:users").Set(1)
	_ = cache.Cached(db, "tenant:42:plans").Set(2)
	_ = cache.Cached(db, "tenant:420:users").Set(3)

	n, err := cache.DeletePrefix(db, "tenant:42:")
	fmt.Println(n, err)
	// Output: 2 <nil>
}

func ExampleTrim() {
	db := openExampleDB()
	for i := range 5 {
		_ = cache.Cached(db, fmt.Sprint("k", i)).Set(i)
	}
	// In a job runner, or with RunTrim beside the server: keep at most
	// three entries, none older than two weeks.
	n, err := cache.Trim(db, cache.Limits{MaxEntries: 3, MaxAge: 14 * 24 * time.Hour})
	fmt.Println(n, err)
	// Output: 2 <nil>
}
