package scsstore_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/integrations/scsstore"
	"github.com/gormcache/cache/internal/cachetest"
)

var (
	_ scs.Store            = (*scsstore.Store)(nil)
	_ scs.CtxStore         = (*scsstore.Store)(nil)
	_ scs.IterableStore    = (*scsstore.Store)(nil)
	_ scs.IterableCtxStore = (*scsstore.Store)(nil)
)

func each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, b := range cachetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.DB) })
	}
}

// app is a web app whose sessions live in db: /put?v= stores v, /get
// returns it.
func app(db *gorm.DB, lifetime time.Duration) (*scs.SessionManager, http.Handler) {
	sm := scs.New()
	sm.Store = scsstore.New(db)
	sm.Lifetime = lifetime
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "v", r.URL.Query().Get("v"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, sm.GetString(r.Context(), "v"))
	})
	return sm, sm.LoadAndSave(mux)
}

// client keeps cookies between requests, across servers on one address
// scheme (httptest servers all listen on 127.0.0.1).
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

func TestSessionSurvivesRestart(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		c := client(t)
		_, h := app(db, time.Hour)
		srv := httptest.NewServer(h)
		get(t, c, srv.URL+"/put?v=hello")
		require.Equal(t, "hello", get(t, c, srv.URL+"/get"))
		srv.Close()

		// A new process: a new SessionManager and store on the same
		// database, the same cookie (cookies ignore the port).
		_, h = app(db, time.Hour)
		srv = httptest.NewServer(h)
		defer srv.Close()
		require.Equal(t, "hello", get(t, c, srv.URL+"/get"))

		var n int64
		require.NoError(t, db.Model(&cache.CachedItem{}).Where("? LIKE ?", clause.Column{Name: "key"}, "scs:%").Count(&n).Error)
		require.Equal(t, int64(1), n)
	})
}

func TestSessionExpires(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		c := client(t)
		_, h := app(db, 10*time.Millisecond)
		srv := httptest.NewServer(h)
		defer srv.Close()
		get(t, c, srv.URL+"/put?v=hello")
		time.Sleep(50 * time.Millisecond) // only ever more expired
		require.Equal(t, "", get(t, c, srv.URL+"/get"))

		// The expired row stays until ClearExpired.
		n, err := cache.ClearExpired(db)
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})
}

func TestStore(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := scsstore.New(db)
		in := time.Now().Add(time.Hour)

		b, found, err := s.Find("nope")
		require.NoError(t, err)
		require.False(t, found)
		require.Nil(t, b)

		require.NoError(t, s.Commit("t1", []byte("one"), in))
		require.NoError(t, s.CommitCtx(ctx, "t2", []byte{0, 1, 2, 255}, in))
		require.NoError(t, s.Commit("gone", []byte("x"), time.Now().Add(-time.Second)))
		// Not a session: another user of the cache table.
		require.NoError(t, cache.Cached(db, "SCS:other").Set([]byte("x")))
		require.NoError(t, cache.Cached(db, "t3").Set([]byte("x")))

		b, found, err = s.FindCtx(ctx, "t2")
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, []byte{0, 1, 2, 255}, b)
		_, found, err = s.Find("gone")
		require.NoError(t, err)
		require.False(t, found, "expired")

		all, err := s.All()
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{"t1": []byte("one"), "t2": {0, 1, 2, 255}}, all)

		require.NoError(t, s.Delete("t1"))
		require.NoError(t, s.DeleteCtx(ctx, "t1"), "deleting a missing session is no error")
		all, err = s.AllCtx(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string][]byte{"t2": {0, 1, 2, 255}}, all)

		require.NoError(t, s.Delete("t2"))
		all, err = s.All()
		require.NoError(t, err)
		require.NotNil(t, all)
		require.Empty(t, all)
	})
}

// TestLongTokens: a token no cache key can hold is stored under its digest,
// and a token spelling that digest is another session.
func TestLongTokens(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		s := scsstore.New(db)
		in := time.Now().Add(time.Hour)
		long := strings.Repeat("x", 2000)
		for _, tok := range []string{long, "bad\xffutf8", "nul\x00byte"} {
			_, found, err := s.Find(tok)
			require.NoError(t, err, "a malformed token is a miss, not an error")
			require.False(t, found)
			require.NoError(t, s.Commit(tok, []byte(tok[:3]), in))
			b, found, err := s.Find(tok)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, tok[:3], string(b))
		}
		var keys []string
		require.NoError(t, db.Model(&cache.CachedItem{}).Where("? LIKE ?", clause.Column{Name: "key"}, "scs:#sha256:%").Pluck("key", &keys).Error)
		require.Len(t, keys, 3)

		// A token that spells a digest key's tail is digested too.
		spoof := strings.TrimPrefix(keys[0], scsstore.Prefix)
		_, found, err := s.Find(spoof)
		require.NoError(t, err)
		require.False(t, found)
		require.NoError(t, s.Commit(spoof, []byte("spoof"), in))
		for _, tok := range []string{long, "bad\xffutf8", "nul\x00byte"} {
			b, found, err := s.Find(tok)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, tok[:3], string(b))
		}
		all, err := s.All()
		require.NoError(t, err)
		require.Empty(t, all, "digest entries have no token to list")
	})
}

// TestByteOverhead pins how a 4 KiB session is stored: a JSON string in
// base64, a third larger than the data (README, "Byte values").
func TestByteOverhead(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		data := make([]byte, 4096)
		_, _ = rand.Read(data)
		require.NoError(t, scsstore.New(db).Commit("big", data, time.Now().Add(time.Hour)))
		var sizes struct{ Text, Stored int64 }
		col := "length(CAST(value AS BLOB)) AS text, length(CAST(value AS BLOB)) AS stored"
		switch db.Dialector.Name() {
		case "postgres":
			col = "octet_length(value::text) AS text, pg_column_size(value) AS stored"
		case "mysql":
			col = "LENGTH(value) AS text, LENGTH(value) AS stored"
		}
		require.NoError(t, db.Model(&cache.CachedItem{}).Select(col).Where(clause.Eq{Column: clause.Column{Name: "key"}, Value: "scs:big"}).Scan(&sizes).Error)
		t.Logf("4096 random bytes: %d bytes of JSON, %d bytes stored", sizes.Text, sizes.Stored)
		require.Equal(t, int64(4*(4096+2)/3+2), sizes.Text)
	})
}
