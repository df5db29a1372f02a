package dialect

import (
	"errors"
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

// MySQL's deadlock and value refusals are recognized by their error
// numbers, on MySQL only.
func TestMySQLErrors(t *testing.T) {
	my, _ := For("mysql")
	pg, _ := For("postgres")
	deadlock := errors.New("Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction")
	invalid := errors.New(`Error 3140 (22032): Invalid JSON text: "Number too big to be stored in double." at position 5 in value for column 'cached_items.value'.`)
	check := errors.New("Error 4025 (23000): CONSTRAINT `cached_items.value` failed for `db`.`cached_items`")
	other := errors.New("Error 1062 (23000): Duplicate entry")
	for _, c := range []struct {
		d              *Dialect
		err            error
		retry, refused bool
	}{
		{my, deadlock, true, false}, {my, invalid, false, true}, {my, check, false, true}, {my, other, false, false},
		{my, nil, false, false}, {pg, deadlock, false, false}, {pg, invalid, false, false},
	} {
		if got := c.d.Retryable(c.err); got != c.retry {
			t.Errorf("%s Retryable(%v) = %v", c.d.Name, c.err, got)
		}
		if got := c.d.RefusedValue(c.err); got != c.refused {
			t.Errorf("%s RefusedValue(%v) = %v", c.d.Name, c.err, got)
		}
	}
}
