package zkcli

import (
	"context"
	"strings"
	"time"
)

// completeTimeout bounds the server calls of one completion.
const completeTimeout = 2 * time.Second

// complete returns the completions of the word that ends before: a command name for the
// first word, a znode path for a word that starts with "/" (the children of its parent,
// read from the server). A single completion ends in " ", or in "/" for a node with
// children, so that typing can go on.
func (sh *shell) complete(before string) []string {
	start := strings.LastIndexByte(before, ' ') + 1
	word := before[start:]
	if strings.HasPrefix(word, "/") {
		return sh.completePath(word)
	}
	if strings.TrimSpace(before[:start]) != "" {
		return nil
	}
	var out []string
	for _, name := range append(commandNames(), "help") {
		if strings.HasPrefix(name, word) {
			out = append(out, name)
		}
	}
	if len(out) == 1 {
		out[0] += " "
	}
	return out
}

func (sh *shell) completePath(word string) []string {
	if sh.sess == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	select {
	case <-sh.sess.readyc:
	default:
		return nil // not connected yet
	}
	c := sh.sess.c
	if c == nil {
		return nil
	}
	i := strings.LastIndexByte(word, '/')
	dir, prefix := word[:i], word[i+1:]
	if dir == "" {
		dir = "/"
	}
	children, err := c.GetChildren(ctx, dir)
	if err != nil {
		return nil
	}
	sortJava(children)
	var out []string
	for _, ch := range children {
		if strings.HasPrefix(ch, prefix) {
			out = append(out, word[:i+1]+ch)
		}
	}
	if len(out) == 1 {
		if _, st, err := c.Exists(ctx, out[0]); err == nil && st.NumChildren > 0 {
			out[0] += "/"
		} else {
			out[0] += " "
		}
	}
	return out
}
