package cacheadmin

import "unicode/utf8"

// maxIndentDepth is the nesting depth beyond which the pretty-printer stops
// breaking lines: deeper arrays and objects print compactly, so a deeply
// nested value costs no more output per byte than a flat one.
const maxIndentDepth = 32

// prettyJSON indents the JSON text js two spaces a level, as json.Indent
// does, but stops before its output would pass limit bytes: the work and
// the memory are bounded by what is shown, never by the size or the depth
// of js. It returns the output and how many bytes of js it covers (len(js)
// when all of it is shown). The output is never cut inside a UTF-8
// character. js is expected to be valid JSON; anything else is printed
// token by token all the same, within the same bounds.
func prettyJSON(js []byte, limit int) (out []byte, shown int) {
	p := printer{out: make([]byte, 0, min(limit, 2*len(js)+64)), limit: limit}
	inString, escaped := false, false
	for i := 0; i < len(js); i++ {
		c := js[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			if !p.emit(c) {
				return p.cut(js, i)
			}
			continue
		}
		ok := true
		switch c {
		case ' ', '\t', '\n', '\r':
			continue // insignificant whitespace: the printer adds its own
		case '"':
			inString = true
			ok = p.emit(c)
		case '{', '[':
			// An empty container stays on one line, as json.Indent keeps it.
			if j := skipSpace(js, i+1); j < len(js) && (js[j] == '}' || js[j] == ']') {
				if ok = len(p.out)+2 <= p.limit; ok {
					p.out = append(p.out, c, js[j])
					i = j
				}
				break
			}
			p.depth++
			if ok = p.emit(c); ok && !p.newline() {
				return p.out, i + 1 // c shown, its line break not
			}
		case '}', ']':
			compact := p.depth > maxIndentDepth
			p.depth--
			ok = (compact || p.newline()) && p.emit(c)
		case ',':
			if ok = p.emit(c); ok && !p.newline() {
				return p.out, i + 1
			}
		case ':':
			if ok = p.emit(c); ok && !p.emit(' ') {
				return p.out, i + 1
			}
		default:
			ok = p.emit(c)
		}
		if !ok {
			return p.cut(js, i)
		}
	}
	return p.out, len(js)
}

// printer is the output of prettyJSON.
type printer struct {
	out   []byte
	limit int
	depth int
}

// emit appends c, or reports false when the output is full.
func (p *printer) emit(c byte) bool {
	if len(p.out) >= p.limit {
		return false
	}
	p.out = append(p.out, c)
	return true
}

// newline starts a new line indented to the current depth, up to
// maxIndentDepth; beyond it, it adds nothing.
func (p *printer) newline() bool {
	if p.depth > maxIndentDepth || p.depth < 0 {
		return true
	}
	if len(p.out)+1+2*p.depth > p.limit {
		return false
	}
	p.out = append(p.out, '\n')
	for range p.depth {
		p.out = append(p.out, ' ', ' ')
	}
	return true
}

// cut ends the output when js[i] did not fit: it drops a trailing partial
// UTF-8 character, and with it the bytes of js it came from, so that shown
// counts exactly the bytes of js whose text is shown.
func (p *printer) cut(js []byte, i int) ([]byte, int) {
	// Only a string's bytes are copied one for one; a character cut in
	// two lies at the end of out and just before js[i].
	for n := 1; n < utf8.UTFMax && n <= len(p.out) && n <= i; n++ {
		b := p.out[len(p.out)-n]
		if b < utf8.RuneSelf { // ASCII: no character was cut
			break
		}
		if utf8.RuneStart(b) {
			if !utf8.FullRune(p.out[len(p.out)-n:]) {
				p.out = p.out[:len(p.out)-n]
				i -= n
			}
			break
		}
	}
	return p.out, i
}

// skipSpace returns the index of the first byte of js at or after i that is
// not JSON whitespace.
func skipSpace(js []byte, i int) int {
	for i < len(js) && (js[i] == ' ' || js[i] == '\t' || js[i] == '\n' || js[i] == '\r') {
		i++
	}
	return i
}
