//! Stage v1.2: typed replies. Every reply is a tag-length-value (TLV) value, as the C++
//! original serializes them: nil, an error with a code, a string, an integer, a double, or an
//! array of values. With arrays comes `keys`, the first command that returns a list.
//!
//! Requests are v1.0's and the keys live in v1.1's table; what this stage changes is what goes
//! back: `src/tlv.rs` writes and reads the values, `server.rs` answers with them, `client.rs`
//! prints them as the original's client does (`(str) hello`, `(int) 1`, `(arr) len=2`...).
//! Compare `stages/v1_0/server.rs` with `stages/v1_2/server.rs` for the change in the commands.
//!
//! What it still cannot do: hold anything but strings (v1.3 adds sorted sets, and with them
//! `ERR 3`, the wrong type), expire keys or time out idle clients (v2.0).
//!
//! Run it in two terminals:
//!
//! ```text
//! cargo run --bin v1_2                                  # terminal 1: the server
//! cargo run --bin v1_2 -- client set greeting hello     # terminal 2: a command
//! cargo run --bin v1_2 -- client keys
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
#[path = "lib/tlv.rs"]
mod tlv;

mod client;
mod server;

fn main() -> std::process::ExitCode {
    crate::cli::run("v1_2", &server::HELP, server::serve, client::run)
}
