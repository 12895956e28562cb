//! The harness every test suite shares: start a real stage binary, find it, talk to it.
//!
//! A [`Server`] is a stage binary started on `127.0.0.1:0`; the kernel picks the port and the
//! server's first line, `listening on ADDR`, tells us which. Its stdout and stderr are read by
//! two threads into channels, so the server never blocks on a full pipe and a test can wait
//! for a line it expects. Every wait is bounded by [`TIMEOUT`]; nothing sleeps to synchronise
//! (the one loop that sleeps, [`wait_for_exit`], only looks for an exit, for the benchmarks). Dropping a `Server` kills the process, even when the test panicked.
//!
//! The benchmarks use this harness too, through `#[path]`.

#![allow(dead_code)] // Each test crate uses a different part of the harness.

pub mod flood;
pub mod tlv;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any single step may take before the test fails. Generous, because CI machines
/// are slow and shared; a passing test never waits this long.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long a test waits to be sure that something does *not* happen (a reply that must not
/// come yet). Only absence is asserted with it, never ordering.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);

/// The stages under test, each a binary that Cargo builds for the integration tests, in the
/// order the book builds them (`V0_2 < V1_0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    V0_1,
    V0_2,
    V0_3,
    V1_0,
    V1_1,
    V1_2,
    V1_3,
    V2_0,
    V3_0,
    V3_1,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::V0_1 => "v0_1",
            Stage::V0_2 => "v0_2",
            Stage::V0_3 => "v0_3",
            Stage::V1_0 => "v1_0",
            Stage::V1_1 => "v1_1",
            Stage::V1_2 => "v1_2",
            Stage::V1_3 => "v1_3",
            Stage::V2_0 => "v2_0",
            Stage::V3_0 => "v3_0",
            Stage::V3_1 => "v3_1",
        }
    }

    pub fn bin(self) -> &'static str {
        match self {
            Stage::V0_1 => env!("CARGO_BIN_EXE_v0_1"),
            Stage::V0_2 => env!("CARGO_BIN_EXE_v0_2"),
            Stage::V0_3 => env!("CARGO_BIN_EXE_v0_3"),
            Stage::V1_0 => env!("CARGO_BIN_EXE_v1_0"),
            Stage::V1_1 => env!("CARGO_BIN_EXE_v1_1"),
            Stage::V1_2 => env!("CARGO_BIN_EXE_v1_2"),
            Stage::V1_3 => env!("CARGO_BIN_EXE_v1_3"),
            Stage::V2_0 => env!("CARGO_BIN_EXE_v2_0"),
            Stage::V3_0 => env!("CARGO_BIN_EXE_v3_0"),
            Stage::V3_1 => env!("CARGO_BIN_EXE_v3_1"),
        }
    }

    /// What the server prints for the request [`encode_request`] makes of `msg`: the message
    /// itself, or, from v1.0 on, the command `get MSG`, a string over 64 bytes cut short.
    pub fn says(self, msg: &str) -> String {
        match self {
            Stage::V0_1 | Stage::V0_2 | Stage::V0_3 => format!("client says: {msg}"),
            _ if msg.len() > 64 => {
                format!("client says: get {}...({} bytes)", &msg[..64], msg.len())
            }
            _ => format!("client says: get {msg}"),
        }
    }

    /// A command for this stage's binary, with a time limit, for runs that end by themselves.
    pub fn command(self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(self.bin());
        cmd.timeout(TIMEOUT);
        cmd
    }

    /// Runs this stage's client against `addr` with `messages`, to completion.
    pub fn client(self, addr: SocketAddr, messages: &[&str]) -> assert_cmd::assert::Assert {
        self.command().args(["client", "--addr", &addr.to_string()]).args(messages).assert()
    }
}

/// A running stage server.
pub struct Server {
    /// The protocol it speaks.
    pub stage: Stage,
    /// What failures call it: the stage's name, or a stand-in's (the benchmarks' floor).
    pub name: &'static str,
    pub addr: SocketAddr,
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// The server's stdout, held open but never read ([`Output::Unread`]).
    unread_stdout: Option<BufReader<ChildStdout>>,
}

/// What happens to a server's stdout after its first line, `listening on ADDR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Read line by line, for [`Server::next_stdout`].
    Read,
    /// Closed, as when it is piped into `head -1`.
    Closed,
    /// Held open and never read, as when it is piped into a program that stopped reading.
    Unread,
}

/// The first line a server prints, within the timeout, and the rest of its output. (Read on a
/// thread of its own: a server that prints nothing must fail the test, not hang it.)
fn first_line(out: ChildStdout) -> Result<(String, BufReader<ChildStdout>), String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut line = String::new();
        let _ = out.read_line(&mut line);
        let _ = tx.send((line.trim_end().to_string(), out));
    });
    rx.recv_timeout(TIMEOUT).map_err(|e| format!("no first line within {TIMEOUT:?} ({e})"))
}

impl Server {
    /// Starts `stage`'s server on a free loopback port and waits until it is listening.
    pub fn start(stage: Stage) -> Server {
        Server::start_with(stage, &[])
    }

    /// Like [`Server::start`], with more server options (`--quiet`, `--nagle`).
    pub fn start_with(stage: Stage, options: &[&str]) -> Server {
        let mut cmd = Command::new(stage.bin());
        cmd.args(["--addr", "127.0.0.1:0"]).args(options);
        Server::start_command(stage, cmd)
    }

    /// Starts any server that prints `listening on ADDR` first and speaks `stage`'s protocol
    /// (the benchmarks' floor server does).
    pub fn start_command(stage: Stage, cmd: Command) -> Server {
        Server::start_with_stdout(stage, cmd, Output::Read)
    }

    /// Like [`Server::start_command`], for a server that is not a stage but speaks `stage`'s
    /// protocol, called `name` when something fails.
    pub fn start_stand_in(name: &'static str, stage: Stage, cmd: Command) -> Server {
        let mut server = Server::start_command(stage, cmd);
        server.name = name;
        server
    }

    /// Like [`Server::start_command`], with the server's stdout treated as `output` says once
    /// its first line is in.
    pub fn start_with_stdout(stage: Stage, cmd: Command, output: Output) -> Server {
        Server::try_start(stage, cmd, output).unwrap_or_else(|e| panic!("{}: {e}", stage.name()))
    }

    /// Like [`Server::start_with_stdout`], with what went wrong as a value instead of a panic:
    /// for a program someone else wrote, whose failure to start is a finding to report.
    pub fn try_start(stage: Stage, mut cmd: Command, output: Output) -> Result<Server, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        let out = child.stdout.take().expect("piped stdout");
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        // Own the child before anything can fail, so that Drop kills it.
        let (unread, stdout) = mpsc::channel();
        let mut server = Server {
            stage,
            name: stage.name(),
            addr: "0.0.0.0:0".parse().unwrap(),
            child,
            stdout,
            stderr,
            unread_stdout: None,
        };
        let (first, out) = first_line(out)?;
        match output {
            Output::Read => server.stdout = lines_of(out),
            // Dropping our end makes every later write of the server's fail with EPIPE.
            Output::Closed => drop((out, unread)),
            // Held open and never read: the pipe fills, and then the server's writes block.
            Output::Unread => server.unread_stdout = Some(out),
        }
        let addr = first
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("first line should be 'listening on ADDR', got {first:?}"))?;
        server.addr = addr
            .parse()
            .map_err(|e| format!("{addr:?}, after 'listening on', is not a socket address: {e}"))?;
        Ok(server)
    }

    /// Opens a connection to the server, with bounded reads and writes.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to the server");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    /// The server's next line on stdout; fails the test if none comes in time.
    pub fn next_stdout(&self) -> String {
        self.stdout
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("{}: no line on stdout within {TIMEOUT:?} ({e})", self.name))
    }

    /// The server's next line on stderr (its log); fails the test if none comes in time.
    pub fn next_log(&self) -> String {
        self.stderr
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("{}: no line on stderr within {TIMEOUT:?} ({e})", self.name))
    }

    /// The lines the server has written to stderr and no one has read yet, without waiting.
    pub fn logged_so_far(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Asserts the next stdout line is `client says: MSG`.
    pub fn expect_says(&self, msg: &str) {
        assert_eq!(self.next_stdout(), self.stage.says(msg), "{}", self.name);
    }

    /// Asserts the next log line contains `part`, and returns it.
    pub fn expect_log(&self, part: &str) -> String {
        let line = self.next_log();
        assert!(line.contains(part), "{}: log line {line:?} lacks {part:?}", self.name);
        line
    }

    /// Like [`Server::expect_log`], passing over lines that contain `repeated` (a condition the
    /// server logs each time it retries, such as a failing `accept`).
    pub fn expect_log_past(&self, repeated: &str, part: &str) -> String {
        // A retry every 100 ms for the whole timeout is 100 lines; more means something spins.
        for _ in 0..1000 {
            let line = self.next_log();
            if !line.contains(repeated) {
                assert!(line.contains(part), "{}: log {line:?} lacks {part:?}", self.name);
                return line;
            }
        }
        panic!("{}: over 1000 log lines of {repeated:?}", self.name);
    }

    /// The server's process id, to read its memory use from /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits, up to 10 s, until the process's resident memory is below `kib` KiB, checking
    /// every 10 ms: for memory that a thread of the server's gives back in its own time.
    pub fn wait_for_resident_below(&self, kib: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while rss_kib(self.pid()) >= kib {
            let resident = rss_kib(self.pid());
            assert!(Instant::now() < deadline, "{}: {what}: {resident} KiB resident", self.name);
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits, within the timeout, until the process has exited (for one that was asked to).
    pub fn wait_for_exit(&mut self) {
        wait_for_exit(&mut self.child, self.name);
    }

    /// Waits, within the timeout, until the process has exited, and returns how it ended.
    pub fn exit_status(&mut self) -> std::process::ExitStatus {
        wait_for_exit(&mut self.child, self.name);
        self.child.try_wait().expect("poll the child").expect("exited")
    }

    /// Sends the process signal `name` (`TERM`, `INT`), with kill(1).
    pub fn signal(&self, name: &str) {
        let pid = self.pid().to_string();
        let status = Command::new("kill").args([&format!("-{name}"), &pid]).status();
        assert!(status.expect("run kill").success(), "{}: kill -{name} failed", self.name);
    }

    /// Connects until the server refuses (it has closed its listener), within the timeout.
    pub fn wait_until_refused(&self) {
        let started = Instant::now();
        while TcpStream::connect(self.addr).is_ok() {
            assert!(started.elapsed() < TIMEOUT, "{}: still accepting connections", self.name);
        }
    }

    /// Whether the process is still running (it must survive anything a client does).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll the child").is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits, within the timeout, until `child` has exited. No event says a child has exited short
/// of blocking in wait(), which could hang the caller forever; so this looks every few
/// milliseconds, for a bounded time. (Only the benchmarks use it, to let strace finish.)
pub fn wait_for_exit(child: &mut Child, name: &str) {
    let started = std::time::Instant::now();
    while child.try_wait().expect("poll the child").is_none() {
        assert!(started.elapsed() < TIMEOUT, "{name}: did not exit within {TIMEOUT:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Forwards each line of a child's output to a channel, from a thread of its own.
pub fn lines_of<R: Read + Send + 'static>(out: R) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `body` as a v0.2 frame, built by hand so that a bug in the library cannot hide here.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut wire = (body.len() as u32).to_le_bytes().to_vec();
    wire.extend_from_slice(body);
    wire
}

/// The reply every stage gives, as [`read_reply`] returns it.
pub fn world() -> Reply {
    Reply::Got(b"world".to_vec())
}

/// What came back when a reply was expected.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// A whole reply.
    Got(Vec<u8>),
    /// The server closed the connection (end of stream or reset) instead of replying.
    Closed,
}

/// Reads one v0.2 reply frame with std's `read_exact` (independent of the code under test).
pub fn read_reply_frame(stream: &mut impl Read) -> Reply {
    let mut header = [0u8; 4];
    if let Err(e) = stream.read_exact(&mut header) {
        return closed_or_panic(e);
    }
    let mut body = vec![0u8; u32::from_le_bytes(header) as usize];
    match stream.read_exact(&mut body) {
        Ok(()) => Reply::Got(body),
        Err(e) => closed_or_panic(e),
    }
}

/// Reads exactly `count` replies of `world` from `stream`, in bulk (a flood's worth of replies
/// read one frame at a time would take the test seconds).
pub fn expect_worlds(stream: &mut TcpStream, count: usize) {
    let pattern = frame(b"world").repeat(1 << 12);
    let mut buf = vec![0u8; pattern.len()];
    let mut left = count;
    while left > 0 {
        let n = left.min(1 << 12);
        stream
            .read_exact(&mut buf[..n * 9])
            .unwrap_or_else(|e| panic!("{} of {count} replies read, then: {e}", count - left));
        assert!(buf[..n * 9] == pattern[..n * 9], "a reply that is not 'world'");
        left -= n;
    }
}

/// Sends `count` hello requests then `tail`, and only then reads replies, until the server
/// closes the connection. With `half_close`, the sender then shuts down its side of the
/// connection, as a client does that has nothing more to say but still wants its replies.
/// Returns how many replies arrived, and how the stream ended: `Ok` for a clean close (FIN),
/// the error otherwise (a reset).
///
/// Reading only after sending is what makes replies pile up in the server (up to its
/// backpressure threshold) while the requests are still arriving. The sending runs on a thread
/// of its own all the same, and the reading starts after two seconds even if it has not
/// finished: a server that stops reading cannot deadlock the test.
pub fn pipeline_until_close(
    stream: &TcpStream,
    count: usize,
    tail: &[u8],
    half_close: bool,
) -> (usize, io::Result<()>) {
    let mut sender = stream.try_clone().unwrap();
    let batch = frame(b"hello").repeat(1000);
    let mut tail = tail.to_vec();
    tail.splice(0..0, frame(b"hello").repeat(count % 1000));
    let (done, sent) = mpsc::channel();
    let sending = thread::spawn(move || {
        // A server that closed early makes these fail; what arrived is the test's concern.
        let result = (|| {
            for _ in 0..count / 1000 {
                sender.write_all(&batch)?;
            }
            sender.write_all(&tail)?;
            if half_close {
                sender.shutdown(std::net::Shutdown::Write)?;
            }
            Ok::<(), io::Error>(())
        })();
        let _ = done.send(());
        result
    });
    let _ = sent.recv_timeout(Duration::from_secs(2));
    let mut replies = BufReader::with_capacity(1 << 16, stream);
    let mut got = 0;
    let end = loop {
        let mut header = [0u8; 4];
        match replies.read(&mut header[..1]) {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(e),
        }
        if let Err(e) = replies.read_exact(&mut header[1..]) {
            break Err(e);
        }
        let mut body = vec![0u8; u32::from_le_bytes(header) as usize];
        if let Err(e) = replies.read_exact(&mut body) {
            break Err(e);
        }
        assert_eq!(body, b"world", "reply {got}");
        got += 1;
    };
    let _ = sending.join();
    (got, end)
}

/// Reads a v0.1 reply: everything until the server closes the connection.
pub fn read_reply_until_close(stream: &mut TcpStream) -> Reply {
    let mut reply = Vec::new();
    let end = stream.read_to_end(&mut reply);
    // A reset after the reply still delivered the reply: v0.1 resets connections whose
    // request it did not read to the end, and `read_to_end` keeps what came before.
    if reply.is_empty() {
        return end.map_or_else(closed_or_panic, |_| Reply::Closed);
    }
    if let Err(e) = end {
        closed_or_panic(e);
    }
    Reply::Got(reply)
}

/// A closed connection is an answer; a timeout is a failed test.
fn closed_or_panic(e: io::Error) -> Reply {
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Reply::Closed,
        _ => panic!("no reply and no close within {TIMEOUT:?}: {e}"),
    }
}

/// `msg` as `stage` expects a request: raw bytes for v0.1, a frame from v0.2 on, and from
/// v1.0 on the command `get MSG` (whose answer, for a key nobody set, is [`answer`]).
pub fn encode_request(stage: Stage, msg: &[u8]) -> Vec<u8> {
    match stage {
        Stage::V0_1 => msg.to_vec(),
        Stage::V0_2 | Stage::V0_3 => frame(msg),
        Stage::V1_0 | Stage::V1_1 | Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => {
            command(&[b"get", msg])
        }
        Stage::V3_0 | Stage::V3_1 => resp_command(&[b"get", msg]),
    }
}

/// The words of a command as `stage` takes them: from v1.0 on a command frame; before, the
/// words joined by spaces, as one message (which those stages answer `world`).
pub fn encode_command(stage: Stage, words: &[&[u8]]) -> Vec<u8> {
    match stage {
        Stage::V1_0 | Stage::V1_1 | Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => command(words),
        Stage::V3_0 | Stage::V3_1 => resp_command(words),
        _ => encode_request(stage, &words.join(&b' ')),
    }
}

/// A v1.0 request frame carrying `words`, built by hand (independent of `src/request.rs`).
pub fn command(words: &[&[u8]]) -> Vec<u8> {
    let mut body = (words.len() as u32).to_le_bytes().to_vec();
    for word in words {
        body.extend_from_slice(&(word.len() as u32).to_le_bytes());
        body.extend_from_slice(word);
    }
    frame(&body)
}

/// A command as Redis's protocol sends it, an array of bulk strings, built by hand
/// (independent of `src/resp.rs`).
pub fn resp_command(words: &[&[u8]]) -> Vec<u8> {
    let mut wire = format!("*{}\r\n", words.len()).into_bytes();
    for word in words {
        wire.extend(format!("${}\r\n", word.len()).into_bytes());
        wire.extend_from_slice(word);
        wire.extend_from_slice(b"\r\n");
    }
    wire
}

/// Reads one RESP reply, whole, and returns its bytes as they came (independent of
/// `src/resp.rs`, and slow: a byte at a time, for the small replies of tests).
pub fn read_resp_reply(stream: &mut impl Read) -> Reply {
    let mut reply = Vec::new();
    let mut values = 1;
    while values > 0 {
        values -= 1;
        let start = reply.len();
        while !reply.ends_with(b"\r\n") || reply.len() - start < 3 {
            let mut byte = [0u8; 1];
            if let Err(e) = stream.read_exact(&mut byte) {
                return closed_or_panic(e);
            }
            reply.push(byte[0]);
        }
        let header = &reply[start..reply.len() - 2];
        let n: i64 =
            std::str::from_utf8(&header[1..]).ok().and_then(|n| n.parse().ok()).unwrap_or(0);
        match header[0] {
            b'*' if n > 0 => values += n as usize,
            b'$' if n >= 0 => {
                let mut data = vec![0u8; n as usize + 2];
                if let Err(e) = stream.read_exact(&mut data) {
                    return closed_or_panic(e);
                }
                reply.extend_from_slice(&data);
            }
            _ => {}
        }
    }
    Reply::Got(reply)
}

/// The reply to [`encode_request`]'s request: `world` before v1.0; in v1.0 and v1.1, status 2
/// (no such key) and no data; from v1.2 on, the value nil.
pub fn answer(stage: Stage) -> Reply {
    match stage {
        Stage::V1_0 | Stage::V1_1 => Reply::Got(2u32.to_le_bytes().to_vec()),
        Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => Reply::Got(vec![0]),
        Stage::V3_0 | Stage::V3_1 => Reply::Got(b"$-1\r\n".to_vec()),
        _ => world(),
    }
}

/// Reads one reply the way `stage` delimits it.
pub fn read_reply(stage: Stage, stream: &mut TcpStream) -> Reply {
    match stage {
        Stage::V0_1 => read_reply_until_close(stream),
        Stage::V3_0 | Stage::V3_1 => read_resp_reply(stream),
        _ => read_reply_frame(stream),
    }
}

/// Sends one request in `stage`'s protocol and reads the reply.
pub fn request(stage: Stage, stream: &mut TcpStream, msg: &[u8]) -> Reply {
    match stream.write_all(&encode_request(stage, msg)) {
        Ok(()) => read_reply(stage, stream),
        Err(e) => closed_or_panic(e),
    }
}

/// Asserts that the server, after whatever came before, serves a new client normally.
pub fn assert_still_serves(server: &mut Server) {
    assert!(server.is_running(), "{}: the server exited", server.name);
    let mut stream = server.connect();
    let reply = request(server.stage, &mut stream, b"still there?");
    assert_eq!(reply, answer(server.stage), "{}", server.name);
    server.expect_says("still there?");
    // Leave the log as we found it: v0.2 on log every connection's end, v0.1 only failures.
    drop(stream);
    if server.stage != Stage::V0_1 {
        server.expect_log("EOF, client closed the connection");
    }
}

/// A connection that is expected to end without a reply: the server closes it, and the
/// read sees end of stream or a reset (never data, never a timeout).
pub fn assert_closed_without_reply(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("expected the connection to close, got {n} bytes: {:?}", &buf[..n]),
        Err(e) => assert_eq!(closed_or_panic(e), Reply::Closed),
    }
}

/// CPU time process `pid` has used so far, `[user, system]`, in clock ticks of 1/100 s
/// (USER_HZ, 100 on Linux whatever the kernel's own tick rate).
pub fn cpu_ticks(pid: u32) -> [u64; 2] {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // the first, utime the 12th and stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("(comm)").1.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse().expect("a tick count");
    [ticks(11), ticks(12)]
}

/// The peak resident memory of process `pid` so far (VmHWM), in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("a VmHWM line");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmHWM in kB")
}

/// The resident memory of process `pid` now (VmRSS), in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// The address space of process `pid` now (VmSize), in KiB: memory reserved, touched or not.
/// (Memory the allocator got from the kernel but nobody has written to is not resident, so
/// only this shows a buffer reserved for what a header promised.)
pub fn virtual_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmSize:")
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("the field in /proc");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("a size in kB")
}

/// Writes copies of `batch` to `stream` until a write has made no progress for `stall`, or
/// `limit` bytes are sent, and returns how many bytes were sent: exactly, partial writes
/// included. A write that stalls means the server has stopped reading from us.
pub fn write_until_stalled(
    stream: &mut TcpStream,
    batch: &[u8],
    limit: usize,
    stall: Duration,
) -> usize {
    stream.set_write_timeout(Some(stall)).unwrap();
    let (started, mut sent) = (std::time::Instant::now(), 0);
    while sent < limit && started.elapsed() < 2 * TIMEOUT {
        let at = sent % batch.len();
        match stream.write(&batch[at..]) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("write failed after {sent} bytes: {e}"),
        }
    }
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    sent
}

/// Sets the open-file limit of running process `pid` from outside, as an operator would:
/// `prlimit --pid PID --nofile=SOFT:HARD`.
#[allow(dead_code)] // not every test binary lowers a limit
pub fn set_open_file_limit(pid: u32, soft: usize, hard: usize) {
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:{hard}")])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit --pid {pid} --nofile={soft}:{hard} failed");
}

/// Whether `tool` cannot be run here; if so, says that the test is skipped, in one line.
pub fn missing_tool(tool: &str) -> bool {
    let missing = Command::new(tool).arg("--version").output().is_err();
    if missing {
        eprintln!("skipped: {tool} is not installed");
    }
    missing
}

/// How many descriptors process `pid` has open, from /proc/PID/fd.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).expect("/proc/PID/fd").count()
}

/// Waits, within the timeout, until process `pid` has `want` descriptors open, looking every
/// 5 ms (a socket is closed a moment after the line that says why is logged).
pub fn wait_for_open_fds(pid: u32, want: usize) {
    let started = Instant::now();
    while open_fds(pid) != want {
        let open = open_fds(pid);
        assert!(started.elapsed() < TIMEOUT, "{open} descriptors open, not {want}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// A port on which, a moment ago, nothing listened: bind port 0, note the port, let it go.
pub fn unused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// xorshift64*: a PRNG small enough to write here, so that tests and benchmarks need no crate,
/// and a seed replays the same sequence (print it when a test fails).
pub struct Rng(pub u64);

impl Rng {
    /// A generator from `seed`; any seed works (xorshift must not start at zero).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Waits, up to [`TIMEOUT`], until the server at the other end of `client` has read every byte
/// `client` sent: the kernel's table of TCP sockets (/proc/net/tcp) shows nothing waiting in
/// `client`'s send queue, nor unread in the server's socket's receive queue.
pub fn wait_until_read(client: &TcpStream) {
    let (ours, theirs) = (client.local_addr().unwrap(), client.peer_addr().unwrap());
    let hex = |addr: SocketAddr| match addr {
        SocketAddr::V4(v4) => {
            format!("{:08X}:{:04X}", u32::from_le_bytes(v4.ip().octets()), v4.port())
        }
        SocketAddr::V6(_) => panic!("the tests use IPv4 loopback"),
    };
    let (ours, theirs) = (hex(ours), hex(theirs));
    // The queue of the socket from `local` to `remote`: `tx_queue:rx_queue`, in hex.
    let queues = |table: &str, local: &str, remote: &str| -> Option<(u64, u64)> {
        let line = table.lines().find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 4 && f[1] == local && f[2] == remote
        })?;
        let (tx, rx) = line.split_whitespace().nth(4)?.split_once(':')?;
        Some((u64::from_str_radix(tx, 16).ok()?, u64::from_str_radix(rx, 16).ok()?))
    };
    let started = std::time::Instant::now();
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
        let unsent = queues(&table, &ours, &theirs).map(|(tx, _)| tx);
        let unread = queues(&table, &theirs, &ours).map(|(_, rx)| rx);
        if unsent == Some(0) && unread == Some(0) {
            return;
        }
        assert!(started.elapsed() < TIMEOUT, "not read: {unsent:?} unsent, {unread:?} unread");
        thread::sleep(Duration::from_millis(2));
    }
}

/// The id of the server's thread named `lazyfree`, from `/proc`.
pub fn lazyfree_thread(pid: u32) -> String {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads");
    let named = |tid: &String| {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"));
        comm.is_ok_and(|comm| comm.trim() == "lazyfree")
    };
    let tids = tasks.filter_map(|task| task.ok()?.file_name().into_string().ok());
    tids.into_iter().find(named).expect("a thread named lazyfree")
}

/// How many times thread `tid` has blocked of its own accord (waited to read, say).
pub fn times_blocked(pid: u32, tid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("voluntary_ctxt_switches:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A `redis-server` on a free loopback port, without persistence, killed on drop.
pub struct Redis(std::process::Child);

impl Redis {
    /// `None` where `redis-server` is not installed, or did not say it was ready in time.
    pub fn start(port: u16) -> Option<Redis> {
        let mut child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let lines = lines_of(child.stdout.take()?);
        let redis = Redis(child);
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            if lines.recv_timeout(left).ok()?.contains("Ready to accept connections") {
                return Some(redis);
            }
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
