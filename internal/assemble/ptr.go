package assemble

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The name a container's address resolves back to. Go's resolver answers a reverse lookup
// from /etc/hosts first, where a container's address maps to its hostname (the container
// id): so ask the DNS servers themselves. Docker's embedded DNS answers with the
// container's name on that network (proj_zk_2.proj_default), which also resolves forward.

// lookupPTR asks the nameservers of /etc/resolv.conf for ip's PTR records.
func lookupPTR(ctx context.Context, ip net.IP) ([]string, error) {
	arpa, err := reverseName(ip)
	if err != nil {
		return nil, err
	}
	name, err := dnsmessage.NewName(arpa)
	if err != nil {
		return nil, err
	}
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: uint16(time.Now().UnixNano()), RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: name, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET}},
	}
	pkt, err := q.Pack()
	if err != nil {
		return nil, err
	}
	var last error = errors.New("assemble: no nameserver")
	for _, ns := range nameservers() {
		names, err := askPTR(ctx, ns, pkt, q.Header.ID)
		if err == nil {
			return names, nil
		}
		last = err
	}
	return nil, last
}

func askPTR(ctx context.Context, ns string, pkt []byte, id uint16) ([]string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", ns)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	deadline := time.Now().Add(2 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.SetDeadline(deadline)
	if _, err := c.Write(pkt); err != nil {
		return nil, err
	}
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if names, ok := ptrNames(buf[:n], id); ok {
			return names, nil
		}
	}
}

// ptrNames reads the PTR names of a DNS answer to query id; false when pkt is not one
// (malformed, another id, or not a response).
func ptrNames(pkt []byte, id uint16) ([]string, bool) {
	var m dnsmessage.Message
	if err := m.Unpack(pkt); err != nil || m.Header.ID != id || !m.Header.Response {
		return nil, false
	}
	var names []string
	for _, a := range m.Answers {
		if p, ok := a.Body.(*dnsmessage.PTRResource); ok {
			names = append(names, strings.TrimSuffix(p.PTR.String(), "."))
		}
	}
	return names, true
}

// reverseName is ip's in-addr.arpa or ip6.arpa name.
func reverseName(ip net.IP) (string, error) {
	if v4 := ip.To4(); v4 != nil {
		return strings.Join([]string{itoa(v4[3]), itoa(v4[2]), itoa(v4[1]), itoa(v4[0]), "in-addr.arpa."}, "."), nil
	}
	v6 := ip.To16()
	if v6 == nil {
		return "", errors.New("assemble: not an IP address")
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := len(v6) - 1; i >= 0; i-- {
		b.WriteByte(hex[v6[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[v6[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String(), nil
}

func itoa(b byte) string {
	if b == 0 {
		return "0"
	}
	var d [3]byte
	i := len(d)
	for ; b > 0; b /= 10 {
		i--
		d[i] = '0' + b%10
	}
	return string(d[i:])
}

// nameservers are the nameserver lines of /etc/resolv.conf, as host:53.
func nameservers() []string {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return []string{"127.0.0.1:53"}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip := net.ParseIP(fields[1]); ip != nil {
				out = append(out, net.JoinHostPort(ip.String(), "53"))
			}
		}
	}
	if len(out) == 0 {
		out = []string{"127.0.0.1:53"}
	}
	return out
}
