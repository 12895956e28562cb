//! redis-lite: a Redis-like in-memory server rebuilt from first principles, one runnable stage
//! at a time, on nothing but Rust's standard library.
//!
//! Each stage is a binary in `stages/` (`cargo run --bin v0_2`) holding that stage's whole
//! server and client, so that two stages can be diffed. What stays the same from stage to
//! stage lives here, once. The book in `book/` walks through it chapter by chapter.
//!
//! # Layout
//!
//! | module      | what it is for                                               | introduced in |
//! |-------------|--------------------------------------------------------------|---------------|
//! | [`net`]     | listening, connecting, accept back-off, closing without loss | v0.1          |
//! | [`cli`]     | the command line every stage shares, and its exit codes      | v0.1          |
//! | [`log`]     | `outln!`/`errln!`: printing that cannot crash or stall       | v0.1          |
//! | [`io_util`] | `read_full` and `write_all`: exact I/O over partial reads    | v0.2          |
//! | [`frame`]   | the length-prefixed protocol: `K_MAX_MSG`, read/write frames | v0.2          |
//! | [`sys`]     | SIOCOUTQ (v0.2); poll(2), getrlimit, sigaction: by hand, safe | v0.2          |
//! | [`event_loop`] | the poll loop: Conns, backpressure, closing, shutting down | v0.3          |
//! | [`request`] | commands as lists of strings, parsed without copying         | v1.0          |
//! | [`hashtable`] | a chained hash table that resizes a little at a time       | v1.1          |
//! | [`tlv`]     | typed replies: tag-length-value, encoder and decoder         | v1.2          |
//! | [`avl`]     | an ordered tree in an arena: stable ids, rank and offset in O(log n) | v1.3 |
//! | [`zset`]    | the sorted set: a hash table and that tree, over the same members | v1.3 |
//! | [`ttl`]     | key expiry: a heap of deadlines, each one movable in O(log n) | v2.0 |
//! | [`lazyfree`] | a thread that drops big values, so that the loop need not wait | v2.0 |
//! | [`store`]   | keys, values and deadlines: expiry on every access and per turn | v2.0 |
//! | [`resp`]    | Redis's protocol, RESP2: requests parsed in place, replies, a reader | v3.0 |
//! | [`glob`]    | `KEYS` patterns, matched as Redis matches them, in bounded time | v3.0 |
//!
//! This crate has no runtime dependencies. Its only `unsafe` code is the calls into the C
//! library in [`sys`]; everywhere else it is refused by the compiler. Those declarations are
//! Linux's, so the crate builds on Linux only.

#![deny(unsafe_code)]

pub mod avl;
pub mod cli;
pub mod event_loop;
pub mod frame;
pub mod glob;
pub mod hashtable;
pub mod io_util;
pub mod lazyfree;
pub mod log;
pub mod net;
pub mod request;
pub mod resp;
pub mod store;
// Not a module of the server: the test that cuts `src/` into each stage's own copy.
#[cfg(test)]
mod snapshots;
// `sys` declares Linux's system calls, checked against Linux's headers by hand and by nothing
// else: on another system they could be subtly wrong, so nothing is built there.
#[cfg(not(target_os = "linux"))]
compile_error!("redis-lite declares Linux's system calls by hand (src/sys.rs): Linux only");
#[allow(unsafe_code)]
pub mod sys;
pub mod tlv;
pub mod ttl;
pub mod zset;
