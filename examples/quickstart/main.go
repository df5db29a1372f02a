// Command quickstart shows gormcache on an embedded SQLite file: no server
// to run. It migrates the table, stores and reads values, lets an entry
// expire, and prints the cache's statistics.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "gormcache-quickstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cache.db")

	// The recommended SQLite settings: WAL, a busy timeout, immediate
	// transactions (see the README).
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&_synchronous=NORMAL"
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	db = db.WithContext(ctx)
	fmt.Fprintln(w, "opened SQLite database", filepath.Base(path))

	if err := cache.AutoMigrate(db); err != nil {
		return err
	}
	fmt.Fprintln(w, "migrated table cached_items")

	// Set and read back a JSON value.
	if err := cache.Cached(db, "greeting").Set(map[string]string{"hello": "world"}, cache.In(5*time.Minute)); err != nil {
		return err
	}
	var greeting map[string]string
	ok, err := cache.Cached(db, "greeting").Get(&greeting)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "get greeting: %v (hit: %v)\n", greeting, ok)

	// Compute only on a miss.
	for i := range 2 {
		v, err := cache.GetOrSet(db, "answer", func() (int, error) {
			fmt.Fprintln(w, "  computing answer...")
			return 42, nil
		}, cache.In(time.Hour))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "get-or-set answer, call %d: %d\n", i+1, v)
	}

	// Count hits in a fixed one-minute window.
	for range 3 {
		n, err := cache.Cached(db, "hits").Increment(1, cache.In(time.Minute))
		if err != nil {
			return err
		}
		fmt.Fprintln(w, "increment hits:", n)
	}

	// An entry that expires: it reads as absent but stays until cleared.
	if err := cache.Cached(db, "flash").Set("short-lived", cache.In(100*time.Millisecond)); err != nil {
		return err
	}
	exists, err := cache.Cached(db, "flash").Exists()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "flash exists right away:", exists)
	time.Sleep(150 * time.Millisecond)
	exists, err = cache.Cached(db, "flash").Exists()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "flash exists after 150ms:", exists)

	if err := cache.Cached(db, "forever").Set([]string{"never", "expires"}); err != nil {
		return err
	}
	st, err := cache.Stats(db)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "stats: total=%d expired=%d unexpired=%d forever=%d\n", st.Total, st.Expired, st.Unexpired, st.Forever)

	n, err := cache.ClearExpired(db)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "clear-expired deleted:", n)
	st, err = cache.Stats(db)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "stats: total=%d expired=%d unexpired=%d forever=%d\n", st.Total, st.Expired, st.Unexpired, st.Forever)
	return nil
}
