package cache_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"gorm.io/gorm"

	cache "github.com/gormcache/cache"
)

// joinDelay lets a goroutine that was just started miss and join the
// flight in progress. Were it late, it would find the stored value instead,
// which the tests below accept as well: they can pass spuriously on a
// starved machine, never fail spuriously.
const joinDelay = 200 * time.Millisecond

// waitFor fails the test when ch yields nothing within a generous bound:
// the call it stands for is stuck.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still waiting after 20s", what)
		panic("unreachable")
	}
}

type result[T any] struct {
	v   T
	err error
}

// goGetOrSet runs GetOrSet in a goroutine and reports its result.
func goGetOrSet[T any](db *gorm.DB, key string, compute func() (T, error)) <-chan result[T] {
	ch := make(chan result[T], 1)
	go func() {
		v, err := cache.GetOrSet(db, key, compute)
		ch <- result[T]{v, err}
	}()
	return ch
}

// A waiting caller whose context is done returns at once with its error;
// the leader's computation goes on and stores the value.
func TestGetOrSetFollowerCancels(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		release := make(chan struct{})
		started := make(chan struct{})
		leader := goGetOrSet(db, "k", func() (string, error) {
			close(started)
			<-release
			return "leader", nil
		})
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		follower := goGetOrSet(db.WithContext(ctx), "k", func() (string, error) { return "follower", nil })
		time.Sleep(joinDelay)
		cancel()
		r := waitFor(t, follower, "the cancelled follower")
		require.ErrorIs(t, r.err, context.Canceled)
		close(release)
		l := waitFor(t, leader, "the leader")
		require.NoError(t, l.err)
		require.Equal(t, "leader", l.v)
	})
}

// The leader's context is done while its compute (which ignores it) runs:
// the flight still stores the value, and the follower gets it.
func TestGetOrSetLeaderCancelsComputeGoesOn(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		release := make(chan struct{})
		started := make(chan struct{})
		leader := goGetOrSet(db.WithContext(ctx), "k", func() (string, error) {
			close(started)
			<-release
			return "leader", nil
		})
		<-started
		follower := goGetOrSet(db, "k", func() (string, error) { return "follower", nil })
		time.Sleep(joinDelay)
		cancel()
		time.Sleep(joinDelay)
		close(release)
		waitFor(t, leader, "the leader")
		r := waitFor(t, follower, "the follower")
		require.NoError(t, r.err)
		require.Equal(t, "leader", r.v)
		got, ok, err := cache.Get[string](db, "k")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "leader", got)
	})
}

// The leader's compute fails because the leader's context is done: the
// follower does not take that error, it computes.
func TestGetOrSetLeaderCancelsComputeFails(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		leader := goGetOrSet(db.WithContext(ctx), "k", func() (string, error) {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		})
		<-started
		follower := goGetOrSet(db, "k", func() (string, error) { return "follower", nil })
		time.Sleep(joinDelay)
		cancel()
		l := waitFor(t, leader, "the leader")
		require.ErrorIs(t, l.err, context.Canceled)
		r := waitFor(t, follower, "the follower")
		require.NoError(t, r.err)
		require.Equal(t, "follower", r.v)
	})
}

// A panicking compute panics again in its caller with its own value, ends
// the span with the error, fails the waiting callers with ErrPanicked and
// leaves no flight behind.
func TestGetOrSetPanic(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		var follower <-chan result[string]
		spans := traced(t, func(ctx context.Context) {
			db := db.WithContext(ctx)
			started := make(chan struct{})
			release := make(chan struct{})
			recovered := make(chan any, 1)
			go func() {
				defer func() { recovered <- recover() }()
				_, _ = cache.GetOrSet(db, "p", func() (string, error) {
					close(started)
					<-release
					panic(http.ErrAbortHandler)
				})
			}()
			<-started
			follower = goGetOrSet(db, "p", func() (string, error) { return "follower", nil })
			time.Sleep(joinDelay)
			close(release)
			require.Equal(t, http.ErrAbortHandler, waitFor(t, recovered, "the panicking caller"))
		})
		r := waitFor(t, follower, "the follower")
		if r.err == nil {
			require.Equal(t, "follower", r.v) // it came late and computed itself
		} else {
			require.ErrorIs(t, r.err, cache.ErrPanicked)
		}
		var failed int
		for _, s := range byName(spans, "cache.get_or_set") {
			if s.Status().Code == codes.Error && len(s.Events()) > 0 {
				failed++
				require.Contains(t, s.Status().Description, "panicked")
			}
		}
		require.GreaterOrEqual(t, failed, 1, "the panicking call's span records the error")

		// No flight is left behind: the next call returns at once.
		next := goGetOrSet(db, "p", func() (string, error) { return "after", nil })
		n := waitFor(t, next, "the call after the panic")
		require.NoError(t, n.err)
		require.Contains(t, []string{"follower", "after"}, n.v)
	})
}

type withHidden struct {
	Shown  string
	Hidden string `json:"-"`
}

// Every caller of a flight gets the stored JSON decoded, the one whose
// compute ran included: the same value a later Get returns.
func TestGetOrSetSameValueForEveryone(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		release := make(chan struct{})
		started := make(chan struct{})
		compute := func() (withHidden, error) { return withHidden{"a", "b"}, nil }
		leader := goGetOrSet(db, "h", func() (withHidden, error) {
			close(started)
			<-release
			return compute()
		})
		<-started
		follower := goGetOrSet(db, "h", compute)
		time.Sleep(joinDelay)
		close(release)
		want := withHidden{Shown: "a"}
		for _, ch := range []<-chan result[withHidden]{leader, follower} {
			r := waitFor(t, ch, "a caller")
			require.NoError(t, r.err)
			require.Equal(t, want, r.v)
		}
		got, _, err := cache.Get[withHidden](db, "h")
		require.NoError(t, err)
		require.Equal(t, want, got)
	})
}

// A compute that calls GetOrSet for its own key through the db it captured
// gets ErrRecursive instead of waiting for itself.
func TestGetOrSetRecursive(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		db = db.WithContext(ctx)
		var compute func() (int, error)
		calls := 0
		compute = func() (int, error) {
			calls++
			return cache.GetOrSet(db, "r", compute)
		}
		r := waitFor(t, goGetOrSet(db, "r", compute), "the recursive call")
		require.ErrorIs(t, r.err, cache.ErrRecursive)
		require.Equal(t, 1, calls)

		// Another key from inside compute is fine.
		v, err := cache.GetOrSet(db, "outer", func() (int, error) {
			return cache.GetOrSet(db, "inner", func() (int, error) { return 7, nil })
		})
		require.NoError(t, err)
		require.Equal(t, 7, v)
	})
}

// A compute that ends its goroutine (t.FailNow, runtime.Goexit) leaves no
// flight behind either.
func TestGetOrSetGoexit(t *testing.T) {
	each(t, func(t *testing.T, db *gorm.DB) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = cache.GetOrSet(db, "g", func() (string, error) { runtime.Goexit(); return "", nil })
		}()
		waitFor(t, done, "the goroutine that called Goexit")
		r := waitFor(t, goGetOrSet(db, "g", func() (string, error) { return "after", nil }), "the next call")
		require.NoError(t, r.err)
		require.Equal(t, "after", r.v)
	})
}
