package assemble

import (
	"net"
	"strconv"
	"strings"
)

func bracket(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func joinHostPort(h string, port int) string { return net.JoinHostPort(h, strconv.Itoa(port)) }
