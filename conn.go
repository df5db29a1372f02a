package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/gormcache/cache/internal/dialect"
)

// runner executes the package's fixed SQL on the connection of the session it
// is given: the pool, or the caller's transaction. It never changes that
// session.
//
// Two paths lead to the database. Straight to Statement.ConnPool when
// nothing GORM-side needs to see the statements: GORM's statement building
// and callbacks cost more than the query itself on SQLite. Through GORM when
// something does: a plugin (otelgorm, dbresolver, ...), a callback
// registered by hand on the Query or Raw processor, or a DryRun session.
// Then statements that return rows run as db.Raw(...).Find, so Query
// callbacks see them, and the others as db.Exec, so Raw callbacks see them;
// the caller's settings and dbresolver clauses go with them.
type runner struct {
	db *gorm.DB
	// ctx is the caller's context, or the span's.
	ctx context.Context
	// d is the SQL for the session's database and cache table.
	d       *dialect.Dialect
	viaGORM bool
	// parent is the pool of a transaction that inTx began on it: its
	// prepared statements serve the transaction too.
	parent *sql.DB
}

// newRunner returns the runner of db's session, running under ctx (the
// span's context, which carries the session's).
func newRunner(db *gorm.DB, ctx context.Context) (runner, error) {
	if db == nil {
		return runner{}, errors.New("nil *gorm.DB")
	}
	if db.Error != nil {
		return runner{}, db.Error
	}
	base, err := dialect.For(db.Dialector.Name())
	if err != nil {
		return runner{}, err
	}
	if err := checkSession(db.Statement); err != nil {
		return runner{}, err
	}
	d, err := tableFor(base, db.Statement)
	if err != nil {
		return runner{}, err
	}
	viaGORM := len(db.Config.Plugins) > 0 || db.DryRun || customCallbacks(db)
	return runner{db: db, ctx: ctx, d: d, viaGORM: viaGORM}, nil
}

// withContext returns r running under ctx (the span's context).
func (r runner) withContext(ctx context.Context) runner {
	r.ctx = ctx
	return r
}

// dryRun reports whether the session only shows its statements.
func (r runner) dryRun() bool { return r.db.DryRun }

// session returns a new GORM session for one statement: the caller's
// connection (pool or transaction), context, settings (Set, dbresolver's
// Write and Read) and dbresolver clauses, with the cache table and model,
// and nothing else of the caller's statement.
func (r runner) session() *gorm.DB {
	tx := r.db.Session(&gorm.Session{NewDB: true, Initialized: true, Context: r.ctx})
	st := tx.Statement
	r.db.Statement.Settings.Range(func(k, v any) bool {
		st.Settings.Store(k, v)
		return true
	})
	for name, c := range r.db.Statement.Clauses {
		if strings.HasPrefix(name, resolverPrefix) {
			st.Clauses[name] = c
		}
	}
	st.TableExpr = &clause.Expr{SQL: st.Quote(r.d.TableName)} // as db.Table quotes it
	st.Table = r.d.TableName
	if i := strings.LastIndexByte(st.Table, '.'); i >= 0 {
		st.Table = st.Table[i+1:] // as db.Table names it
	}
	st.Model = &CachedItem{}
	return tx
}

// query runs a statement that returns rows. The caller closes them.
func (r runner) query(s *dialect.Stmt, args ...any) (rows, error) {
	if err := r.ctx.Err(); err != nil {
		return rows{}, err
	}
	if r.viaGORM {
		return r.gormQuery(s, args)
	}
	begin := time.Now()
	rs, err := r.fastQuery(s, args)
	if err != nil && r.retry(err) {
		rs, err = r.fastQuery(s, args)
	}
	r.trace(begin, s, -1, err)
	return rows{Rows: rs}, err
}

// again runs a write again when MySQL chose it as a deadlock victim:
// InnoDB's next-key locks make concurrent upserts of one key deadlock now
// and then, and MySQL then rolls back the statement and asks for a retry.
// Inside the caller's transaction, which the deadlock rolled back whole, the
// error is returned. A value MySQL refuses for the JSON column becomes
// ErrInvalidValue.
func (r runner) again(fn func() (int64, int64, error)) (int64, int64, error) {
	for i := 0; ; i++ {
		n, id, err := fn()
		if r.d.RefusedValue(err) {
			return n, id, fmt.Errorf("%w: %w", ErrInvalidValue, err)
		}
		if err == nil || i == 9 || !r.d.Retryable(err) || r.inTx() || r.ctx.Err() != nil {
			return n, id, err
		}
	}
}

// inTx reports whether the session runs in a transaction.
func (r runner) inTx() bool {
	_, ok := r.db.Statement.ConnPool.(gorm.TxCommitter)
	return ok
}

// execID runs a statement and returns the number of rows it affected and
// the insert id the server reported (MySQL's OK packet).
func (r runner) execID(s *dialect.Stmt, args ...any) (rows, id int64, err error) {
	return r.again(func() (int64, int64, error) { return r.execID1(s, args...) })
}

func (r runner) execID1(s *dialect.Stmt, args ...any) (rows, id int64, err error) {
	if err := r.ctx.Err(); err != nil {
		return 0, 0, err
	}
	var res sql.Result
	if r.viaGORM {
		wr := gorm.WithResult()
		tx := r.session().Clauses(wr).Exec(s.Portable, args...)
		if tx.Error != nil {
			return 0, 0, tx.Error
		}
		if res = wr.Result; res == nil { // DryRun
			return 0, 0, nil
		}
	} else {
		begin := time.Now()
		res, err = r.fastResult(s, args)
		if err == nil {
			rows, err = res.RowsAffected()
		}
		r.trace(begin, s, rows, err)
		if err != nil {
			return 0, 0, err
		}
	}
	if rows, err = res.RowsAffected(); err != nil {
		return 0, 0, err
	}
	id, err = res.LastInsertId()
	return rows, id, err
}

// execOnce runs a statement and returns the number of rows it affected.
func (r runner) execOnce(s *dialect.Stmt, args ...any) (int64, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if r.viaGORM {
		res := r.session().Exec(s.Portable, args...)
		if res.Error != nil && r.retry(res.Error) {
			res = r.session().Exec(s.Portable, args...)
		}
		return res.RowsAffected, res.Error
	}
	begin := time.Now()
	n, err := r.fastExec(s, args)
	if err != nil && r.retry(err) {
		n, err = r.fastExec(s, args)
	}
	r.trace(begin, s, n, err)
	return n, err
}

func (r runner) gormQuery(s *dialect.Stmt, args []any) (rows, error) {
	var out []resultRow
	res := r.session().Raw(s.Portable, args...).Find(&out)
	if res.Error != nil && r.retry(res.Error) {
		out = out[:0]
		res = r.session().Raw(s.Portable, args...).Find(&out)
	}
	if res.Error != nil {
		return rows{}, res.Error
	}
	return rows{buf: out, cols: s.Cols}, nil
}

// retry reports whether a failed statement is worth one more try: outside a
// transaction, PostgreSQL refused it because the driver's cached prepared
// statement is gone from the connection (SQLSTATE 26000, after DISCARD ALL
// or DEALLOCATE ALL, as poolers reset connections) or out of date (0A000,
// "cached plan must not change result type", after the table changed). The
// statement did not run, and the driver has dropped its cached copy, so the
// second try prepares it afresh. Inside a transaction the failure has
// aborted the transaction, so it is returned.
func (r runner) retry(err error) bool {
	var se interface{ SQLState() string }
	if !errors.As(err, &se) {
		return false
	}
	if c := se.SQLState(); c != "26000" && c != "0A000" {
		return false
	}
	_, inTx := r.db.Statement.ConnPool.(gorm.TxCommitter)
	return !inTx && r.ctx.Err() == nil
}

// trace reports the statement to GORM's logger, so slow-query logging and
// db.Debug() see the fast path too.
func (r runner) trace(begin time.Time, s *dialect.Stmt, rows int64, err error) {
	if rows >= -1 && rows <= 1 && s.Logged[rows+1] != nil {
		// Made once per statement: no closure to allocate.
		r.db.Logger.Trace(r.ctx, begin, s.Logged[rows+1], err)
		return
	}
	r.db.Logger.Trace(r.ctx, begin, func() (string, int64) { return s.Native, rows }, err)
}

func (r runner) fastQuery(s *dialect.Stmt, args []any) (*sql.Rows, error) {
	return fastRun(r, s,
		func(st *sql.Stmt) (*sql.Rows, error) { return st.QueryContext(r.ctx, args...) },
		func(p gorm.ConnPool) (*sql.Rows, error) { return p.QueryContext(r.ctx, s.Native, args...) })
}

func (r runner) fastExec(s *dialect.Stmt, args []any) (int64, error) {
	res, err := r.fastResult(s, args)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (r runner) fastResult(s *dialect.Stmt, args []any) (sql.Result, error) {
	if st := r.parentStmt(s); st != nil {
		// The pool's statement, prepared on the transaction's connection
		// once and reused after.
		txst := r.db.Statement.ConnPool.(*sql.Tx).StmtContext(r.ctx, st)
		defer txst.Close()
		return txst.ExecContext(r.ctx, args...)
	}
	return fastRun(r, s,
		func(st *sql.Stmt) (sql.Result, error) { return st.ExecContext(r.ctx, args...) },
		func(p gorm.ConnPool) (sql.Result, error) { return p.ExecContext(r.ctx, s.Native, args...) })
}

// fastRun runs s on the session's connection: through the pool's prepared
// statement where the dialect prepares (viaStmt), else as text (direct). A
// statement closed while in use runs as text; a closed pool's statements
// are dropped. The functions do not escape, so they cost no allocation.
func fastRun[T any](r runner, s *dialect.Stmt, viaStmt func(*sql.Stmt) (T, error), direct func(gorm.ConnPool) (T, error)) (T, error) {
	pool := r.db.Statement.ConnPool
	db, ok := pool.(*sql.DB)
	if !ok || s.ID < 0 || !r.d.Prepare {
		return direct(pool)
	}
	st, err := preparedFor(db).get(r.ctx, r.d, s)
	if err == nil {
		var v T
		v, err = viaStmt(st)
		if isStmtClosed(err) { // evicted while in use: run it unprepared
			v, err = direct(db)
		}
		if err == nil {
			return v, nil
		}
	}
	if isDBClosed(err) {
		forget(db)
	}
	var zero T
	return zero, err
}

// parentStmt returns, inside a transaction that inTx began on a pool, the
// pool's prepared statement s if there is one; it never prepares: the
// pool may have no connection to spare while the transaction holds one.
func (r runner) parentStmt(s *dialect.Stmt) *sql.Stmt {
	if _, ok := r.db.Statement.ConnPool.(*sql.Tx); !ok || r.parent == nil || s.ID < 0 || !r.d.Prepare {
		return nil
	}
	set, ok := registry.pools.Load(r.parent)
	if !ok {
		return nil
	}
	a, ok := set.(*stmtSet).tables.Load(r.d)
	if !ok {
		return nil
	}
	return a.(*stmtArray)[s.ID].Load()
}

// prepareAhead prepares statements on the pool before a transaction that
// will run them begins, so that parentStmt finds them (preparing needs a
// connection of the pool, which is free only outside the transaction).
func (r runner) prepareAhead(ids ...dialect.ID) {
	db, ok := r.db.Statement.ConnPool.(*sql.DB)
	if !ok || r.viaGORM || !r.d.Prepare {
		return
	}
	set := preparedFor(db)
	for _, id := range ids {
		_, _ = set.get(r.ctx, r.d, r.d.Stmt(id)) // on failure the statement runs unprepared
	}
}

// Prepared statements, one set per *sql.DB. A pool is the only thing all
// sessions of a gorm.DB share that this package can see, so the sets live in
// a registry keyed by pool. It holds at most maxPools pools; closed pools are
// dropped when their statements report it.
const maxPools = 64

var registry struct {
	pools sync.Map // *sql.DB -> *stmtSet
	n     atomic.Int64
	mu    sync.Mutex // serializes adding and evicting
}

// stmtSet holds a pool's prepared statements, one array per cache table.
type stmtSet struct {
	db     *sql.DB
	mu     sync.Mutex
	tables sync.Map // *dialect.Dialect -> *stmtArray
}

type stmtArray [dialect.NumIDs]atomic.Pointer[sql.Stmt]

func preparedFor(db *sql.DB) *stmtSet {
	if s, ok := registry.pools.Load(db); ok {
		return s.(*stmtSet)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if s, ok := registry.pools.Load(db); ok {
		return s.(*stmtSet)
	}
	if registry.n.Load() >= maxPools {
		registry.pools.Range(func(k, v any) bool {
			evict(k.(*sql.DB), v.(*stmtSet))
			return registry.n.Load() >= maxPools
		})
	}
	s := &stmtSet{db: db}
	registry.pools.Store(db, s)
	registry.n.Add(1)
	return s
}

// forget drops a closed pool's statements.
func forget(db *sql.DB) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if s, ok := registry.pools.Load(db); ok {
		evict(db, s.(*stmtSet))
	}
}

// evict is called with registry.mu held.
func evict(db *sql.DB, s *stmtSet) {
	if registry.pools.CompareAndDelete(db, s) {
		registry.n.Add(-1)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.tables.Range(func(_, v any) bool {
			a := v.(*stmtArray)
			for i := range a {
				if st := a[i].Swap(nil); st != nil {
					_ = st.Close()
				}
			}
			return true
		})
	}
}

func (s *stmtSet) get(ctx context.Context, d *dialect.Dialect, q *dialect.Stmt) (*sql.Stmt, error) {
	a, ok := s.tables.Load(d)
	if ok {
		if st := a.(*stmtArray)[q.ID].Load(); st != nil {
			return st, nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		a, _ = s.tables.LoadOrStore(d, new(stmtArray))
	}
	arr := a.(*stmtArray)
	if st := arr[q.ID].Load(); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q.Native)
	if err != nil {
		return nil, err
	}
	arr[q.ID].Store(st)
	return st, nil
}

// database/sql does not export these errors.
func isDBClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "sql: database is closed")
}

func isStmtClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "sql: statement is closed")
}

// timeArg passes an optional time as a query argument.
func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}
