//! What clients send besides data commands: `PING` and `ECHO`, and what `redis-cli`,
//! `redis-benchmark` and client libraries ask when they connect (`COMMAND`, `CONFIG GET`,
//! `CLIENT SETNAME`, `HELLO`, `SELECT`, `INFO`). Each gets the smallest answer that satisfies
//! them, as Redis would give it; `QUIT` closes the connection after its `+OK`.

use std::sync::Arc;

use crate::resp::{self, Arg};

use crate::server::Flow;
use crate::store::Store;
use crate::strings::{NOT_AN_INTEGER, integer};

/// `PING [message]`: `+PONG`, or the message back.
pub fn ping(_: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match argv {
        [_] => resp::out_simple(out, "PONG"),
        [_, message] => return send_back(message, out),
        _ => resp::out_error(out, "ERR wrong number of arguments for 'ping' command"),
    }
    Flow::Go
}

/// `ECHO message`.
pub fn echo(_: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    send_back(&mut argv[1], out)
}

/// A message sent back as a bulk string (`PING` and `ECHO` with one). A big one arrived in a
/// buffer of its own, which is sent back as it is, uncopied.
fn send_back(message: &mut Arg<'_>, out: &mut Vec<u8>) -> Flow {
    match std::mem::take(message) {
        Arg::Owned(message) => Flow::Shared(Arc::new(message)),
        Arg::Borrowed(message) => {
            resp::out_bulk(out, message);
            Flow::Go
        }
    }
}

/// `QUIT`: `+OK`, then the connection closes once the replies before it are delivered.
pub fn quit(_: &mut Store, _: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    resp::out_simple(out, "OK");
    Flow::Quit
}

/// `SELECT index`: there is one database, number 0. The index is read as Redis reads an
/// integer first, so `SELECT abc` is not an integer and `SELECT 1` is out of range.
pub fn select(_: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match integer(&argv[1]) {
        Some(0) => resp::out_simple(out, "OK"),
        Some(_) => resp::out_error(out, "ERR DB index is out of range"),
        None => resp::out_error(out, NOT_AN_INTEGER),
    }
    Flow::Go
}

/// `HELLO [protover ...]`: only RESP2 is spoken here, and only without a handshake. This is
/// Redis's answer to a version it does not speak; clients that try RESP3 first fall back to
/// RESP2 on it.
pub fn hello(_: &mut Store, _: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    resp::out_error(out, "NOPROTO unsupported protocol version");
    Flow::Go
}

/// `CLIENT SETNAME name`, `CLIENT SETINFO attr value` (what libraries send on connecting):
/// `+OK`, and nothing is kept. A name is refused as Redis refuses it, if it holds a byte
/// outside `!` to `~` (a space, say). The dispatcher has found the subcommand and checked
/// its arity (`server::CONTAINERS`); any other gets Redis's "unknown subcommand".
pub fn client(_: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let printable = |name: &[u8]| name.iter().all(|b| (b'!'..=b'~').contains(b));
    match argv {
        [_, sub, name] if sub.eq_ignore_ascii_case(b"setname") && !printable(name) => {
            let msg = "ERR Client names cannot contain spaces, newlines or special characters.";
            resp::out_error(out, msg);
        }
        _ => resp::out_simple(out, "OK"),
    }
    Flow::Go
}

/// `COMMAND` and `COMMAND DOCS` (which `redis-cli` sends to learn its hints): an empty
/// array, which tells a client nothing and satisfies it.
pub fn command(_: &mut Store, _: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    resp::out_array(out, 0);
    Flow::Go
}

/// `CONFIG GET parameter`: the two that `redis-benchmark` asks about before it starts, with
/// the answers of a Redis that saves nothing; for anything else, no parameters (an empty
/// array, as Redis answers for a parameter it does not have).
pub fn config(_: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    // `CONFIG GET` is the one subcommand `server::CONTAINERS` lets through, with a parameter.
    let rest = &argv[2..];
    let known: [(&[u8], &[u8]); 2] = [(b"save", b""), (b"appendonly", b"no")];
    let found: Vec<(&[u8], &[u8])> = known
        .into_iter()
        .filter(|(name, _)| rest.iter().any(|asked| asked.eq_ignore_ascii_case(name)))
        .collect();
    resp::out_array(out, 2 * found.len());
    for (name, value) in found {
        resp::out_bulk(out, name);
        resp::out_bulk(out, value);
    }
    Flow::Go
}

/// `INFO [section]`: a `server` section with a version, as tools that check it expect, and
/// the stage's name, from the binary's (`v3_0` is v3.0).
pub fn info(store: &mut Store, _: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let stage = env!("CARGO_BIN_NAME").replace('_', ".");
    let text = format!(
        "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nredis_lite_stage:{stage}\r\n\
         \r\n# Keyspace\r\ndb0:keys={}\r\n",
        store.len()
    );
    resp::out_bulk(out, text.as_bytes());
    Flow::Go
}
