//! Stage v1.1: v1.0 with its keys in a hash table of our own, which resizes a little at a
//! time, so that no request waits while every key moves to a bigger table.
//!
//! Everything else is v1.0's, used as it is: the commands (`server.rs`) and the client
//! (`client.rs`), copies of v1.0's, and the event loop. What this stage adds is `store.rs`,
//! which puts v1.0's commands on the hash table (`lib/hashtable.rs`).
//! `git diff --no-index stages/v1_0 stages/v1_1` shows exactly that.
//!
//! What it still cannot do: tell a number from a string in a reply, or return a list (v1.2);
//! expire keys (v2.0); shrink the table when keys are deleted (see `lib/hashtable.rs`).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v1_1                                  # terminal 1: the server
//! cargo run --bin v1_1 -- client set greeting hello     # terminal 2: a command
//! ```

#![deny(unsafe_code)]

// The shared code as this stage has it: `src/`, cut to this stage by src/snapshots.rs.
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

// ANCHOR: reuse
// v1.0's client and commands, unchanged: this stage changes only where the keys live.
mod client; // copied from stages/v1_0/client.rs
mod server; // copied from stages/v1_0/server.rs
mod store;

fn main() -> std::process::ExitCode {
    let serve = server::serve_with::<crate::hashtable::HashTable<Vec<u8>>>;
    crate::cli::run("v1_1", &server::HELP, serve, client::run)
}
// ANCHOR_END: reuse
