// src/cli.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! The command line every stage shares, parsed by hand because the runtime uses std only.
//!
//! ```text
//! vX_Y [server] [--addr HOST:PORT] [--quiet] [--nagle] [--max-conns N] [--idle-timeout MS]
//! vX_Y client [--addr HOST:PORT] [MESSAGE...]
//! ```
//!
//! Each stage has the options it teaches, and to it any other is an unknown option. A stage's
//! `main` hands [`run`] its server and client functions; `run` parses the arguments, calls one
//! of them, and turns what comes back into one line on stderr and an exit code: 0 for success,
//! 1 when the server or client failed, 2 for a usage mistake.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// How many clients an event-loop server serves at once, unless told otherwise: well under the
/// usual limit of 1024 open files per process.
pub const DEFAULT_MAX_CONNS: usize = 1000;

/// What the server side of a stage is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOpts {
    pub addr: SocketAddr,
    /// Leave out the `client says: ...` line per request (printing costs more than serving).
    pub quiet: bool,
    /// Leave Nagle's algorithm on (no TCP_NODELAY), to reproduce the stall it causes.
    pub nagle: bool,
    /// Connections served at once; more are accepted and closed at once.
    pub max_conns: usize,
    /// How long a client may stay silent before it is closed; `None`, never.
    pub idle_timeout: Option<Duration>,
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
    let mut nagle = false;
    let mut max_conns = DEFAULT_MAX_CONNS;
    let mut idle_timeout = help.idle_timeout;
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
            "--nagle" if !is_client => nagle = true,
            "--max-conns" if !is_client => {
                let value = args.next().unwrap_or_default();
                max_conns = value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("--max-conns needs a whole number above 0, not '{value}'")
                })?;
            }
            "--idle-timeout" if !is_client => {
                let value = args.next().unwrap_or_default();
                let ms: u64 = value.parse().map_err(|_| {
                    format!(
                        "--idle-timeout needs a number of milliseconds (0: never), not '{value}'"
                    )
                })?;
                idle_timeout = (ms > 0).then(|| Duration::from_millis(ms));
            }
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
        Command::Server(ServerOpts { addr, quiet, nagle, max_conns, idle_timeout })
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
    /// How long a client may stay silent, unless told otherwise.
    pub idle_timeout: Option<Duration>,
}

// ANCHOR_END: help

/// The help text, for `stage`: the options it has, each on the side that takes it.
pub fn usage(stage: &str, help: &Help) -> String {
    let server = "[--addr HOST:PORT] [--quiet] [--nagle] [--max-conns N] [--idle-timeout MS]";
    let client = "[--addr HOST:PORT]";
    let addr = help.addr;
    let options = [
        format!("--addr        where to listen or connect (default {addr}; port 0: any free port)"),
        "--quiet       server: don't print a line per request".to_string(),
        "--nagle       server: leave Nagle's algorithm on (no TCP_NODELAY)".to_string(),
        format!("--max-conns   server: clients at once (default {DEFAULT_MAX_CONNS})"),
        format!(
            "--idle-timeout server: close a client silent this many ms, 0 for never (default {})",
            help.idle_timeout.map_or(0, |timeout| timeout.as_millis())
        ),
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

// ANCHOR: each_command
/// A client's commands, from v1.0 on: the one on the command line, or, with none, one per line
/// of standard input, each handed to `run`. `prompt` is shown before each line, and only when a
/// person is typing: a script piping commands in wants the replies alone.
pub fn each_command(
    opts: &ClientOpts,
    prompt: &str,
    mut run: impl FnMut(&[Vec<u8>]) -> io::Result<()>,
) -> io::Result<()> {
    if !opts.messages.is_empty() {
        let words: Vec<Vec<u8>> =
            opts.messages.iter().map(|word| word.clone().into_bytes()).collect();
        return run(&words);
    }
    let stdin = io::stdin();
    let person = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    for number in 1.. {
        if person {
            write!(io::stdout(), "{prompt}")?;
            io::stdout().flush()?;
        }
        line.clear();
        // Bytes, not text: a line need not be UTF-8, since keys and values need not be.
        if input.read_until(b'\n', &mut line)? == 0 {
            if person {
                writeln!(io::stdout())?; // End the prompt's line.
            }
            return Ok(());
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        match split_words(text) {
            Ok(words) if words.is_empty() => {}
            Ok(words) => run(&words)?,
            // A typo costs a person one line; a script, its run.
            Err(e) if person => eprintln!("{e}"),
            Err(e) => {
                let msg = format!("line {number}: {e}");
                return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
            }
        }
    }
    Ok(())
}
// ANCHOR_END: each_command

// ANCHOR: split_words
/// Splits a line typed at a client into words, the way a shell would, simply: spaces separate
/// words; `'...'` keeps everything inside as it is; `"..."` keeps spaces and understands `\"`,
/// `\\`, `\n`, `\t`, `\r` and `\xNN` (any byte, so that binary keys and values can be typed);
/// outside quotes, `\` keeps the next byte as it is. The line and its words are bytes, not
/// text: whatever is typed goes to the server as it is.
pub fn split_words(line: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let (mut words, mut word, mut in_word) = (Vec::new(), Vec::new(), false);
    let mut bytes = line.iter().copied();
    while let Some(byte) = bytes.next() {
        match byte {
            b' ' | b'\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                continue;
            }
            b'\'' => loop {
                match bytes.next() {
                    Some(b'\'') => break,
                    Some(byte) => word.push(byte),
                    None => return Err("a ' is not closed".into()),
                }
            },
            b'"' => loop {
                match bytes.next() {
                    Some(b'"') => break,
                    Some(b'\\') => word.push(escape(&mut bytes)?),
                    Some(byte) => word.push(byte),
                    None => return Err("a \" is not closed".into()),
                }
            },
            b'\\' => word.push(bytes.next().ok_or("a \\ ends the line")?),
            byte => word.push(byte),
        }
        in_word = true;
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The byte that a `\` inside double quotes stands for, given what follows it.
fn escape(bytes: &mut impl Iterator<Item = u8>) -> Result<u8, String> {
    match bytes.next() {
        Some(b'n') => Ok(b'\n'),
        Some(b't') => Ok(b'\t'),
        Some(b'r') => Ok(b'\r'),
        Some(b'x') => {
            let hex: Vec<u8> = bytes.take(2).collect();
            let text = String::from_utf8_lossy(&hex);
            u8::from_str_radix(&text, 16)
                .ok()
                .filter(|_| hex.len() == 2)
                .ok_or_else(|| format!("\\x needs two hex digits, not '{text}'"))
        }
        Some(byte) => Ok(byte),
        None => Err("a \" is not closed".into()),
    }
}
// ANCHOR_END: split_words
