// Package assemble lets the members of an ensemble find each other and form it from one
// setting: a DNS name that resolves to every member (a Compose service, Swarm's
// tasks.<service>, a Kubernetes headless Service) or a list of seed addresses.
//
// It owns:
//
//   - discovery: resolving the name again and again (a name that does not resolve yet is
//     normal) and asking every address what it is (GET /assemble on the admin port, JSON,
//     authenticated with the peer secret when there is one);
//   - identity: a member's id from PADDOCK_ID, a StatefulSet-style hostname ordinal, the
//     container number in the member's Docker DNS name, or a random id, persisted with the
//     data (assembly.json in the data directory) together with the ensemble it belongs to;
//   - the bootstrap agreement (Decide, a pure function): once the expected number of new
//     members see each other and their view has settled, the one with the lowest id picks
//     the founding members (the lowest ids) and a fresh cluster identity; the others follow
//     its decision, and members it left out join the ensemble once it is ready;
//   - joining (as an observer first, then promoted) and leaving (refused when the remaining
//     participants would have no live majority), through ZooKeeper's reconfig with the
//     public client, authenticated as the super user whose password derives from the peer
//     secret and the cluster identity;
//   - refusing a data directory that belongs to another ensemble, or to another member,
//     with an explanation in the log and on /readyz.
//
// An Assembler is used in two phases. Plan runs before the server exists: it serves the
// admin port itself (/healthz, /readyz saying what it waits for, /assemble) and returns
// when this member may start, with the membership to start with. Run goes on beside the
// running server: it carries out a join, records membership changes in the data directory,
// updates this member's address in the ensemble when it changed, and reports when this
// member has been removed (ErrLeft), after which Idle serves the admin port again. Handler
// serves /assemble throughout. Leave is `paddock leave`.
//
// Goroutines: Plan's HTTP server (until Plan returns), the probes of one discovery round
// (each bounded by a timeout, waited for), and the caller's Run. An Assembler's state is
// guarded by its mutex, a leaf lock.
package assemble
