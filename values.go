package cache

// What can be stored: key checks and the JSON encoding of values, the same
// on every database.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyLength is the longest key, in characters (not bytes).
const MaxKeyLength = 255

// checkKey returns ErrInvalidKey for a key that cannot be stored the same
// way on every database.
func checkKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case !utf8.ValidString(k):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	case strings.IndexByte(k, 0) >= 0:
		return fmt.Errorf("%w: contains a NUL byte", ErrInvalidKey)
	case len(k) > MaxKeyLength && utf8.RuneCountInString(k) > MaxKeyLength:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidKey, MaxKeyLength)
	}
	return nil
}

// checkKeys checks every key of a bulk operation, before any statement.
func checkKeys(keys []string) error {
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	return nil
}

// encode returns the JSON encoding of v, or ErrInvalidValue.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidValue, err)
	}
	if b, err = cleanEscapes(b); err != nil {
		return nil, err
	}
	// A json.Marshaler (json.RawMessage among them) may return invalid
	// UTF-8 inside a string, which PostgreSQL refuses.
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidValue)
	}
	if b, err = canonicalNumbers(b); err != nil {
		return nil, err
	}
	if err := checkDepth(b); err != nil {
		return nil, err
	}
	return b, nil
}

// cleanEscapes refuses the \u escapes that PostgreSQL's jsonb cannot hold
// (NUL and unpaired surrogates), so that SQLite refuses them as well, and
// turns json.Marshal's HTML escapes of <, > and & back into the characters,
// so that both databases store them as characters (PostgreSQL's jsonb keeps
// no escape of them either). Backslashes only occur inside
// strings in valid JSON, so a linear walk over escapes is exact.
func cleanEscapes(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '\\')
	if i < 0 {
		return b, nil
	}
	var out []byte // b with HTML escapes undone; nil while there are none
	last := 0      // b[:last] is in out
	for i < len(b)-1 {
		if b[i] != '\\' {
			i++
			continue
		}
		if b[i+1] != 'u' || i+6 > len(b) {
			i += 2
			continue
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r == 0:
			return nil, fmt.Errorf("%w: contains \\u0000, which PostgreSQL cannot store", ErrInvalidValue)
		case r == '<' || r == '>' || r == '&':
			out = append(append(out, b[last:i]...), byte(r))
			last = i + 6
		case r >= 0xD800 && r < 0xDC00:
			if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo := hex4(b[i+8 : i+12]); lo >= 0xDC00 && lo < 0xE000 {
					i += 12
					continue
				}
			}
			return nil, fmt.Errorf("%w: unpaired surrogate escape", ErrInvalidValue)
		case r >= 0xDC00 && r < 0xE000:
			return nil, fmt.Errorf("%w: unpaired surrogate escape", ErrInvalidValue)
		}
		i += 6
	}
	if out == nil {
		return b, nil
	}
	return append(out, b[last:]...), nil
}

// hex4 decodes four hex digits; -1 if they are not.
func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return -1
		}
	}
	return n
}
