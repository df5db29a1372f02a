package dialect

import (
	"strings"
	"testing"
)

// A "?" inside a string literal would be taken for a placeholder by both
// GORM and Native: the SQL must not contain one.
func TestNoPlaceholderInLiterals(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres", "mysql"} {
		d, err := For(name)
		if err != nil {
			t.Fatal(err)
		}
		for id := ID(0); id < NumIDs; id++ {
			q := d.Stmt(id).Portable
			inQuote := false
			for _, c := range q {
				switch {
				case c == '\'':
					inQuote = !inQuote
				case c == '?' && inQuote:
					t.Errorf("%s statement %d has ? in a literal: %s", name, id, q)
				}
			}
			if strings.Contains(q, "@") {
				t.Errorf("%s statement %d contains @, which GORM takes for a named parameter", name, id)
			}
		}
	}
}

func TestNative(t *testing.T) {
	pg, _ := For("postgres")
	if got := pg.Build(`SELECT ? + ?`).Native; got != `SELECT $1 + $2` {
		t.Errorf("postgres native: %q", got)
	}
	lite, _ := For("sqlite")
	if got := lite.Build(`SELECT ? + ?`).Native; got != `SELECT ? + ?` {
		t.Errorf("sqlite native: %q", got)
	}
	if _, err := For("mysql"); err != nil {
		t.Error(err)
	}
	if _, err := For("sqlserver"); err == nil {
		t.Error("sqlserver: want an unsupported-database error")
	}
}
