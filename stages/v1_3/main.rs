//! Stage v1.3: sorted sets. A key now holds a string or a sorted set, a set of members each
//! with a score, kept in order, on an AVL tree of our own that counts the nodes under each
//! node, so that "the member 500,000 places further on" takes O(log n) steps, not 500,000.
//!
//! What this stage adds: `src/avl.rs` (the tree, in an arena), `src/zset.rs` (a sorted set: the
//! hash table by name beside the tree by order), the value type and the `ERR 3` type check in
//! `server.rs`, and the commands `zadd`, `zrem`, `zscore` and `zquery` in `sorted.rs`, as the
//! C++ original has them. The client is v1.2's, unchanged: typed replies already carry doubles
//! and arrays.
//!
//! What it still cannot do: expire keys or time out idle clients, or free a big sorted set
//! without every other client waiting (v2.0); range queries by rank or in reverse (Redis's
//! `ZRANGE`, `ZREVRANGE`: exercises, and v3.0).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v1_3                                  # terminal 1: the server
//! cargo run --bin v1_3 -- client zadd board 10 ada      # terminal 2: a command
//! cargo run --bin v1_3 -- client zquery board 0 '' 0 10
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
#[path = "lib/log.rs"]
mod log;
#[path = "lib/net.rs"]
mod net;
#[path = "lib/request.rs"]
mod request;
// The C library's calls, the one `unsafe` code, compiled from its one file, whole.
#[allow(unsafe_code)] // the calls into the C library, and nothing else
#[path = "../../src/sys.rs"]
mod sys;
#[path = "lib/tlv.rs"]
mod tlv;
#[path = "lib/zset.rs"]
mod zset;

// ANCHOR: reuse
// v1.2's client, unchanged: it already prints every kind of value.
mod client; // copied from stages/v1_2/client.rs
mod server;
mod sorted;
// ANCHOR_END: reuse

fn main() -> std::process::ExitCode {
    crate::cli::run("v1_3", &server::HELP, server::serve, client::run)
}
