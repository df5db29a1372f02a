package cachecli

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
)

// escapeC1 writes the C1 control characters (U+0080–U+009F) of the JSON
// text js as \u escapes, as encoding/json already writes ESC, BEL and the
// other C0 controls: a terminal may take them raw as commands (U+009B is
// CSI, U+009D OSC). In valid JSON they can only occur inside strings,
// where the escape means the same character.
func escapeC1(js []byte) []byte {
	// In UTF-8, U+0080–U+009F are 0xC2 followed by 0x80–0x9F.
	i := bytes.IndexByte(js, 0xC2)
	if i < 0 {
		return js
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(js)+16)
	for ; i >= 0; i = bytes.IndexByte(js, 0xC2) {
		if i+1 < len(js) && js[i+1] >= 0x80 && js[i+1] <= 0x9F {
			out = append(out, js[:i]...)
			out = append(out, '\\', 'u', '0', '0', hex[js[i+1]>>4], hex[js[i+1]&0xF])
			js = js[i+2:]
			continue
		}
		out = append(out, js[:i+1]...)
		js = js[i+1:]
	}
	return append(out, js...)
}

// displayKey is a key as the list table shows it: as it is, or quoted
// with Go's escapes when it holds characters that would break the table or
// the terminal (control characters, C1 included, tabs, unprintable runes).
// A key with a backslash or a leading quote is quoted too, so that a key
// holding ESC ("\x1b") and one whose text spells \x1b ("\\x1b") never
// look alike.
func displayKey(k string) string {
	if strings.IndexFunc(k, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 ||
		strings.Contains(k, `\`) || strings.HasPrefix(k, `"`) {
		return strconv.Quote(k)
	}
	return k
}
