package dialect

import "testing"

// The pgx dialector name is PostgreSQL everywhere.
func TestPgxIsPostgres(t *testing.T) {
	for name, f := range map[string]func(string) string{
		"JSONType": JSONType, "KeyContains": KeyContains, "ListColumns": ListColumns,
		"SumValueSize": SumValueSize, "TableDiskSize": TableDiskSize,
		"DatabaseDiskSize": DatabaseDiskSize, "SetLogged": SetLogged,
	} {
		if f("pgx") != f("postgres") {
			t.Errorf("%s: pgx differs from postgres", name)
		}
		if f("sqlite3") != f("sqlite") {
			t.Errorf("%s: sqlite3 differs from sqlite", name)
		}
	}
	if JSONType("pgx") != "jsonb" || JSONType("sqlite") != "text" {
		t.Errorf("JSONType: pgx %q, sqlite %q", JSONType("pgx"), JSONType("sqlite"))
	}
	if pg, err := For("pgx"); err != nil || pg.Name != "postgres" {
		t.Errorf("For(pgx): %v, %v", pg, err)
	}
}
