//! Stage v0.1: one request per connection.
//!
//! The smallest TCP server that does anything: accept a connection, read once, answer
//! `world`, close, accept the next. Its client sends `hello` and prints the answer.
//!
//! What it cannot do yet (each is a lesson, and a test in `tests/compare.rs` shows it):
//! - one request per connection: every request pays for a new TCP handshake (v0.2 fixes this);
//! - one `read` may return part of a message, or stop at 64 bytes, and v0.1 cannot tell
//!   (v0.2's length-prefixed frames fix this);
//! - one client at a time: a client that connects and says nothing holds the server (v0.3).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v0_1              # terminal 1: the server
//! cargo run --bin v0_1 -- client    # terminal 2: the client
//! ```

#![deny(unsafe_code)]

// The shared code as this stage has it: `src/`, cut to this stage by src/snapshots.rs.
#[path = "lib/cli.rs"]
mod cli;
#[path = "lib/log.rs"]
mod log;
#[path = "lib/net.rs"]
mod net;

mod client;
mod server;

use crate::cli::WORLD;

fn main() -> std::process::ExitCode {
    crate::cli::run("v0_1", &WORLD, server::serve, client::run)
}
