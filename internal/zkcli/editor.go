package zkcli

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// editor is a small line editor on a raw terminal, in the manner of linenoise: one line that
// scrolls sideways when it is wider than the terminal, emacs keys, history (kept in a file
// across runs) and tab completion.
//
// Its goroutine is the shell's. The line being edited is guarded by console.mu, since the
// watch printer draws it again after printing above it; the editor's goroutine is the only
// one that changes it.
type editor struct {
	r        *bufio.Reader
	out      io.Writer
	con      *console
	width    func() int
	raw      func() (restore func(), err error)
	complete func(before string) []string

	histPath string
	hist     []string

	// Guarded by con.mu.
	reading bool
	prompt  string
	buf     []rune
	pos     int
}

// histMax is the number of lines of history kept.
const histMax = 1000

// newEditor returns an editor for stdin and stdout, or nil when either is not a terminal.
func newEditor(stdin io.Reader, stdout io.Writer, con *console, histPath string, complete func(string) []string) *editor {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 || !isTerminal(in) || !isTerminal(out) {
		return nil
	}
	e := &editor{
		r:        bufio.NewReader(in),
		out:      out,
		con:      con,
		width:    func() int { return termWidth(out) },
		raw:      func() (func(), error) { return makeRaw(in) },
		complete: complete,
	}
	e.loadHistory(histPath)
	con.mu.Lock()
	con.ed = e
	con.mu.Unlock()
	return e
}

func (e *editor) close() {
	e.con.mu.Lock()
	defer e.con.mu.Unlock()
	if e.con.ed == e {
		e.con.ed = nil
	}
}

// Keys other than plain runes.
const (
	keyNone rune = -1 - iota
	keyLeft
	keyRight
	keyUp
	keyDown
	keyHome
	keyEnd
	keyDelete
	keyWordLeft
	keyWordRight
)

// readKey reads one key press: a rune, a control character, or one of the keys above from
// its escape sequence (xterm and VT100 forms).
func (e *editor) readKey() (rune, error) {
	r, _, err := e.r.ReadRune()
	if err != nil || r != 0x1b {
		return r, err
	}
	r, _, err = e.r.ReadRune()
	if err != nil {
		return keyNone, err
	}
	switch r {
	case 'b', 'B':
		return keyWordLeft, nil
	case 'f', 'F':
		return keyWordRight, nil
	case 'O':
		r, _, err = e.r.ReadRune()
		switch r {
		case 'H':
			return keyHome, err
		case 'F':
			return keyEnd, err
		}
		return keyNone, err
	case '[':
	default:
		return keyNone, nil
	}
	// CSI: parameters, then a final byte.
	var params strings.Builder
	for {
		r, _, err = e.r.ReadRune()
		if err != nil {
			return keyNone, err
		}
		if r >= 0x40 && r <= 0x7e {
			break
		}
		params.WriteRune(r)
	}
	p := params.String()
	ctrl := strings.HasSuffix(p, ";5") || strings.HasSuffix(p, ";3")
	switch r {
	case 'A':
		return keyUp, nil
	case 'B':
		return keyDown, nil
	case 'C':
		if ctrl {
			return keyWordRight, nil
		}
		return keyRight, nil
	case 'D':
		if ctrl {
			return keyWordLeft, nil
		}
		return keyLeft, nil
	case 'H':
		return keyHome, nil
	case 'F':
		return keyEnd, nil
	case '~':
		switch p {
		case "1", "7":
			return keyHome, nil
		case "4", "8":
			return keyEnd, nil
		case "3":
			return keyDelete, nil
		}
	}
	return keyNone, nil
}

// readLine shows prompt and returns the line typed; io.EOF on ^D at an empty line or at the
// end of input. The terminal is raw only while it reads.
func (e *editor) readLine(prompt string) (string, error) {
	restore, err := e.raw()
	if err != nil {
		return "", err
	}
	defer restore()
	e.con.mu.Lock()
	e.reading, e.prompt, e.buf, e.pos = true, prompt, nil, 0
	e.refresh()
	e.con.mu.Unlock()
	defer func() {
		e.con.mu.Lock()
		e.reading = false
		e.con.mu.Unlock()
	}()

	histIdx := len(e.hist) // the line shown: hist[histIdx], or the one being typed
	scratch := ""
	for {
		k, err := e.readKey()
		if err != nil {
			e.con.mu.Lock()
			io.WriteString(e.out, "\n")
			e.con.mu.Unlock()
			return "", err
		}
		if k == '\t' && e.complete != nil {
			e.tab()
			continue
		}
		e.con.mu.Lock()
		line, done, eof := e.apply(k, &histIdx, &scratch)
		e.con.mu.Unlock()
		if eof {
			return "", io.EOF
		}
		if done {
			return line, nil
		}
	}
}

// apply edits the line for one key. Called with con.mu held.
func (e *editor) apply(k rune, histIdx *int, scratch *string) (line string, done, eof bool) {
	showHist := func(i int) {
		if i < 0 || i > len(e.hist) {
			return
		}
		if *histIdx == len(e.hist) {
			*scratch = string(e.buf)
		}
		*histIdx = i
		if i == len(e.hist) {
			e.buf = []rune(*scratch)
		} else {
			e.buf = []rune(e.hist[i])
		}
		e.pos = len(e.buf)
	}
	switch k {
	case '\r', '\n':
		e.pos = len(e.buf)
		e.refresh()
		io.WriteString(e.out, "\n")
		return string(e.buf), true, false
	case 3: // ^C: drop the line
		io.WriteString(e.out, "^C\n")
		e.buf, e.pos = nil, 0
		*histIdx = len(e.hist)
	case 4: // ^D: end of input at an empty line, else delete
		if len(e.buf) == 0 {
			io.WriteString(e.out, "\n")
			return "", false, true
		}
		if e.pos < len(e.buf) {
			e.buf = append(e.buf[:e.pos], e.buf[e.pos+1:]...)
		}
	case 1, keyHome:
		e.pos = 0
	case 5, keyEnd:
		e.pos = len(e.buf)
	case 2, keyLeft:
		if e.pos > 0 {
			e.pos--
		}
	case 6, keyRight:
		if e.pos < len(e.buf) {
			e.pos++
		}
	case 8, 127: // backspace
		if e.pos > 0 {
			e.buf = append(e.buf[:e.pos-1], e.buf[e.pos:]...)
			e.pos--
		}
	case keyDelete:
		if e.pos < len(e.buf) {
			e.buf = append(e.buf[:e.pos], e.buf[e.pos+1:]...)
		}
	case 11: // ^K
		e.buf = e.buf[:e.pos]
	case 21: // ^U
		e.buf = append([]rune(nil), e.buf[e.pos:]...)
		e.pos = 0
	case 23: // ^W: the word before the cursor
		i := e.pos
		for i > 0 && e.buf[i-1] == ' ' {
			i--
		}
		for i > 0 && e.buf[i-1] != ' ' {
			i--
		}
		e.buf = append(e.buf[:i], e.buf[e.pos:]...)
		e.pos = i
	case keyWordLeft:
		for e.pos > 0 && !isWord(e.buf[e.pos-1]) {
			e.pos--
		}
		for e.pos > 0 && isWord(e.buf[e.pos-1]) {
			e.pos--
		}
	case keyWordRight:
		for e.pos < len(e.buf) && !isWord(e.buf[e.pos]) {
			e.pos++
		}
		for e.pos < len(e.buf) && isWord(e.buf[e.pos]) {
			e.pos++
		}
	case 12: // ^L
		io.WriteString(e.out, "\x1b[H\x1b[2J")
	case 16, keyUp:
		showHist(*histIdx - 1)
	case 14, keyDown:
		showHist(*histIdx + 1)
	default:
		if k < 0 || k < 0x20 || k == 0x7f {
			return "", false, false // other control keys do nothing
		}
		e.buf = append(e.buf[:e.pos], append([]rune{k}, e.buf[e.pos:]...)...)
		e.pos++
		if e.pos == len(e.buf) && len([]rune(e.prompt))+len(e.buf) < e.width() {
			io.WriteString(e.out, string(k)) // typed at the end: no need to draw it all
			return "", false, false
		}
	}
	e.refresh()
	return "", false, false
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// tab completes the word before the cursor: alone, a candidate replaces it; several
// extend it to their common prefix, or, when that adds nothing, are listed.
func (e *editor) tab() {
	before := string(e.buf[:e.pos]) // only this goroutine changes buf
	start := strings.LastIndexByte(before, ' ') + 1
	word := before[start:]
	cands := e.complete(before)
	e.con.mu.Lock()
	defer e.con.mu.Unlock()
	insert := func(s string) {
		rest := append([]rune(s), e.buf[e.pos:]...)
		e.buf = append([]rune(before[:start]), rest...)
		e.pos = len([]rune(before[:start])) + len([]rune(s))
	}
	switch len(cands) {
	case 0:
		io.WriteString(e.out, "\a")
		return
	case 1:
		insert(cands[0])
	default:
		if p := commonPrefix(cands); len(p) > len(word) {
			insert(p)
			break
		}
		names := make([]string, len(cands))
		for i, c := range cands {
			names[i] = c[strings.LastIndexByte(c, '/')+1:] // a path's last name
		}
		e.hide()
		io.WriteString(e.out, columns(names, e.width()))
	}
	e.refresh()
}

func commonPrefix(s []string) string {
	p := []rune(s[0])
	for _, x := range s[1:] {
		for !strings.HasPrefix(x, string(p)) {
			p = p[:len(p)-1]
		}
	}
	return string(p)
}

// columns lays out names in columns across width, each line ending in "\n".
func columns(names []string, width int) string {
	w := 0
	for _, n := range names {
		w = max(w, len([]rune(n)))
	}
	w += 2
	per := max(1, width/w)
	var b strings.Builder
	for i, n := range names {
		b.WriteString(n)
		if (i+1)%per == 0 || i == len(names)-1 {
			b.WriteString("\n")
		} else {
			b.WriteString(strings.Repeat(" ", w-len([]rune(n))))
		}
	}
	return b.String()
}

// refresh draws the prompt and the line, scrolled so that the cursor is on screen. Called
// with con.mu held.
func (e *editor) refresh() {
	cols := e.width()
	plen := len([]rune(e.prompt))
	buf, pos := e.buf, e.pos
	for plen+pos >= cols && pos > 0 {
		buf, pos = buf[1:], pos-1
	}
	n := len(buf)
	for plen+n > cols && n > 0 {
		n--
	}
	s := "\r" + e.prompt + string(buf[:n]) + "\x1b[0K\r"
	if c := plen + pos; c > 0 {
		s += "\x1b[" + strconv.Itoa(c) + "C"
	}
	io.WriteString(e.out, s)
}

// hide clears the line, for output to go where the prompt was. Called with con.mu held.
func (e *editor) hide() { io.WriteString(e.out, "\r\x1b[0K") }

// loadHistory reads the history file, keeping its last histMax lines (and the file too).
func (e *editor) loadHistory(path string) {
	e.histPath = path
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			e.hist = append(e.hist, l)
		}
	}
	if len(e.hist) > histMax {
		e.hist = e.hist[len(e.hist)-histMax:]
		os.WriteFile(path, []byte(strings.Join(e.hist, "\n")+"\n"), 0o600)
	}
}

// addHistory records a line typed, in memory and in the history file, unless it repeats
// the previous one.
func (e *editor) addHistory(line string) {
	if n := len(e.hist); n > 0 && e.hist[n-1] == line {
		return
	}
	e.hist = append(e.hist, line)
	if len(e.hist) > histMax {
		e.hist = e.hist[1:]
	}
	if e.histPath == "" {
		return
	}
	f, err := os.OpenFile(e.histPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	io.WriteString(f, line+"\n")
}
