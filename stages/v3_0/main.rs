//! Stage v3.0: Redis's own protocol. The server speaks RESP2, so that `redis-cli`,
//! `redis-benchmark` and the Redis client library of any language work against it, and listens
//! on Redis's port, 6379, unless told otherwise.
//!
//! What this stage adds: `src/resp.rs` (requests as arrays of bulk strings, or inline lines;
//! replies as simple strings, errors, integers, bulk strings and arrays), `server.rs` (the
//! service that cuts RESP requests from a connection's buffer, and Redis's command table),
//! and the commands themselves: `strings.rs` (strings, keys and their deadlines), `zsets.rs`
//! (sorted sets, with `ZRANGEBYSCORE ... LIMIT` reaching its offset through the tree) and
//! `connection.rs` (what clients send when they connect). The keys, values and deadlines are
//! v2.0's store (`src/store.rs`), which learns to count and to empty itself.
//!
//! What it still cannot do, that a real Redis does: persistence, replication, cluster, ACLs,
//! pub/sub, transactions, scripting, and every type but strings and sorted sets. The book's
//! last part says where each lives in Redis's source.
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --release --bin v3_0                        # terminal 1: the server, on 6379
//! redis-cli set greeting hello                          # terminal 2: Redis's own client
//! redis-cli get greeting
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
#[path = "lib/glob.rs"]
mod glob;
#[path = "lib/hashtable.rs"]
mod hashtable;
#[path = "lib/lazyfree.rs"]
mod lazyfree;
#[path = "lib/log.rs"]
mod log;
#[path = "lib/net.rs"]
mod net;
#[path = "lib/request.rs"]
mod request;
#[path = "lib/resp.rs"]
mod resp;
#[path = "lib/store.rs"]
mod store;
// The C library's calls, the one `unsafe` code, compiled from its one file, whole: v3.0
// waits with epoll, and poll (with the open-file limit it needed) is the stages before's.
#[allow(unsafe_code)] // the calls into the C library, and nothing else
#[allow(dead_code)]
#[path = "../../src/sys.rs"]
mod sys;
#[path = "lib/ttl.rs"]
mod ttl;
#[path = "lib/zset.rs"]
mod zset;

mod client;
mod connection;
mod float;
mod server;
mod strings;
mod zsets;

fn main() -> std::process::ExitCode {
    crate::cli::run("v3_0", &server::HELP, server::serve, client::run)
}
