package cacheadmin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/cacheadmin"
)

// user is the app's signed-in user, as its own session code finds it.
type user struct{ IsAdmin bool }

// currentUser stands for the app's session lookup.
func currentUser(r *http.Request) (user, bool) {
	return user{IsAdmin: r.Header.Get("X-Demo-Admin") == "yes"}, true
}

// openExampleDB opens a migrated in-memory SQLite database.
func openExampleDB() *gorm.DB {
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		panic(err)
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1) // one connection: one in-memory database
	if err := cache.AutoMigrate(db); err != nil {
		panic(err)
	}
	return db
}

// Mount the admin page under /admin/cache/ of the app's mux, for the app's
// admins only.
func ExampleHandler() {
	db := openExampleDB()
	_ = cache.Cached(db, "greeting").Set("hello", cache.In(time.Hour))

	mux := http.NewServeMux()
	mux.Handle("/admin/cache/", http.StripPrefix("/admin/cache", cacheadmin.Handler(db, cacheadmin.Options{
		Authorize: func(r *http.Request) bool {
			u, ok := currentUser(r)
			return ok && u.IsAdmin
		},
		Title: "Shop cache",
	})))

	// An admin sees the list; anyone else gets 403 Forbidden.
	for _, admin := range []string{"yes", "no"} {
		req := httptest.NewRequest("GET", "/admin/cache/?q=greet", nil)
		req.Header.Set("X-Demo-Admin", admin)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.Contains(rec.Body.String(), `href="entry?key=greeting"`))
	}
	// Output:
	// 200 true
	// 403 false
}

// Serve the page on its own port behind a one-time token, as the
// `gormcache admin` command does. Serve blocks until ctx is done.
func ExampleServe() {
	db := openExampleDB()
	ctx, stop := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer stop()
	var out strings.Builder
	err := cacheadmin.Serve(ctx, db, "127.0.0.1:0", cacheadmin.Options{ReadOnly: true}, &out)
	fmt.Println(err, strings.HasPrefix(out.String(), "Cache admin page: http://127.0.0.1:"))
	// Output: <nil> true
}
