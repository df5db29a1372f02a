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

	"github.com/gormcache/cache/internal/dialect"
)

// runner executes the package's fixed SQL on the connection of the session it
// is given: the pool, or the caller's transaction. It never changes that
// session.
//
// Two paths lead to the database. Without GORM plugins, statements go
// straight to Statement.ConnPool, prepared once per connection pool: GORM's
// statement building and callbacks cost more than the query itself on
// SQLite. With a plugin registered (otelgorm, dbresolver, ...), statements go
// through db.Raw and db.Exec so that the plugin's callbacks run and its DB
// spans become children of the cache span.
type runner struct {
	db      *gorm.DB
	ctx     context.Context
	d       *dialect.Dialect
	viaGORM bool
}

func newRunner(db *gorm.DB) (runner, error) {
	if db == nil {
		return runner{}, errors.New("nil *gorm.DB")
	}
	if db.Error != nil {
		return runner{}, db.Error
	}
	d, err := dialect.For(db.Dialector.Name())
	if err != nil {
		return runner{}, err
	}
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.TODO()
	}
	return runner{db: db, ctx: ctx, d: d, viaGORM: len(db.Config.Plugins) > 0}, nil
}

// withContext returns r running under ctx (the span's context).
func (r runner) withContext(ctx context.Context) runner {
	r.ctx = ctx
	return r
}

func (r runner) session() *gorm.DB {
	return r.db.Session(&gorm.Session{NewDB: true, Context: r.ctx})
}

// query runs a statement that returns rows. The caller closes them.
func (r runner) query(s *dialect.Stmt, args ...any) (*sql.Rows, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	if r.viaGORM {
		return r.session().Raw(s.Portable, args...).Rows()
	}
	begin := time.Now()
	rows, err := r.fastQuery(s, args)
	r.trace(begin, s, -1, err)
	return rows, err
}

// exec runs a statement and returns the number of rows it affected.
func (r runner) exec(s *dialect.Stmt, args ...any) (int64, error) {
	n, _, err := r.retry(func() (int64, int64, error) {
		n, err := r.exec1(s, args...)
		return n, 0, err
	})
	return n, err
}

// retry runs a write again when the database chose it as a deadlock
// victim: InnoDB's next-key locks make concurrent upserts of one key
// deadlock now and then, and MySQL then rolls back the statement and asks
// for a retry. Inside the caller's transaction, which the deadlock rolled
// back whole, the error is returned.
func (r runner) retry(fn func() (int64, int64, error)) (int64, int64, error) {
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

func (r runner) exec1(s *dialect.Stmt, args ...any) (int64, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if r.viaGORM {
		res := r.session().Exec(s.Portable, args...)
		return res.RowsAffected, res.Error
	}
	begin := time.Now()
	n, err := r.fastExec(s, args)
	r.trace(begin, s, n, err)
	return n, err
}

// execID runs a statement and returns the number of rows it affected and
// the insert id the server reported (MySQL's OK packet).
func (r runner) execID(s *dialect.Stmt, args ...any) (rows, id int64, err error) {
	return r.retry(func() (int64, int64, error) { return r.execID1(s, args...) })
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
	pool := r.db.Statement.ConnPool
	db, ok := pool.(*sql.DB)
	if !ok || s.ID < 0 {
		return pool.QueryContext(r.ctx, s.Native, args...)
	}
	st, err := preparedFor(db).get(r.ctx, s)
	if err == nil {
		var rows *sql.Rows
		rows, err = st.QueryContext(r.ctx, args...)
		if isStmtClosed(err) { // evicted while in use: run it unprepared
			rows, err = db.QueryContext(r.ctx, s.Native, args...)
		}
		if err == nil {
			return rows, nil
		}
	}
	if isDBClosed(err) {
		forget(db)
	}
	return nil, err
}

func (r runner) fastExec(s *dialect.Stmt, args []any) (int64, error) {
	res, err := r.fastResult(s, args)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (r runner) fastResult(s *dialect.Stmt, args []any) (sql.Result, error) {
	pool := r.db.Statement.ConnPool
	var (
		res sql.Result
		err error
	)
	if db, ok := pool.(*sql.DB); ok && s.ID >= 0 {
		var st *sql.Stmt
		if st, err = preparedFor(db).get(r.ctx, s); err == nil {
			res, err = st.ExecContext(r.ctx, args...)
			if isStmtClosed(err) {
				res, err = db.ExecContext(r.ctx, s.Native, args...)
			}
		}
		if isDBClosed(err) {
			forget(db)
		}
	} else {
		res, err = pool.ExecContext(r.ctx, s.Native, args...)
	}
	return res, err
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

type stmtSet struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts [dialect.NumIDs]atomic.Pointer[sql.Stmt]
}

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
		for i := range s.stmts {
			if st := s.stmts[i].Swap(nil); st != nil {
				_ = st.Close()
			}
		}
	}
}

func (s *stmtSet) get(ctx context.Context, q *dialect.Stmt) (*sql.Stmt, error) {
	if st := s.stmts[q.ID].Load(); st != nil {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stmts[q.ID].Load(); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, q.Native)
	if err != nil {
		return nil, err
	}
	s.stmts[q.ID].Store(st)
	return st, nil
}

// database/sql does not export these errors.
func isDBClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "sql: database is closed")
}

func isStmtClosed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "sql: statement is closed")
}
