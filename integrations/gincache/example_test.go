package gincache_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	ginc "github.com/chenyahui/gin-cache"
	"github.com/gin-gonic/gin"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/integrations/gincache"
)

func Example() {
	dir, _ := os.MkdirTemp("", "gincache")
	defer os.RemoveAll(dir)
	db, _ := gorm.Open(sqlite.Open(filepath.Join(dir, "app.db")), &gorm.Config{})
	_ = cache.AutoMigrate(db)

	runs := 0
	r := gin.New()
	r.GET("/report", ginc.CacheByRequestURI(gincache.New(db), time.Minute), func(c *gin.Context) {
		runs++
		c.String(200, "report #%d", runs)
	})

	for range 2 {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/report?month=2026-11", nil))
		fmt.Println(w.Body.String())
	}
	// Output:
	// report #1
	// report #1
}
