package config

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// entry is one property with where it came from.
type entry struct {
	key, value string
	src        string // file name, or the environment variable of a -D word
	line       int    // 1-based line in src, 0 for -D words
	jvm        bool   // from a -D word rather than a file
}

// parseProperties splits text the way java.util.Properties.load does, which is
// how ZooKeeper reads zoo.cfg: '#' and '!' comment lines, a key ending at the
// first unescaped '=', ':' or blank, backslash continuation lines and escapes
// (\t \n \r \f \uXXXX). Keys and values are trimmed as QuorumPeerConfig does.
// A key given twice keeps both entries, in order; the caller decides (the last
// wins for ordinary keys). Input is taken as UTF-8 rather than ISO-8859-1.
func parseProperties(text, src string) ([]entry, error) {
	lines := naturalLines(text)
	var out []entry
	for n := 0; n < len(lines); n++ {
		s := trimLeftBlank(lines[n])
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		start := n + 1
		for oddTrailingBackslashes(s) {
			s = s[:len(s)-1]
			if n+1 >= len(lines) {
				break
			}
			n++
			s += trimLeftBlank(lines[n])
		}
		k, v := splitKeyValue(s)
		key, err := unescapeProperty(k)
		if err == nil {
			v, err = unescapeProperty(v)
		}
		if err != nil {
			return nil, &Error{File: src, Line: start, Err: err}
		}
		out = append(out, entry{key: trimJava(key), value: trimJava(v), src: src, line: start})
	}
	return out, nil
}

// naturalLines splits at \n, \r and \r\n.
func naturalLines(text string) []string {
	var lines []string
	for len(text) > 0 {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			lines = append(lines, text)
			break
		}
		lines = append(lines, text[:i])
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	return lines
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimLeftBlank(s string) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return s[i:]
}

// trimJava is String.trim: it removes every char <= ' ' at both ends.
func trimJava(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

func oddTrailingBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitKeyValue returns the still-escaped key and value of a logical line.
func splitKeyValue(s string) (key, value string) {
	keyLen, valueStart := 0, len(s)
	hasSep, escaped := false, false
	for keyLen < len(s) {
		c := s[keyLen]
		if !escaped && (c == '=' || c == ':') {
			valueStart, hasSep = keyLen+1, true
			break
		}
		if !escaped && isBlank(c) {
			valueStart = keyLen + 1
			break
		}
		escaped = c == '\\' && !escaped
		keyLen++
	}
	for valueStart < len(s) {
		c := s[valueStart]
		if !isBlank(c) {
			if hasSep || (c != '=' && c != ':') {
				break
			}
			hasSep = true
		}
		valueStart++
	}
	return s[:keyLen], s[valueStart:]
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		i++
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i == len(s) {
			break
		}
		c = s[i]
		i++
		switch c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := hex4(s[i:])
			if !ok {
				return "", fmt.Errorf("%w: malformed \\uxxxx encoding", ErrSyntax)
			}
			i += 4
			if utf16.IsSurrogate(r) && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if r2, ok := hex4(s[i+2:]); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Property is one key and value of a Java properties file.
type Property struct{ Key, Value string }

// ParseProperties reads a Java properties file by the rules of java.util.Properties.load
// (see parseProperties), for files other than zoo.cfg: zkCli's client configuration. The
// properties are in file order, a repeated key as often as it appears; src names the file
// in errors.
func ParseProperties(text, src string) ([]Property, error) {
	es, err := parseProperties(text, src)
	if err != nil {
		return nil, err
	}
	out := make([]Property, len(es))
	for i, e := range es {
		out[i] = Property{e.key, e.value}
	}
	return out, nil
}

// jvmProperties returns the -Dkey=value words of a JVM flags string in order.
// Other words (-Xmx512m, -cp ...) are skipped. The string is split into words
// like a shell does: blanks separate words, single quotes keep everything,
// double quotes keep everything but \" \\ \$ \` escapes, and a backslash
// outside quotes escapes the next character. zkServer.sh expands $JVMFLAGS
// unquoted, but users of the Docker image routinely write the quotes.
func jvmProperties(flags, src string) []entry {
	var out []entry
	for _, w := range shellWords(flags) {
		kv, ok := strings.CutPrefix(w, "-D")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if k = trimJava(k); k == "" {
			continue
		}
		out = append(out, entry{key: k, value: trimJava(v), src: src, jvm: true})
	}
	return out
}

func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				w.WriteString(s[i+1:])
				i = len(s)
				break
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
