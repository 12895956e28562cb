//! The command line every stage shares, parsed by hand because the runtime uses std only.
//!
//! ```text
//@ ..v0_2: //! vX_Y [server] [--addr HOST:PORT] [--quiet]
//@ v0_2..v0_3: //! vX_Y [server] [--addr HOST:PORT] [--quiet] [--nagle]
//@ v0_3..v2_0: //! vX_Y [server] [--addr HOST:PORT] [--quiet] [--nagle] [--max-conns N]
//@ v2_0.. {
//! vX_Y [server] [--addr HOST:PORT] [--quiet] [--nagle] [--max-conns N] [--idle-timeout MS]
//@ }
//@ ..v0_3, v1_0..: //! vX_Y client [--addr HOST:PORT] [MESSAGE...]
//! vX_Y client [--addr HOST:PORT] [--pipeline] [MESSAGE...] //@ v0_3..v1_0
//! ```
//!
//! Each stage has the options it teaches, and to it any other is an unknown option. A stage's
//! `main` hands [`run`] its server and client functions; `run` parses the arguments, calls one
//! of them, and turns what comes back into one line on stderr and an exit code: 0 for success,
//! 1 when the server or client failed, 2 for a usage mistake.

use std::ffi::OsString;
//@ ..v1_0: use std::io::{self, Write};
use std::io::{self, BufRead, IsTerminal, Write}; //@ v1_0..
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

//@ ..v3_0 {
/// Loopback, so a reader's first run is not reachable from the network.
pub const DEFAULT_ADDR: &str = "127.0.0.1:1234";
//@ }

//@ v0_3.. {
/// How many clients an event-loop server serves at once, unless told otherwise: well under the
/// usual limit of 1024 open files per process.
pub const DEFAULT_MAX_CONNS: usize = 1000;
//@ }

//@ v2_0..v3_0 {
/// How long a client may stay silent before it is closed, unless told otherwise: the
/// original's 5 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_millis(5000);
//@ }

/// What the server side of a stage is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOpts {
    pub addr: SocketAddr,
    /// Leave out the `client says: ...` line per request (printing costs more than serving).
    pub quiet: bool,
    //@ v0_2.. {
    /// Leave Nagle's algorithm on (no TCP_NODELAY), to reproduce the stall it causes.
    pub nagle: bool,
    //@ }
    //@ v0_3.. {
    /// Connections served at once; more are accepted and closed at once.
    pub max_conns: usize,
    //@ }
    //@ v2_0.. {
    /// How long a client may stay silent before it is closed; `None`, never.
    pub idle_timeout: Option<Duration>,
    //@ }
}

/// What the client side of a stage is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOpts {
    pub addr: SocketAddr,
    /// The messages to send, in order; empty means the stage's default ones.
    pub messages: Vec<String>,
    //@ v0_3..v1_0 {
    /// Send every message in one write while reading the replies.
    pub pipeline: bool,
    //@ }
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
    let mut nagle = false; //@ v0_2..
    let mut max_conns = DEFAULT_MAX_CONNS; //@ v0_3..
    let mut idle_timeout = help.idle_timeout; //@ v2_0..
    let mut pipeline = false; //@ v0_3..v1_0
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
            "--nagle" if !is_client => nagle = true, //@ v0_2..
            //@ v0_3.. {
            "--max-conns" if !is_client => {
                let value = args.next().unwrap_or_default();
                max_conns = value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("--max-conns needs a whole number above 0, not '{value}'")
                })?;
            }
            //@ }
            //@ v2_0.. {
            "--idle-timeout" if !is_client => {
                let value = args.next().unwrap_or_default();
                let ms: u64 = value.parse().map_err(|_| {
                    format!(
                        "--idle-timeout needs a number of milliseconds (0: never), not '{value}'"
                    )
                })?;
                idle_timeout = (ms > 0).then(|| Duration::from_millis(ms));
            }
            //@ }
            "--pipeline" if is_client => pipeline = true, //@ v0_3..v1_0
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
        //@ ..v0_3, v1_0..: Command::Client(ClientOpts { addr, messages })
        Command::Client(ClientOpts { addr, messages, pipeline }) //@ v0_3..v1_0
    } else {
        //@ ..v0_2: Command::Server(ServerOpts { addr, quiet })
        //@ v0_2..v0_3: Command::Server(ServerOpts { addr, quiet, nagle })
        //@ v0_3..v2_0: Command::Server(ServerOpts { addr, quiet, nagle, max_conns })
        Command::Server(ServerOpts { addr, quiet, nagle, max_conns, idle_timeout }) //@ v2_0..
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
    //@ v2_0.. {
    /// How long a client may stay silent, unless told otherwise.
    pub idle_timeout: Option<Duration>,
    //@ }
}

//@ ..v1_0 {
/// The help of a stage whose server answers `world`.
pub const WORLD: Help = Help {
    serves: "listen and answer every request with \"world\"",
    client_args: "[MESSAGE...]",
    client_does: "connect, send each MESSAGE (or the stage's default ones), print each reply",
    addr: DEFAULT_ADDR,
    idle_timeout: None, //@ lib
};
//@ }
// ANCHOR_END: help

/// The help text, for `stage`: the options it has, each on the side that takes it.
pub fn usage(stage: &str, help: &Help) -> String {
    //@ ..v0_2: let server = "[--addr HOST:PORT] [--quiet]";
    //@ v0_2..v0_3: let server = "[--addr HOST:PORT] [--quiet] [--nagle]";
    //@ v0_3..v2_0: let server = "[--addr HOST:PORT] [--quiet] [--nagle] [--max-conns N]";
    let server = "[--addr HOST:PORT] [--quiet] [--nagle] [--max-conns N] [--idle-timeout MS]";
    //@ v2_0..
    //@ ..v0_3, v1_0..: let client = "[--addr HOST:PORT]";
    let client = "[--addr HOST:PORT] [--pipeline]"; //@ v0_3..v1_0
    let addr = help.addr;
    let options = [
        format!("--addr        where to listen or connect (default {addr}; port 0: any free port)"),
        "--quiet       server: don't print a line per request".to_string(),
        "--nagle       server: leave Nagle's algorithm on (no TCP_NODELAY)".to_string(), //@ v0_2..
        format!("--max-conns   server: clients at once (default {DEFAULT_MAX_CONNS})"),  //@ v0_3..
        //@ v2_0.. {
        format!(
            "--idle-timeout server: close a client silent this many ms, 0 for never (default {})",
            help.idle_timeout.map_or(0, |timeout| timeout.as_millis())
        ),
        //@ }
        "--pipeline    client: send every message in one write".to_string(), //@ v0_3..v1_0
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
//@ v1_0.. {
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
//@ }
// ANCHOR_END: each_command

// ANCHOR: split_words
//@ v1_0.. {
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
//@ }
// ANCHOR_END: split_words

//@ lib {
#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Command, String> {
        parse(line.split_whitespace().map(String::from), &WORLD)
    }

    fn server(addr: &str, quiet: bool, nagle: bool) -> Command {
        let addr = addr.parse().unwrap();
        let max_conns = DEFAULT_MAX_CONNS;
        Command::Server(ServerOpts { addr, quiet, nagle, max_conns, idle_timeout: None })
    }

    /// No arguments: a server on the default loopback address.
    #[test]
    fn default_is_a_loud_server_on_loopback() {
        assert_eq!(parse_str(""), Ok(server("127.0.0.1:1234", false, false)));
        assert_eq!(parse_str("server"), Ok(server("127.0.0.1:1234", false, false)));
    }

    /// Server options in any order.
    #[test]
    fn server_options() {
        assert_eq!(parse_str("--quiet --addr 127.0.0.1:0"), Ok(server("127.0.0.1:0", true, false)));
        assert_eq!(
            parse_str("server --addr localhost:0 --quiet"),
            Ok(server("127.0.0.1:0", true, false))
        );
        assert_eq!(parse_str("--nagle"), Ok(server("127.0.0.1:1234", false, true)));
        let Ok(Command::Server(opts)) = parse_str("--max-conns 3") else { panic!() };
        assert_eq!(opts.max_conns, 3);
        let v2_0 = Help { idle_timeout: Some(DEFAULT_IDLE_TIMEOUT), ..WORLD };
        let with = |line: &str| parse(line.split_whitespace().map(String::from), &v2_0);
        let Ok(Command::Server(opts)) = with("") else { panic!() };
        assert_eq!(opts.idle_timeout, Some(DEFAULT_IDLE_TIMEOUT), "a stage with timeouts");
        let Ok(Command::Server(opts)) = with("--idle-timeout 200") else { panic!() };
        assert_eq!(opts.idle_timeout, Some(Duration::from_millis(200)));
        let Ok(Command::Server(opts)) = with("--idle-timeout 0") else { panic!() };
        assert_eq!(opts.idle_timeout, None, "0: never");
        let err = "--idle-timeout needs a number of milliseconds (0: never), not '-1'";
        assert_eq!(with("--idle-timeout -1"), Err(err.to_string()));
    }

    /// The client takes messages, and `--` lets one start with a dash.
    #[test]
    fn client_messages() {
        let want = |messages: &[&str]| {
            Ok(Command::Client(ClientOpts {
                addr: "[::1]:9".parse().unwrap(),
                messages: messages.iter().map(|m| m.to_string()).collect(),
                pipeline: false,
            }))
        };
        assert_eq!(parse_str("client --addr [::1]:9"), want(&[]));
        assert_eq!(parse_str("client a --addr [::1]:9 b"), want(&["a", "b"]));
        assert_eq!(parse_str("client --addr [::1]:9 -- -x --quiet"), want(&["-x", "--quiet"]));
        assert_eq!(
            parse_str("client --addr [::1]:9 z -1 -inf -2.5"),
            want(&["z", "-1", "-inf", "-2.5"])
        );
        let Ok(Command::Client(opts)) = parse_str("client --pipeline a") else { panic!() };
        assert!(opts.pipeline);
    }

    /// The usage names every option, each on its side (which stage has which is tested on the
    /// stages' binaries, in tests/cli.rs).
    #[test]
    fn usage_names_each_option() {
        let text = usage("vX_Y", &WORLD);
        assert!(
            text.contains("vX_Y client [--addr HOST:PORT] [--pipeline] [MESSAGE...]"),
            "{text}"
        );
        let server = "vX_Y [server] [--addr HOST:PORT] [--quiet] [--nagle] [--max-conns N]";
        assert!(text.contains(server), "{text}");
        assert!(text.contains("--idle-timeout server: close a client"), "{text}");
    }

    /// Words split as a shell would: quotes keep spaces, escapes make any byte.
    #[test]
    fn words_of_a_typed_line() {
        let words = |line: &str| split_words(line.as_bytes());
        let ok = |list: &[&[u8]]| Ok(list.iter().map(|w| w.to_vec()).collect::<Vec<_>>());
        assert_eq!(words("  set  greeting hello "), ok(&[b"set", b"greeting", b"hello"]));
        assert_eq!(words(r#"set k "two words""#), ok(&[b"set", b"k", b"two words"]));
        assert_eq!(words(r#"set 'it''s' "\x00\xff\n""#), ok(&[b"set", b"its", b"\0\xff\n"]));
        assert_eq!(words(r#"set k "" x\ y"#), ok(&[b"set", b"k", b"", b"x y"]));
        assert_eq!(words(""), ok(&[]));
        assert_eq!(words("get 'k"), Err("a ' is not closed".to_string()));
        assert_eq!(words(r#"get "k"#), Err("a \" is not closed".to_string()));
        assert_eq!(words(r#"get "\xZ1""#), Err("\\x needs two hex digits, not 'Z1'".to_string()));
        assert_eq!(split_words(b"get caf\xe9"), ok(&[b"get", b"caf\xe9"]));
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
        assert_eq!(err("--max-conns 0"), "--max-conns needs a whole number above 0, not '0'");
        assert_eq!(err("--max-conns"), "--max-conns needs a whole number above 0, not ''");
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
//@ }
