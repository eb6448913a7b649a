package recipe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paddock/paddock/client"
)

// Curator's protected-mode names: "_c_" + a random UUID + "-" + the node's name, so that a
// create whose reply was lost can be found again (CreateBuilder.withProtection).
const protectedPrefix = "_c_"

// newUUID returns a random (version 4) UUID in its canonical text form, as Java's
// UUID.randomUUID().toString().
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// join joins a parent path and a child name as Curator's ZKPaths.makePath.
func join(parent, child string) string {
	if parent == "/" {
		return "/" + child
	}
	return parent + "/" + child
}

// nodeName returns the last element of a path.
func nodeName(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}

// parentOf returns the parent of a path ("/" for a top-level node).
func parentOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// validatePath checks a recipe's path the way ZooKeeper does, loosely: absolute, no empty
// elements, no trailing slash.
func validatePath(path string) error {
	if path == "" || path[0] != '/' || (len(path) > 1 && strings.HasSuffix(path, "/")) || strings.Contains(path, "//") {
		return fmt.Errorf("%w: %q", client.ErrInvalidPath, path)
	}
	return nil
}

// fixForSorting is Curator's StandardLockInternalsDriver.standardFixForSorting: the part of a
// node's name after the last occurrence of lockName (the sequence number), so that nodes
// with different protected prefixes sort by sequence.
func fixForSorting(name, lockName string) string {
	if i := strings.LastIndex(name, lockName); i >= 0 {
		return name[i+len(lockName):]
	}
	return name
}

// sortByKey sorts names by key(name), stably.
func sortByKey(names []string, key func(string) string) {
	slices.SortStableFunc(names, func(a, b string) int { return strings.Compare(key(a), key(b)) })
}

// mkdirs creates every missing ancestor of path, as containers when the server knows them
// (Curator's creatingParentContainersIfNeeded; the ancestors get empty data).
func mkdirs(ctx context.Context, c *client.Client, path string) error {
	parent := parentOf(path)
	if parent == "/" {
		return nil
	}
	var missing []string
	for p := parent; p != "/"; p = parentOf(p) {
		ok, _, err := c.Exists(ctx, p)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		missing = append(missing, p)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		_, err := c.Create(ctx, missing[i], []byte{}, client.ModeContainer, nil)
		if errors.Is(err, client.ErrUnimplemented) || errors.Is(err, client.ErrBadArguments) {
			_, err = c.Create(ctx, missing[i], []byte{}, client.ModePersistent, nil)
		}
		if err != nil && !errors.Is(err, client.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// create creates a node, creating its missing ancestors as containers first when the
// parent is missing. It is one attempt: retry it with Session.retry.
func create(ctx context.Context, c *client.Client, path string, data []byte, mode client.CreateMode) (string, error) {
	p, err := c.Create(ctx, path, data, mode, nil)
	if errors.Is(err, client.ErrNoNode) {
		if err := mkdirs(ctx, c, path); err != nil {
			return "", err
		}
		p, err = c.Create(ctx, path, data, mode, nil)
	}
	return p, err
}

// data returns d, or the Session's default data for nil.
func (s *Session) data(d []byte) []byte {
	if d == nil {
		return s.defaultData
	}
	return d
}

// ensure creates a node with the default data (and its ancestors) unless it exists.
func (s *Session) ensure(ctx context.Context, path string, data []byte) error {
	return s.retry(ctx, func(c *client.Client) error {
		_, err := create(ctx, c, path, s.data(data), client.ModePersistent)
		if errors.Is(err, client.ErrNodeExists) {
			return nil
		}
		return err
	})
}

// createProtected creates a node of mode with Curator's protection: its name gets the
// prefix "_c_<uuid>-", and when a create's reply is lost the node is looked for by that
// prefix rather than created twice. Ancestors are created as containers. It returns the
// created path and the generation of the client it was created with (an ephemeral node dies
// with that generation's session).
func (s *Session) createProtected(ctx context.Context, path string, data []byte, mode client.CreateMode) (string, uint64, error) {
	id := newUUID()
	dir := parentOf(path)
	prefix := protectedPrefix + id + "-"
	full := join(dir, prefix+nodeName(path))
	data = s.data(data)
	ephemeral := mode == client.ModeEphemeral || mode == client.ModeEphemeralSequential
	first := true
	var b backoff
	for {
		c, gen, err := s.current(ctx)
		if err != nil {
			return "", 0, err
		}
		if !first {
			if err := b.pause(ctx); err != nil {
				return "", 0, err
			}
			found, err := findProtected(ctx, c, dir, prefix)
			if err != nil {
				if retryable(err) {
					continue
				}
				return "", 0, err
			}
			if found != "" {
				if !ephemeral {
					return found, gen, nil
				}
				ok, st, err := c.Exists(ctx, found)
				if err != nil {
					if retryable(err) {
						continue
					}
					return "", 0, err
				}
				if ok && st.EphemeralOwner == c.SessionID() {
					return found, gen, nil
				}
				if ok {
					// Created by an earlier session: not ours to keep.
					_ = s.deleteGuaranteed(ctx, found)
				}
			}
		}
		first = false
		p, err := create(ctx, c, full, data, mode)
		if err == nil {
			return p, gen, nil
		}
		if retryable(err) && ctx.Err() == nil {
			continue
		}
		if ctx.Err() != nil {
			// The create may still be carried out: find the node later and delete it.
			s.background(func(bctx context.Context) {
				_ = s.retry(bctx, func(c *client.Client) error {
					found, err := findProtected(bctx, c, dir, prefix)
					if err != nil || found == "" {
						return err
					}
					return ignoreNoNode(c.Delete(bctx, found, client.AnyVersion))
				})
			})
			return "", 0, ctx.Err()
		}
		return "", 0, err
	}
}

// findProtected returns the path of the child of dir whose name starts with prefix, or "".
func findProtected(ctx context.Context, c *client.Client, dir, prefix string) (string, error) {
	kids, err := c.GetChildren(ctx, dir)
	if errors.Is(err, client.ErrNoNode) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for _, k := range kids {
		if strings.HasPrefix(k, prefix) {
			return join(dir, k), nil
		}
	}
	return "", nil
}

func ignoreNoNode(err error) error {
	if errors.Is(err, client.ErrNoNode) {
		return nil
	}
	return err
}

// deleteGuaranteed deletes path (any version), retrying through connection losses, as
// Curator's delete().guaranteed(): if it cannot finish within ctx it goes on in the
// background until it succeeds, the node is gone, or the Session is closed. It returns the
// error of the attempt made within ctx; a missing node is no error.
func (s *Session) deleteGuaranteed(ctx context.Context, path string) error {
	del := func(ctx context.Context) error {
		return s.retry(ctx, func(c *client.Client) error {
			return ignoreNoNode(c.Delete(ctx, path, client.AnyVersion))
		})
	}
	err := del(ctx)
	if err != nil && !errors.Is(err, ErrClosed) && (retryable(err) || ctx.Err() != nil) {
		s.background(func(bctx context.Context) { _ = del(bctx) })
	}
	return err
}

// sortedChildren returns the children of path sorted by key, or none if path is missing.
func sortedChildren(ctx context.Context, c *client.Client, path string, key func(string) string) ([]string, error) {
	kids, err := c.GetChildren(ctx, path)
	if errors.Is(err, client.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sortByKey(kids, key)
	return kids, nil
}
