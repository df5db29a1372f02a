// Package fiberstorage is a [fiber.Storage] on gormcache, for Fiber v3's
// middleware (session, limiter, cache, csrf, idempotency) and anything else
// that takes a Storage, in the database a GORM application already has:
//
//	app.Use(limiter.New(limiter.Config{Storage: fiberstorage.New(db)}))
//
// A stored value is the cache entry "fiber:<key>". An expiration of 0 never
// expires; other expirations count from the Set. Expired entries read as
// absent and stay in the table until [cache.ClearExpired] deletes them; run
// it periodically, for example with [cache.RunClearExpired]. The storage
// starts no goroutine, and Close leaves the database open: it belongs to the
// application.
//
// # Keys
//
// A key that cannot be a cache key as it is (longer than
// [cache.MaxKeyLength] with its prefix, not valid UTF-8, holding a NUL
// byte, or starting with "#sha256:") is stored under "fiber:#sha256:" and
// the SHA-256 of the key in hex instead. No key stored as it is starts with
// that marker, so a key and a digest never share an entry.
//
// # Values
//
// Values are stored as JSON strings in base64 (encoding/json's form of a
// []byte), a third larger than the value itself; see the README.
package fiberstorage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
)

// Prefix starts the key of every entry this package stores.
const Prefix = "fiber:"

// digestMarker follows Prefix in the key of an entry stored by its digest.
const digestMarker = "#sha256:"

// Storage is a fiber.Storage in the gormcache table. It is safe for
// concurrent use by multiple goroutines.
type Storage struct {
	db *gorm.DB
}

var _ fiber.Storage = (*Storage)(nil)

// New returns a Storage on db, whose cache table must exist
// ([cache.AutoMigrate]). The methods without a context run under db's own
// context; the WithContext methods under the one they are given.
func New(db *gorm.DB) *Storage {
	return &Storage{db: db}
}

// key returns the cache key of a Fiber key.
func key(k string) string {
	if !strings.HasPrefix(k, digestMarker) && utf8.ValidString(k) &&
		!strings.ContainsRune(k, 0) && utf8.RuneCountInString(Prefix+k) <= cache.MaxKeyLength {
		return Prefix + k
	}
	sum := sha256.Sum256([]byte(k))
	return Prefix + digestMarker + hex.EncodeToString(sum[:])
}

// Get returns the value under key, or nil and no error when there is none.
func (s *Storage) Get(key string) ([]byte, error) {
	return s.get(s.db, key)
}

// GetWithContext is Get under ctx.
func (s *Storage) GetWithContext(ctx context.Context, key string) ([]byte, error) {
	return s.get(s.db.WithContext(ctx), key)
}

func (s *Storage) get(db *gorm.DB, k string) ([]byte, error) {
	if k == "" {
		return nil, nil
	}
	var b []byte
	found, err := cache.Cached(db, key(k)).Get(&b)
	if err != nil {
		return nil, fmt.Errorf("fiberstorage: get: %w", err)
	}
	if !found {
		return nil, nil
	}
	if b == nil {
		b = []byte{} // a hit is never nil
	}
	return b, nil
}

// Set stores val under key, to expire after exp; 0 never expires. An empty
// key or value is ignored, as fiber.Storage says.
func (s *Storage) Set(key string, val []byte, exp time.Duration) error {
	return s.set(s.db, key, val, exp)
}

// SetWithContext is Set under ctx.
func (s *Storage) SetWithContext(ctx context.Context, key string, val []byte, exp time.Duration) error {
	return s.set(s.db.WithContext(ctx), key, val, exp)
}

func (s *Storage) set(db *gorm.DB, k string, val []byte, exp time.Duration) error {
	if k == "" || len(val) == 0 {
		return nil
	}
	var err error
	if exp == 0 {
		err = cache.Cached(db, key(k)).Set(val)
	} else {
		err = cache.Cached(db, key(k)).Set(val, cache.In(exp))
	}
	if err != nil {
		return fmt.Errorf("fiberstorage: set: %w", err)
	}
	return nil
}

// Delete removes the value under key; a missing key is no error.
func (s *Storage) Delete(key string) error {
	return s.delete(s.db, key)
}

// DeleteWithContext is Delete under ctx.
func (s *Storage) DeleteWithContext(ctx context.Context, key string) error {
	return s.delete(s.db.WithContext(ctx), key)
}

func (s *Storage) delete(db *gorm.DB, k string) error {
	if k == "" {
		return nil
	}
	if _, err := cache.Cached(db, key(k)).Delete(); err != nil {
		return fmt.Errorf("fiberstorage: delete: %w", err)
	}
	return nil
}

// Reset deletes every entry this package stored (the keys starting with
// "fiber:") and leaves the rest of the cache alone.
func (s *Storage) Reset() error {
	return s.reset(s.db)
}

// ResetWithContext is Reset under ctx.
func (s *Storage) ResetWithContext(ctx context.Context) error {
	return s.reset(s.db.WithContext(ctx))
}

func (s *Storage) reset(db *gorm.DB) error {
	// The core has no prefix delete yet: the model, with an exact prefix
	// match (substr, since SQLite's LIKE ignores case).
	err := db.Where("substr(?, 1, ?) = ?", clause.Column{Name: "key"}, len(Prefix), Prefix).
		Delete(&cache.CachedItem{}).Error
	if err != nil {
		return fmt.Errorf("fiberstorage: reset: %w", err)
	}
	return nil
}

// Close does nothing: the database belongs to the application, which
// closes it.
func (s *Storage) Close() error { return nil }
