package dialect

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCheckTable: the names written into SQL are plain identifiers, at most
// one schema, each part 1 to MaxIdentifier bytes; the characters just
// outside each accepted range are refused.
func TestCheckTable(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", MaxIdentifier)
	for _, ok := range []string{"c", "_", "a9", "azAZ_09", "Z", "s.t", long, long + "." + long} {
		require.NoError(t, CheckTable(ok), "%q", ok)
	}
	for _, bad := range []string{
		"", ".", "s.", ".t", "a.b.c", long + "a", "s." + long + "a",
		"9", "9a", "s.9t", "a-b", "a b", "é", "a;", `a"`, "a`",
		"@", "[", "`", "{", "a/", "a:", // next to A, Z, a, z, 0, 9
	} {
		require.Error(t, CheckTable(bad), "%q", bad)
	}
}

// TestForTable: a table's statements name it, quoted as each database
// quotes, schema-qualified; one dialect per spelling is kept (up to
// maxTables, past which statements are made per call and not prepared).
func TestForTable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, quoted, tags string }{
		{"sqlite", `"s"."t"`, `"s"."t_tags"`},
		{"postgres", `"s"."t"`, `"s"."t_tags"`},
		{"mysql", "`s`.`t`", "`s`.`t_tags`"},
	} {
		base, err := For(tc.name)
		require.NoError(t, err)
		d := own(base)
		same, err := d.ForTable(Table)
		require.NoError(t, err)
		require.Same(t, d, same, "the dialect's own table")

		got, err := d.ForTable("s.t")
		require.NoError(t, err)
		require.Equal(t, "s.t", got.TableName)
		require.Equal(t, "s.t_tags", got.TagsTableName())
		require.Equal(t, base.Prepare, got.Prepare)
		for id := ID(0); id < NumIDs; id++ {
			s := got.Stmt(id)
			require.Equal(t, id, s.ID)
			require.NotContains(t, s.Portable, Table, "%s %d still names cached_items", tc.name, id)
			require.Equal(t, got.native(s.Portable), s.Native)
		}
		require.Contains(t, got.Stmt(Get).Portable, tc.quoted)
		require.Contains(t, got.Stmt(InvalidateTags).Portable, tc.tags)
		again, err := d.ForTable("s.t")
		require.NoError(t, err)
		require.Same(t, got, again, "kept under its spelling")
		require.Same(t, got, d.Lookup("s.t"))

		_, err = d.ForTable("s.t.u")
		require.Error(t, err)
		require.Nil(t, d.Lookup("s.t.u"))

		// From a dialect of another table, cached_items is the base.
		other, err := got.ForTable(Table)
		require.NoError(t, err)
		require.Same(t, base, other)
	}

	d := own(&sqlite)
	for i := range maxTables {
		got, err := d.ForTable(fmt.Sprintf("t%d", i))
		require.NoError(t, err)
		require.True(t, got.Prepare)
	}
	past, err := d.ForTable("past")
	require.NoError(t, err)
	require.False(t, past.Prepare, "past maxTables: made for the call")
	require.Nil(t, d.Lookup("past"))
	kept := d.Lookup("t0")
	require.NotNil(t, kept)
	require.True(t, d.Remember("t0", kept), "a spelling already kept stays kept when full")
	require.False(t, d.Remember("t0", past), "but is not replaced when full")
}

// own returns a copy of d that keeps its own tables, so that a test's
// ForTable calls leave the package's dialects as they were.
func own(d *Dialect) *Dialect {
	c := *d
	c.tables = &tables{}
	return &c
}

// TestSuffixed: the side table's name is the table's with _tags, cut and
// made unique when it would pass MaxIdentifier.
func TestSuffixed(t *testing.T) {
	t.Parallel()
	fits := strings.Repeat("a", MaxIdentifier-len(tagsSuffix))
	require.Equal(t, fits+tagsSuffix, tagsName(fits))
	over := fits + "b"
	got := tagsName(over)
	require.Len(t, got, MaxIdentifier)
	require.True(t, strings.HasSuffix(got, tagsSuffix))
	require.True(t, strings.HasPrefix(got, over[:MaxIdentifier-len(tagsSuffix)-9]))
	require.NotEqual(t, got, tagsName(fits+"c"), "the checksum tells cut names apart")
	require.NotEqual(t, got, tagsName(fits))
	d := &Dialect{TableName: "s." + over}
	require.Equal(t, "s."+got, d.TagsTableName())
}

// TestMany: SQLite and PostgreSQL pass the keys as one JSON array; MySQL
// passes one argument per key, through the fixed (prepared) statement for
// one key and a statement made for the count otherwise.
func TestMany(t *testing.T) {
	t.Parallel()
	keys := []string{"a", "b", "c"}
	fail := errors.New("no json")
	for _, name := range []string{"sqlite", "postgres"} {
		d, err := For(name)
		require.NoError(t, err)
		s, args, err := d.Many(GetMany, keys, func() (string, error) { return `["a","b","c"]`, nil })
		require.NoError(t, err)
		require.Same(t, d.Stmt(GetMany), s)
		require.Equal(t, []any{`["a","b","c"]`}, args)
		_, _, err = d.Many(GetMany, keys, func() (string, error) { return "", fail })
		require.ErrorIs(t, err, fail)
	}
	d, err := For("mysql")
	require.NoError(t, err)
	noJSON := func() (string, error) { t.Fatal("MySQL takes no JSON"); return "", nil }
	s, args, err := d.Many(DeleteMany, keys[:1], noJSON)
	require.NoError(t, err)
	require.Same(t, d.Stmt(DeleteMany), s)
	require.Equal(t, []any{"a"}, args)
	s, args, err = d.Many(GetMany, keys, noJSON)
	require.NoError(t, err)
	require.Equal(t, []any{"a", "b", "c"}, args)
	require.Contains(t, s.Portable, "IN (?, ?, ?)")
	require.EqualValues(t, -1, s.ID)
	require.Equal(t, d.Stmt(GetMany).Cols, s.Cols)
	require.Equal(t, d.native(s.Portable), s.Native)
}

// TestSetMany: n rows of five (untagged) or six (tagged) parameters, with
// each database's insert and conflict clause.
func TestSetMany(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sqlite", "postgres", "mysql"} {
		d, err := For(name)
		require.NoError(t, err)
		for _, tagged := range []bool{false, true} {
			for _, n := range []int{1, 3} {
				s := d.SetMany(n, tagged)
				require.EqualValues(t, -1, s.ID)
				per := 5
				if tagged {
					per = 6
				}
				require.Equal(t, n*per, strings.Count(s.Portable, "?"), "%s tagged=%v n=%d", name, tagged, n)
				require.Equal(t, n-1, strings.Count(s.Portable, "), ("), "%s tagged=%v n=%d", name, tagged, n)
				require.Contains(t, s.Portable, "VALUES (?", "the first row follows VALUES")
				require.Equal(t, d.native(s.Portable), s.Native)
				if name == "mysql" {
					require.Contains(t, s.Portable, "ON DUPLICATE KEY UPDATE")
				} else {
					require.Contains(t, s.Portable, "ON CONFLICT")
				}
			}
		}
	}
}

// TestCapabilities: what each database does in one statement, which
// decides the code paths of tagged writes, ClearExpired and migrations.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                                string
		one, syncs, byTag, byteOrder, rng   bool
		migrations, unloggedMigrations, tag int
	}{
		{"sqlite", false, true, true, true, false, 0, 0, 1},
		{"postgres", true, false, false, false, false, 1, 2, 1},
		{"mysql", false, false, false, true, true, 0, 0, 1},
	} {
		d, err := For(tc.name)
		require.NoError(t, err)
		require.Equal(t, tc.one, d.InOneStatement(), tc.name)
		require.Equal(t, tc.syncs, d.SyncsTags(), tc.name)
		require.Equal(t, tc.byTag, d.SideByTag(), tc.name)
		require.Equal(t, tc.byteOrder, d.ByteOrderedKeys(), tc.name)
		_, _, ok := d.ClearRange()
		require.Equal(t, tc.rng, ok, tc.name)
		require.Len(t, d.Migrations(false), tc.migrations, tc.name)
		require.Len(t, d.Migrations(true), tc.unloggedMigrations, tc.name)
		require.Len(t, d.TagMigrations(false), tc.tag, tc.name)
		require.Len(t, d.TagMigrations(true), tc.tag+tc.unloggedMigrations-tc.migrations, tc.name)
	}
	// The inspection fragments quote as their database does.
	require.Contains(t, ExpiresAt("mysql"), "`expires_at`")
	require.Contains(t, ExpiresAt("sqlite"), `"expires_at"`)
	require.NotContains(t, ExpiresAt("postgres"), "`")
	my, err := For("mysql")
	require.NoError(t, err)
	bound, del, _ := my.ClearRange()
	require.Equal(t, []string{"expires_at", "id"}, bound.Cols)
	require.Contains(t, del.Portable, "DELETE")
	require.Contains(t, bound.Portable, "OFFSET ?")
}
