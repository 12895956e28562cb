//! Stage v3.1: the commands applications use, begun. So far it adds the command every tool
//! and client library uses to walk the keys without stopping the server, `SCAN cursor [MATCH
//! pattern] [COUNT count] [TYPE type]`, with `TYPE key`; and the string commands they send
//! (`MGET`, `MSET`, `SETNX`, `SETEX`, `GETDEL`, `APPEND`, `STRLEN`, `DECRBY`, `SET ... GET |
//! KEEPTTL | EXAT | PXAT`, ...); and deadlines at a Unix time and on conditions (`EXPIREAT`,
//! `EXPIRETIME`, `EXPIRE ... NX | XX | GT | LT`), `RENAME`, `RENAMENX`, `TOUCH`.
//!
//! What this stage adds to v3.0: `HashTable::scan` in `lib/hashtable.rs` (Redis's
//! reverse-binary cursor, which a resize in progress cannot fool), `Store::scan` and
//! `Store::deadline` and `Store::take` in `lib/store.rs` (cut from `src/`), `keys.rs` (`SCAN`,
//! `TYPE`, the deadlines, `RENAME`) and the new commands in `strings.rs`. Everything else is
//! v3.0's, copied.
//!
//! What it still cannot do, that Redis does: hashes, lists and sets, many databases, the rest
//! of the key commands, and what v3.0 could not (persistence, replication, ACLs,
//! pub/sub, transactions, scripting).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --release --bin v3_1                        # terminal 1: the server, on 6379
//! redis-cli set greeting hello                          # terminal 2: Redis's own client
//! redis-cli --scan
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
// The C library's calls, the one `unsafe` code, compiled from its one file, whole: from v3.0
// the loop waits with epoll, and poll (with the open-file limit it needed) is the stages
// before's.
#[allow(unsafe_code)] // the calls into the C library, and nothing else
#[allow(dead_code)]
#[path = "../../src/sys.rs"]
mod sys;
#[path = "lib/ttl.rs"]
mod ttl;
#[path = "lib/zset.rs"]
mod zset;

mod client; // copied from stages/v3_0/client.rs
mod connection; // copied from stages/v3_0/connection.rs
mod float; // copied from stages/v3_0/float.rs
mod keys;
mod server;
mod strings;
mod zsets; // copied from stages/v3_0/zsets.rs

fn main() -> std::process::ExitCode {
    crate::cli::run("v3_1", &server::HELP, server::serve, client::run)
}
