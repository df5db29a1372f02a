package cachecli

// This file holds how the commands print: times, sizes and tables whose
// columns stay aligned whatever the keys hold.

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/width"
)

// formatTime formats t in UTC to the second, or returns none for nil.
func formatTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// humanBytes formats n bytes with a binary unit: "512 B", "48.0 KiB". The
// admin page (cacheadmin) formats sizes the same way.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// cells is how many terminal columns s takes: two for East Asian wide and
// fullwidth characters (CJK, most emoji), none for combining marks, zero
// width joiners, variation selectors and emoji skin tones, one for the
// rest. (Emoji joined by zero width joiners still count one by one.)
func cells(s string) int {
	n := 0
	for _, r := range s {
		n += runeCells(r)
	}
	return n
}

func runeCells(r rune) int {
	switch {
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || r == '\u200d' || unicode.Is(unicode.Variation_Selector, r),
		'\U0001F3FB' <= r && r <= '\U0001F3FF':
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// fit cuts s to at most max columns, ending it with "…" when cut.
func fit(s string, max int) string {
	if cells(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		w := runeCells(r)
		if n+w > max-1 {
			break
		}
		b.WriteRune(r)
		n += w
	}
	return b.String() + "…"
}

// table prints rows under a header, columns two spaces apart, each as
// wide as its widest cell in terminal columns. The columns in right are
// aligned right (numbers).
type table struct {
	rows  [][]string
	right map[int]bool
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print(w io.Writer) error {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], cells(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-cells(c))
			last := i == len(r)-1
			switch {
			case t.right[i]:
				b.WriteString(pad + c)
			case last:
				b.WriteString(c)
			default:
				b.WriteString(c + pad)
			}
			if !last {
				b.WriteString("  ")
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
