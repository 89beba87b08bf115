// Package crashtest is Sluice's crash harness (issue 3, DESIGN.md
// "Storage", durability bullets). It drives the system under concurrent
// operations, crashes it at random moments, restarts it on what survived,
// and checks invariants: every acknowledged write is readable with its
// exact bytes, every acknowledged delete stays deleted, nothing torn or
// partial is visible, and the blob sweeper never removes a referenced blob,
// never an unreferenced one before its grace period, and every
// unreferenced one after it.
//
// # Two targets
//
// Process runs the real sluice binary (built once by TestMain with
// BuildSluice) on a data directory, talks to it with aws-sdk-go-v2 (path
// style, no retries: a retried PUT would blur "acknowledged"), and crashes
// it with SIGKILL after a random delay. State accumulates across
// iterations on the same directory. SIGKILL cannot catch a missing fsync
// (the page cache survives it), hence the second target.
//
// Mem runs pebblestore, blobstore, object.Service, queue.Service and the
// notification publisher (dispatch, wired to the queues as internal/server
// wires it, so object changes commit their event records) in this process
// on Pebble's crashable in-memory filesystem (vfs.NewCrashableMem). A crash is
// vfs.MemFS.CrashClone: an image holding only what was synced (optionally a
// random share of the unsynced blocks too). The image is taken inside the
// failpoints that object.Config.Failpoint and blobstore.Options.Failpoint
// expose at the narrow windows of a PUT (after the blob write, after its
// sync, after the rename, after the directory sync, before the commit,
// after the commit) and, by the tests, after PutObject returned (before the
// response). TestFailpointWindows checks each window deterministically
// (the old object before the commit, the new one after it, for inline and
// blob bodies); TestMissingSyncIsCaught wraps the filesystem with DropSyncs
// and proves that a dropped blob or WAL sync makes the checks fail.
//
// # Invariants
//
// Objects (acknowledged writes and deletes, nothing torn) and Multipart
// run on both targets or the process; Sweep offline and in process;
// Events (every acknowledged PUT's record is in its queue) on both
// targets; Queues on both; Invocations (every 202-acknowledged Event
// invocation finishes, as an object or an OnFailure record, or is still
// in the function's durable queue; none is lost) on the process target,
// with its final proof taken offline on the stopped server's data
// directory, since an attempt cut short by a kill keeps its lease for the
// function's timeout plus the init timeout plus a minute.
//
// # The model
//
// Bodies are self-describing (MakeBody: a header with the op id, key and
// length, then filler and a SHA-256), so a torn or mixed body is reported
// with the op it claims to be and its length. Model keeps, per key, the
// state the last check confirmed and the operations issued since, ordered
// by ticks of a logical clock (Ticker) taken before a request is sent and
// after its response arrives. After a crash, a key may hold an
// acknowledged operation's result unless a later acknowledged operation
// started after it ended, or any unacknowledged operation's result, or the
// confirmed state if nothing was acknowledged. The check then confirms what
// it saw, so uncertainty never accumulates across iterations. Failures name
// the key, the allowed states with the reason for each, what was found, the
// iteration and the seed.
//
// # Running it
//
// `go test ./internal/crashtest/` runs DefaultIterations crashes per
// harness (well under a minute on two cores). Environment:
//
//	SLUICE_CRASH_ITERATIONS=500   number of crashes (long run)
//	SLUICE_CRASH_SEED=12345       replay the seed a failure printed
//	SLUICE_CRASH_LONG=1           also run the tests that need minutes of
//	                              real time (a crash-looping invocation)
//
// A long run: SLUICE_CRASH_ITERATIONS=500 go test -timeout 2h -run 'Crash' ./internal/crashtest/
//
// # Adding an invariant
//
// Later issues (queue messages, events, invocations) add theirs by
// implementing Invariant and appending it to Config.Invariants in the
// tests of both targets:
//
//   - Setup creates what the workload needs (a queue, a notification
//     configuration, a function) once, on the first start.
//   - Workload runs its own workers until its context ends (the crash). For
//     each operation it records the tick before sending and after the
//     acknowledgement (env.Ticks.Next()), as Objects does with Model; an
//     operation that errs is "may or may not have happened".
//   - Check runs after every restart: it compares what the restarted system
//     shows with what the record allows, treating an acknowledgement at or
//     after env.CrashTick as not given, then adopts what it saw.
//
// What a process target offers is in Env.Endpoint and Env.AWS (build any
// AWS client from it); what the in-process target offers is in Env.Store,
// Env.Blobs, Env.Clock and the services (add a field for a new service in
// Mem.Start). For example, a queue invariant would send messages with
// unique bodies, record acknowledged sends and deletes, and check after the
// crash that every acknowledged send not acknowledged as deleted is still
// receivable (duplicates allowed, losses not); an event invariant would
// check that every acknowledged PUT's event record is in its destination
// queue.
package crashtest
