package cache_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
	"github.com/gormcache/cache/internal/cachetest"
)

// injections are keys and values that would change a query built from
// them as text.
var injections = cachetest.SQLInjections

// noopPlugin makes the package run its statements through GORM's Raw and
// Exec, the path taken when the app uses plugins such as otelgorm.
type noopPlugin struct{}

func (noopPlugin) Name() string              { return "gormcache-noop" }
func (noopPlugin) Initialize(*gorm.DB) error { return nil }

// TestSecurityInjection passes strings that look like SQL as keys, values
// and bulk keys to every function, on the direct path and the GORM-plugin
// path: each is stored and found as the literal string it is, nothing else
// is read or deleted, and a canary table is untouched.
func TestSecurityInjection(t *testing.T) {
	for _, b := range cachetest.Backends(t) {
		for _, path := range []string{"direct", "plugin"} {
			t.Run(b.Name+"/"+path, func(t *testing.T) {
				dial := cachetest.Dialector(b.Name, b.DSN)
				db, err := gorm.Open(dial, cachetest.Config())
				require.NoError(t, err)
				sqlDB, err := db.DB()
				require.NoError(t, err)
				defer sqlDB.Close()
				if path == "plugin" {
					require.NoError(t, db.Use(noopPlugin{}))
				}
				_, err = cache.Clear(db)
				require.NoError(t, err)
				require.NoError(t, db.Exec(`DROP TABLE IF EXISTS canary`).Error)
				require.NoError(t, db.Exec(`CREATE TABLE canary (id integer)`).Error)
				require.NoError(t, db.Exec(`INSERT INTO canary (id) VALUES (1)`).Error)
				require.NoError(t, cache.Cached(db, "bystander").Set("safe"))

				for _, s := range injections {
					e := cache.Cached(db, s)
					ok, err := e.Exists()
					require.NoError(t, err)
					require.False(t, ok, "%q matched another key", s)
					require.NoError(t, e.Set(s, cache.In(time.Hour)))
					got, ok, err := cache.Get[string](db, s)
					require.NoError(t, err)
					require.True(t, ok)
					require.Equal(t, s, got)
					added, err := e.Add("again")
					require.NoError(t, err)
					require.False(t, added)
					touched, err := e.Touch()
					require.NoError(t, err)
					require.True(t, touched)
					n, err := cache.Cached(db, s+"#n").Increment(2)
					require.NoError(t, err)
					require.EqualValues(t, 2, n)
					v, err := cache.GetOrSet(db, s+"#g", func() (string, error) { return s, nil })
					require.NoError(t, err)
					require.Equal(t, s, v)
					require.NoError(t, cache.SetMany(db, map[string]any{s + "#m": s}))
					many, err := cache.GetMany[any](db, []string{s, s + "#n", s + "#g", s + "#m", s + "#missing"})
					require.NoError(t, err)
					require.Equal(t, map[string]any{s: s, s + "#n": 2.0, s + "#g": s, s + "#m": s}, many)
					deleted, err := cache.DeleteMany(db, []string{s + "#n", s + "#g", s + "#m", s + "#missing"})
					require.NoError(t, err)
					require.EqualValues(t, 3, deleted)
					gone, err := e.Delete()
					require.NoError(t, err)
					require.True(t, gone)
				}
				var rows int64
				require.NoError(t, db.Raw(`SELECT count(*) FROM canary`).Scan(&rows).Error)
				require.EqualValues(t, 1, rows, "the canary table changed")
				st, err := cache.Stats(db)
				require.NoError(t, err)
				require.Equal(t, cache.Statistics{Total: 1, Live: 1, Forever: 1}, st)
				got, ok, err := cache.Get[string](db, "bystander")
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, "safe", got)
				require.NoError(t, db.Exec(`DROP TABLE canary`).Error)
			})
		}
	}
}

// sqlWord finds SQL in a string literal.
var sqlWord = regexp.MustCompile(`\b(SELECT|INSERT|UPDATE|DELETE|WHERE|DROP|ALTER|CREATE|VALUES|SET)\b`)

// queryMethods take SQL as their first argument (after a context for the
// *Context ones).
var queryMethods = map[string]int{
	"Raw": 0, "Exec": 0, "Where": 0, "Not": 0, "Or": 0, "Having": 0, "Order": 0, "Select": 0,
	"Joins": 0, "Group": 0, "Build": 0, "Query": 0, "QueryRow": 0, "Prepare": 0,
	"QueryContext": 1, "ExecContext": 1, "QueryRowContext": 1, "PrepareContext": 1,
}

// reviewed lists the query arguments that are not constants but were
// checked by hand, as "file: expression".
var reviewed = map[string]string{
	"automigrate.go: q":                                  "the statements of dialect.Migrations, KeyMigration, LockMigration and TagTriggers, all constants",
	"automigrate.go: count":                              "TagTriggers' count of triggers: a constant on the schema name CheckTable accepted",
	"automigrate.go: create":                             "dialect.SetTaggedProcedure: a constant on the table name CheckTable accepted, with a collation from a fixed list",
	"automigrate.go: alter":                              "built by KeyMigration's query from a collation name it picks from a fixed list",
	"internal/dialect/dialect.go: q":                     "Many: a constant statement with one ? per key",
	"internal/dialect/mysql.go: d.onTable(myClearBound)": "a constant on the table name CheckTable accepted",
	"internal/dialect/mysql.go: d.onTable(myClearRange)": "a constant on the table name CheckTable accepted",
	"inspect.go: order":                                  "dialect.ExpiryFirst or dialect.ExpiryLast, from the two calls in inspect.go",
	"inspect.go: q":                                      "dialect.TableDiskSize or dialect.DatabaseDiskSize, both constants",
}

// sqlFindings reports SQL in the Go file src that is built from anything
// but constants: string concatenation or fmt formatting with SQL in it, and
// query methods whose SQL is not a constant, a dialect statement
// (.Portable, .Native) or a strings.Builder fed only constants.
func sqlFindings(fset *token.FileSet, name string, f *ast.File, consts map[string]bool) []string {
	var out []string
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	isConst := func(e ast.Expr) bool { return constExpr(e, consts) }
	hasSQL := func(e ast.Expr) bool {
		found := false
		ast.Inspect(e, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && sqlWord.MatchString(s) {
					found = true
				}
			}
			return !found
		})
		return found
	}
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok {
			return true
		}
		// Builders fed only constants in this function.
		dirty := map[string]bool{}
		ast.Inspect(fn, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "WriteString" && len(call.Args) == 1 && !isConst(call.Args[0]) {
					if id, ok := sel.X.(*ast.Ident); ok {
						dirty[id.Name] = true
					}
				}
			}
			return true
		})
		ast.Inspect(fn, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if n.Op == token.ADD && hasSQL(n) && !isConst(n) {
					report(n, "SQL built by concatenating a non-constant")
					return false
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if isPkg(sel, "fmt", "Sprintf", "Sprint", "Sprintln", "Fprintf") && hasSQL(n) && !isConst(&ast.CallExpr{Fun: &ast.SelectorExpr{X: ast.NewIdent("fmt"), Sel: ast.NewIdent("Sprintf")}, Args: n.Args}) {
					report(n, "SQL formatted from a non-constant")
					return false
				}
				i, ok := queryMethods[sel.Sel.Name]
				if !ok || len(n.Args) <= i || (n.Ellipsis.IsValid() && i == len(n.Args)-1) {
					return true // no SQL argument: a prepared statement's args...
				}
				arg := n.Args[i]
				switch a := arg.(type) {
				case *ast.SelectorExpr:
					if a.Sel.Name == "Portable" || a.Sel.Name == "Native" {
						return true
					}
				case *ast.CompositeLit: // clause.Eq{...}: GORM quotes the column, binds the value
					if t, ok := a.Type.(*ast.SelectorExpr); ok && isPkg(t, "clause", t.Sel.Name) {
						return true
					}
				case *ast.CallExpr:
					if s, ok := a.Fun.(*ast.SelectorExpr); ok && isPkg(s, "clause", "Or", "And", "Not") {
						return true
					}
					if s, ok := a.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == "String" {
						if id, ok := s.X.(*ast.Ident); ok && !dirty[id.Name] {
							return true
						}
					}
				}
				if isConst(arg) {
					return true
				}
				expr := fmt.Sprintf("%s: %s", name, exprString(fset, arg))
				if _, ok := reviewed[expr]; ok {
					return true
				}
				report(n, "%s takes SQL that is not a constant: %s", sel.Sel.Name, exprString(fset, arg))
			}
			return true
		})
		return false
	})
	return out
}

func isPkg(sel *ast.SelectorExpr, pkg string, names ...string) bool {
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && slices.Contains(names, sel.Sel.Name)
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	start, end := fset.Position(e.Pos()), fset.Position(e.End())
	src, err := os.ReadFile(start.Filename)
	if err != nil || end.Offset > len(src) {
		return fmt.Sprintf("%T", e)
	}
	b.Write(src[start.Offset:end.Offset])
	return b.String()
}

// constNames collects the constants declared in files, and (as "func
// name") the functions that return nothing but string literals and
// constants, such as a dialect switch between two SQL expressions.
func constNames(files []*ast.File) map[string]bool {
	consts := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						consts[n.Name] = true
					}
				}
			}
		}
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Body == nil || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
				continue
			}
			if t, ok := fn.Type.Results.List[0].Type.(*ast.Ident); !ok || t.Name != "string" {
				continue
			}
			onlyConst, returns := true, 0
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if _, ok := n.(*ast.FuncLit); ok {
					return false
				}
				if r, ok := n.(*ast.ReturnStmt); ok {
					returns++
					if len(r.Results) != 1 || !constExpr(r.Results[0], consts) {
						onlyConst = false
					}
				}
				return true
			})
			if onlyConst && returns > 0 {
				consts["func "+fn.Name.Name] = true
			}
		}
	}
	return consts
}

// constExpr reports whether e is built only from literals, the constants
// (and constant-returning functions, "func name") in consts, and fmt.Sprintf
// or fmt.Sprint of those.
func constExpr(e ast.Expr, consts map[string]bool) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return consts[e.Name]
	case *ast.ParenExpr:
		return constExpr(e.X, consts)
	case *ast.BinaryExpr:
		return constExpr(e.X, consts) && constExpr(e.Y, consts)
	case *ast.SelectorExpr: // a constant of another package, e.g. dialect.Table
		_, ok := e.X.(*ast.Ident)
		return ok && e.Sel.IsExported() && consts[e.Sel.Name]
	case *ast.CallExpr:
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok && isPkg(sel, "fmt", "Sprintf", "Sprint") {
			return !slices.ContainsFunc(e.Args, func(a ast.Expr) bool { return !constExpr(a, consts) })
		}
		if id, ok := e.Fun.(*ast.Ident); ok {
			return consts["func "+id.Name] // returns only constants
		}
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok { // another package's, e.g. dialect.ValueSize
			_, pkg := sel.X.(*ast.Ident)
			return pkg && sel.Sel.IsExported() && consts["func "+sel.Sel.Name]
		}
	}
	return false
}

// TestSecuritySQLIsParameterized reads every non-test Go file of the module
// (the test helpers in internal/cachetest excepted) and fails on SQL built
// from anything but constants: keys, values and search text can only reach
// the database as query parameters.
func TestSecuritySQLIsParameterized(t *testing.T) {
	byDir := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || path == filepath.Join("internal", "cachetest")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != "." && err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], path)
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, byDir, ".")
	// Constants of every package of the module, so that dialect.Table
	// counts as one in the root package.
	fset := token.NewFileSet()
	var paths []string
	var files []*ast.File
	for _, ps := range byDir {
		for _, p := range ps {
			f, err := parser.ParseFile(fset, p, nil, 0)
			require.NoError(t, err)
			paths = append(paths, p)
			files = append(files, f)
		}
	}
	consts := constNames(files)
	var findings []string
	for i, f := range files {
		findings = append(findings, sqlFindings(fset, paths[i], f, consts)...)
	}
	scanned := len(files)
	require.Empty(t, findings, "SQL built from non-constants; use ? parameters, or add a reviewed exception")
	t.Logf("%d files scanned", scanned)
}

// TestSecurityScannerCatches makes sure the scanner above would catch the
// usual ways of building SQL from input.
func TestSecurityScannerCatches(t *testing.T) {
	src := `package p
const table = "cached_items"
func f(db *gorm.DB, key string, r runner) {
	db.Exec("DELETE FROM t WHERE k = '" + key + "'")
	db.Raw(fmt.Sprintf("SELECT * FROM t WHERE k = '%s'", key))
	db.Where("key = " + key)
	q := "SELECT 1 WHERE k = " + strconv.Quote(key)
	r.pool.QueryContext(ctx, q)
	var b strings.Builder
	b.WriteString(key)
	db.Exec(b.String())
	db.Exec("DELETE FROM " + table + " WHERE key = ?", key) // fine
	db.Raw(s.Native, key)                                  // fine
	db.Select("SELECT " + fixed() + " FROM t")             // fine
	db.Select("SELECT " + echo(key) + " FROM t")
}
func fixed() string { if table != "" { return "a" }; return "b" }
func echo(s string) string { return s }`
	dir := t.TempDir()
	path := filepath.Join(dir, "p.go")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	require.NoError(t, err)
	findings := sqlFindings(fset, "p.go", f, constNames([]*ast.File{f}))
	lines := map[int]bool{}
	for _, s := range findings {
		_, rest, _ := strings.Cut(s, "p.go:")
		n, _, _ := strings.Cut(rest, ":")
		line, err := strconv.Atoi(n)
		require.NoError(t, err, s)
		lines[line] = true
	}
	require.Equal(t, map[int]bool{4: true, 5: true, 6: true, 7: true, 8: true, 11: true, 15: true}, lines, strings.Join(findings, "\n"))
}
