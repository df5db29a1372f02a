package cachecli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cache "github.com/gormcache/cache"
)

func (c *cli) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get KEY",
		Short: "Print the value under a key",
		Long: `Print the live value under KEY as indented JSON (with --json, on one line).
A key without a live entry (missing or expired) is an error: "not found".`,
		Example: `  cache get user:42`,
		Args:    exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			var raw json.RawMessage
			ok, err := cache.Cached(db, key).Get(&raw)
			if err != nil {
				return c.explain(cmd, db, err)
			}
			if !ok {
				return fmt.Errorf("get %q: %w", key, errNotFound)
			}
			var b bytes.Buffer
			if c.json {
				err = json.Compact(&b, raw)
			} else {
				err = json.Indent(&b, raw, "", "  ")
			}
			if err != nil {
				return fmt.Errorf("get %q: stored value: %w", key, err)
			}
			out := append(escapeC1(unescapeHTML(b.Bytes())), '\n')
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}

// unescapeHTML undoes the escapes of <, > and & that json.Marshal writes
// (\u003c, \u003e, \u0026), so that values print as they were given. js
// must be valid JSON: a backslash then only occurs in a string, where it
// starts an escape.
func unescapeHTML(js []byte) []byte {
	if !bytes.Contains(js, []byte(`\u00`)) {
		return js
	}
	out := make([]byte, 0, len(js))
	for i := 0; i < len(js); i++ {
		if js[i] != '\\' || i+1 >= len(js) {
			out = append(out, js[i])
			continue
		}
		if js[i+1] == 'u' && i+6 <= len(js) {
			switch string(js[i+2 : i+6]) {
			case "003c", "003C":
				out = append(out, '<')
				i += 5
				continue
			case "003e", "003E":
				out = append(out, '>')
				i += 5
				continue
			case "0026":
				out = append(out, '&')
				i += 5
				continue
			}
		}
		out = append(out, js[i], js[i+1]) // any other escape, kept
		i++
	}
	return out
}

func (c *cli) setCommand() *cobra.Command {
	var (
		ttl time.Duration
		at  string
	)
	cmd := &cobra.Command{
		Use:   "set KEY JSON",
		Short: "Store a JSON value under a key",
		Long: `Store the JSON value under KEY, replacing any value and expiry it had.
The value must be valid JSON; an invalid one is refused and nothing is
written. A string needs its quotes: '"hello"'. Without --ttl or --at the
entry never expires.`,
		Example: `  cache set greeting '"hello"'
  cache set user:42 '{"name":"Ada"}' --ttl 10m
  cache set launch '"soon"' --at 2030-01-01T00:00:00Z`,
		Args: exactArgs("KEY", "JSON"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, value := args[0], args[1]
			exp, err := expiration(cmd, ttl, at)
			if err != nil {
				return err
			}
			if err := checkJSON(value); err != nil {
				return fmt.Errorf("set %q: %w", key, err)
			}
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			var opts []cache.Expiration
			if exp != nil {
				opts = append(opts, cache.At(*exp))
			}
			if err := cache.Cached(db, key).Set(json.RawMessage(value), opts...); err != nil {
				return c.explain(cmd, db, err)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), struct {
					Key       string     `json:"key"`
					ExpiresAt *time.Time `json:"expires_at"`
				}{key, exp})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "set %q, expires %s\n", key, formatTime(exp, "never"))
			return err
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "expire after this long (e.g. 90s, 10m, 24h)")
	cmd.Flags().StringVar(&at, "at", "", "expire at this time, RFC 3339 (e.g. 2030-01-01T00:00:00Z)")
	return cmd
}

// expiration returns the expiry that --ttl or --at give, in UTC, or nil for
// none.
func expiration(cmd *cobra.Command, ttl time.Duration, at string) (*time.Time, error) {
	hasTTL, hasAt := cmd.Flags().Changed("ttl"), cmd.Flags().Changed("at")
	switch {
	case hasTTL && hasAt:
		return nil, usagef("--ttl and --at cannot be used together")
	case hasTTL:
		if ttl <= 0 {
			return nil, usagef("--ttl must be positive, not %v", ttl)
		}
		t := time.Now().UTC().Add(ttl)
		return &t, nil
	case hasAt:
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, usagef("--at %q is not an RFC 3339 time such as 2030-01-01T00:00:00Z", at)
		}
		t = t.UTC()
		return &t, nil
	}
	return nil, nil
}

// checkJSON returns the parse error of an invalid JSON text.
func checkJSON(s string) error {
	if json.Valid([]byte(s)) {
		return nil
	}
	var v any
	err := json.Unmarshal([]byte(s), &v)
	if err == nil { // json.Valid and Unmarshal disagree: cannot happen
		return errors.New("invalid JSON value")
	}
	msg := fmt.Sprintf("invalid JSON value: %v", err)
	if t := strings.TrimSpace(s); t != "" && strings.IndexByte("{[\"-0123456789tfn", t[0]) < 0 {
		msg += fmt.Sprintf(` (a string needs quotes: '%q')`, s)
	}
	return errors.New(msg)
}

func (c *cli) deleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete the entry under a key",
		Long: `Delete the entry under KEY, live or expired. A key without an entry is an
error: "not found".`,
		Example: `  cache delete user:42`,
		Args:    exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			db, err := c.db(cmd)
			if err != nil {
				return err
			}
			ok, err := cache.Cached(db, key).Delete()
			if err != nil {
				return c.explain(cmd, db, err)
			}
			if !ok {
				return fmt.Errorf("delete %q: %w", key, errNotFound)
			}
			if c.json {
				return printJSON(cmd.OutOrStdout(), map[string]string{"deleted": key})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted %q\n", key)
			return err
		},
	}
}
