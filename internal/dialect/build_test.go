package dialect

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuild: every fixed statement of both dialects is filled in under its
// own ID, logs its SQL with -1, 0 or 1 rows, and a run-time statement has
// ID -1, which no fixed statement has.
func TestBuild(t *testing.T) {
	t.Parallel()
	for _, d := range []Dialect{sqlite, postgres} {
		for id := ID(0); id < NumIDs; id++ {
			s := d.Stmt(id)
			require.Equal(t, id, s.ID, "%s %d", d.Name, id)
			require.NotEmpty(t, s.Portable, "%s %d", d.Name, id)
			require.Equal(t, d.native(s.Portable), s.Native, "%s %d", d.Name, id)
			for i, logged := range s.Logged {
				sql, rows := logged()
				require.Equal(t, s.Native, sql)
				require.EqualValues(t, i-1, rows, "%s %d", d.Name, id)
			}
		}
		b := d.Build(`SELECT ?`)
		require.EqualValues(t, -1, b.ID)
		require.Equal(t, d.native(`SELECT ?`), b.Native)
	}
}
