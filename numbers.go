package cache

import (
	"bytes"
	"fmt"
)

// PostgreSQL's jsonb keeps numbers as numeric, which holds at most
// maxIntDigits digits before the decimal point and maxFracDigits after it,
// and whose input refuses an exponent of ±maxExponent or beyond, even on a
// zero (0e1073741823).
const (
	maxIntDigits  = 131072
	maxFracDigits = 16383
	maxExponent   = 1<<30 - 1 // INT_MAX/2 in PostgreSQL's numeric_in
)

// canonicalNumbers refuses JSON numbers that PostgreSQL's numeric cannot
// hold (1e131072, 1e-16384, 0e1073741823), so that SQLite refuses them as
// well, and writes numbers in exponent form and negative zeros as
// PostgreSQL's jsonb gives them back (1e3 is 1000, 1.50e1 is 15.0, -0 is 0),
// so that SQLite stores the same number text: Increment then accepts the
// same values on both. Only a value with an exponent, a number starting
// "-0" or longer than maxFracDigits can hold one, so others are not
// scanned.
func canonicalNumbers(b []byte) ([]byte, error) {
	if len(b) <= maxFracDigits && !mayNeedCanonical(b) {
		return b, nil
	}
	var out []byte // b with numbers rewritten; nil while there are none
	last := 0      // b[:last] is in out
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '"': // skip the string: up to a quote after an even run of backslashes
			i++
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					i = len(b)
					break
				}
				i += j + 1
				n := 0
				for k := i - 2; k >= 0 && b[k] == '\\'; k-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
		case c == '-' || isDigit(c):
			start := i
			neg := c == '-'
			if neg {
				i++
			}
			intStart := i
			for i < len(b) && isDigit(b[i]) {
				i++
			}
			intPart := b[intStart:i]
			var frac []byte
			if i < len(b) && b[i] == '.' {
				i++
				fs := i
				for i < len(b) && isDigit(b[i]) {
					i++
				}
				frac = b[fs:i]
			}
			exp, hasExp := 0, false
			if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
				hasExp = true
				i++
				negExp := false
				if i < len(b) && (b[i] == '+' || b[i] == '-') {
					negExp = b[i] == '-'
					i++
				}
				for i < len(b) && isDigit(b[i]) {
					if exp < 1<<30 {
						exp = exp*10 + int(b[i]-'0')
					}
					i++
				}
				if negExp {
					exp = -exp
				}
				if exp >= maxExponent || exp <= -maxExponent {
					return nil, fmt.Errorf("%w: a number has an exponent beyond ±%d, "+
						"more than PostgreSQL can read", ErrInvalidValue, maxExponent-1)
				}
			}
			if len(frac)-exp > maxFracDigits {
				return nil, fmt.Errorf("%w: a number has more than %d digits after the decimal point, "+
					"more than PostgreSQL can store", ErrInvalidValue, maxFracDigits)
			}
			// Leading zeros of the digits, across the decimal point.
			zeros := 0
			for zeros < len(intPart) && intPart[zeros] == '0' {
				zeros++
			}
			if zeros == len(intPart) {
				for k := 0; k < len(frac) && frac[k] == '0'; k++ {
					zeros++
				}
			}
			isZero := zeros == len(intPart)+len(frac)
			if !isZero && len(intPart)-zeros+exp > maxIntDigits {
				return nil, fmt.Errorf("%w: a number has more than %d digits before the decimal point, "+
					"more than PostgreSQL can store", ErrInvalidValue, maxIntDigits)
			}
			if hasExp || (neg && isZero) {
				out = append(out, b[last:start]...)
				out = appendNumeric(out, neg && !isZero, intPart, frac, exp, isZero)
				last = i
			}
		default:
			i++
		}
	}
	if out == nil {
		return b, nil
	}
	return append(out, b[last:]...), nil
}

// appendNumeric appends the number intPart.frac×10^exp as PostgreSQL's
// numeric prints it: no exponent, no leading zeros, and as many digits
// after the decimal point as it was written with, less the exponent.
func appendNumeric(out []byte, neg bool, intPart, frac []byte, exp int, isZero bool) []byte {
	scale := max(len(frac)-exp, 0)
	if neg {
		out = append(out, '-')
	}
	if isZero {
		out = append(out, '0')
		if scale > 0 {
			out = append(out, '.')
			out = append(out, bytes.Repeat([]byte{'0'}, scale)...)
		}
		return out
	}
	// The digits are intPart then frac; the decimal point falls after
	// point of them (before the first when point <= 0).
	digit := func(k int) byte {
		switch {
		case k < 0 || k >= len(intPart)+len(frac):
			return '0'
		case k < len(intPart):
			return intPart[k]
		default:
			return frac[k-len(intPart)]
		}
	}
	point := len(intPart) + exp
	k := 0
	for k < point-1 && digit(k) == '0' { // leading zeros before the point
		k++
	}
	if point <= 0 {
		out = append(out, '0')
	}
	for ; k < point; k++ {
		out = append(out, digit(k))
	}
	if scale > 0 {
		out = append(out, '.')
		for k = point; k < point+scale; k++ {
			out = append(out, digit(k))
		}
	}
	return out
}

// mayNeedCanonical reports whether b may hold a number with an exponent
// (an e or E right after a digit; "true" and "false" have none) or a
// negative zero ("-0" where a value starts, not inside a date).
func mayNeedCanonical(b []byte) bool {
	for i := 0; i < len(b)-1; i++ {
		switch b[i] {
		case 'e', 'E':
			if i > 0 && isDigit(b[i-1]) {
				return true
			}
		case '-':
			if b[i+1] == '0' && (i == 0 || !isDigit(b[i-1])) {
				return true
			}
		}
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
