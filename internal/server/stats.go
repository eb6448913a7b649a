package server

import (
	"math"
	"sync/atomic"
	"time"
)

// serverStats are the counters behind srvr, mntr and /metrics. All fields are atomics.
type serverStats struct {
	packetsReceived atomic.Int64
	packetsSent     atomic.Int64
	connRejected    atomic.Int64
	sessionsExpired atomic.Int64
	authFailed      atomic.Int64
	latency         latencyStats
	proposals       atomic.Int64 // txns and touch entries this member proposed
	leaderChanges   atomic.Int64 // leader changes this member saw
	election        latencyStats // how long this member knew no leader, each time it found one
	fsync           latencyStats // log writes with their sync
	fsyncSlow       atomic.Int64 // log syncs over Options.FsyncWarningThreshold
	batch           sizeStats    // entries persisted per log write
	// Client response sizes in bytes: last, largest, and smallest+1 (0 = none yet).
	respLast, respMax, respMinPlus1 atomic.Int64
}

func (s *serverStats) observeResponse(n int) {
	v := int64(n)
	s.respLast.Store(v)
	for {
		m := s.respMax.Load()
		if m >= v || s.respMax.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := s.respMinPlus1.Load()
		if (m != 0 && m <= v+1) || s.respMinPlus1.CompareAndSwap(m, v+1) {
			break
		}
	}
}

// respMin is the smallest response size, -1 before the first (as ZooKeeper reports it).
func (s *serverStats) respMin() int64 { return s.respMinPlus1.Load() - 1 }

func (s *serverStats) reset() {
	s.packetsReceived.Store(0)
	s.packetsSent.Store(0)
	s.respLast.Store(0)
	s.respMax.Store(0)
	s.respMinPlus1.Store(0)
	s.latency.reset()
}

// latencyStats keeps min/avg/max request latency in microseconds, lock-free.
type latencyStats struct {
	count    atomic.Int64
	sum      atomic.Int64
	minPlus1 atomic.Int64 // 0 when empty
	max      atomic.Int64
}

func (l *latencyStats) observe(d time.Duration) {
	us := d.Microseconds()
	l.count.Add(1)
	l.sum.Add(us)
	for {
		m := l.minPlus1.Load()
		if (m != 0 && m <= us+1) || l.minPlus1.CompareAndSwap(m, us+1) {
			break
		}
	}
	for {
		m := l.max.Load()
		if m >= us || l.max.CompareAndSwap(m, us) {
			break
		}
	}
}

func (l *latencyStats) reset() {
	l.count.Store(0)
	l.sum.Store(0)
	l.minPlus1.Store(0)
	l.max.Store(0)
}

// snapshot returns min, avg, max in milliseconds (ZooKeeper's unit) and the count.
func (l *latencyStats) snapshot() (min, avg, max float64, n int64) {
	n = l.count.Load()
	if n == 0 {
		return 0, 0, 0, 0
	}
	min = float64(l.minPlus1.Load()-1) / 1000
	max = float64(l.max.Load()) / 1000
	avg = float64(l.sum.Load()) / float64(n) / 1000
	return round3(min), round3(avg), round3(max), n
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// connStats are per-connection figures for cons.
type connStats struct {
	received atomic.Int64
	sent     atomic.Int64
	lastOp   atomic.Int32
	lastCxid atomic.Int32
	lastZxid atomic.Int64
	lastResp atomic.Int64 // unix ms
	lastLat  atomic.Int64 // ms
	latency  latencyStats
}

func (c *connStats) observe(d time.Duration, zxid int64) {
	c.lastZxid.Store(zxid)
	c.lastResp.Store(time.Now().UnixMilli())
	c.lastLat.Store(d.Milliseconds())
	c.latency.observe(d)
}

// reset is crst: besides the counters and latencies, ZooKeeper forgets the connection's last
// request (operation NA, cxid and zxid -1, response time and latency 0).
func (c *connStats) reset() {
	c.received.Store(0)
	c.sent.Store(0)
	c.latency.reset()
	c.lastOp.Store(noLastOp)
	c.lastCxid.Store(-1)
	c.lastZxid.Store(-1)
	c.lastResp.Store(0)
	c.lastLat.Store(0)
}

// sizeStats keeps count, sum and max of a size, lock-free.
type sizeStats struct {
	count, sum, max atomic.Int64
}

func (z *sizeStats) observe(n int) {
	v := int64(n)
	z.count.Add(1)
	z.sum.Add(v)
	for {
		m := z.max.Load()
		if m >= v || z.max.CompareAndSwap(m, v) {
			break
		}
	}
}

func (z *sizeStats) avg() float64 {
	n := z.count.Load()
	if n == 0 {
		return 0
	}
	return round3(float64(z.sum.Load()) / float64(n))
}
