package cache

// This file reads what a caller's *gorm.DB asks of a cache call: the table
// (db.Table), which clauses it carries, and whether GORM's callbacks must see
// the statements (plugins, callbacks registered by hand, DryRun).

import (
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"

	"github.com/gormcache/cache/internal/dialect"
)

// resolverPrefix starts the names under which gorm.io/plugin/dbresolver
// keeps its clauses (dbresolver.Use) and settings (dbresolver.Write, Read).
// They choose a connection, not SQL, so they are kept.
const resolverPrefix = "gorm:db_resolver"

// checkSession refuses a session whose clauses or scopes would change the
// SQL of a cache statement: the cache runs its own fixed SQL, and dropping
// them silently would do something else than the caller asked.
func checkSession(st *gorm.Statement) error {
	what := ""
	switch {
	case st.SQL.Len() > 0:
		what = "Raw SQL"
	case len(st.Selects) > 0:
		what = "Select"
	case len(st.Omits) > 0:
		what = "Omit"
	case st.Distinct:
		what = "Distinct"
	case len(st.Joins) > 0:
		what = "Joins"
	case len(st.Preloads) > 0:
		what = "Preload"
	case len(st.ColumnMapping) > 0:
		what = "a column mapping"
	case hasScopes(st):
		what = "Scopes"
	case st.Model != nil && !isItemModel(st.Model):
		what = fmt.Sprintf("Model(%T)", st.Model)
	}
	if what == "" && len(st.Clauses) > 0 {
		for name := range st.Clauses {
			if !strings.HasPrefix(name, resolverPrefix) {
				what = "a " + name + " clause"
				break
			}
		}
	}
	if what != "" {
		return fmt.Errorf("%w: the session has %s; the cache runs its own SQL, "+
			"so pass a *gorm.DB without it (db.Table, WithContext, Debug, Set, Session options and "+
			"dbresolver clauses are fine)", ErrUnsupportedSession, what)
	}
	return nil
}

func isItemModel(m any) bool {
	switch m.(type) {
	case *CachedItem, CachedItem, *[]CachedItem, []CachedItem:
		return true
	}
	return false
}

// scopesField is the index of gorm.Statement's unexported scopes, which
// db.Scopes fills and GORM applies when a statement runs; -1 if this GORM
// has no such field.
var scopesField = func() int {
	f, ok := reflect.TypeFor[gorm.Statement]().FieldByName("scopes")
	if !ok || len(f.Index) != 1 || f.Type.Kind() != reflect.Slice {
		return -1
	}
	return f.Index[0]
}()

func hasScopes(st *gorm.Statement) bool {
	return scopesField >= 0 && reflect.ValueOf(st).Elem().Field(scopesField).Len() > 0
}

// tableFor returns the SQL of base's database for the session's cache
// table: the one named with db.Table, else cached_items. Names are checked
// with dialect.CheckTable; the answer is cached per spelling, so a call
// builds no SQL.
func tableFor(base *dialect.Dialect, st *gorm.Statement) (*dialect.Dialect, error) {
	if e := st.TableExpr; e != nil {
		if len(e.Vars) == 0 {
			if t := base.Lookup(e.SQL); t != nil {
				return t, nil
			}
		}
		name, err := tableName(e.SQL, len(e.Vars))
		if err != nil {
			return nil, err
		}
		t, err := base.ForTable(name)
		if err != nil {
			return nil, fmt.Errorf("%w %w", ErrInvalidTable, err)
		}
		base.Remember(e.SQL, t)
		return t, nil
	}
	if st.Table != "" {
		t, err := base.ForTable(st.Table)
		if err != nil {
			return nil, fmt.Errorf("%w %w", ErrInvalidTable, err)
		}
		return t, nil
	}
	return base, nil
}

// tableName reads the table name back from db.Table's expression, which
// GORM quotes with the dialect's quote character ("t" or `t`, and "s"."t").
func tableName(sql string, vars int) (string, error) {
	if vars > 0 || len(sql) < 3 || (sql[0] != '"' && sql[0] != '`') {
		return "", fmt.Errorf("%w %q: name a table, not an expression", ErrInvalidTable, sql)
	}
	q := sql[:1]
	name := strings.ReplaceAll(sql, q, "")
	if q+strings.ReplaceAll(name, ".", q+"."+q)+q != sql {
		return "", fmt.Errorf("%w %q: name a table, not an expression", ErrInvalidTable, sql)
	}
	return name, nil
}

// The compiled callback lists of GORM's Query and Raw processors, which
// cache statements pass on the way through GORM, are read through the
// unexported field "fns" of GORM's processor: GORM exports no count. Each
// call compares them with the defaults that GORM and the dialector register,
// so a callback registered at any time is seen at the next call. Where this
// GORM has no such field, every call takes the way through GORM.
var (
	fnsField      = processorField("fns")
	queryDefaults = codePointers(callbacks.Query, callbacks.Preload, callbacks.AfterQuery)
	rawDefaults   = codePointers(callbacks.RawExec)
)

func processorField(name string) int {
	var db gorm.DB
	t := reflect.TypeOf(db.Callback)           // func() *callbacks
	p := t.Out(0).Method(0).Type.Out(0).Elem() // Create() *processor -> processor
	f, ok := p.FieldByName(name)
	if !ok || len(f.Index) != 1 || f.Type != reflect.TypeFor[[]func(*gorm.DB)]() {
		return -1
	}
	return f.Index[0]
}

func codePointers(fns ...func(*gorm.DB)) []uintptr {
	out := make([]uintptr, len(fns))
	for i, fn := range fns {
		out[i] = reflect.ValueOf(fn).Pointer()
	}
	return out
}

// customCallbacks reports whether db's Query or Raw processor runs any
// callback besides GORM's defaults: one registered by hand or by a plugin,
// or a default replaced.
func customCallbacks(db *gorm.DB) bool {
	if fnsField < 0 {
		return true
	}
	cs := db.Callback()
	var l *callbackLists
	for i := range recentCallbacks {
		if c := recentCallbacks[i].Load(); c != nil && c.cs == any(cs) {
			l = c
			break
		}
	}
	if l == nil {
		// Finding the processors takes two map lookups: done once per
		// database, not per call.
		l = &callbackLists{cs: cs, query: fnsOf(cs.Query()), raw: fnsOf(cs.Raw())}
		recentCallbacks[nextCallbacks.Add(1)%uint32(len(recentCallbacks))].Store(l)
	}
	return !onlyDefaults(l.query, queryDefaults) || !onlyDefaults(l.raw, rawDefaults)
}

// callbackLists holds the callback lists (the fns fields) of one GORM
// database's Query and Raw processors. Sessions share them, and GORM
// replaces the slice in the field when a callback is registered, so the
// field, read at each call, is always up to date.
type callbackLists struct {
	cs         any // the database's *gorm.callbacks
	query, raw reflect.Value
}

// recentCallbacks holds the lists of the databases used last (most programs
// have one or two), replaced in turn; nextCallbacks picks the next to
// replace. They keep those databases' callbacks reachable.
var (
	recentCallbacks [4]atomic.Pointer[callbackLists]
	nextCallbacks   atomic.Uint32
)

func fnsOf(p any) reflect.Value {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return reflect.Value{}
	}
	return v.Elem().Field(fnsField)
}

func onlyDefaults(fns reflect.Value, want []uintptr) bool {
	if !fns.IsValid() || fns.Len() != len(want) {
		return false
	}
	for i, w := range want {
		if fns.Index(i).Pointer() != w {
			return false
		}
	}
	return true
}
