//! The v1.2 server: v1.1's store, answering with typed values (`src/tlv.rs`) instead of a
//! status and a blob, and with `keys`, which returns an array.
//!
//! Compared with v1.0 (`diff stages/v1_0/server.rs stages/v1_2/server.rs`): no status codes;
//! `run` writes its reply into the connection's buffer as it goes, because an array's length
//! may only be known at its end.

use std::io;

use crate::cli::{Help, ServerOpts};
use crate::event_loop::{self, Service};
use crate::hashtable::HashTable;
use crate::outln;
use crate::request::Request;
use crate::tlv::{self, ERR_ARG, ERR_UNKNOWN};

pub const HELP: Help = Help {
    serves: "listen and answer get, set, del and keys",
    client_args: "[COMMAND...]",
    client_does: "connect, send the COMMAND (or each line of standard input), print each reply",
    addr: crate::cli::DEFAULT_ADDR,
};

/// The largest request or reply body, as in v1.0: 32 MiB.
pub const K_MAX_MSG: usize = 32 << 20;

/// The store: keys and values are bytes, in v1.1's table.
pub struct Store {
    keys: HashTable<Vec<u8>>,
    quiet: bool,
    /// Set by a command that walked the whole table, for `should_yield`.
    walked: bool,
}

pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    let mut store = Store { keys: HashTable::new(), quiet: opts.quiet, walked: false };
    event_loop::serve(opts, &mut store)
}

// ANCHOR: answer
impl Service for Store {
    const MAX_MSG: usize = K_MAX_MSG;

    /// Parses the request in place, then writes the reply frame straight into the connection's
    /// buffer: a placeholder for the length, the value, then the length patched in.
    fn answer(&mut self, body: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let request = Request::parse(body)?;
        if !self.quiet {
            outln!("client says: {request}");
        }
        let reply = tlv::begin_reply(out);
        self.run(request, out);
        tlv::end_reply(out, reply, K_MAX_MSG);
        Ok(())
    }

    /// After a `keys`, the other clients come first: see `event_loop::Service`.
    fn should_yield(&mut self) -> bool {
        std::mem::take(&mut self.walked)
    }
}
// ANCHOR_END: answer

impl Store {
    // ANCHOR: run
    /// Runs one command, appending its reply value to `out`. Each arm is a command's name and
    /// shape; anything else is an unknown command, or a known one misused.
    fn run(&mut self, request: Request<'_>, out: &mut Vec<u8>) {
        let mut slots = [&[][..]; 3];
        match request.args_in(&mut slots) {
            Some([name, key]) if is(name, "get") => match self.keys.get(key) {
                Some(value) => tlv::out_str(out, value),
                None => tlv::out_nil(out),
            },
            Some([name, key, value]) if is(name, "set") => {
                self.set(key, value);
                tlv::out_nil(out);
            }
            Some([name, key]) if is(name, "del") => {
                let deleted = self.keys.remove(key).is_some();
                tlv::out_int(out, i64::from(deleted));
            }
            Some([name]) if is(name, "keys") => self.keys(out),
            _ => misused(request, &["get", "set", "del", "keys"], out),
        }
    }
    // ANCHOR_END: run

    // ANCHOR: keys
    /// Every key, as an array of strings, in the table's order. The count is patched in at the
    /// end. A key that would take the reply past the frame limit makes it `ERR 2` at once:
    /// building the rest would only cost memory. Walking the table takes a while when it is
    /// big, so the loop is asked to serve the other clients before this one's next request.
    fn keys(&mut self, out: &mut Vec<u8>) {
        self.walked = true;
        let start = out.len();
        let array = tlv::out_begin_arr(out);
        let mut count = 0;
        for (key, _) in self.keys.iter() {
            // The reply so far, and this key as a string value: 1 byte of tag, 4 of length.
            if out.len() - start + 5 + key.len() > K_MAX_MSG {
                return tlv::out_too_big(out, start, K_MAX_MSG);
            }
            tlv::out_str(out, key);
            count += 1;
        }
        tlv::out_end_arr(out, array, count);
    }
    // ANCHOR_END: keys

    /// Overwrites in place when the key exists, as v1.0 does.
    fn set(&mut self, key: &[u8], value: &[u8]) {
        match self.keys.get_mut(key) {
            Some(old) => {
                old.clear();
                old.extend_from_slice(value);
                old.shrink_to(2 * value.len());
            }
            None => _ = self.keys.insert(key, value.to_vec()),
        }
    }
}

/// Command names are ASCII, in any case.
fn is(word: &[u8], command: &str) -> bool {
    word.eq_ignore_ascii_case(command.as_bytes())
}

/// The reply to a request no arm took: a known command with the wrong arguments, or an
/// unknown one.
fn misused(request: Request<'_>, known: &[&str], out: &mut Vec<u8>) {
    let name = request.args().next().unwrap_or_default();
    match known.iter().any(|command| is(name, command)) {
        true => tlv::out_err(out, ERR_ARG, "wrong number of arguments"),
        false => tlv::out_err(out, ERR_UNKNOWN, "unknown command"),
    }
}
