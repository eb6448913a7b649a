package raftnode

import (
	"context"
	"fmt"
	"log/slog"
)

// raftLogger adapts slog to raft's Logger. raft's Fatal and Panic mean an
// invariant broke: they log and panic, as raft's own default logger does.
type raftLogger struct{ l *slog.Logger }

func (r raftLogger) Debug(v ...any) { r.log(slog.LevelDebug, fmt.Sprint(v...)) }
func (r raftLogger) Debugf(format string, v ...any) {
	r.log(slog.LevelDebug, fmt.Sprintf(format, v...))
}
func (r raftLogger) Info(v ...any)                 { r.log(slog.LevelInfo, fmt.Sprint(v...)) }
func (r raftLogger) Infof(format string, v ...any) { r.log(slog.LevelInfo, fmt.Sprintf(format, v...)) }
func (r raftLogger) Warning(v ...any)              { r.log(slog.LevelWarn, fmt.Sprint(v...)) }
func (r raftLogger) Warningf(format string, v ...any) {
	r.log(slog.LevelWarn, fmt.Sprintf(format, v...))
}
func (r raftLogger) Error(v ...any) { r.log(slog.LevelError, fmt.Sprint(v...)) }
func (r raftLogger) Errorf(format string, v ...any) {
	r.log(slog.LevelError, fmt.Sprintf(format, v...))
}
func (r raftLogger) Fatal(v ...any)                 { r.die(fmt.Sprint(v...)) }
func (r raftLogger) Fatalf(format string, v ...any) { r.die(fmt.Sprintf(format, v...)) }
func (r raftLogger) Panic(v ...any)                 { r.die(fmt.Sprint(v...)) }
func (r raftLogger) Panicf(format string, v ...any) { r.die(fmt.Sprintf(format, v...)) }

func (r raftLogger) log(level slog.Level, msg string) {
	r.l.Log(context.Background(), level, "raft: "+msg)
}

func (r raftLogger) die(msg string) {
	r.l.Error("raft: " + msg)
	panic("raft: " + msg)
}
