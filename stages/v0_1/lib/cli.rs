// src/cli.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! The command line every stage shares, parsed by hand because the runtime uses std only.
//!
//! ```text
//! vX_Y [server] [--addr HOST:PORT] [--quiet]
//! vX_Y client [--addr HOST:PORT] [MESSAGE...]
//! ```
//!
//! Each stage has the options it teaches, and to it any other is an unknown option. A stage's
//! `main` hands [`run`] its server and client functions; `run` parses the arguments, calls one
//! of them, and turns what comes back into one line on stderr and an exit code: 0 for success,
//! 1 when the server or client failed, 2 for a usage mistake.

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Loopback, so a reader's first run is not reachable from the network.
pub const DEFAULT_ADDR: &str = "127.0.0.1:1234";

/// What the server side of a stage is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOpts {
    pub addr: SocketAddr,
    /// Leave out the `client says: ...` line per request (printing costs more than serving).
    pub quiet: bool,
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

/// Parses the arguments after the program name, for a stage whose defaults are in `help`. The
/// error is one line saying what is wrong.
pub fn parse<I: IntoIterator<Item = String>>(args: I, help: &Help) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    let role = args.next_if(|arg| arg == "client" || arg == "server");
    let is_client = role.is_some_and(|role| role == "client");
    let mut addr = parse_addr(help.addr)?;
    let mut quiet = false;
    let (mut messages, mut only_messages) = (Vec::new(), false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            _ if only_messages => messages.push(arg),
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => {
                let value = args.next().ok_or("--addr needs a value, such as 127.0.0.1:1234")?;
                addr = parse_addr(&value)?;
            }
            "--quiet" if !is_client => quiet = true,
            // `--` ends the options, so a message may start with '-'.
            "--" if is_client => only_messages = true,
            // A negative number (an offset, a score: `-1`, `-inf`) is a word, never an option.
            _ if arg.starts_with('-') && arg.parse::<f64>().is_err() => {
                return Err(format!("unknown option '{arg}'"));
            }
            _ if is_client => messages.push(arg),
            _ => return Err(format!("unexpected argument '{arg}'")),
        }
    }
    Ok(if is_client {
        Command::Client(ClientOpts { addr, messages })
    } else {
        Command::Server(ServerOpts { addr, quiet })
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

// ANCHOR: help
/// What a stage's `--help` says its server and client do.
#[derive(Debug, Clone, Copy)]
pub struct Help {
    /// What the server answers.
    pub serves: &'static str,
    /// What the client takes after its options.
    pub client_args: &'static str,
    /// What the client does with them.
    pub client_does: &'static str,
    /// Where the server listens and the client connects unless told otherwise.
    pub addr: &'static str,
}

/// The help of a stage whose server answers `world`.
pub const WORLD: Help = Help {
    serves: "listen and answer every request with \"world\"",
    client_args: "[MESSAGE...]",
    client_does: "connect, send each MESSAGE (or the stage's default ones), print each reply",
    addr: DEFAULT_ADDR,
};
// ANCHOR_END: help

/// The help text, for `stage`: the options it has, each on the side that takes it.
pub fn usage(stage: &str, help: &Help) -> String {
    let server = "[--addr HOST:PORT] [--quiet]";
    let client = "[--addr HOST:PORT]";
    let addr = help.addr;
    let options = [
        format!("--addr        where to listen or connect (default {addr}; port 0: any free port)"),
        "--quiet       server: don't print a line per request".to_string(),
        "-h, --help    show this help".to_string(),
    ]
    .join("\n  ");
    let (serves, client_does, args) = (help.serves, help.client_does, help.client_args);
    format!(
        "usage: {stage} [server] {server}
       {stage} client {client} {args}

  server        (the default) {serves}
  client        {client_does}
  {options}"
    )
}

// ANCHOR: run
/// A stage's whole `main`: parse, run the server or the client, report. `help` says what the
/// stage's server and client do, for `--help`.
pub fn run(
    stage: &str,
    help: &Help,
    server: fn(&ServerOpts) -> io::Result<()>,
    client: fn(&ClientOpts) -> io::Result<()>,
) -> ExitCode {
    let command = std::env::args_os().skip(1).map(OsString::into_string).collect();
    let command = match command {
        Ok(args) => parse::<Vec<String>>(args, help),
        Err(bad) => Err(format!("argument {bad:?} is not valid UTF-8")),
    };
    // `let _ = writeln!`, not `println!`: with stdout or stderr closed there is nobody to tell,
    // and a panic would only change the exit code.
    let (result, role) = match command {
        Ok(Command::Help) => {
            let _ = writeln!(io::stdout(), "{}", usage(stage, help));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Server(opts)) => (server(&opts), "server"),
        Ok(Command::Client(opts)) => (client(&opts), "client"),
        Err(msg) => {
            let _ = writeln!(io::stderr(), "{stage}: {msg}; try '{stage} --help'");
            return ExitCode::from(2);
        }
    };
    // A server's last log lines may still be queued (see `log`): let them out first.
    crate::log::flush(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "{stage} {role}: {e}{}", hint(stage, e.kind()));
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
