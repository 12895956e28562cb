//! What clients send besides data commands: `PING` and `ECHO`, and what `redis-cli`,
//! `redis-benchmark` and client libraries ask when they connect (`COMMAND`, `CONFIG GET`,
//! `CLIENT SETNAME`, `HELLO`, `SELECT`, `INFO`). Each gets the smallest answer that satisfies
//! them, as Redis would give it; `QUIT` closes the connection after its `+OK`.

use redis_lite::resp;

use crate::server::Flow;
use crate::store::Store;

/// `PING [message]`: `+PONG`, or the message back.
pub fn ping(_: &mut Store, argv: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    match argv {
        [_] => resp::out_simple(out, "PONG"),
        [_, message] => resp::out_bulk(out, message),
        _ => resp::out_error(out, "ERR wrong number of arguments for 'ping' command"),
    }
    Flow::Go
}

/// `ECHO message`.
pub fn echo(_: &mut Store, argv: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    resp::out_bulk(out, argv[1]);
    Flow::Go
}

/// `QUIT`: `+OK`, then the connection closes once the replies before it are delivered.
pub fn quit(_: &mut Store, _: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    resp::out_simple(out, "OK");
    Flow::Quit
}

/// `SELECT index`: there is one database, number 0.
pub fn select(_: &mut Store, argv: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    match argv[1] {
        b"0" => resp::out_simple(out, "OK"),
        _ => resp::out_error(out, "ERR DB index is out of range"),
    }
    Flow::Go
}

/// `HELLO [protover ...]`: only RESP2 is spoken here, and only without a handshake. This is
/// Redis's answer to a version it does not speak; clients that try RESP3 first fall back to
/// RESP2 on it.
pub fn hello(_: &mut Store, _: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    resp::out_error(out, "NOPROTO unsupported protocol version");
    Flow::Go
}

/// `CLIENT SETNAME name`, `CLIENT SETINFO attr value` (what libraries send on connecting):
/// `+OK`, and nothing is kept.
pub fn client(_: &mut Store, argv: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    let sub = argv[1];
    if sub.eq_ignore_ascii_case(b"setname") || sub.eq_ignore_ascii_case(b"setinfo") {
        resp::out_simple(out, "OK");
    } else {
        let msg = format!("ERR unknown subcommand '{}'", crate::server::shown(sub));
        resp::out_error(out, &msg);
    }
    Flow::Go
}

/// `COMMAND` and `COMMAND DOCS` (which `redis-cli` sends to learn its hints): an empty
/// array, which tells a client nothing and satisfies it.
pub fn command(_: &mut Store, _: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    resp::out_array(out, 0);
    Flow::Go
}

/// `CONFIG GET parameter`: the two that `redis-benchmark` asks about before it starts, with
/// the answers of a Redis that saves nothing; for anything else, no parameters (an empty
/// array, as Redis answers for a parameter it does not have).
pub fn config(_: &mut Store, argv: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    let [_, sub, rest @ ..] = argv else { return Flow::Go };
    if !sub.eq_ignore_ascii_case(b"get") {
        resp::out_error(out, "ERR CONFIG GET is the only CONFIG subcommand here");
        return Flow::Go;
    }
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

/// `INFO [section]`: a `server` section with a version, as tools that check it expect.
pub fn info(store: &mut Store, _: &[&[u8]], out: &mut Vec<u8>) -> Flow {
    let text = format!(
        "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nredis_lite_stage:v3.0\r\n\
         \r\n# Keyspace\r\ndb0:keys={}\r\n",
        store.len()
    );
    resp::out_bulk(out, text.as_bytes());
    Flow::Go
}
