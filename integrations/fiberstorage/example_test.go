package fiberstorage_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/limiter"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/integrations/fiberstorage"
)

func Example() {
	dir, _ := os.MkdirTemp("", "fiberstorage")
	defer os.RemoveAll(dir)
	db, _ := gorm.Open(sqlite.Open(filepath.Join(dir, "app.db")), &gorm.Config{})
	_ = cache.AutoMigrate(db)

	app := fiber.New()
	// One request a minute per client, counted in the database: the count
	// is shared by every instance of the app and survives restarts.
	app.Use(limiter.New(limiter.Config{
		Max:        1,
		Expiration: time.Minute,
		Storage:    fiberstorage.New(db),
	}))
	app.Get("/", func(c fiber.Ctx) error { return c.SendString("hello") })

	for range 2 {
		res, _ := app.Test(httptest.NewRequest("GET", "/", nil))
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	// Output:
	// 200
	// 429
}
