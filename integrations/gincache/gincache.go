// Package gincache is a persist.CacheStore of [github.com/chenyahui/gin-cache]
// on gormcache, so Gin responses are cached in the database a GORM
// application already has, shared by every instance of the app:
//
//	r.GET("/report", cache.CacheByRequestURI(gincache.New(db), time.Minute), report)
//
// (cache is github.com/chenyahui/gin-cache.) A cached response is the cache
// entry "gin:<key>", its value gob-encoded as gin-cache's own Redis store
// does, expiring after the duration gin-cache gives (0: never). Expired
// entries read as absent and stay in the table until [cache.ClearExpired]
// deletes them; run it periodically, for example with
// [cache.RunClearExpired]. The store starts no goroutine.
//
// # Keys
//
// gin-cache's keys are request URIs, query strings included, and often
// longer than a cache key may be. A key that cannot be a cache key as it is
// (longer than [cache.MaxKeyLength] with its prefix, not valid UTF-8,
// holding a NUL byte, or starting with "#sha256:") is stored under
// "gin:#sha256:" and the SHA-256 of the key in hex instead. No key stored as
// it is starts with that marker, so a key and a digest never share an entry.
package gincache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chenyahui/gin-cache/persist"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// Prefix starts the key of every entry this package stores.
const Prefix = "gin:"

// digestMarker follows Prefix in the key of an entry stored by its digest.
const digestMarker = "#sha256:"

// Store is a gin-cache persist.CacheStore in the gormcache table. It is safe
// for concurrent use by multiple goroutines. Its methods run under db's own
// context.
type Store struct {
	db *gorm.DB
}

var _ persist.CacheStore = (*Store)(nil)

// New returns a Store on db, whose cache table must exist
// ([cache.AutoMigrate]).
func New(db *gorm.DB) *Store {
	return &Store{db: db}
}

// cacheKey returns the cache key of a gin-cache key.
func cacheKey(k string) string {
	if !strings.HasPrefix(k, digestMarker) && utf8.ValidString(k) &&
		!strings.ContainsRune(k, 0) && utf8.RuneCountInString(Prefix+k) <= cache.MaxKeyLength {
		return Prefix + k
	}
	sum := sha256.Sum256([]byte(k))
	return Prefix + digestMarker + hex.EncodeToString(sum[:])
}

// Get decodes the value under key into value (a pointer), or returns
// persist.ErrCacheMiss when there is none.
func (s *Store) Get(key string, value any) error {
	var b []byte
	found, err := cache.Cached(s.db, cacheKey(key)).Get(&b)
	if err != nil {
		return fmt.Errorf("gincache: get: %w", err)
	}
	if !found {
		return persist.ErrCacheMiss
	}
	if err := persist.Deserialize(b, value); err != nil {
		return fmt.Errorf("gincache: get %q: decode: %w", key, err)
	}
	return nil
}

// Set stores value under key, gob-encoded, to expire after expire; 0 never
// expires.
func (s *Store) Set(key string, value any, expire time.Duration) error {
	b, err := persist.Serialize(value)
	if err != nil {
		return fmt.Errorf("gincache: set %q: encode: %w", key, err)
	}
	if expire == 0 {
		err = cache.Cached(s.db, cacheKey(key)).Set(b)
	} else {
		err = cache.Cached(s.db, cacheKey(key)).Set(b, cache.In(expire))
	}
	if err != nil {
		return fmt.Errorf("gincache: set: %w", err)
	}
	return nil
}

// Delete removes the value under key; a missing key is no error.
func (s *Store) Delete(key string) error {
	if _, err := cache.Cached(s.db, cacheKey(key)).Delete(); err != nil {
		return fmt.Errorf("gincache: delete: %w", err)
	}
	return nil
}
