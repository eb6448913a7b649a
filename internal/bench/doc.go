// Package bench is the load generator behind `paddock bench`: it drives any server that
// speaks the ZooKeeper client protocol (paddock, Apache ZooKeeper, ClickHouse Keeper) through
// go-zookeeper, the reference client, and measures throughput, latency percentiles and,
// when given the servers' pids (one server, or every member of an ensemble), their CPU time
// per operation and their memory, summed over the processes.
//
// It owns:
//   - the workloads (create, set, get, exists, children, mix, multi, watch, churn, tree) and
//     their key space, created under a unique root znode and deleted afterwards;
//   - the load loops: closed loop (a fixed number of requests in flight, each goroutine
//     issuing its next request when the last one returns) and open loop (requests scheduled
//     at a fixed rate, latency measured from the scheduled start so that a stalled server
//     is charged for the requests it delayed: no coordinated omission);
//   - Histogram, a log-linear latency histogram (HDR style, under 1% relative error);
//   - the servers' usage (ServerUsage), read from /proc/<pid>/stat and status of each pid at
//     the start and the end of the measured phase and summed: CPU time, resident memory,
//     and the sum of the processes' peaks, an upper bound of the peak of the sum;
//   - Result and Comparison, with their table and JSON forms;
//   - Compare, which alternates one workload between two targets (A B A B ...) and reports
//     medians and ratios.
//
// Goroutines: Run starts one goroutine per in-flight request (Config.Inflight), in the
// watch workload one per watcher session and round, one progress ticker and one that
// samples the servers' CPU when the warmup ends; go-zookeeper runs its own per session.
// All of them have returned when Run returns, except a watch round's waiters after a
// failed round, which end when Run closes the watcher sessions.
package bench
