//! Stage v0.3: one thread, many clients: a poll(2) event loop over non-blocking sockets.
//!
//! The protocol is v0.2's, frame for frame, so the same tests and clients work against both.
//! What changes is how the server waits: instead of blocking in `read` on one client, it asks
//! the kernel which sockets are ready (poll(2), declared by hand in `src/sys.rs`) and serves
//! only those, keeping each client's half-read requests and half-sent replies in a `Conn`.
//!
//! What it adds over v0.2:
//! - any number of clients at once (up to `--max-conns`), none able to hold up the others;
//! - real pipelining: one `read` brings in many frames, all are answered, one `write` sends
//!   all the replies;
//! - backpressure: a client that sends without reading its replies is not read from while
//!   more than 1 MiB of its replies wait, so it cannot make the server's memory grow;
//! - a client option, `--pipeline`: every message in one write, sent while the replies are
//!   read.
//!
//! What it still cannot do: time out idle clients, use more than one core, or store
//! anything (every reply is still `world`; key-value commands come next).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v0_3                          # terminal 1: the server
//! cargo run --bin v0_3 -- client --pipeline     # terminal 2: the client
//! ```

#![deny(unsafe_code)]

// The shared code as this stage has it: `src/`, cut to this stage by src/snapshots.rs.
#[path = "lib/cli.rs"]
mod cli;
#[path = "lib/event_loop.rs"]
mod event_loop;
#[path = "lib/frame.rs"]
mod frame;
#[path = "lib/io_util.rs"]
mod io_util;
#[path = "lib/log.rs"]
mod log;
#[path = "lib/net.rs"]
mod net;
// The C library's calls, the one `unsafe` code, compiled from its one file, whole.
#[allow(unsafe_code)] // the calls into the C library, and nothing else
#[path = "../../src/sys.rs"]
mod sys;

mod client;
mod server;

use crate::cli::WORLD;

fn main() -> std::process::ExitCode {
    crate::cli::run("v0_3", &WORLD, server::serve, client::run)
}
