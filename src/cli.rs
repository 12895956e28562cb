//! The command line every stage shares, parsed by hand because the runtime uses std only.
//!
//! ```text
//! vX_Y [server] [--addr HOST:PORT] [--quiet] [--nagle]
//! vX_Y client [--addr HOST:PORT] [MESSAGE...]
//! ```
//!
//! A stage's `main` hands [`run`] its server and client functions; `run` parses the
//! arguments, calls one of them, and turns what comes back into one line on stderr and an exit
//! code: 0 for success, 1 when the server or client failed, 2 for a usage mistake.

use std::ffi::OsString;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Loopback, so a reader's first run is not reachable from the network.
pub const DEFAULT_ADDR: &str = "127.0.0.1:1234";

/// What the server side of a stage is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOpts {
    pub addr: SocketAddr,
    /// Leave out the `client says: ...` line per request (printing costs more than serving).
    pub quiet: bool,
    /// Leave Nagle's algorithm on (no TCP_NODELAY), to reproduce the stall it causes.
    pub nagle: bool,
}

/// What the client side of a stage is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOpts {
    pub addr: SocketAddr,
    /// The messages to send, in order; empty means the stage's default ones.
    pub messages: Vec<String>,
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Server(ServerOpts),
    Client(ClientOpts),
    Help,
}

/// Parses the arguments after the program name. The error is one line saying what is wrong.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    let role = args.next_if(|arg| arg == "client" || arg == "server");
    let is_client = role.is_some_and(|role| role == "client");

    let mut addr = parse_addr(DEFAULT_ADDR)?;
    let mut quiet = false;
    let mut nagle = false;
    let mut messages = Vec::new();
    let mut only_messages = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            _ if only_messages => messages.push(arg),
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => {
                let value = args.next().ok_or("--addr needs a value, such as 127.0.0.1:1234")?;
                addr = parse_addr(&value)?;
            }
            "--quiet" if !is_client => quiet = true,
            "--nagle" if !is_client => nagle = true,
            // `--` ends the options, so a message may start with '-'.
            "--" if is_client => only_messages = true,
            _ if arg.starts_with('-') => return Err(format!("unknown option '{arg}'")),
            _ if is_client => messages.push(arg),
            _ => return Err(format!("unexpected argument '{arg}'")),
        }
    }
    Ok(if is_client {
        Command::Client(ClientOpts { addr, messages })
    } else {
        Command::Server(ServerOpts { addr, quiet, nagle })
    })
}

/// `IP:PORT`, or `localhost:PORT` for 127.0.0.1. Names are not looked up: no DNS, no surprises.
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let loopback = text.strip_prefix("localhost:").map(|port| format!("127.0.0.1:{port}"));
    loopback
        .as_deref()
        .unwrap_or(text)
        .parse()
        .map_err(|_| format!("bad address '{text}': expected IP:PORT, such as 127.0.0.1:1234"))
}

/// The help text, for `stage`.
pub fn usage(stage: &str) -> String {
    format!(
        "usage: {stage} [server] [--addr HOST:PORT] [--quiet] [--nagle]
       {stage} client [--addr HOST:PORT] [MESSAGE...]

  server        (the default) listen and answer every request with \"world\"
  client        connect, send each MESSAGE (or the stage's default ones), print each reply
  --addr        where to listen or connect (default {DEFAULT_ADDR}; port 0 picks a free port)
  --quiet       server: don't print a line per request
  --nagle       server: leave Nagle's algorithm on (no TCP_NODELAY), to see what it costs
  -h, --help    show this help"
    )
}

// ANCHOR: run
/// A stage's whole `main`: parse, run the server or the client, report.
pub fn run(
    stage: &str,
    server: fn(&ServerOpts) -> io::Result<()>,
    client: fn(&ClientOpts) -> io::Result<()>,
) -> ExitCode {
    let command = std::env::args_os().skip(1).map(OsString::into_string).collect();
    let command = match command {
        Ok(args) => parse::<Vec<String>>(args),
        Err(bad) => Err(format!("argument {bad:?} is not valid UTF-8")),
    };
    let (result, role) = match command {
        Ok(Command::Help) => {
            println!("{}", usage(stage));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Server(opts)) => (server(&opts), "server"),
        Ok(Command::Client(opts)) => (client(&opts), "client"),
        Err(msg) => {
            eprintln!("{stage}: {msg}; try '{stage} --help'");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{stage} {role}: {e}{}", hint(stage, e.kind()));
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: run

/// What to do about the two mistakes everyone makes on a first run.
fn hint(stage: &str, kind: io::ErrorKind) -> String {
    match kind {
        io::ErrorKind::AddrInUse => {
            "; is another server running? Choose another address with --addr HOST:PORT".into()
        }
        io::ErrorKind::ConnectionRefused => {
            format!("; is the server running? Start it first: cargo run --bin {stage}")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Command, String> {
        parse(line.split_whitespace().map(String::from))
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// No arguments: a server on the default loopback address.
    #[test]
    fn default_is_a_loud_server_on_loopback() {
        let want = ServerOpts { addr: addr("127.0.0.1:1234"), quiet: false, nagle: false };
        assert_eq!(parse_str(""), Ok(Command::Server(want.clone())));
        assert_eq!(parse_str("server"), Ok(Command::Server(want)));
    }

    /// Server options in any order.
    #[test]
    fn server_options() {
        let want = ServerOpts { addr: addr("127.0.0.1:0"), quiet: true, nagle: false };
        assert_eq!(parse_str("--quiet --addr 127.0.0.1:0"), Ok(Command::Server(want.clone())));
        assert_eq!(parse_str("server --addr localhost:0 --quiet"), Ok(Command::Server(want)));
        let want = ServerOpts { addr: addr("127.0.0.1:1234"), quiet: false, nagle: true };
        assert_eq!(parse_str("--nagle"), Ok(Command::Server(want)));
    }

    /// The client takes messages, and `--` lets one start with a dash.
    #[test]
    fn client_messages() {
        let want = |messages: &[&str]| {
            Ok(Command::Client(ClientOpts {
                addr: addr("[::1]:9"),
                messages: messages.iter().map(|m| m.to_string()).collect(),
            }))
        };
        assert_eq!(parse_str("client --addr [::1]:9"), want(&[]));
        assert_eq!(parse_str("client a --addr [::1]:9 b"), want(&["a", "b"]));
        assert_eq!(parse_str("client --addr [::1]:9 -- -x --quiet"), want(&["-x", "--quiet"]));
    }

    /// `-h` and `--help` win wherever they stand.
    #[test]
    fn help() {
        assert_eq!(parse_str("-h"), Ok(Command::Help));
        assert_eq!(parse_str("client x --help"), Ok(Command::Help));
    }

    /// Each mistake is one line that names the culprit.
    #[test]
    fn mistakes() {
        let err = |line: &str| parse_str(line).unwrap_err();
        assert_eq!(err("--bogus"), "unknown option '--bogus'");
        assert_eq!(err("client --quiet"), "unknown option '--quiet'");
        assert_eq!(err("client --nagle"), "unknown option '--nagle'");
        assert_eq!(err("stray"), "unexpected argument 'stray'");
        assert_eq!(err("--addr"), "--addr needs a value, such as 127.0.0.1:1234");
        for bad in ["1234", "nosuchhost:1", "127.0.0.1:99999", "127.0.0.1"] {
            assert_eq!(
                err(&format!("--addr {bad}")),
                format!("bad address '{bad}': expected IP:PORT, such as 127.0.0.1:1234")
            );
        }
    }
}
