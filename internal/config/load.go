package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LoadOptions are the inputs of Load besides the files it reads.
type LoadOptions struct {
	// ConfigPath is the zoo.cfg to read ("" = none; see Load).
	ConfigPath string
	// Env is the environment as os.Environ returns it. Load never reads the
	// process environment itself; pass os.Environ() to use it.
	Env []string

	// Explicit flags; the zero value means "not given". They override
	// zoo.cfg, ZOO_* and -D properties.
	DataDir           string
	ClientPort        int
	ClientPortAddress string
}

// defaultEntries are what `paddock server` runs with when there is no zoo.cfg
// and no ZOO_* variable: a local standalone server.
var defaultEntries = []entry{
	{key: "tickTime", value: "2000"},
	{key: "dataDir", value: "./data"},
	{key: "clientPort", value: "2181"},
	{key: "clientPortAddress", value: "127.0.0.1"},
}

// Default returns the configuration of `paddock server` without a config
// file: tickTime 2000, clientPort 2181 on 127.0.0.1, dataDir ./data, and
// ZooKeeper's defaults for everything else. It reads no file.
func Default() *Config {
	c, err := build(source{entries: defaultEntries}, nil, nil)
	if err != nil {
		panic("config: defaults do not validate: " + err.Error())
	}
	return c
}

// Parse reads zoo.cfg text; name is used in errors and as Config.Source.
// Parse does no other I/O: it neither reads dataDir/myid nor the
// dynamicConfigFile, so MyID stays 0 and a quorum's myid is not required.
// Errors are *Error values naming the file and line.
func Parse(r io.Reader, name string) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	entries, err := parseProperties(string(data), name)
	if err != nil {
		return nil, err
	}
	return build(source{name: name, entries: entries}, nil, nil)
}

// Load builds the server's configuration:
//
//   - With ConfigPath, that zoo.cfg is read.
//   - Without it, if any ZOO_* variable is set (as in the official Docker
//     image), $ZOO_CONF_DIR/zoo.cfg (default /conf) is read when it exists,
//     and otherwise the file the image's entrypoint would write is generated
//     from the variables (see GenerateFromEnv) and used; it is not written.
//   - Otherwise the defaults of Default are used.
//
// Then -Dkey=value words of SERVER_JVMFLAGS and JVMFLAGS (in that order, the
// later winning) override file values, and the flags of opts override both.
// The dynamicConfigFile (relative to the zoo.cfg directory) supplies the
// server list. MyID comes from dataDir/myid, else ZOO_MY_ID, else, in the
// Docker mode above, 1 when dataDir is $ZOO_DATA_DIR (default /data), since
// the entrypoint writes ${ZOO_MY_ID:-1} there. Errors are *Error values.
func Load(opts LoadOptions) (*Config, error) {
	env := envMap(opts.Env)
	var src source
	zooMode := false
	switch {
	case opts.ConfigPath != "":
		s, err := readSource(opts.ConfigPath)
		if err != nil {
			return nil, err
		}
		src = s
	case hasZooVars(env):
		zooMode = true
		dir := envOr(env, "ZOO_CONF_DIR", "/conf")
		path := filepath.Join(dir, "zoo.cfg")
		if _, err := os.Stat(path); err == nil {
			s, err := readSource(path)
			if err != nil {
				return nil, err
			}
			src = s
		} else {
			text := GenerateFromEnv(opts.Env)
			entries, err := parseProperties(text, path+" (generated from ZOO_* variables)")
			if err != nil {
				return nil, err
			}
			src = source{name: path + " (generated from ZOO_* variables)", dir: dir, entries: entries, generated: text}
		}
	default:
		src = source{entries: defaultEntries}
	}
	var jvm []entry
	for _, v := range []string{"SERVER_JVMFLAGS", "JVMFLAGS"} {
		jvm = append(jvm, jvmProperties(env[v], v)...)
	}
	c, err := build(src, jvm, &loader{env: env, opts: opts, zooMode: zooMode})
	if err != nil {
		return nil, err
	}
	var warnings []string
	c.MaxHeap, c.MaxHeapFrom, warnings = maxHeap(env)
	c.Warnings = append(c.Warnings, warnings...)
	return c, nil
}

// source is a zoo.cfg's entries and where they came from.
type source struct {
	name      string // for errors and Config.Source; "" for the defaults
	dir       string // directory that a relative dynamicConfigFile is in
	entries   []entry
	generated string
}

func readSource(path string) (source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return source{}, &Error{File: path, Err: err}
	}
	entries, err := parseProperties(string(data), path)
	if err != nil {
		return source{}, err
	}
	return source{name: path, dir: filepath.Dir(path), entries: entries}, nil
}

// loader is the I/O and overrides of Load; build works without it for Parse.
type loader struct {
	env     map[string]string
	opts    LoadOptions
	zooMode bool // no ConfigPath and ZOO_* variables set: the Docker image's rules apply
}

// build runs the pipeline shared by Default, Parse and Load.
func build(src source, jvm []entry, l *loader) (*Config, error) {
	b := newBuilder()
	c := b.c
	c.Source, c.Generated = src.name, src.generated
	if err := b.add(src.entries, jvm); err != nil {
		return nil, err
	}
	if l != nil && l.opts.DataDir != "" {
		c.DataDir = l.opts.DataDir
	}
	if err := b.finish(src.name); err != nil {
		return nil, err
	}

	servers := b.servers
	if c.DynamicConfigFile != "" {
		if len(servers) > 0 {
			e := servers[0]
			return nil, &Error{File: e.src, Line: e.line, Key: e.key,
				Err: fmt.Errorf("parameter: %s must be in a separate dynamic config file", e.key)}
		}
		if !filepath.IsAbs(c.DynamicConfigFile) && src.dir != "" {
			c.DynamicConfigFile = filepath.Join(src.dir, c.DynamicConfigFile)
		}
		if l != nil {
			var err error
			if servers, err = b.readDynamic(c.DynamicConfigFile); err != nil {
				return nil, err
			}
		}
	} else if b.version != nil {
		if err := b.setVersion(*b.version); err != nil {
			return nil, err
		}
	}
	if err := b.parseServers(servers); err != nil {
		return nil, err
	}
	if l != nil {
		if err := l.readMyID(c); err != nil {
			return nil, err
		}
	}
	if err := b.resolveSelf(); err != nil {
		return nil, err
	}
	if l != nil {
		if l.opts.ClientPort != 0 {
			c.ClientPort = l.opts.ClientPort
		}
		if l.opts.ClientPortAddress != "" {
			c.ClientPortAddress = l.opts.ClientPortAddress
		}
		if c.ClientPort < 0 || c.ClientPort > 65535 {
			return nil, &Error{File: "flags", Key: "clientPort", Err: fmt.Errorf("port out of range:%d", c.ClientPort)}
		}
	}
	if err := b.check(l != nil); err != nil {
		return nil, err
	}
	return c, nil
}

// readDynamic reads the server list of a dynamic configuration file: only
// server.N, group.N, weight.N and version keys are allowed. Without a
// version= line the version is the file name's hex suffix
// (zoo.cfg.dynamic.100000000), as ZooKeeper names these files.
func (b *builder) readDynamic(path string) ([]entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	entries, err := parseProperties(string(data), path)
	if err != nil {
		return nil, err
	}
	var servers []entry
	var version *entry
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.key, "server."):
			servers = append(servers, e)
		case e.key == "version":
			v := e
			version = &v
		case strings.HasPrefix(e.key, "group") || strings.HasPrefix(e.key, "weight"):
			b.unsupported(e.key, e.value)
		default:
			return nil, &Error{File: path, Line: e.line, Key: e.key, Err: fmt.Errorf("unrecognised parameter: %s", e.key)}
		}
		b.setProp(e.key, e.value)
	}
	if version == nil {
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			if v, err := strconv.ParseUint(path[i+1:], 16, 63); err == nil {
				b.c.ConfigVersion = int64(v)
			}
		}
		return servers, nil
	}
	return servers, b.setVersion(*version)
}

func (b *builder) setVersion(e entry) error {
	v, err := strconv.ParseUint(e.value, 16, 63)
	if err != nil {
		return &Error{File: e.src, Line: e.line, Key: e.key, Err: fmt.Errorf("%w: %q (hexadecimal)", ErrNotANumber, e.value)}
	}
	b.c.ConfigVersion = int64(v)
	return nil
}

// readMyID sets c.MyID from dataDir/myid (its first line), else from
// ZOO_MY_ID, else, in the Docker image's mode, 1 when dataDir is
// $ZOO_DATA_DIR: the entrypoint writes ${ZOO_MY_ID:-1} to $ZOO_DATA_DIR/myid.
func (l *loader) readMyID(c *Config) error {
	path := filepath.Join(c.DataDir, "myid")
	st, err := os.Stat(path)
	switch {
	case err == nil && st.Mode().IsRegular():
		data, err := os.ReadFile(path)
		if err != nil {
			return &Error{File: path, Err: err}
		}
		line, _, _ := strings.Cut(string(data), "\n")
		id, err := parseMyID(line)
		if err != nil {
			return &Error{File: path, Err: err}
		}
		c.MyID = id
	case err == nil || errors.Is(err, fs.ErrNotExist):
		if v, ok := l.env["ZOO_MY_ID"]; ok && v != "" {
			id, err := parseMyID(v)
			if err != nil {
				return &Error{File: "ZOO_MY_ID", Err: err}
			}
			c.MyID = id
		} else if l.zooMode && filepath.Clean(c.DataDir) == filepath.Clean(envOr(l.env, "ZOO_DATA_DIR", "/data")) {
			c.MyID = 1
		}
	default:
		return &Error{File: path, Err: err}
	}
	return nil
}

func parseMyID(s string) (int64, error) {
	s = trimJava(s)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("serverid %q is not a number", s)
	}
	if id < 1 || id > 255 {
		return 0, fmt.Errorf("%w, not %d", ErrBadServerID, id)
	}
	return id, nil
}
