package cache

import (
	"bytes"
	"fmt"
)

// maxDepth is the deepest nesting of arrays and objects that every database
// stores: MariaDB's JSON_VALID, which checks its JSON column, refuses 32
// levels (MySQL 8's JSON type 101, PostgreSQL and SQLite far more).
const maxDepth = 31

// checkDepth refuses JSON nested deeper than maxDepth, so that every
// database refuses what MariaDB cannot store. Only a value with more than
// maxDepth brackets can nest that deep, so others are not scanned.
func checkDepth(b []byte) error {
	if bytes.Count(b, []byte{'['})+bytes.Count(b, []byte{'{'}) <= maxDepth {
		return nil
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"': // skip the string: up to a quote after an even run of backslashes
			for i++; i < len(b); i++ {
				if b[i] == '\\' {
					i++
				} else if b[i] == '"' {
					break
				}
			}
		case '[', '{':
			if depth++; depth > maxDepth {
				return fmt.Errorf("%w: nested deeper than %d levels, more than MariaDB can store", ErrInvalidValue, maxDepth)
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}
