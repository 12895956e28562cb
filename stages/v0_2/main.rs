//! Stage v0.2: persistent connections and a length-prefixed protocol.
//!
//! Every message is a frame: a 4-byte little-endian length, then that many bytes (at most
//! `K_MAX_MSG` = 4096). Because the server knows where each message ends, one connection can
//! carry any number of requests: an outer loop accepts connections, an inner loop serves
//! requests until the client leaves or breaks the protocol.
//!
//! What it still cannot do:
//! - serve two clients at once: while one client is connected, even idle, the next waits in
//!   the kernel's accept queue (v0.3's event loop fixes this);
//! - read cheaply: each request costs two `read` calls (header, then body) and one `write`,
//!   even when many requests arrived together (v0.3 reads whatever is there and cuts frames
//!   out of a buffer);
//! - do anything useful: every reply is `world` (key-value commands come later).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v0_2              # terminal 1: the server
//! cargo run --bin v0_2 -- client    # terminal 2: the client
//! ```

#![deny(unsafe_code)]

// The shared code as this stage has it: `src/`, cut to this stage by src/snapshots.rs.
#[path = "lib/cli.rs"]
mod cli;
#[path = "lib/frame.rs"]
mod frame;
#[path = "lib/io_util.rs"]
mod io_util;
#[path = "lib/log.rs"]
mod log;
#[path = "lib/net.rs"]
mod net;
// The C library's calls, the one `unsafe` code, compiled from its one file, whole: v0.2
// calls only `unacknowledged`, and the rest (poll, signals) is v0.3's.
#[allow(unsafe_code)] // the calls into the C library, and nothing else
#[allow(dead_code)]
#[path = "../../src/sys.rs"]
mod sys;

mod client;
mod server;

use crate::cli::WORLD;

fn main() -> std::process::ExitCode {
    crate::cli::run("v0_2", &WORLD, server::serve, client::run)
}
