package cache

import (
	"database/sql"
	"testing"
)

// registrySize counts the pools in the registry, and checks that the
// counter agrees.
func registrySize(t *testing.T) int64 {
	t.Helper()
	var n int64
	registry.pools.Range(func(_, _ any) bool { n++; return true })
	if c := registry.n.Load(); c != n {
		t.Fatalf("the registry counts %d pools and holds %d", c, n)
	}
	return n
}

func isRegistered(db *sql.DB) bool {
	_, ok := registry.pools.Load(db)
	return ok
}

// TestRegistryBounded: the prepared statements of at most maxPools pools
// are kept (a pool just used is among them), and a closed pool's are
// dropped once a call finds it closed. Not parallel: the registry is the
// package's.
func TestRegistryBounded(t *testing.T) {
	for i := range maxPools + 6 {
		db := openSQLite(t)
		if err := AutoMigrate(db); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Get[int](db, "k"); err != nil {
			t.Fatal(err)
		}
		sqlDB, _ := db.DB()
		if !isRegistered(sqlDB) {
			t.Fatalf("pool %d, just used, has no prepared statements", i)
		}
		if n := registrySize(t); n > maxPools {
			t.Fatalf("%d pools in the registry after pool %d, more than %d", n, i, maxPools)
		}
		if i != maxPools+5 {
			continue
		}
		if n := registrySize(t); n != maxPools {
			t.Fatalf("%d pools in the registry after %d were used, want %d", n, i+1, maxPools)
		}
		// The last pool, closed: the next call fails and drops it.
		_ = sqlDB.Close()
		if _, _, err := Get[int](db, "k"); err == nil {
			t.Fatal("Get on a closed pool succeeded")
		}
		if isRegistered(sqlDB) {
			t.Fatal("a closed pool's statements are still in the registry")
		}
		if n := registrySize(t); n != maxPools-1 {
			t.Fatalf("%d pools in the registry after one was dropped, want %d", n, maxPools-1)
		}
	}
}
