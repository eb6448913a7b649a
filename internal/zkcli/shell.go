package zkcli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paddock/paddock/client"
)

// Options configure Run. ParseArgs fills the first five from the command line.
type Options struct {
	Server            string        // connect string; "" means DefaultServer
	Timeout           time.Duration // session timeout; 0 means DefaultTimeout
	ReadOnly          bool          // -r: a read-only server will do
	WaitForConnection bool          // -waitforconnection
	JSON              bool          // --json: one JSON object per result instead of text
	// ClientConfig is -client-configuration: a Java properties file of ZooKeeper client
	// settings, read by Run before it connects (see loadClientConfig).
	ClientConfig string
	// MaxBuffer bounds a reply frame (the client's MaxFrameSize); 0 means the client's
	// default. The client configuration's jute.maxbuffer sets it.
	MaxBuffer int

	// Version is what `version` prints after "ZooKeeper CLI version: ".
	Version string
	// HistoryFile keeps the interactive history across runs; "" keeps none.
	HistoryFile string
	// Stdin, Stdout and Stderr default to the process's. Line editing is used only when
	// Stdin and Stdout are both terminals (*os.File).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Dialer opens connections (tests); nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Exit codes, as zkCli.sh's.
const (
	exitOK       = 0
	exitError    = 1   // CliException
	exitNotFound = 127 // CommandNotFoundException
)

// errQuit ends the shell; the exit code stays the previous command's, as in zkCli.
var errQuit = errors.New("zkcli: quit")

// errInterrupted is the cause of a command cancelled by Ctrl-C.
var errInterrupted = errors.New("zkcli: interrupted")

// Run runs cmd (zkCli's "one-shot" mode: cmd is the command and its arguments), or, when
// cmd is empty, reads commands from Stdin until end of input or quit. It prints what
// zkCli.sh prints, and returns the exit status zkCli.sh would: the last command's, 0 when
// it succeeded, 1 when it failed (127 for an unknown command). Unlike zkCli.sh it closes
// the session before returning, so the session's ephemeral nodes go at once.
func Run(o Options, cmd []string) int {
	if o.Server == "" {
		o.Server = DefaultServer
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	sh := &shell{opts: o, con: &console{out: o.Stdout, err: o.Stderr}, history: map[int]string{}}
	sh.printWatches.Store(true)
	sh.watches = newWatchTable(&sh.wg, sh.printEvent)
	defer sh.shutdown()

	if err := checkConnectString(o.Server); err != nil {
		sh.con.write(sh.con.err, err.Error()+"\n")
		return exitError
	}
	if !o.JSON {
		sh.con.write(sh.con.out, "Connecting to "+o.Server+"\n")
	}
	if o.ClientConfig != "" {
		cs, err := loadClientConfig(o.ClientConfig)
		if err != nil {
			sh.con.write(sh.con.err, err.msg+"\n")
			return err.exit
		}
		sh.con.write(sh.con.err, cs.noteUnknown(o.ClientConfig))
		if cs.maxBuffer > 0 {
			sh.opts.MaxBuffer = cs.maxBuffer
		}
	}
	sh.connect(o.Server)
	if o.WaitForConnection && !sh.sess.waitReady(o.Timeout) {
		sh.con.write(sh.con.err, keeperErrorCode(client.CodeOf(client.ErrConnectionLoss), "")+"\n")
		return exitError
	}
	if len(cmd) > 0 {
		sh.processCmd(cmd, strings.Join(cmd, " "))
		return sh.exit
	}
	sh.interactive()
	return sh.exit
}

// shell is zkCli's ZooKeeperMain. Its fields are owned by the goroutine calling Run, except
// where noted.
type shell struct {
	opts    Options
	con     *console
	watches *watchTable
	wg      sync.WaitGroup // the sessions' connecting goroutines and the watch dispatcher

	sess    *session
	host    string
	history map[int]string // command number -> line, as zkCli's history
	count   int            // commands read so far (the prompt's number)
	exit    int            // the last command's exit code
	quit    bool

	printWatches atomic.Bool // read by the event printers too
	ed           *editor     // nil unless line editing

	intrMu sync.Mutex
	intr   func() // guarded by intrMu: interrupts the command running
}

func (sh *shell) shutdown() {
	if sh.sess != nil {
		sh.sess.close()
	}
	sh.watches.stop()
	sh.wg.Wait()
}

// connect replaces the session with a new one to host, as zkCli's connectToZK.
func (sh *shell) connect(host string) {
	if sh.sess != nil && sh.sess.close() {
		sh.printState(client.StateClosed)
	}
	sh.host = host
	sh.sess = startSession(&sh.wg, host, sh.opts,
		func(c *client.Client) {
			if c.State() == client.StateConnectedReadOnly {
				sh.printState(client.StateConnectedReadOnly)
			} else {
				sh.printState(client.StateConnected)
			}
		},
		func(err error) { sh.con.write(sh.con.err, err.Error()+"\n") },
		func(ev client.Event) {
			// The shell prints Closed itself when it closes the session, in order with the
			// commands' output.
			if ev.State != client.StateClosed {
				sh.printState(ev.State)
			}
		})
}

// printState prints a session state change as zkCli's watcher does. Safe for concurrent use.
func (sh *shell) printState(st client.State) {
	if !sh.printWatches.Load() || sh.opts.JSON {
		return
	}
	sh.con.async(watcherBlock(stateName(st), "None", "null"))
}

// printEvent prints a watch event as zkCli's watcher does. Safe for concurrent use.
func (sh *shell) printEvent(ev client.WatchEvent) {
	if !sh.printWatches.Load() {
		return
	}
	if sh.opts.JSON {
		o := &object{}
		e := &object{}
		e.set("state", "SyncConnected")
		e.set("type", ev.Type.String())
		e.set("path", ev.Path)
		if ev.Zxid >= 0 {
			e.set("zxid", ev.Zxid)
		}
		o.set("event", e)
		sh.con.async(o.line())
		return
	}
	sh.con.async(watcherBlock("SyncConnected", ev.Type.String(), ev.Path))
}

// prompt is zkCli's prompt: "[zk: host(STATE) N] ".
func (sh *shell) prompt() string {
	return "[zk: " + sh.host + "(" + sh.sess.state() + ") " + strconv.Itoa(sh.count) + "] "
}

// interactive reads and runs commands until end of input or quit.
func (sh *shell) interactive() {
	if !sh.opts.JSON {
		sh.con.write(sh.con.out, "Welcome to ZooKeeper!\n")
	}
	ed := newEditor(sh.opts.Stdin, sh.opts.Stdout, sh.con, sh.opts.HistoryFile, sh.complete)
	if !sh.opts.JSON {
		if ed != nil {
			sh.con.write(sh.con.out, "JLine support is enabled\n")
		} else {
			sh.con.write(sh.con.out, "JLine support is disabled\n")
		}
	}
	if ed != nil {
		sh.ed = ed
		defer ed.close()
		defer sh.catchInterrupts()()
		for !sh.quit {
			line, err := ed.readLine(sh.prompt())
			if err != nil {
				break
			}
			sh.executeLine(line)
		}
		return
	}
	r := bufio.NewReader(sh.opts.Stdin)
	for !sh.quit {
		line, err := r.ReadString('\n')
		if line == "" && err != nil {
			break
		}
		sh.executeLine(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
	}
}

// executeLine runs one line typed or read, as zkCli's executeLine. Unlike zkCli, a line of
// spaces is ignored (zkCli runs the previous command again).
func (sh *shell) executeLine(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	sh.history[sh.count] = line
	if sh.ed != nil {
		sh.ed.addHistory(line)
	}
	sh.processCmd(tokenize(line), line)
	sh.count++
}

// processCmd runs one command and reports its outcome: the error on stderr, the exit code,
// and with --json the result object.
func (sh *shell) processCmd(args []string, line string) {
	x := &inv{sh: sh, res: &object{}}
	x.res.set("command", line)
	x.res.set("ok", true)
	// A request gets its reply, or fails, within about a session timeout in zkCli; here a
	// command fails with ConnectionLoss when it has waited that long for a reply.
	ctx, cancel := context.WithCancelCause(context.Background())
	watchdog := time.AfterFunc(sh.opts.Timeout, func() { cancel(client.ErrConnectionLoss) })
	x.ctx, x.progress = ctx, func() { watchdog.Reset(sh.opts.Timeout) }
	defer watchdog.Stop()
	defer cancel(nil)
	if sh.sess != nil {
		defer sh.sess.onDialFailure(func() { cancel(client.ErrConnectionLoss) })()
	}
	sh.setInterrupt(func() { cancel(errInterrupted) })
	defer sh.setInterrupt(nil)

	err := sh.processZKCmd(x, args)
	if errors.Is(err, errQuit) {
		sh.quit = true
		err = nil
	} else if err != nil {
		var ce *cliError
		if !errors.As(err, &ce) {
			ce = &cliError{msg: err.Error(), exit: exitError}
		}
		sh.exit = ce.exit
		x.warn(ce.msg + "\n")
		x.res.set("ok", false)
		x.res.set("error", ce.msg)
		if ce.code != 0 {
			x.res.set("code", ce.code.String())
		}
	} else {
		sh.exit = exitOK
	}
	// Events delivered before the command's last reply are printed before its output, as
	// zkCli's event thread usually manages to.
	sh.watches.flush()
	sh.con.writeSegs(x.segs)
	if sh.opts.JSON {
		sh.con.write(sh.con.out, x.res.line())
	}
}

// catchInterrupts makes Ctrl-C interrupt the command running, if any, rather than the
// process, for as long as the line editor is in use (it reads ^C itself, the terminal
// being raw then).
func (sh *shell) catchInterrupts() (stop func()) {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt)
	donec := make(chan struct{})
	go func() {
		defer close(donec)
		for range sigc {
			sh.intrMu.Lock()
			f := sh.intr
			sh.intrMu.Unlock()
			if f != nil {
				f()
			}
		}
	}()
	return func() { signal.Stop(sigc); close(sigc); <-donec }
}

// setInterrupt sets what Ctrl-C does (nil: nothing).
func (sh *shell) setInterrupt(f func()) {
	sh.intrMu.Lock()
	defer sh.intrMu.Unlock()
	sh.intr = f
}

// processZKCmd is zkCli's processZKCmd: the shell's own commands, then "Not connected"
// when the session is closed, then the command table.
func (sh *shell) processZKCmd(x *inv, args []string) error {
	if len(args) < 1 {
		sh.usage(x)
		return usageErr("No command entered")
	}
	cmd := args[0]
	if !isCommand(cmd) {
		sh.usage(x)
		return &cliError{msg: "Command not found: Command not found " + cmd, exit: exitNotFound}
	}
	switch cmd {
	case "quit", "exit":
		if sh.sess.close() {
			sh.printState(client.StateClosed)
		}
		return errQuit
	case "help":
		sh.usageTo(x, false)
		return nil
	case "redo":
		if len(args) >= 2 {
			i, ok := decodeJavaInt(args[1])
			if !ok {
				return usageErr("redo: not a command number: " + args[1])
			}
			if sh.count <= i || i < 0 {
				return usageErr("Command index out of range")
			}
			line := sh.history[i]
			redo := tokenize(line)
			if len(redo) > 0 && redo[0] == "redo" {
				return usageErr("No redoing redos")
			}
			sh.history[sh.count] = line
			x.res.set("command", line)
			return sh.processZKCmd(x, redo)
		}
	case "history":
		var items []*object
		for i := sh.count - 10; i <= sh.count; i++ {
			if i < 0 {
				continue
			}
			h, ok := sh.history[i]
			if !ok {
				h = "null"
			}
			x.out(strconv.Itoa(i) + " - " + h + "\n")
			o := &object{}
			o.set("index", i)
			o.set("command", h)
			items = append(items, o)
		}
		x.res.set("history", items)
	case "printwatches":
		if len(args) == 1 {
			onOff := "off"
			if sh.printWatches.Load() {
				onOff = "on"
			}
			x.out("printwatches is " + onOff + "\n")
			x.res.set("printwatches", onOff)
		} else {
			sh.printWatches.Store(args[1] == "on")
		}
	case "connect":
		host := sh.host
		if len(args) >= 2 {
			host = args[1]
		}
		if err := checkConnectString(host); err != nil {
			return &cliError{msg: err.Error(), exit: exitError}
		}
		sh.connect(host)
	}
	if !sh.sess.alive() {
		x.out("Not connected\n")
		x.res.set("ok", false)
		x.res.set("error", "Not connected")
		return nil
	}
	if c := commands[cmd]; c != nil {
		return c.exec(x, args)
	}
	return nil
}

// builtins are the commands processZKCmd handles itself, with their usage.
var builtins = map[string]string{
	"connect":      "host:port",
	"history":      "",
	"redo":         "cmdno",
	"printwatches": "on|off",
	"quit":         "",
}

func isCommand(name string) bool {
	_, b := builtins[name]
	return b || commands[name] != nil || name == "exit" || name == "help"
}

// usage prints zkCli's usage, on stderr as zkCli does for an unknown command.
func (sh *shell) usage(x *inv) { sh.usageTo(x, true) }

func (sh *shell) usageTo(x *inv, toErr bool) {
	var b strings.Builder
	b.WriteString("ZooKeeper -server host:port -client-configuration properties-file cmd args\n")
	for _, name := range commandNames() {
		b.WriteString("\t" + name + " " + usageOf(name) + "\n")
	}
	if toErr {
		x.warn(b.String())
	} else {
		x.out(b.String())
		x.res.set("commands", commandNames())
	}
}

// commandNames lists the commands zkCli's usage lists, sorted.
func commandNames() []string {
	var names []string
	for n := range builtins {
		names = append(names, n)
	}
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func usageOf(name string) string {
	if u, ok := builtins[name]; ok {
		return u
	}
	return commands[name].usage
}

// console serializes output: command output, and events printed by other goroutines, which
// while the line editor is reading go above the prompt, which is then drawn again.
type console struct {
	mu  sync.Mutex
	out io.Writer
	err io.Writer
	ed  *editor // guarded by mu; set while the line editor is in use
}

func (c *console) write(w io.Writer, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(w, s)
}

// async writes output that is not a command's on stdout.
func (c *console) async(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ed != nil && c.ed.reading {
		c.ed.hide()
		io.WriteString(c.out, s)
		c.ed.refresh()
		return
	}
	io.WriteString(c.out, s)
}

// seg is a piece of a command's output.
type seg struct {
	toErr bool
	s     string
}

func (c *console) writeSegs(segs []seg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range segs {
		w := c.out
		if s.toErr {
			w = c.err
		}
		io.WriteString(w, s.s)
	}
}
