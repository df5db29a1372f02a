// Command installation is the README's Installation snippet, compiled and
// run by its test so that the snippet stays valid Go.
//
//	go run ./examples/installation
package main

import (
	"log"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

func main() {
	db, err := gorm.Open(sqlite.Open("file:app.db?_journal_mode=WAL&_busy_timeout=10000&_txlock=immediate&_synchronous=NORMAL"), &gorm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := cache.AutoMigrate(db); err != nil { // idempotent
		log.Fatal(err)
	}
}
