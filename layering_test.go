package cache_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sqlText looks like a statement or a condition.
var sqlText = regexp.MustCompile(`(?i)\b(SELECT\s.+\sFROM|DELETE\s+FROM|INSERT\s+INTO|UPDATE\s.+\sSET|PRAGMA\s|LIKE\s.*ESCAPE)\b|"?expires_at"?\s*(<|>|=|IS\s)`)

// TestFrontEndsUseThePublicAPI keeps the CLI and the admin page thin: they
// import no internal package of the module, build no SQL and call none of
// GORM's query builders, so that every database feature lives in the core
// (internal/dialect for its SQL) and is written once.
func TestFrontEndsUseThePublicAPI(t *testing.T) {
	t.Parallel()
	builders := map[string]bool{
		"Raw": true, "Exec": true, "Where": true, "Select": true, "Order": true, "Joins": true,
		"Not": true, "Or": true, "Having": true, "Group": true, "Model": true, "Find": true,
		"Take": true, "First": true, "Scan": true, "ConnPool": true,
	}
	scanned := 0
	for _, dir := range []string{"cachecli", "cacheadmin", filepath.Join("cmd", "gormcache")} {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			path := filepath.Join(dir, name)
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			require.NoError(t, err)
			scanned++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				require.False(t, strings.HasPrefix(p, "github.com/gormcache/cache/internal"), "%s imports %s", path, p)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if pkg, ok := n.X.(*ast.Ident); n.Sel.Name == "Dialector" && (!ok || pkg.Name != "gorm") {
						t.Errorf("%s: %s switches on the database: that belongs in internal/dialect", path, fset.Position(n.Pos()))
					}
					if builders[n.Sel.Name] {
						t.Errorf("%s: %s uses GORM's %s: use the cache package's API", path, fset.Position(n.Pos()), n.Sel.Name)
					}
				case *ast.BasicLit:
					if n.Kind == token.STRING && sqlText.MatchString(n.Value) {
						t.Errorf("%s: %s holds SQL: %s", path, fset.Position(n.Pos()), n.Value)
					}
				}
				return true
			})
		}
	}
	require.Greater(t, scanned, 10)
}
