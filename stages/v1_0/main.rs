//! Stage v1.0: a key-value store. `get`, `set` and `del` over the C++ original's request
//! protocol: a frame whose body is a list of strings.
//!
//! The event loop is v0.3's (`lib/event_loop.rs`), its buffers now growing with what arrives;
//! what this stage adds is what a request means. A request frame carries a command as a list of byte strings, parsed in place
//! without a copy (`src/request.rs`); the reply is a status (0 OK, 1 ERR, 2 NX: no such key)
//! and the data. Keys and values are bytes, not text, and a frame may now be 32 MiB, so the
//! loop's buffers grow with what arrives, never with what a header promises.
//!
//! What it still cannot do: store much efficiently (std's `HashMap` resizes all at once, and
//! every client waits while it does: v1.1 writes its own table), tell a number from a string
//! in a reply or return a list (v1.2), expire keys or time out idle clients (v2.0).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v1_0                                  # terminal 1: the server
//! cargo run --bin v1_0 -- client set greeting hello     # terminal 2: a command
//! cargo run --bin v1_0 -- client                        # or one command per line
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
#[path = "lib/request.rs"]
mod request;
// The C library's calls, the one `unsafe` code, compiled from its one file, whole.
#[allow(unsafe_code)] // the calls into the C library, and nothing else
#[path = "../../src/sys.rs"]
mod sys;

mod client;
mod server;

fn main() -> std::process::ExitCode {
    let serve = server::serve_with::<std::collections::HashMap<Vec<u8>, Vec<u8>>>;
    crate::cli::run("v1_0", &server::HELP, serve, client::run)
}
