//! The v1.0 server: v0.3's event loop, with a key-value store answering the requests.
//!
//! Compared with v0.3 (`diff stages/v0_3/server.rs stages/v1_0/server.rs`): the service is a
//! store instead of `world`, requests are commands, and the largest frame is 32 MiB.

use std::collections::HashMap;
use std::io;

use crate::cli::{Help, ServerOpts};
use crate::event_loop::{self, Service};
use crate::outln;
use crate::request::Request;

pub const HELP: Help = Help {
    serves: "listen and answer get, set and del",
    client_args: "[COMMAND...]",
    client_does: "connect, send the COMMAND (or each line of standard input), print each reply",
    addr: crate::cli::DEFAULT_ADDR,
};

// ANCHOR: limits
/// The largest request or reply body: 32 MiB, as the original raises `k_max_msg` to here.
/// Values need room; what a client can make the server hold is bounded elsewhere (the loop's
/// buffers grow only with bytes that arrive).
pub const K_MAX_MSG: usize = 32 << 20;
// ANCHOR_END: limits

// ANCHOR: status
/// The reply's first four bytes, the original's `res` codes.
pub const RES_OK: u32 = 0;
/// The command was not understood: unknown, or the wrong number of arguments.
pub const RES_ERR: u32 = 1;
/// No such key.
pub const RES_NX: u32 = 2;
// ANCHOR_END: status

// ANCHOR: store
/// The store: keys and values are bytes, in a map of type `K`.
pub struct Store<K> {
    keys: K,
    quiet: bool,
}

/// What the commands need of that map. v1.0 gives them std's `HashMap`, below; v1.1 gives
/// them a table of its own, and nothing else changes.
pub trait Keyspace: Default {
    fn get(&mut self, key: &[u8]) -> Option<&Vec<u8>>;
    fn get_mut(&mut self, key: &[u8]) -> Option<&mut Vec<u8>>;
    fn insert(&mut self, key: &[u8], value: Vec<u8>);
    fn remove(&mut self, key: &[u8]);
}

impl Keyspace for HashMap<Vec<u8>, Vec<u8>> {
    fn get(&mut self, key: &[u8]) -> Option<&Vec<u8>> {
        HashMap::get(self, key)
    }
    fn get_mut(&mut self, key: &[u8]) -> Option<&mut Vec<u8>> {
        HashMap::get_mut(self, key)
    }
    fn insert(&mut self, key: &[u8], value: Vec<u8>) {
        HashMap::insert(self, key.to_vec(), value);
    }
    fn remove(&mut self, key: &[u8]) {
        HashMap::remove(self, key);
    }
}
// ANCHOR_END: store

/// The commands on a store of type `K`: v1.0's `main` asks for std's `HashMap`.
pub fn serve_with<K: Keyspace>(opts: &ServerOpts) -> io::Result<()> {
    let mut store = Store { keys: K::default(), quiet: opts.quiet };
    event_loop::serve(opts, &mut store)
}

// ANCHOR: answer
impl<K: Keyspace> Service for Store<K> {
    const MAX_MSG: usize = K_MAX_MSG;

    /// Parses the request in place, runs it, and appends the reply frame. A body that does
    /// not parse is a protocol error: the loop closes the connection, once what was answered
    /// before it is delivered.
    fn answer(&mut self, body: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let request = Request::parse(body)?;
        if !self.quiet {
            outln!("client says: {request}");
        }
        let (status, data) = self.run(request);
        // A value came in a request of at most K_MAX_MSG bytes, beside at least a command and
        // a key, so a status and a value fit a frame too.
        out.extend_from_slice(&((4 + data.len()) as u32).to_le_bytes());
        out.extend_from_slice(&status.to_le_bytes());
        out.extend_from_slice(data);
        Ok(())
    }
}
// ANCHOR_END: answer

impl<K: Keyspace> Store<K> {
    // ANCHOR: run
    /// Runs one command and returns the reply's status and data. The data borrows from the
    /// store (a value) or is a constant (an error message): nothing is copied until it goes
    /// into the reply, and `get` allocates nothing (unless its reply outgrows the loop's
    /// reply buffer, 64 KiB, which then grows, and shrinks back once the reply is sent).
    fn run(&mut self, request: Request<'_>) -> (u32, &[u8]) {
        let mut args = request.args();
        let name = args.next().unwrap_or_default();
        let is = |command: &str| name.eq_ignore_ascii_case(command.as_bytes());
        match (request.len(), args.next(), args.next()) {
            (2, Some(key), None) if is("get") => match self.keys.get(key) {
                Some(value) => (RES_OK, value),
                None => (RES_NX, b""),
            },
            (3, Some(key), Some(value)) if is("set") => {
                self.set(key, value);
                (RES_OK, b"")
            }
            (2, Some(key), None) if is("del") => {
                self.keys.remove(key);
                (RES_OK, b"")
            }
            _ if is("get") || is("set") || is("del") => (RES_ERR, b"wrong number of arguments"),
            _ => (RES_ERR, b"unknown command"),
        }
    }
    // ANCHOR_END: run

    /// Overwrites in place when the key exists: no new key, and no new allocation for the
    /// value unless it outgrew the old one. A much smaller value gives the rest back, or a key
    /// would hold on to the largest value it ever had.
    fn set(&mut self, key: &[u8], value: &[u8]) {
        match self.keys.get_mut(key) {
            Some(old) => {
                old.clear();
                old.extend_from_slice(value);
                old.shrink_to(2 * value.len());
            }
            None => self.keys.insert(key, value.to_vec()),
        }
    }
}
