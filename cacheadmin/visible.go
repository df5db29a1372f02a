package cacheadmin

import (
	"fmt"
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// hidden reports whether r is a character that a page shows as nothing or
// that changes how the text around it is shown: C0 and C1 controls, DEL,
// and the bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE reorders
// the rest of its line, so "txt.exe" can read "exe.txt").
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// showHTML is the template function "show": s, HTML-escaped, with every
// hidden character written as a marked-up code point ("U+202E"), so that a
// person sees it and it does nothing.
func showHTML(s string) template.HTML { return markHidden(s, hidden) }

// showValueHTML is the template function "showValue", showHTML for the
// pretty-printed value, whose line breaks are the printer's own (JSON
// strings hold no raw control characters).
func showValueHTML(s string) template.HTML {
	return markHidden(s, func(r rune) bool { return r != '\n' && hidden(r) })
}

func markHidden(s string, hide func(rune) bool) template.HTML {
	var b strings.Builder
	for {
		i := strings.IndexFunc(s, hide)
		if i < 0 {
			b.WriteString(template.HTMLEscapeString(s))
			return template.HTML(b.String()) // every part escaped above
		}
		b.WriteString(template.HTMLEscapeString(s[:i]))
		r, n := utf8.DecodeRuneInString(s[i:])
		fmt.Fprintf(&b, `<span class="ctl">U+%04X</span>`, r)
		s = s[i+n:]
	}
}

// showText is s for where no markup goes, the page's <title>: every hidden
// character written as "[U+202E]".
func showText(s string) string {
	if strings.IndexFunc(s, hidden) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, "[U+%04X]", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
