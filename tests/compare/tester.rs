//! The scenarios of `compare.rs` as a tester for a server someone else wrote, in any language.
//!
//! `REDIS_LITE_SERVER=./my-server cargo test --test compare -- v0_2` runs v0.2's scenarios
//! against `./my-server --addr 127.0.0.1:0` instead of our v0.2 binary. The variable holds a
//! command, split on whitespace (`python3 server.py` works; a path with spaces does not). A
//! scenario that fails says what it sent, what it expected, what came back, with every byte
//! shown escaped, and which chapter teaches it. A scenario that only makes sense for our
//! binary (our options, our log lines) is skipped with one line.
//!
//! Unset, the same tests run the tester against our own stages, so it is tested like the rest.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;

use super::{EXPECTED, Expected};
use crate::common::{Output, QUIET_PERIOD, Server, Stage, TIMEOUT};

/// The environment variable that names the server program to test.
pub const SERVER_ENV: &str = "REDIS_LITE_SERVER";

/// The longest reply the tester reads: more is a broken length, not a reply to these scenarios.
const MAX_REPLY: usize = 1 << 20;

/// A change made to replies on their way back, for the tester's own tests.
pub type Mangle = fn(&[u8]) -> Vec<u8>;

/// A scenario's steps on the wire, for the stage whose row it gets.
pub type Steps = fn(&mut Transcript, &Expected) -> Result<(), Failure>;

// ANCHOR: program
/// A server program to run scenarios against: its command, to which the tester adds
/// `--addr 127.0.0.1:0`.
pub struct Program {
    pub words: Vec<String>,
    /// Whether it is our stage binary, whose stdout and log the scenarios also check.
    pub ours: bool,
    /// For the tester's own tests: a function each reply passes through on its way back,
    /// to make a broken server out of a working one.
    pub mangle: Option<Mangle>,
}
// ANCHOR_END: program

impl Program {
    /// Our binary for `stage`.
    pub fn ours(stage: Stage) -> Program {
        Program { words: vec![stage.bin().to_string()], ours: true, mangle: None }
    }

    /// The program `command` names, its words split on whitespace.
    pub fn parse(command: &str) -> Program {
        let words = command.split_whitespace().map(str::to_string).collect();
        Program { words, ours: false, mangle: None }
    }

    /// Starts the program on a free loopback port, as `stage`'s server.
    pub fn start(&self, stage: Stage, output: Output) -> Result<Server, String> {
        let (program, args) = self.words.split_first().ok_or("an empty command")?;
        let mut cmd = Command::new(program);
        cmd.args(args).args(["--addr", "127.0.0.1:0"]);
        let mut server = Server::try_start(stage, cmd, output)?;
        if let Some(mangle) = self.mangle {
            server.addr = mangling_proxy(server.addr, mangle).map_err(|e| e.to_string())?;
        }
        Ok(server)
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} --addr 127.0.0.1:0", self.words.join(" "))
    }
}

/// Bytes as Rust would write them in a byte string: `"\x05\x00\x00\x00hello"`.
pub fn escaped(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

// ANCHOR: failure
/// A scenario that did not come out as the table expects.
#[derive(Debug)]
pub struct Failure {
    /// Each request, in order, with the connection that carried it (1 is the first opened).
    pub sent: Vec<(usize, Vec<u8>)>,
    pub expected: String,
    pub got: String,
}
// ANCHOR_END: failure

/// What came back when a reply was expected, read the way the stage delimits replies.
#[derive(Debug, PartialEq, Eq)]
pub enum Got {
    Reply(Vec<u8>),
    /// The connection ended (end of stream or reset), after these bytes of a reply.
    Closed(Vec<u8>),
    /// Nothing more came within the timeout, after these bytes.
    Silent(Vec<u8>),
    /// A reply whose length says more than [`MAX_REPLY`] bytes.
    TooLong(Vec<u8>),
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let after = |bytes: &[u8]| match bytes.is_empty() {
            true => String::new(),
            false => format!(", after {}", escaped(bytes)),
        };
        match self {
            Got::Reply(bytes) => write!(f, "{}", escaped(bytes)),
            Got::Closed(bytes) => write!(f, "the connection closed{}", after(bytes)),
            Got::Silent(bytes) => write!(f, "nothing within {TIMEOUT:?}{}", after(bytes)),
            Got::TooLong(bytes) => match <[u8; 4]>::try_from(&bytes[..]) {
                Ok(header) => {
                    let len = u32::from_le_bytes(header);
                    write!(
                        f,
                        "a length of {len} bytes, {}: more than any reply here",
                        escaped(bytes)
                    )
                }
                Err(_) => {
                    let start = bytes.get(..64).unwrap_or(bytes);
                    write!(f, "over {MAX_REPLY} bytes, beginning {}", escaped(start))
                }
            },
        }
    }
}

/// One connection of a scenario.
pub struct Conn {
    stream: TcpStream,
    id: usize,
}

// ANCHOR: transcript
/// What a scenario has sent so far, on which connection, so that a failure can say it.
pub struct Transcript<'a> {
    pub server: &'a Server,
    pub stage: Stage,
    sent: Vec<(usize, Vec<u8>)>,
    opened: usize,
}

impl<'a> Transcript<'a> {
    pub fn new(server: &'a Server) -> Transcript<'a> {
        Transcript { server, stage: server.stage, sent: Vec::new(), opened: 0 }
    }

    /// A failure after what was sent so far.
    pub fn fail(&self, expected: impl fmt::Display, got: impl fmt::Display) -> Failure {
        Failure { sent: self.sent.clone(), expected: expected.to_string(), got: got.to_string() }
    }

    /// Opens a connection, with reads and writes bounded by the timeout.
    pub fn connect(&mut self) -> Result<Conn, Failure> {
        self.opened += 1;
        let stream = TcpStream::connect(self.server.addr)
            .map_err(|e| self.fail("a connection", format!("connect failed: {e}")))?;
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Ok(Conn { stream, id: self.opened })
    }

    /// Sends `bytes` and reads the reply. A connection the server has closed is an answer,
    /// which the write may be the first to see.
    pub fn exchange(&mut self, conn: &mut Conn, bytes: &[u8]) -> Got {
        self.sent.push((conn.id, bytes.to_vec()));
        match conn.stream.write_all(bytes) {
            Ok(()) => read_one(self.stage, &mut conn.stream),
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => {
                Got::Silent(Vec::new())
            }
            Err(_) => Got::Closed(Vec::new()),
        }
    }

    /// Sends `bytes` and fails unless the reply is `want`: the reply's body, which from v0.2
    /// to v2.0 comes in a frame (the reply is compared, and shown, with its header).
    pub fn expect(&mut self, conn: &mut Conn, bytes: &[u8], want: &[u8]) -> Result<(), Failure> {
        let want = wire(self.stage, want);
        self.expect_wire(conn, bytes, &want)
    }

    /// Sends `bytes` and fails unless exactly `want` comes back, as it crosses the wire.
    pub fn expect_wire(
        &mut self,
        conn: &mut Conn,
        bytes: &[u8],
        want: &[u8],
    ) -> Result<(), Failure> {
        match self.exchange(conn, bytes) {
            Got::Reply(reply) if reply == want => Ok(()),
            got => Err(self.fail(escaped(want), got)),
        }
    }

    /// Sends `bytes` and fails unless some whole reply comes back.
    pub fn expect_a_reply(&mut self, conn: &mut Conn, bytes: &[u8]) -> Result<(), Failure> {
        match self.exchange(conn, bytes) {
            Got::Reply(_) => Ok(()),
            got => Err(self.fail("a reply", got)),
        }
    }

    /// Sends `bytes` and fails unless the connection closes without a reply.
    pub fn expect_closed(&mut self, conn: &mut Conn, bytes: &[u8]) -> Result<(), Failure> {
        match self.exchange(conn, bytes) {
            Got::Closed(partial) if partial.is_empty() => Ok(()),
            got => Err(self.fail("the connection closed", got)),
        }
    }

    /// Sends `bytes` and fails if anything comes back within the quiet period.
    pub fn expect_no_reply_yet(&mut self, conn: &mut Conn, bytes: &[u8]) -> Result<(), Failure> {
        self.sent.push((conn.id, bytes.to_vec()));
        if let Err(e) = conn.stream.write_all(bytes) {
            return Err(self.fail("no reply yet", format!("the write failed: {e}")));
        }
        conn.stream.set_read_timeout(Some(QUIET_PERIOD)).unwrap();
        let mut byte = [0u8; 1];
        // A read with a timeout is not restarted after a stop and a SIGCONT: it fails with
        // EINTR, which says nothing about the server. (Bounded: ten in a row is not chance.)
        let mut read = || conn.stream.read(&mut byte);
        let mut result = read();
        for _ in 0..10 {
            match result {
                Err(ref e) if e.kind() == ErrorKind::Interrupted => result = read(),
                _ => break,
            }
        }
        let got = match result {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Ok(0) | Err(_) => Some("the connection closed".to_string()),
            Ok(_) => Some(format!("a reply beginning {}", escaped(&byte))),
        };
        conn.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        match got {
            None => Ok(()),
            Some(got) => Err(self.fail(format!("no reply within {QUIET_PERIOD:?}"), got)),
        }
    }

    /// Reads the reply to what was sent earlier on `conn`, and fails unless it is `want`.
    pub fn expect_later(&mut self, conn: &mut Conn, want: &[u8]) -> Result<(), Failure> {
        let want = wire(self.stage, want);
        match read_one(self.stage, &mut conn.stream) {
            Got::Reply(reply) if reply == want => Ok(()),
            got => Err(self.fail(escaped(&want), got)),
        }
    }
}
// ANCHOR_END: transcript

/// A reply's body as it crosses the wire: in a frame from v0.2 to v2.0, as it is otherwise.
fn wire(stage: Stage, body: &[u8]) -> Vec<u8> {
    match stage {
        Stage::V0_1 | Stage::V3_0 | Stage::V3_1 => body.to_vec(),
        _ => crate::common::frame(body),
    }
}

/// Reads one reply, header and all, the way `stage` delimits it, never more than [`MAX_REPLY`] bytes, never
/// waiting longer than the timeout for a byte.
pub fn read_one(stage: Stage, stream: &mut TcpStream) -> Got {
    let mut reply = Vec::new();
    let end = match stage {
        Stage::V0_1 => read_until_close(stream, &mut reply),
        Stage::V3_0 | Stage::V3_1 => read_resp(stream, &mut reply),
        _ => read_frame(stream, &mut reply),
    };
    match end {
        Ok(()) => Got::Reply(reply),
        Err(e) if e.kind() == ErrorKind::FileTooLarge => Got::TooLong(reply),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Got::Silent(reply)
        }
        Err(_) => Got::Closed(reply),
    }
}

/// Appends exactly `n` bytes to `reply`, keeping what came before an error.
fn read_n(stream: &mut TcpStream, reply: &mut Vec<u8>, n: usize) -> io::Result<()> {
    if reply.len() + n > MAX_REPLY {
        return Err(ErrorKind::FileTooLarge.into());
    }
    let start = reply.len();
    reply.resize(start + n, 0);
    let mut filled = start;
    while filled < reply.len() {
        match stream.read(&mut reply[filled..]) {
            Ok(0) => {
                reply.truncate(filled);
                return Err(ErrorKind::UnexpectedEof.into());
            }
            Ok(got) => filled += got,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                reply.truncate(filled);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// v0.1: the reply is everything until the server closes the connection. (A reset after the
/// reply still delivered it: v0.1 resets a connection whose request it did not read whole.)
fn read_until_close(stream: &mut TcpStream, reply: &mut Vec<u8>) -> io::Result<()> {
    let end = stream.take(MAX_REPLY as u64 + 1).read_to_end(reply);
    match end {
        _ if reply.len() > MAX_REPLY => Err(ErrorKind::FileTooLarge.into()),
        Ok(0) => Err(ErrorKind::UnexpectedEof.into()),
        Err(e) if reply.is_empty() || !matches!(e.kind(), ErrorKind::ConnectionReset) => Err(e),
        _ => Ok(()),
    }
}

/// v0.2 to v2.0: a 4-byte little-endian length, then that many bytes.
fn read_frame(stream: &mut TcpStream, reply: &mut Vec<u8>) -> io::Result<()> {
    read_n(stream, reply, 4)?;
    let len = u32::from_le_bytes(reply[..4].try_into().unwrap()) as usize;
    read_n(stream, reply, len)
}

/// v3.0: one RESP value, arrays read element by element.
fn read_resp(stream: &mut TcpStream, reply: &mut Vec<u8>) -> io::Result<()> {
    let mut values = 1usize;
    while values > 0 {
        values -= 1;
        let start = reply.len();
        while !reply[start..].ends_with(b"\r\n") {
            read_n(stream, reply, 1)?;
        }
        let header = &reply[start..reply.len() - 2];
        let n: i64 = std::str::from_utf8(header.get(1..).unwrap_or_default())
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        match header.first() {
            Some(b'*') if n > 0 => values = values.saturating_add(n as usize),
            Some(b'$') if n >= 0 => read_n(stream, reply, (n as usize).saturating_add(2))?,
            _ => {}
        }
    }
    Ok(())
}

// ANCHOR: scenarios
/// A scenario of `compare.rs`, as the tester runs it.
pub struct Scenario {
    /// The name of the test in `compare.rs` that runs it against our stages.
    pub name: &'static str,
    /// What it does to the server's wire, or why it cannot be run against another program.
    pub run: Result<Steps, &'static str>,
    /// What the server's stdout is after its first line.
    pub stdout: Output,
    /// The chapters that teach it: from each stage named on, its chapter.
    pub taught: &'static [(Stage, &'static str)],
}

pub const SCENARIOS: [Scenario; 13] = [
    Scenario {
        name: "hello_exchange_on_the_wire",
        run: Ok(super::hello),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "v0_1.md")],
    },
    Scenario {
        name: "set_then_get",
        run: Ok(super::set_get),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "v0_1.md"), (Stage::V1_0, "v1_0.md")],
    },
    Scenario {
        name: "zadd_then_zscore",
        run: Ok(super::zadd_zscore),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "v0_1.md"), (Stage::V1_0, "commands.md"), (Stage::V1_3, "v1_3.md")],
    },
    Scenario {
        name: "second_request_on_one_connection",
        run: Ok(super::second_request),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "v0_1.md"), (Stage::V0_2, "v0_2.md")],
    },
    Scenario {
        name: "a_message_longer_than_one_read",
        run: Ok(super::long_message),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "byte-stream.md"), (Stage::V0_2, "read-full-write-all.md")],
    },
    Scenario {
        name: "an_idle_client_and_a_second_client",
        run: Ok(super::idle_and_second),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "v0_2.md"), (Stage::V0_3, "v0_3.md")],
    },
    Scenario {
        name: "a_client_that_connects_and_leaves",
        run: Ok(super::connects_and_leaves),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "v0_1.md"), (Stage::V0_2, "v0_2.md")],
    },
    Scenario {
        name: "a_closed_stdout_does_not_stop_the_server",
        run: Ok(super::closed_stdout),
        stdout: Output::Closed,
        taught: &[(Stage::V0_1, "failing-well.md")],
    },
    Scenario {
        name: "a_client_past_max_conns",
        run: Err("it starts the server with our --max-conns option"),
        stdout: Output::Read,
        taught: &[(Stage::V0_3, "v0_3.md")],
    },
    Scenario {
        name: "sigterm_with_a_client_connected",
        run: Err("it checks our exit status and shutdown log line"),
        stdout: Output::Read,
        taught: &[(Stage::V0_3, "shutting-down.md")],
    },
    Scenario {
        name: "client_without_a_server",
        run: Err("it runs our client, not a server"),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "v0_1.md")],
    },
    Scenario {
        name: "accept_failures_back_off_and_recover",
        run: Err("it counts our binary's own descriptors and reads its log"),
        stdout: Output::Read,
        taught: &[(Stage::V0_1, "failing-well.md")],
    },
    Scenario {
        name: "an_idle_client_is_eventually_closed",
        run: Err("it starts the server with our --idle-timeout option"),
        stdout: Output::Read,
        taught: &[(Stage::V2_0, "v2_0.md")],
    },
];
// ANCHOR_END: scenarios

impl Scenario {
    /// The chapters a learner at `stage` reads for this scenario: the one that teaches it, and
    /// the one that teaches `stage`'s protocol, in which the bytes are written.
    pub fn chapters(&self, stage: Stage) -> Vec<String> {
        let topic = self.taught.iter().rev().find(|(from, _)| *from <= stage);
        let protocol = match stage {
            Stage::V0_1 => "v0_1.md",
            Stage::V0_2 | Stage::V0_3 => "v0_2.md",
            Stage::V1_0 | Stage::V1_1 => "commands.md",
            Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => "v1_2.md",
            Stage::V3_0 | Stage::V3_1 => "resp.md",
        };
        let mut chapters: Vec<String> =
            topic.map(|(_, c)| format!("book/src/{c}")).into_iter().collect();
        let protocol = format!("book/src/{protocol} ({} protocol)", stage.name());
        if !chapters.iter().any(|c| protocol.starts_with(c.as_str())) {
            chapters.push(protocol);
        }
        chapters
    }

    /// Runs the scenario against `program` as `stage`'s server; our binary's own checks follow
    /// in `check`, which gets the server and its row.
    pub fn run_on(
        &self,
        program: &Program,
        expected: &Expected,
        check: impl FnOnce(&mut Server),
    ) -> Result<(), String> {
        let run = self.run.map_err(|why| format!("skipped: {why}"))?;
        let stage = expected.stage;
        let mut server = program.start(stage, self.stdout).map_err(|e| {
            format!("{} ({}) FAILED\n  could not start `{program}`: {e}\n", self.name, stage.name())
        })?;
        let mut transcript = Transcript::new(&server);
        let outcome = run(&mut transcript, expected);
        drop(transcript);
        outcome.map_err(|failure| self.report(stage, &failure) + &last_log(&server))?;
        if program.ours {
            check(&mut server);
        }
        Ok(())
    }

    // ANCHOR: report
    /// What a failure says: the scenario, what was sent, what was expected, what came back,
    /// and where the book teaches it.
    pub fn report(&self, stage: Stage, failure: &Failure) -> String {
        let mut report = format!("{} ({}) FAILED\n", self.name, stage.name());
        for (i, (conn, bytes)) in failure.sent.iter().enumerate() {
            let label = if i == 0 { "sent:" } else { "" };
            report += &format!("  {label:<11}{} on connection {conn}\n", escaped(bytes));
        }
        report += &format!("  {:<11}{}\n", "expected:", failure.expected);
        report += &format!("  {:<11}{}\n", "got:", failure.got);
        report += &format!("  {:<11}{}\n", "taught in:", self.chapters(stage).join(", "));
        report
    }
    // ANCHOR_END: report
}

/// The last lines the server wrote to stderr, if it wrote any (a stack trace, an error), to
/// follow a failure's report.
fn last_log(server: &Server) -> String {
    let lines = server.logged_so_far();
    let last = &lines[lines.len().saturating_sub(5)..];
    last.iter().map(|line| format!("  stderr:    {line}\n")).collect()
}

/// The scenario called `name`.
pub fn scenario(name: &str) -> &'static Scenario {
    SCENARIOS.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}"))
}

/// The table's row for `stage`.
pub fn row(stage: Stage) -> &'static Expected {
    EXPECTED.iter().find(|e| e.stage == stage).expect("a row for every stage")
}

// ANCHOR: run_stage
/// Runs every scenario of `stage` against `program`, and returns one line per scenario
/// (`ok`, or why it was skipped) and the report of each failure.
pub fn run_stage(stage: Stage, program: &Program) -> (Vec<String>, Vec<String>) {
    let (mut lines, mut failures) = (Vec::new(), Vec::new());
    for scenario in &SCENARIOS {
        match scenario.run_on(program, row(stage), |_| {}) {
            Ok(()) => lines.push(format!("ok       {}", scenario.name)),
            Err(skip) if skip.starts_with("skipped") => {
                lines.push(format!("skipped  {}: {}", scenario.name, &skip["skipped: ".len()..]))
            }
            Err(report) => {
                lines.push(format!("FAILED   {}", scenario.name));
                failures.push(report);
            }
        }
    }
    (lines, failures)
}

/// Runs `stage`'s scenarios against the program in `REDIS_LITE_SERVER` or, unset, against our
/// own binary through the same path; prints a line per scenario and fails with every report.
pub fn test_stage(stage: Stage) {
    let program = match std::env::var(SERVER_ENV) {
        Ok(command) => Program::parse(&command),
        Err(_) => Program::parse(stage.bin()),
    };
    let (lines, failures) = run_stage(stage, &program);
    eprintln!("{} scenarios against {program}:\n  {}", stage.name(), lines.join("\n  "));
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
// ANCHOR_END: run_stage

/// One test per stage, named after it, so that `cargo test --test compare -- v0_2` picks it.
macro_rules! stage_tests {
    ($($name:ident: $stage:expr,)*) => {$(
        /// The stage's scenarios against `REDIS_LITE_SERVER`, or our binary when it is unset.
        #[test]
        fn $name() {
            test_stage($stage);
        }
    )*};
}

stage_tests! {
    v0_1: Stage::V0_1,
    v0_2: Stage::V0_2,
    v0_3: Stage::V0_3,
    v1_0: Stage::V1_0,
    v1_1: Stage::V1_1,
    v1_2: Stage::V1_2,
    v1_3: Stage::V1_3,
    v2_0: Stage::V2_0,
    v3_0: Stage::V3_0,
    v3_1: Stage::V3_1,
}

/// A proxy on a free loopback port in front of `server`: requests pass as they are, each read
/// of replies passes through `mangle`. For at most 16 connections, which is more than any
/// scenario opens; each ends when either side closes.
fn mangling_proxy(
    server: std::net::SocketAddr,
    mangle: Mangle,
) -> io::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for client in listener.incoming().take(16).flatten() {
            let Ok(upstream) = TcpStream::connect(server) else { break };
            let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
                break;
            };
            let (mut client, mut upstream) = (client, upstream);
            std::thread::spawn(move || {
                let _ = io::copy(&mut c2, &mut u2);
                let _ = u2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = upstream.read(&mut buf) {
                    if client.write_all(&mangle(&buf[..n])).is_err() {
                        break;
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    Ok(addr)
}

/// Every test in `compare.rs` is a scenario the tester knows, run or skipped with a reason:
/// a new test cannot be left out of it by accident.
#[test]
fn every_compare_test_is_a_scenario() {
    let source = include_str!("../compare.rs");
    let tests: Vec<&str> =
        source.split("#[test]\nfn ").skip(1).map(|rest| &rest[..rest.find('(').unwrap()]).collect();
    for test in &tests {
        assert!(SCENARIOS.iter().any(|s| s.name == *test), "{test} is not in SCENARIOS");
    }
    assert_eq!(tests.len(), SCENARIOS.len(), "{tests:?}");
}

/// A command with arguments: our v0.2 with `--quiet`, split on whitespace as
/// `REDIS_LITE_SERVER` is, passes every v0.2 scenario.
#[test]
fn the_tester_passes_a_command_with_arguments() {
    let program = Program::parse(&format!("{} --quiet", Stage::V0_2.bin()));
    assert_eq!(program.words.len(), 2);
    let (lines, failures) = run_stage(Stage::V0_2, &program);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(lines.iter().filter(|l| l.starts_with("ok")).count(), 8, "{lines:?}");
}

/// v0.1, a server that closes after one reply and reads 64 bytes at most, run as a v0.2
/// server through `REDIS_LITE_SERVER`'s path: the tester fails it, saying what it sent, what
/// it expected, what came back and where the book teaches it.
#[test]
fn the_tester_fails_a_server_of_the_wrong_stage() {
    let (lines, failures) = run_stage(Stage::V0_2, &Program::parse(Stage::V0_1.bin()));
    let all = failures.join("\n");
    assert!(lines.contains(&"FAILED   hello_exchange_on_the_wire".to_string()), "{lines:?}");
    assert!(
        all.contains(
            "second_request_on_one_connection (v0_2) FAILED\n\
             \x20 sent:      \"\\x05\\x00\\x00\\x00first\" on connection 1\n"
        ),
        "{all}"
    );
    assert!(
        lines
            .contains(&"skipped  client_without_a_server: it runs our client, not a server".into())
    );
}

/// Replies with one byte changed (`world` comes back `worle`), from our v0.2 behind a proxy:
/// every scenario that reads a reply fails, and the report shows the bytes both ways.
#[test]
fn the_tester_fails_a_server_that_mangles_replies() {
    fn mangle(bytes: &[u8]) -> Vec<u8> {
        bytes.iter().map(|&b| if b == b'd' { b'e' } else { b }).collect()
    }
    let program = Program { mangle: Some(mangle), ..Program::parse(Stage::V0_2.bin()) };
    let (lines, failures) = run_stage(Stage::V0_2, &program);
    eprintln!("{}", failures.join("\n"));
    let want = "second_request_on_one_connection (v0_2) FAILED\n\
                \x20 sent:      \"\\x05\\x00\\x00\\x00first\" on connection 1\n\
                \x20 expected:  \"\\x05\\x00\\x00\\x00world\"\n\
                \x20 got:       \"\\x05\\x00\\x00\\x00worle\"\n\
                \x20 taught in: book/src/v0_2.md\n";
    assert!(failures.iter().any(|f| f.starts_with(want)), "{}", failures.join("\n"));
    let failed = lines.iter().filter(|l| l.starts_with("FAILED")).count();
    assert_eq!(failed, 8, "{lines:?}");
}

/// A program that does not start, and one that prints something other than `listening on
/// ADDR` first: each scenario fails, saying so, instead of hanging or panicking.
#[test]
fn the_tester_reports_a_program_that_does_not_start() {
    let (_, failures) = run_stage(Stage::V0_2, &Program::parse("/nonexistent/my-server"));
    assert_eq!(failures.len(), 8, "{failures:?}");
    assert!(failures[0].contains("could not start `/nonexistent/my-server --addr"), "{failures:?}");
    let (_, failures) = run_stage(Stage::V0_2, &Program::parse("echo hello"));
    let want = "first line should be 'listening on ADDR', got \"hello --addr 127.0.0.1:0\"";
    assert!(failures[0].contains(want), "{failures:?}");
}
