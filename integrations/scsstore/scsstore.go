// Package scsstore stores the sessions of [github.com/alexedwards/scs/v2]
// in gormcache, in the database a GORM application already has:
//
//	sessionManager := scs.New()
//	sessionManager.Store = scsstore.New(db) // db: a *gorm.DB, migrated with cache.AutoMigrate
//
// A session is the cache entry "scs:<token>", holding the session data and
// expiring at the session's deadline. Sessions outlive the process: a new
// SessionManager on the same database finds them. Expired sessions read as
// absent and stay in the table until [cache.ClearExpired] deletes them, as
// for every cache entry; run it periodically, for example with
// [cache.RunClearExpired]. The store starts no goroutine.
//
// # Keys
//
// Tokens scs makes are 43 characters. A token that cannot be a cache key as
// it is (longer than [cache.MaxKeyLength] with its prefix, not valid UTF-8,
// holding a NUL byte, or starting with "#sha256:") is stored under
// "scs:#sha256:" and the SHA-256 of the token in hex instead. No stored
// token starts with that marker, so a token and a digest never share a key.
// [Store.All] cannot name the token of such an entry and leaves it out.
//
// # Values
//
// Session data is stored as a JSON string in base64 (encoding/json's form of
// a []byte), a third larger than the data itself; see the README.
package scsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
)

// Prefix starts the key of every session this package stores.
const Prefix = "scs:"

// digestMarker follows Prefix in the key of a token stored by its digest.
const digestMarker = "#sha256:"

// Store is a session store for scs's SessionManager. It implements
// scs.Store, scs.CtxStore, scs.IterableStore and scs.IterableCtxStore, and
// is safe for concurrent use by multiple goroutines.
type Store struct {
	db *gorm.DB
}

// New returns a Store on db, whose cache table must exist
// ([cache.AutoMigrate]). The methods without a context run under db's own
// context; the Ctx methods under the one they are given.
func New(db *gorm.DB) *Store {
	return &Store{db: db}
}

// key returns the cache key of a token.
func key(token string) string {
	if !strings.HasPrefix(token, digestMarker) && utf8.ValidString(token) &&
		!strings.ContainsRune(token, 0) && utf8.RuneCountInString(Prefix+token) <= cache.MaxKeyLength {
		return Prefix + token
	}
	sum := sha256.Sum256([]byte(token))
	return Prefix + digestMarker + hex.EncodeToString(sum[:])
}

// Find returns the data of the session token. found is false, and err nil,
// when there is no live session under token.
func (s *Store) Find(token string) (b []byte, found bool, err error) {
	return s.find(s.db, token)
}

// FindCtx is Find under ctx.
func (s *Store) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	return s.find(s.db.WithContext(ctx), token)
}

func (s *Store) find(db *gorm.DB, token string) ([]byte, bool, error) {
	var b []byte
	found, err := cache.Cached(db, key(token)).Get(&b)
	if err != nil {
		return nil, false, fmt.Errorf("scsstore: find: %w", err)
	}
	return b, found, nil
}

// Commit stores the data of the session token, to expire at expiry,
// replacing any data it had.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.commit(s.db, token, b, expiry)
}

// CommitCtx is Commit under ctx.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.commit(s.db.WithContext(ctx), token, b, expiry)
}

func (s *Store) commit(db *gorm.DB, token string, b []byte, expiry time.Time) error {
	if err := cache.Cached(db, key(token)).Set(b, cache.At(expiry)); err != nil {
		return fmt.Errorf("scsstore: commit: %w", err)
	}
	return nil
}

// Delete removes the session token; a missing one is no error.
func (s *Store) Delete(token string) error {
	return s.delete(s.db, token)
}

// DeleteCtx is Delete under ctx.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	return s.delete(s.db.WithContext(ctx), token)
}

func (s *Store) delete(db *gorm.DB, token string) error {
	if _, err := cache.Cached(db, key(token)).Delete(); err != nil {
		return fmt.Errorf("scsstore: delete: %w", err)
	}
	return nil
}

// All returns the data of every live session, by token; an empty map when
// there is none. Sessions stored by digest (see the package doc) are left
// out.
func (s *Store) All() (map[string][]byte, error) {
	return s.all(s.db)
}

// AllCtx is All under ctx.
func (s *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	return s.all(s.db.WithContext(ctx))
}

func (s *Store) all(db *gorm.DB) (map[string][]byte, error) {
	// The core has no prefix query yet: the model, with an exact prefix
	// match (substr, since SQLite's LIKE ignores case).
	var items []cache.CachedItem
	err := db.Model(&cache.CachedItem{}).Scopes(cache.Live).
		Where("substr(?, 1, ?) = ?", clause.Column{Name: "key"}, len(Prefix), Prefix).
		Find(&items).Error
	if err != nil {
		return nil, fmt.Errorf("scsstore: all: %w", err)
	}
	out := make(map[string][]byte, len(items))
	for _, it := range items {
		token := strings.TrimPrefix(it.Key, Prefix)
		if strings.HasPrefix(token, digestMarker) {
			continue
		}
		var b []byte
		if err := json.Unmarshal(it.Value, &b); err != nil {
			return nil, fmt.Errorf("scsstore: all: decode %q: %w", it.Key, err)
		}
		out[token] = b
	}
	return out, nil
}
