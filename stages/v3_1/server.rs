//! The v3.1 server: v3.0's, with more commands in its table (`SCAN`, `TYPE`, and the string
//! commands of `strings.rs`). The service cuts RESP requests from a connection's buffer itself
//! (RESP has no frames around a request), looks the command up in a table, checks its number
//! of arguments, and runs it. The command table carries each command's arity, as Redis's
//! `redisCommandTable` does, so that no command checks its own.

use std::io;
use std::sync::Arc;

use crate::cli::{Help, ServerOpts};
use crate::event_loop::{self, Next, Outgoing, Service, Session};
use crate::outln;
use crate::resp::{self, Arg, Parsed, Parser, Request};

use crate::store::{self, Store};
use crate::{connection, keys, strings, zsets};

pub const HELP: Help = Help {
    serves: "listen and answer Redis's protocol (RESP2): strings, sorted sets, expiry",
    client_args: "[COMMAND...]",
    client_does: "connect, send the COMMAND (or each line of standard input), print each reply",
    addr: "127.0.0.1:6379",
    idle_timeout: None,
};

// ANCHOR: limits
/// The largest request: one bulk string of Redis's limit (512 MiB), and room for its command
/// and key. The loop's buffer grows only with the bytes that arrive, never with what a
/// header promises, so this bounds what one client can make the server hold, not what it
/// costs to announce it.
pub const MAX_REQUEST: usize = (512 << 20) + (64 << 10);
// ANCHOR_END: limits

pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    event_loop::serve(opts, &mut Store::keyed(opts.quiet)?)
}

// ANCHOR: service
impl Service for Store {
    const MAX_MSG: usize = MAX_REQUEST;
    /// How far each connection's request has been read.
    type Session = Parser;

    /// Redis's words to a client past `maxclients` (`--max-conns` here), closed after them.
    const REFUSAL: Option<&'static [u8]> = Some(b"-ERR max number of clients reached\r\n");

    /// Never called: `answer_next` below cuts RESP requests itself.
    fn answer(&mut self, _body: &[u8], _out: &mut Vec<u8>) -> io::Result<()> {
        Err(io::Error::other("v3.1 has no frames"))
    }

    /// Reads on in the RESP request at the front of `buf` and, once it is whole, answers it. A
    /// protocol error is answered `-ERR Protocol error: ...` and then closes the connection, as
    /// Redis does: once the stream is out of step, nothing after it can be trusted to be a
    /// request.
    fn answer_next(
        &mut self,
        parser: &mut Parser,
        buf: &[u8],
        out: &mut Outgoing,
    ) -> io::Result<Next> {
        match parser.parse(buf) {
            Ok(Parsed::Wait) => Ok(Next::Wait),
            Ok(Parsed::BigString { at }) => Ok(Next::BigString { at }),
            Ok(Parsed::Request(request, used)) => {
                if !self.quiet && !request.is_empty() {
                    outln!("client says: {request}");
                }
                match run(self, request, out.bytes()) {
                    Flow::Go => {}
                    Flow::Shared(value) => resp::out_bulk_shared(out, value),
                    Flow::Quit => return Err(io::Error::other("the client sent QUIT")),
                }
                Ok(Next::Answered(used))
            }
            Err(e) => {
                resp::out_error_bytes(out.bytes(), &[&b"ERR "[..], &e.to_client()].concat());
                Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
            }
        }
    }

    /// RESP has no length in front of a request, so all there is to say is how much came.
    fn ended_inside(&self, parser: &Parser, partial: &[u8]) -> io::Error {
        let came = partial.len() + parser.bytes_held();
        let msg = format!("the stream ended inside a request, after {came} bytes of it");
        io::Error::new(io::ErrorKind::UnexpectedEof, msg)
    }

    // The timers, the yielding after `KEYS` and the `lazyfree` thread's asks: v2.0's, in `store.rs`.
    store::loop_hooks!();
}
// ANCHOR_END: service

/// Whether the connection goes on after a command.
pub enum Flow {
    Go,
    /// Go on, the reply being this string, which the command shares with the connection: a
    /// big one goes out from where it is kept, not copied into the reply's bytes.
    Shared(Arc<Vec<u8>>),
    /// `QUIT`: the reply goes out, then the connection closes.
    Quit,
}

// ANCHOR: table
/// A command: its name, its arity as Redis counts it (the name included; negative for "at
/// least that many"), and the function that runs it with every argument, the name first.
pub struct Command {
    pub name: &'static str,
    pub arity: i32,
    pub run: fn(&mut Store, &mut [Arg<'_>], &mut Vec<u8>) -> Flow,
}

/// Every command v3.1 knows, with Redis's arities.
const COMMANDS: &[Command] = &[
    Command { name: "ping", arity: -1, run: connection::ping },
    Command { name: "echo", arity: 2, run: connection::echo },
    Command { name: "quit", arity: -1, run: connection::quit },
    Command { name: "select", arity: 2, run: connection::select },
    Command { name: "hello", arity: -1, run: connection::hello },
    Command { name: "client", arity: -2, run: connection::client },
    Command { name: "command", arity: -1, run: connection::command },
    Command { name: "config", arity: -2, run: connection::config },
    Command { name: "info", arity: -1, run: connection::info },
    Command { name: "get", arity: 2, run: strings::get },
    Command { name: "set", arity: -3, run: strings::set },
    Command { name: "del", arity: -2, run: strings::del },
    Command { name: "unlink", arity: -2, run: strings::del },
    Command { name: "exists", arity: -2, run: strings::exists },
    Command { name: "incr", arity: 2, run: strings::incr },
    Command { name: "decr", arity: 2, run: strings::decr },
    Command { name: "incrby", arity: 3, run: strings::incrby },
    Command { name: "decrby", arity: 3, run: strings::decrby },
    Command { name: "mget", arity: -2, run: strings::mget },
    Command { name: "mset", arity: -3, run: strings::mset },
    Command { name: "msetnx", arity: -3, run: strings::msetnx },
    Command { name: "setnx", arity: 3, run: strings::setnx },
    Command { name: "setex", arity: 4, run: strings::setex },
    Command { name: "psetex", arity: 4, run: strings::psetex },
    Command { name: "getset", arity: 3, run: strings::getset },
    Command { name: "getdel", arity: 2, run: strings::getdel },
    Command { name: "append", arity: 3, run: strings::append },
    Command { name: "strlen", arity: 2, run: strings::strlen },
    Command { name: "keys", arity: 2, run: strings::keys },
    Command { name: "scan", arity: -2, run: keys::scan },
    Command { name: "type", arity: 2, run: keys::type_of },
    Command { name: "dbsize", arity: 1, run: strings::dbsize },
    Command { name: "flushall", arity: -1, run: strings::flushall },
    Command { name: "flushdb", arity: -1, run: strings::flushall },
    Command { name: "expire", arity: -3, run: keys::expire },
    Command { name: "pexpire", arity: -3, run: keys::pexpire },
    Command { name: "expireat", arity: -3, run: keys::expireat },
    Command { name: "pexpireat", arity: -3, run: keys::pexpireat },
    Command { name: "expiretime", arity: 2, run: keys::expiretime },
    Command { name: "pexpiretime", arity: 2, run: keys::pexpiretime },
    Command { name: "rename", arity: 3, run: keys::rename },
    Command { name: "renamenx", arity: 3, run: keys::renamenx },
    Command { name: "touch", arity: -2, run: keys::touch },
    Command { name: "ttl", arity: 2, run: strings::ttl },
    Command { name: "pttl", arity: 2, run: strings::pttl },
    Command { name: "persist", arity: 2, run: strings::persist },
    Command { name: "zadd", arity: -4, run: zsets::zadd },
    Command { name: "zrem", arity: -3, run: zsets::zrem },
    Command { name: "zscore", arity: 3, run: zsets::zscore },
    Command { name: "zcard", arity: 2, run: zsets::zcard },
    Command { name: "zrank", arity: 3, run: zsets::zrank },
    Command { name: "zrange", arity: -4, run: zsets::zrange },
    Command { name: "zrangebyscore", arity: -4, run: zsets::zrangebyscore },
];
// ANCHOR_END: table

// ANCHOR: run
/// Looks the command up and runs it. The arguments are laid out in an array on the stack;
/// only a request of more than 16 strings (a `DEL` of many keys) needs a `Vec` for them. A
/// big string comes as its own buffer (`Arg::Owned`), which a command may keep; one it does
/// not keep is freed as the store frees a value.
fn run(store: &mut Store, request: Request<'_>, out: &mut Vec<u8>) -> Flow {
    let (mut slots, mut spill): ([Arg; 16], _) = Default::default();
    let argv = request.into_args_in(&mut slots, &mut spill);
    let flow = dispatch(store, argv, out);
    // A big argument the command did not keep goes where big values are freed: off the loop.
    for arg in argv {
        if let Arg::Owned(bytes) = arg {
            store.discard(std::mem::take(bytes));
        }
    }
    flow
}

/// Finds the command, checks its arity, and runs it.
fn dispatch(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let Some(name) = argv.first() else { return Flow::Go };
    let Some(command) = COMMANDS.iter().find(|c| name.eq_ignore_ascii_case(c.name.as_bytes()))
    else {
        unknown_command(argv, out);
        return Flow::Go;
    };
    let (mut sub_name, mut arity) = (None, command.arity);
    if let (Some(&(_, subs)), Some(sub)) =
        (CONTAINERS.iter().find(|(name, _)| *name == command.name), argv.get(1))
    {
        let Some(&(name, sub_arity)) =
            subs.iter().find(|(name, _)| sub.eq_ignore_ascii_case(name.as_bytes()))
        else {
            unknown_subcommand(command.name, sub, out);
            return Flow::Go;
        };
        (sub_name, arity) = (Some(name), sub_arity);
    }
    let (argc, arity) = (argv.len() as i64, i64::from(arity));
    if (arity >= 0 && argc != arity) || (arity < 0 && argc < -arity) {
        let name = match sub_name {
            Some(sub) => format!("{}|{sub}", command.name),
            None => command.name.to_string(),
        };
        resp::out_error(out, &format!("ERR wrong number of arguments for '{name}' command"));
        return Flow::Go;
    }
    (command.run)(store, argv, out)
}
// ANCHOR_END: run

// ANCHOR: containers
/// The commands that are containers of subcommands, as Redis 7 has them, with the
/// subcommands v3.1 answers and each one's arity (the container's name and the
/// subcommand's both counted). A subcommand missing here gets Redis's words for one it does
/// not know; `CLIENT` or `CONFIG` alone, with no subcommand, is checked against the
/// container's own arity.
const CONTAINERS: &[(&str, &[(&str, i32)])] = &[
    ("client", &[("setname", 3), ("setinfo", 4)]),
    ("command", &[("docs", -2)]),
    ("config", &[("get", -3)]),
];
// ANCHOR_END: containers

// ANCHOR: unknown_command
/// Redis's words for a command it does not know (`processCommand` in `server.c`): the name,
/// then each argument quoted, while what is shown stays under 128 bytes, each argument cut
/// to what is left of the 128. The text is the bytes as sent, cut as C's `%.*s` cuts them:
/// at the first NUL byte too. (`resp::out_error_bytes` turns CR and LF into spaces.)
fn unknown_command(argv: &mut [Arg<'_>], out: &mut Vec<u8>) {
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(shown(&argv[0], 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    let start = msg.len();
    for arg in &argv[1..] {
        let used = msg.len() - start;
        if used >= 128 {
            break;
        }
        msg.push(b'\'');
        msg.extend_from_slice(shown(arg, 128 - used));
        msg.extend_from_slice(b"' ");
    }
    resp::out_error_bytes(out, &msg);
}

/// Redis's words for a subcommand it does not know, with the container's name in capitals.
fn unknown_subcommand(container: &str, sub: &[u8], out: &mut Vec<u8>) {
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(shown(sub, 128));
    msg.extend_from_slice(format!("'. Try {} HELP.", container.to_uppercase()).as_bytes());
    resp::out_error_bytes(out, &msg);
}

/// An argument as C's `printf("%.*s", max, arg)` shows it: its bytes up to the first NUL
/// (where a C string ends), and at most `max` of them.
pub fn shown(arg: &[u8], max: usize) -> &[u8] {
    c_string(&arg[..arg.len().min(max)])
}
// ANCHOR_END: unknown_command

// ANCHOR: option
/// Whether an argument is the option `name`, compared as Redis compares options, with C's
/// `strcasecmp`: without regard to case, and only up to a NUL byte, so that `NX\0junk` is
/// `NX`. (Redis looks commands and subcommands up in hash tables instead, where such a name
/// is found or not depending on the table's random seed; v3.1 compares their every byte.)
pub fn is_option(arg: &[u8], name: &str) -> bool {
    c_string(&arg[..arg.len().min(name.len() + 1)]).eq_ignore_ascii_case(name.as_bytes())
}

/// The argument as C sees it: up to its first NUL byte. Callers hand it only as much of an
/// argument as can matter (a name's length and one more byte, or what an error shows): the
/// search is a walk of every byte it is given, and an argument can be 512 MiB.
fn c_string(arg: &[u8]) -> &[u8] {
    arg.iter().position(|&b| b == 0).map_or(arg, |nul| &arg[..nul])
}
// ANCHOR_END: option
