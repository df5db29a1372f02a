package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"gorm.io/gorm"

	"github.com/gormcache/cache/internal/dialect"
)

// MaxTags is the most distinct tags one write may carry.
const MaxTags = 32

// MaxTagLength is the longest tag, in characters (not bytes).
const MaxTagLength = 255

// tagsSetting is the GORM setting under which WithTags keeps its tags.
const tagsSetting = "gormcache:tags"

// tagSet is what WithTags stores in the session: the tags as the JSON array
// the statements take, or the error that every write through the session
// returns.
type tagSet struct {
	json string
	err  error
}

// WithTags returns a session of db whose writes tag the entries they store:
// Set, SetMany, Add when it stores, GetOrSet when it computes, and Increment
// and Decrement when they create the entry, each replace the entry's tags
// with these (duplicates count once; tags are case-sensitive). Through a
// session without tags the same writes leave the entry untagged; Touch,
// and Increment or Decrement of a live entry, keep its tags. Reads ignore
// the tags.
//
// A tag must be 1 to [MaxTagLength] characters of valid UTF-8 without NUL,
// and a write carries at most [MaxTags] distinct tags; otherwise every write
// through the session fails with [ErrInvalidTag]. WithTags(db) with no tags
// returns a session that writes untagged entries.
//
//	tagged := cache.WithTags(db, "product:7", "catalog")
//	cache.Cached(tagged, "product:7:page").Set(html)
//	cache.InvalidateTags(db, "product:7") // when product 7 changes
func WithTags(db *gorm.DB, tags ...string) *gorm.DB {
	if db == nil {
		return nil
	}
	return db.Set(tagsSetting, newTagSet(tags)).Session(&gorm.Session{})
}

func newTagSet(tags []string) *tagSet {
	list, err := normalTags(tags)
	if err != nil {
		return &tagSet{err: err}
	}
	if len(list) > MaxTags {
		return &tagSet{err: fmt.Errorf("%w: %d distinct tags, more than %d", ErrInvalidTag, len(list), MaxTags)}
	}
	if len(list) == 0 {
		return &tagSet{}
	}
	return &tagSet{json: tagJSON(list)}
}

// normalTags checks tags and returns them distinct, in byte order.
func normalTags(tags []string) ([]string, error) {
	list := slices.Clone(tags)
	for _, t := range list {
		if err := checkTag(t); err != nil {
			return nil, err
		}
	}
	slices.Sort(list)
	return slices.Compact(list), nil
}

func checkTag(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("%w: empty", ErrInvalidTag)
	case !utf8.ValidString(t):
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidTag, t)
	case strings.IndexByte(t, 0) >= 0:
		return fmt.Errorf("%w %q: contains a NUL byte", ErrInvalidTag, t)
	case len(t) > MaxTagLength && utf8.RuneCountInString(t) > MaxTagLength:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidTag, MaxTagLength)
	}
	return nil
}

// tagJSON encodes valid strings as a JSON array, without HTML escapes, so
// that both databases store the same text.
func tagJSON(list []string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(list) // strings always encode
	return mariaDBEscapes(strings.TrimSuffix(b.String(), "\n"))
}

// mariaDBEscapes writes the \u escapes of encoding/json as MariaDB's
// JSON_QUOTE does (upper-case hex; U+2028 and U+2029 as themselves), since
// MariaDB's JSON_CONTAINS compares escaped strings as text: a tag "\x1d"
// stored as "\u001d" would not match JSON_QUOTE's "\u001D". Other
// databases decode the escapes and read the same strings.
func mariaDBEscapes(js string) string {
	if !strings.Contains(js, `\u`) {
		return js
	}
	var b strings.Builder
	for i := 0; i < len(js); i++ {
		c := js[i]
		if c != '\\' || i+1 >= len(js) {
			b.WriteByte(c)
			continue
		}
		if js[i+1] != 'u' || i+6 > len(js) {
			b.WriteString(js[i : i+2]) // a short escape, \\ included
			i++
			continue
		}
		switch esc := js[i : i+6]; esc {
		case `\u2028`:
			b.WriteString("\u2028")
		case `\u2029`:
			b.WriteString("\u2029")
		default:
			b.WriteString(esc[:2] + strings.ToUpper(esc[2:]))
		}
		i += 5
	}
	return b.String()
}

// sessionTags returns the tags of a WithTags session, or nil when the
// session writes untagged entries. The untagged path pays one map lookup.
func sessionTags(db *gorm.DB) (*tagSet, error) {
	v, ok := db.Statement.Settings.Load(tagsSetting)
	if !ok {
		return nil, nil
	}
	ts, _ := v.(*tagSet)
	if ts == nil || ts.err != nil {
		if ts == nil {
			return nil, nil
		}
		return nil, ts.err
	}
	if ts.json == "" {
		return nil, nil
	}
	return ts, nil
}

// Tags returns the live entry's tags, distinct and in byte order. It
// returns nil when there is no live entry or the entry has no tags.
func (e *Entry) Tags() ([]string, error) {
	o, err := start(e.db, "cache.tags", "tags", e.key, true)
	var tags []string
	if err == nil {
		tags, err = o.tags()
	}
	return tags, o.end(err)
}

func (o *op) tags() ([]string, error) {
	if err := checkKey(o.key); err != nil {
		return nil, err
	}
	rows, err := o.r.query(o.r.d.Stmt(dialect.TagsOf), o.key, clock())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		o.hit(false)
		return nil, rows.Err()
	}
	o.hit(true)
	var raw []byte
	if err := rows.Scan(&raw); err != nil {
		return nil, err
	}
	var tags []string
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, fmt.Errorf("decode tags: %w", err)
		}
	}
	if len(tags) == 0 {
		return nil, rows.Close()
	}
	slices.Sort(tags) // jsonb keeps the order; sorted again for rows written by hand
	return tags, rows.Close()
}

// storeTagged runs the Set or Add upsert of a tagged write.
func (o *op) storeTagged(id dialect.ID, b []byte, at *time.Time, now time.Time, ts *tagSet) (int64, error) {
	tid := dialect.SetTagged
	if id == dialect.Add {
		tid = dialect.AddTagged
	}
	nowArg := any(now)
	args := []any{o.key, string(b), timeArg(at), nowArg, nowArg, ts.json}
	if o.r.d.SyncsTags() {
		return o.r.exec(o.r.d.Stmt(tid), args...)
	}
	if o.r.d.InOneStatement() {
		n, _, err := o.queryInt(o.r.d.Stmt(tid), args...)
		return n, err
	}
	if tid == dialect.SetTagged && o.r.d.InsertID && !o.r.inTx() && !o.r.dryRun() && o.r.procUsable() {
		n, err := o.r.callSetTagged(args)
		if !o.r.d.ProcMissing(err) {
			return n, err
		}
		o.r.procGone()
	}
	var n int64
	o.r.prepareAhead(tid, dialect.SyncTagsDelete, dialect.SyncTagsInsert)
	err := inTx(o.r, true, func(r runner) error {
		var err error
		if tid == dialect.AddTagged && r.d.InsertID {
			n, err = r.addByInsertID(r.d.Stmt(tid), args...)
		} else {
			n, err = r.exec(r.d.Stmt(tid), args...)
		}
		if err != nil {
			return err
		}
		return syncTags(r, []string{o.key})
	})
	return n, err
}

// callSetTagged runs a tagged Set as the CALL of MySQL's procedure (see
// dialect.SetTaggedProcedure), again when the server chose it as a
// deadlock victim (the procedure rolled back whole), as inTx would. It
// returns 1: Set does not ask whether it wrote.
func (r runner) callSetTagged(args []any) (int64, error) {
	err := r.againOnDeadlock(func() error {
		_, err := r.exec(r.d.Stmt(dialect.SetTaggedCall), args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// procMissing holds, per connection pool and table, when a CALL last found
// the procedure of tagged Sets missing or not allowed: tagged Sets then run
// their statements one by one, and try the procedure again a minute later
// (after an AutoMigrate, say). Pools are told apart because two databases
// of one server share a table's dialect, not its procedure.
var procMissing sync.Map // procKey -> time.Time

type procKey struct {
	pool uintptr // poolID: one key per pool, whatever the session
	d    *dialect.Dialect
}

func (r runner) procUsable() bool {
	v, ok := procMissing.Load(procKey{poolID(r.db), r.d})
	return !ok || time.Since(v.(time.Time)) > time.Minute
}

func (r runner) procGone() { procMissing.Store(procKey{poolID(r.db), r.d}, time.Now()) }

// incrementOnce runs the increment upsert once; with tags, the entry it
// creates takes them.
func (o *op) incrementOnce(delta int64, at *time.Time, now time.Time) (int64, bool, error) {
	ts, err := sessionTags(o.r.db)
	if err != nil {
		return 0, false, err
	}
	nowArg := any(now) // boxed once for both timestamps
	if ts == nil {
		if o.r.d.InsertID {
			return o.r.incrementByInsertID(o.r.d.Stmt(dialect.Increment), delta, o.key, delta, timeArg(at), nowArg, nowArg)
		}
		return o.queryInt(o.r.d.Stmt(dialect.Increment), o.key, delta, timeArg(at), nowArg, nowArg)
	}
	args := []any{o.key, delta, timeArg(at), nowArg, nowArg, ts.json}
	if o.r.d.InOneStatement() || o.r.d.SyncsTags() {
		return o.queryInt(o.r.d.Stmt(dialect.IncrementTagged), args...)
	}
	var (
		n  int64
		ok bool
	)
	o.r.prepareAhead(dialect.SyncTagsDelete, dialect.SyncTagsInsert)
	err = inTx(o.r, true, func(r runner) error {
		var err error
		if r.d.InsertID {
			// Synced even when ok is false: under clientFoundRows an entry
			// created holding 0 reports no change.
			if n, ok, err = r.incrementByInsertID(r.d.Stmt(dialect.IncrementTagged), delta, args...); err != nil {
				return err
			}
			return syncTags(r, []string{o.key})
		}
		in := *o
		in.r = r
		if n, ok, err = in.queryInt(r.d.Stmt(dialect.IncrementTagged), args...); err != nil || !ok {
			return err
		}
		return syncTags(r, []string{o.key})
	})
	return n, ok, err
}

// syncTags brings the side rows of keys in line with their entries' tags,
// on databases where the write could not.
func syncTags(r runner, keys []string) error {
	if r.d.SyncsTags() {
		return nil // the database did
	}
	for _, id := range []dialect.ID{dialect.SyncTagsDelete, dialect.SyncTagsInsert} {
		s, args, err := r.d.Many(id, keys, jsonKeys(keys))
		if err != nil {
			return err
		}
		if _, err := r.exec(s, args...); err != nil {
			return err
		}
	}
	return nil
}

// InvalidateTags deletes every entry, live or expired, that carries any of
// the tags, and returns how many it deleted. Untagged entries and entries
// with only other tags stay. It runs as one transaction (inside the
// caller's, when db is a transaction, so it commits or rolls back with
// it). An entry tagged by a write that commits after it is kept. Invalid
// tags fail with [ErrInvalidTag] before anything is deleted; no tags
// delete nothing.
func InvalidateTags(db *gorm.DB, tags ...string) (int64, error) {
	o, err := start(db, "cache.invalidate_tags", "invalidate tags", "", false)
	var total int64
	if err == nil {
		total, err = o.invalidate(tags)
	}
	if o.span.IsRecording() {
		o.span.SetAttributes(attribute.StringSlice("cache.tags", tags), attribute.Int64("cache.deleted", total))
	}
	return total, o.end(err)
}

func (o *op) invalidate(tags []string) (int64, error) {
	list, err := normalTags(tags)
	if err != nil || len(list) == 0 {
		return 0, err
	}
	var total int64
	err = inTx(o.r, len(list) > chunkSize || !o.r.d.InOneStatement(), func(r runner) error {
		for lo := 0; lo < len(list); lo += chunkSize {
			chunk := tagJSON(list[lo:min(lo+chunkSize, len(list))])
			if r.d.InOneStatement() {
				in := *o
				in.r = r
				n, _, err := in.queryInt(r.d.Stmt(dialect.InvalidateTags), chunk)
				total += n
				if err != nil {
					return err
				}
				continue
			}
			tags := list[lo:min(lo+chunkSize, len(list))]
			if r.d.SideByTag() {
				s, args, _ := r.d.Many(dialect.InvalidateTagsFirst, tags, func() (string, error) { return chunk, nil })
				if _, err := r.exec(s, args...); err != nil {
					return err
				}
			}
			if r.d.InvalidatesPerTag() {
				for _, tag := range tags {
					if _, err := r.exec(r.d.Stmt(dialect.InvalidateTagsFirst), tag); err != nil {
						return err
					}
					n, err := r.exec(r.d.Stmt(dialect.InvalidateTags), tag)
					if err != nil {
						return err
					}
					total += n / 2 // an entry and its side row of the tag
				}
				continue
			}
			s, args, _ := r.d.Many(dialect.InvalidateTags, tags, func() (string, error) { return chunk, nil })
			if !r.d.ListKeys() {
				args = append(args, chunk) // the JSON array twice
			}
			n, err := r.exec(s, args...)
			total += n
			if err != nil {
				return err
			}
			s, args, _ = r.d.Many(dialect.InvalidateTagsSweep, tags, func() (string, error) { return chunk, nil })
			if _, err := r.exec(s, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		total = 0
	}
	return total, err
}

// maxKey is greater, in byte order, than every valid key: 256 times the
// greatest code point, one more than a key may hold.
var maxKey = strings.Repeat(string(utf8.MaxRune), MaxKeyLength+1)

// DeletePrefix deletes every entry, live or expired, whose key starts with
// prefix, compared byte by byte (so case-sensitively; %, _ and \ are plain
// characters), and returns how many it deleted. It reads a range of the key
// index, so its cost follows the number of matching keys, not the size of
// the table; on PostgreSQL that holds when the key column's collation sorts
// in byte order (C, POSIX, C.UTF-8, ucs_basic), and under any other it
// scans the table. The prefix follows the rules of a key: an empty prefix
// fails with [ErrInvalidKey] (use [Clear] to delete everything).
func DeletePrefix(db *gorm.DB, prefix string) (int64, error) {
	o, err := start(db, "cache.delete_prefix", "delete prefix", prefix, true)
	var n int64
	if err == nil {
		if err = checkKey(prefix); err == nil {
			id := dialect.DeletePrefix
			if !o.r.d.ByteOrderedKeys() {
				var ordered int64
				if ordered, _, err = o.queryInt(o.r.d.Stmt(dialect.KeyCollation)); err == nil && ordered == 0 {
					id = dialect.DeletePrefixScan
				}
			}
			if err == nil {
				n, err = o.r.exec(o.r.d.Stmt(id), prefix, prefixEnd(prefix))
			}
		}
	}
	if o.span.IsRecording() {
		o.span.SetAttributes(attribute.Int64("cache.deleted", n))
	}
	return n, o.end(err)
}

// prefixEnd returns the least valid UTF-8 string greater, in byte order,
// than every string that starts with prefix: prefix with its last code
// point raised by one (UTF-8 keeps code point order in byte order and no
// encoding is a prefix of another), dropping trailing code points that
// cannot rise; maxKey when none can.
func prefixEnd(prefix string) string {
	for p := prefix; p != ""; {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		if r == utf8.MaxRune {
			continue
		}
		r++
		if r == 0xD800 { // surrogates are not valid UTF-8
			r = 0xE000
		}
		return p + string(r)
	}
	return maxKey
}

// decodeTags reads a tags column; nil when the entry has none (or a hand
// written value is not a JSON array of strings).
func decodeTags(raw JSON) []string {
	var tags []string
	if len(raw) == 0 || json.Unmarshal(raw, &tags) != nil || len(tags) == 0 {
		return nil
	}
	slices.Sort(tags)
	return tags
}
