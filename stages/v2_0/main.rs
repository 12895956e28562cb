//! Stage v2.0: time. Keys can expire (`pexpire`, `pttl`), clients that stay silent are closed
//! (`--idle-timeout MS`, 5 seconds unless told otherwise), and big sorted sets are freed on a
//! thread of their own, so that deleting one does not stop every other client.
//!
//! What this stage adds: `src/store.rs` keeps a deadline beside each key that has one, in a heap
//! (`src/ttl.rs`), expires keys both when they are touched and from the loop, at most
//! [`store::MAX_EXPIRE_PER_TURN`] per turn, and frees big values through `src/lazyfree.rs`;
//! `server.rs` has the commands, `pexpire` and `pttl` among them.
//! The loop (`src/event_loop.rs`) keeps its connections in order of last activity and wakes
//! for the nearest deadline of any kind. The sorted-set commands are v1.3's file, unchanged,
//! and the client is v1.2's.
//!
//! What it still cannot do: speak Redis's own protocol, so that `redis-cli` and
//! `redis-benchmark` could talk to it (v3.0); persist anything.
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v2_0                                  # terminal 1: the server
//! cargo run --bin v2_0 -- client set session abc        # terminal 2: a command
//! cargo run --bin v2_0 -- client pexpire session 10000
//! cargo run --bin v2_0 -- client pttl session
//! ```

#![deny(unsafe_code)]

// The shared code as this stage has it: `src/`, cut to this stage by src/snapshots.rs.
#[path = "lib/avl.rs"]
mod avl;
#[path = "lib/cli.rs"]
mod cli;
#[path = "lib/event_loop.rs"]
mod event_loop;
#[path = "lib/frame.rs"]
mod frame;
#[path = "lib/hashtable.rs"]
mod hashtable;
#[path = "lib/io_util.rs"]
mod io_util;
#[path = "lib/lazyfree.rs"]
mod lazyfree;
#[path = "lib/log.rs"]
mod log;
#[path = "lib/net.rs"]
mod net;
#[path = "lib/request.rs"]
mod request;
#[path = "lib/store.rs"]
mod store;
// The C library's calls, the one `unsafe` code, compiled from its one file, whole.
#[allow(unsafe_code)] // the calls into the C library, and nothing else
#[path = "../../src/sys.rs"]
mod sys;
#[path = "lib/tlv.rs"]
mod tlv;
#[path = "lib/ttl.rs"]
mod ttl;
#[path = "lib/zset.rs"]
mod zset;

// ANCHOR: reuse
// v1.2's client and v1.3's sorted-set commands, unchanged.
mod client; // copied from stages/v1_2/client.rs
mod server;
mod sorted; // copied from stages/v1_3/sorted.rs
// ANCHOR_END: reuse

fn main() -> std::process::ExitCode {
    crate::cli::run("v2_0", &server::HELP, server::serve, client::run)
}
