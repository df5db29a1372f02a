package cache

import (
	"context"
	"path/filepath"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func openSQLite(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(sqlite.Open("file:"+filepath.Join(t.TempDir(), "c.db")),
		&gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// TestCustomCallbacks pins the reading of GORM's callback lists: a plain
// database takes the direct path (a GORM upgrade that breaks the reading
// would silently send every call through GORM), and a callback registered
// or replaced by hand is seen at once.
func TestCustomCallbacks(t *testing.T) {
	if fnsField < 0 || scopesField < 0 {
		t.Fatal("this GORM's processor or statement no longer has the fields read by session.go")
	}
	db := openSQLite(t)
	r, err := newRunner(db, context.Background())
	if err != nil || r.viaGORM {
		t.Fatalf("plain database: viaGORM %v, err %v", r.viaGORM, err)
	}
	if customCallbacks(db.WithContext(t.Context())) {
		t.Fatal("a session of a plain database has no custom callbacks")
	}
	if err := db.Callback().Raw().Register("audit", func(*gorm.DB) {}); err != nil {
		t.Fatal(err)
	}
	if !customCallbacks(db) {
		t.Fatal("a Raw callback registered by hand was not seen")
	}
	if err := db.Callback().Raw().Remove("audit"); err != nil {
		t.Fatal(err)
	}
	if customCallbacks(db) {
		t.Fatal("a removed callback is still seen")
	}
	db2 := openSQLite(t)
	if err := db2.Callback().Query().Replace("gorm:query", func(*gorm.DB) {}); err != nil {
		t.Fatal(err)
	}
	if !customCallbacks(db2) {
		t.Fatal("a replaced gorm:query was not seen")
	}
	if !hasScopes(db.Scopes(func(d *gorm.DB) *gorm.DB { return d }).Statement) || hasScopes(db.Statement) {
		t.Fatal("scopes misread")
	}
}

// BenchmarkNewRunner measures what each call pays to read the session:
// the checks, the table and the callback lists.
func BenchmarkNewRunner(b *testing.B) {
	for _, name := range []string{"default", "table"} {
		b.Run(name, func(b *testing.B) {
			db := openSQLite(b)
			if name == "table" {
				db = db.Table("sessions_cache")
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := newRunner(db, context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
