package acl

import "strings"

// IPMatch reports whether the connection address id (the "ip" id every connection has)
// matches the ACL expression expr, "a.b.c.d[/bits]" or an IPv6 address with an optional
// prefix length (IPAuthenticationProvider.matches). Both sides are masked to the prefix;
// IPv4 never matches IPv6. A malformed expression or id matches nothing.
func IPMatch(id, expr string) bool {
	addr, bits, ok := parseIPExpr(expr)
	if !ok {
		return false
	}
	remote, ok := addrBytes(id)
	if !ok || len(remote) != len(addr) {
		return false
	}
	mask(addr, bits)
	mask(remote, bits)
	return string(addr) == string(remote)
}

func validIPExpr(expr string) bool {
	_, _, ok := parseIPExpr(expr)
	return ok
}

func parseIPExpr(expr string) (addr []byte, bits int, ok bool) {
	a, b, hasBits := strings.Cut(expr, "/")
	addr, ok = addrBytes(a)
	if !ok {
		return nil, 0, false
	}
	bits = len(addr) * 8
	if hasBits {
		n, ok := javaParseInt(b, 10)
		if !ok || n < 0 || int(n) > len(addr)*8 {
			return nil, 0, false
		}
		bits = int(n)
	}
	return addr, bits, true
}

// addrBytes parses an address the way IPAuthenticationProvider.addr2Bytes does: a ':' means
// IPv6, else a '.' means IPv4.
func addrBytes(s string) ([]byte, bool) {
	if strings.IndexByte(s, ':') >= 0 {
		return v6Bytes(s)
	}
	if strings.IndexByte(s, '.') >= 0 {
		return v4Bytes(s)
	}
	return nil, false
}

func v4Bytes(s string) ([]byte, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil, false
	}
	b := make([]byte, 4)
	for i, p := range parts {
		v, ok := javaParseInt(p, 10)
		if !ok || v < 0 || v > 255 {
			return nil, false
		}
		b[i] = byte(v)
	}
	return b, true
}

func v6Bytes(s string) ([]byte, bool) {
	halves := strings.Split(s, "::")
	var seg1, seg2 []string
	switch len(halves) {
	case 1:
		seg1 = strings.Split(halves[0], ":")
		if len(seg1) != 8 {
			return nil, false
		}
	case 2:
		if halves[0] != "" {
			seg1 = strings.Split(halves[0], ":")
		}
		if halves[1] != "" {
			seg2 = strings.Split(halves[1], ":")
		}
		if len(seg1)+len(seg2) >= 8 {
			return nil, false
		}
	default:
		return nil, false
	}
	b := make([]byte, 16)
	if !v6Segments(b[:2*len(seg1)], seg1) || !v6Segments(b[16-2*len(seg2):], seg2) {
		return nil, false
	}
	return b, true
}

func v6Segments(dst []byte, segs []string) bool {
	for i, seg := range segs {
		if seg == "" || len(seg) > 4 {
			return false
		}
		v, ok := javaParseInt(seg, 16)
		if !ok {
			return false
		}
		dst[2*i] = byte(v >> 8)
		dst[2*i+1] = byte(v)
	}
	return true
}

// mask clears every bit after the first bits (IPAuthenticationProvider.mask).
func mask(b []byte, bits int) {
	for i := bits / 8; i < len(b); i++ {
		if i == bits/8 {
			b[i] &= ^byte(0xff >> (bits % 8))
		} else {
			b[i] = 0
		}
	}
}

// javaParseInt is Integer.parseInt(s, radix): an optional sign, then at least one digit,
// within int32 range.
func javaParseInt(s string, radix int) (int32, bool) {
	if s == "" {
		return 0, false
	}
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'z':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int(c-'A') + 10
		default:
			return 0, false
		}
		if d >= radix {
			return 0, false
		}
		v = v*int64(radix) + int64(d)
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 || v < -(1<<31) {
		return 0, false
	}
	return int32(v), true
}
