// src/event_loop.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! The event loop: one thread, many clients, non-blocking sockets and poll(2). Introduced in
//! v0.3, where it answers every frame with `world`; from v1.0 on, each stage plugs its own
//! commands into the same loop as a [`Service`], and the loop learns what the stage needs.
//!
//! Nothing blocks. Every socket is non-blocking, and the only place the server waits is `poll`,
//! which returns when *some* socket is ready or a deadline passes. Each client has a [`Conn`]
//! with its own buffers, so a half-read frame or a half-sent reply waits in memory, not in a
//! blocked call, and the loop serves the next ready client meanwhile. Every complete frame
//! that one `read` brought in is answered, and all the replies go out together: that is
//! pipelining done properly.
//!
//! Limits, so that no client can cost more than its share: a client whose unsent replies pass
//! [`PAUSE_READING_ABOVE`] is not read from until they drain (backpressure); a client's
//! incoming buffer grows only with the bytes that arrive, up to one frame of the service's
//! [`Service::MAX_MSG`];
//! at most `--max-conns` clients are served at once; a protocol violation closes only that
//! client, and only after the replies it was already owed have been delivered.
//! A costly request (a `keys`, v1.2) lets the other clients go first.
//!
//! From v2.0 on the loop also keeps time: it closes clients silent for longer than
//! `--idle-timeout` (the stages before have no such option, and close no one for being idle),
//! and wakes for the service's own deadlines (keys that expire). `poll`'s timeout is the
//! nearest deadline of any kind, so an idle server sleeps until something is due.
//!
//! From v3.0 on, a request need not be a frame: the service cuts its own from the bytes that
//! arrived ([`Service::answer_next`]), keeps what it needs of each connection between reads
//! (a [`Session`]), and has a big string read into a buffer of its own ([`Next::BigString`]);
//! a reply may send a string the service shares with the connection, uncopied ([`Outgoing`]).
//!
//! SIGTERM and SIGINT stop it well: the loop stops accepting and answering, lets every client
//! take the replies already answered for up to [`SHUTDOWN_GRACE`], and returns.
//!
//! From v3.0 on it waits with epoll(7) instead of poll: the kernel keeps the set of sockets
//! between waits, told only what changed, so a wait costs what is ready, not what is open.
//! What it cannot do: save anything before it exits (no stage keeps its data on disk yet).

use std::collections::VecDeque;
use std::ffi::{c_int, c_short};
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::ServerOpts;
use crate::errln;
use crate::frame::{HEADER_LEN, ended_inside, parse_frame_up_to};
use crate::net::{ACCEPT_BACKOFF, Delivery, LINGER_BYTES, accept_should_back_off, listen};
use crate::sys::{
    Epoll, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, SIGINT, SIGTERM, shutdown_signals,
    unacknowledged,
};

// ANCHOR: service
/// What a stage plugs into the loop: the largest request it accepts, and how it answers one.
pub trait Service {
    /// The largest request body, in bytes: the stage's `k_max_msg`, checked as soon as a
    /// frame's header is in, before its body is waited for.
    const MAX_MSG: usize;

    /// What the service keeps of each connection between two reads, made when the connection
    /// is accepted and dropped with it: nothing (`()`) while a request is a frame that says how
    /// long it is; from v3.0 on, how far a request of Redis's protocol has been read.
    type Session: Session;

    /// What to tell a client that arrives when `--max-conns` are already served, before its
    /// connection is closed: words of the service's protocol, if it has any for this. The
    /// default, none: the connection is closed without a word.
    const REFUSAL: Option<&'static [u8]> = None;

    /// Answers one request, `body`, by appending one whole reply frame to `out`. An error
    /// means the request broke the protocol: nothing after it is answered, and the connection
    /// closes once the replies before it are delivered.
    fn answer(&mut self, body: &[u8], out: &mut Vec<u8>) -> io::Result<()>;

    /// Cuts the first request from the front of `buf`, the bytes received and not yet
    /// answered, and answers it (see [`Next`]). The default reads v0.2's length-prefixed
    /// frames and hands each body to [`Service::answer`]; a protocol without frames (Redis's
    /// own, v3.0) replaces it.
    fn answer_next(
        &mut self,
        _session: &mut Self::Session,
        buf: &[u8],
        out: &mut Outgoing,
    ) -> io::Result<Next> {
        Ok(match answer_frame(self, buf, out.bytes())? {
            Some(used) => Next::Answered(used),
            None => Next::Wait,
        })
    }

    /// What to say when a client's stream ends in the middle of a request, `partial` being
    /// what arrived of it into the buffer (the session may hold more). The default reads it as
    /// a frame: how much of how many bytes.
    fn ended_inside(&self, _session: &Self::Session, partial: &[u8]) -> io::Error {
        ended_inside(partial)
    }

    /// Whether the request just answered was costly enough (a `keys` that walked a big table)
    /// that the loop should serve the other clients before answering another request from the
    /// same one. Without it, one write of a thousand such requests would hold every other
    /// client for a thousand times as long as one. The default, never, suits a service whose
    /// every request is cheap.
    fn should_yield(&mut self) -> bool {
        false
    }

    /// The next moment the service has work of its own to do (the earliest deadline of a key,
    /// from v2.0 on), so that `poll` wakes for it. The default: never.
    fn next_deadline(&mut self) -> Option<Instant> {
        None
    }

    /// Does a bounded part of the service's own work that is due at `now` (expiring keys). The
    /// loop calls it once per turn; if more is due, `next_deadline` is still in the past and
    /// the next `poll` returns at once, after every ready client has been served.
    fn on_timers(&mut self, _now: Instant) {}

    /// A socket that a thread of the service's own writes to when it needs the loop (v2.0's
    /// `lazyfree` thread, asking it to merge the blocks it freed): the loop polls it with the
    /// clients' sockets and calls [`Service::on_wake`] when it is readable. The default: none.
    /// A service that gives one must read it in `on_wake`: a socket left readable would wake
    /// the loop at once, every turn.
    fn wake_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// Does what the thread behind [`Service::wake_fd`] asked for.
    fn on_wake(&mut self) {}

    /// Takes back a string the service shared with a connection ([`Outgoing::push_shared`]),
    /// now sent, or never to be, or a big string of a request a closed connection never
    /// finished: the service frees it if no one else holds it. The default drops it.
    fn take_back(&mut self, _shared: Arc<Vec<u8>>) {}
}

/// What [`Service::answer_next`] did with the front of a connection's unread bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Answered one request, made of the first this many bytes.
    Answered(usize),
    /// No whole request yet: read more.
    Wait,
    /// No whole request yet, and the bytes from `at` on begin a string big enough to be read
    /// into a buffer of its own, which [`Session::big_string`] gives: the loop moves them
    /// there, and reads what follows into it until it is full.
    BigString { at: usize },
}

/// A connection's part of the service: see [`Service::Session`].
pub trait Session: Default {
    /// A buffer that the next bytes from the client are for, and how many it wants, while a
    /// big string arrives (v3.0); the loop reads into it instead of the connection's buffer.
    fn big_string(&mut self) -> Option<(&mut Vec<u8>, usize)> {
        None
    }

    /// Bytes of the request being read that the session holds outside the connection's buffer
    /// (a big string's so far), for saying how much of a request came before a stream ended.
    fn bytes_held(&self) -> usize {
        0
    }

    /// Those buffers, taken: the connection is closing, and the service frees them
    /// ([`Service::take_back`]).
    fn take_held(&mut self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// No session: a stage whose requests are frames.
impl Session for () {}
// ANCHOR_END: service

// ANCHOR: answer_frame
/// Cuts the first frame from the front of `buf` and has `service` answer the body: how many
/// bytes the frame took, or `None` while it has not all arrived. An error is the protocol
/// broken (a frame too long) or the service's own.
// `?Sized`: from v3.0, `Service::answer_next` calls it with `self`, which may be unsized there.
fn answer_frame<S: Service + ?Sized>(
    service: &mut S,
    buf: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<Option<usize>> {
    let Some((body, used)) = parse_frame_up_to(buf, S::MAX_MSG)? else {
        return Ok(None);
    };
    service.answer(body, out)?;
    Ok(Some(used))
}
// ANCHOR_END: answer_frame

// ANCHOR: limits
/// Unsent reply bytes above which a client's requests are neither answered nor read until
/// they drain. Without it, a client that pipelines requests and never reads replies would grow
/// the server's memory without bound. (It can be passed by one reply: a reply is built whole.)
const PAUSE_READING_ABOVE: usize = 1 << 20;

/// Room for received bytes per client, made at its first read (a client that has sent nothing
/// costs no buffer), and gone back to: several small frames. A frame too big for it makes it
/// grow, with the bytes that arrive, up to one whole frame.
const INCOMING_CAP: usize = 16 * 1024;

/// The reply buffer's capacity kept once it has drained; a burst's worth above this is given
/// back, so that an idle client costs little whatever it did before.
const OUTGOING_KEEP: usize = 64 * 1024;

/// The most reads of a client's unread requests when the shutdown lets it go: 1,024 of the
/// connection's buffer, 16 MiB or more, past anything a kernel's receive queue holds.
const LET_GO_READS: usize = 1024;

/// The most a full buffer grows by at once: the new room is written with zeros, and 1 MiB of
/// memory never touched before costs a fraction of a millisecond to fault in and zero.
const GROW_AT_MOST: usize = 1 << 20;

/// The most bytes of a big string read from one client in one turn: a client sending 400 MiB
/// as fast as loopback goes would otherwise keep the loop reading for a quarter of a second,
/// while everyone else waits. Small, because the bytes land in memory never touched before,
/// and each new page costs a fault: measured, 1 MiB turns gave the other clients a median
/// round trip of 0.65 ms during a 400 MiB `SET`, 256 KiB turns 0.23 to 0.33 ms, 64 KiB turns
/// 69 to 92 µs.
const BIG_STRING_PER_TURN: usize = 64 << 10;

/// The most reply bytes written to one client in one turn, as Redis's
/// `NET_MAX_WRITES_PER_EVENT`: a client that pipelines `GET`s of a 1 MiB value and reads as
/// fast as loopback goes would otherwise take every byte the loop can write, turn after turn
/// of answering and writing without a wait in between (`a_fast_reader_of_big_replies_takes_turns`
/// in `tests/one_client.rs` saw 12 to 111 MiB written to it before another client's `PING`).
const WRITE_PER_TURN: usize = 64 << 10;
// ANCHOR_END: limits

// ANCHOR: outgoing
/// A connection's replies on their way out: bytes, and between them strings the service
/// shares with the connection (a `GET` of a big value), which go out from where the store
/// keeps them. Copied into the reply's bytes, a 400 MiB value stopped every other client for
/// 233 to 247 ms, the time it takes to fault in and fill that much fresh memory (the `GET`
/// rows of `benches/one_client.rs`, in a run on the code before).
#[derive(Default)]
pub struct Outgoing {
    /// The replies' bytes, shared strings left out: `bytes[..sent]` are sent.
    bytes: Vec<u8>,
    sent: usize,
    /// The shared strings, in order, each with where it goes: just before `bytes[at]`.
    shared: VecDeque<(usize, Arc<Vec<u8>>)>,
    /// How much of the first shared string is sent, and how much of them all is not.
    shared_sent: usize,
    shared_unsent: usize,
    /// Shared strings sent whole, for the service to take back ([`Service::take_back`]).
    done: Vec<Arc<Vec<u8>>>,
}

impl Outgoing {
    /// The bytes, for a reply to be appended to. (Only appended to: the shared strings'
    /// places count from the front.)
    pub fn bytes(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Appends a string to the replies without copying it. Once it is sent, its `Arc` goes
    /// back to the service ([`Service::take_back`]).
    pub fn push_shared(&mut self, value: Arc<Vec<u8>>) {
        if !value.is_empty() {
            self.shared_unsent += value.len();
            self.shared.push_back((self.bytes.len(), value));
        }
    }

    fn unsent(&self) -> usize {
        self.bytes.len() - self.sent + self.shared_unsent
    }

    /// What to write next: the rest of the shared string due now, or the bytes before the
    /// next one.
    fn next(&self) -> &[u8] {
        match self.shared.front() {
            Some((at, value)) if *at == self.sent => &value[self.shared_sent..],
            Some((at, _)) => &self.bytes[self.sent..*at],
            None => &self.bytes[self.sent..],
        }
    }

    /// Counts `n` bytes of [`Outgoing::next`] as written; a shared string written whole is
    /// done.
    fn advance(&mut self, n: usize) {
        match self.shared.front() {
            Some((at, value)) if *at == self.sent => {
                self.shared_unsent -= n;
                self.shared_sent += n;
                if self.shared_sent == value.len() {
                    self.done.extend(self.shared.pop_front().map(|(_, value)| value));
                    self.shared_sent = 0;
                }
            }
            _ => self.sent += n,
        }
    }

    /// Gives back the memory of what is sent: all of it, down to the capacity kept, once
    /// everything is out (after a burst, an idle client should cost little); else the sent
    /// front, once it outweighs the rest (O(1) per byte, amortised).
    fn forget_sent(&mut self) {
        if self.unsent() == 0 {
            (self.sent, self.shared_sent) = (0, 0);
            self.bytes.clear();
            self.bytes.shrink_to(OUTGOING_KEEP);
        } else if self.sent > self.bytes.len() - self.sent {
            self.bytes.drain(..self.sent);
            for (at, _) in &mut self.shared {
                *at -= self.sent;
            }
            self.sent = 0;
        }
    }

    /// Hands every shared string that is done to the service; with `all`, those not sent
    /// too (the connection is closing).
    fn give_back<S: Service + ?Sized>(&mut self, service: &mut S, all: bool) {
        for value in self.done.drain(..) {
            service.take_back(value);
        }
        if all {
            self.shared_unsent = 0;
            for (_, value) in self.shared.drain(..) {
                service.take_back(value);
            }
        }
    }
}
// ANCHOR_END: outgoing

// ANCHOR: conn
/// One client's state, kept between waits; `T`, the service's part of it.
struct Conn<T> {
    stream: TcpStream,
    peer: String,
    session: T,
    /// Received bytes; those in `incoming[start..end]` are not yet cut into frames.
    incoming: Vec<u8>,
    start: usize,
    end: usize,
    /// Replies waiting to be sent.
    outgoing: Outgoing,
    phase: Phase,
    /// The client has closed its sending side (we read end of stream): nothing more comes.
    peer_closed: bool,
    /// Bytes read and thrown away since the connection began to close.
    discarded: usize,
    /// Set when the service asked to yield with whole frames still buffered: the moment from
    /// which they wait, so that `poll` returns at once and they are answered next turn.
    resume_at: Option<Instant>,
    /// When the client last did anything: sent bytes, or took some of its replies.
    last_active: Instant,
    /// Reply bytes not yet delivered when the idle check last looked (`usize::MAX`: never).
    undelivered_seen: usize,
    /// The connections either side of this one in order of last activity (indices in
    /// [`Conns`], `NONE` at either end): see [`Conns`].
    older: u32,
    newer: u32,
    /// What epoll was last told about this socket.
    watched: Watched,
}

/// Where a connection is in its life. It only ever moves down this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading requests and answering them.
    Serving,
    /// No more requests will be answered (the client sent end of stream, or broke the
    /// protocol); sending the replies already answered.
    Draining,
    /// Every reply handed to the kernel and our side shut down (a FIN queued behind them):
    /// throwing away what the client still sends until it closes its side too, or stops
    /// taking delivery of its replies for a while (see `net::Delivery`).
    Lingering(Delivery),
    /// Done: the loop drops the `Conn`, which closes the socket.
    Closed,
}
// ANCHOR_END: conn

// ANCHOR: tokens
/// What epoll calls each socket when it is ready: the loop's own three first, then each
/// connection by its place in [`Conns`], so that a wait's results are indexed as poll's were.
const SIGNALS: usize = 0;
const LISTENER: usize = 1;
/// The service's wake-up descriptor, if it has one (the freeing thread's, from v2.0).
const WAKE: usize = 2;
const FIRST_CONN: usize = 3;

/// Which token, and which events, epoll was last told for one socket: `None` before it was
/// told anything (the socket is not in its set yet).
type Watched = Option<(usize, c_short)>;

/// Has epoll watch `fd` for `events` under `token`, unless it already does: most turns, a
/// socket wants what it wanted last turn, and this costs no system call.
fn watch(
    epoll: &Epoll,
    fd: BorrowedFd<'_>,
    watched: &mut Watched,
    token: usize,
    events: c_short,
) -> io::Result<()> {
    if *watched != Some((token, events)) {
        epoll.watch(fd, token, events, watched.is_some())?;
        *watched = Some((token, events));
    }
    Ok(())
}
// ANCHOR_END: tokens

// ANCHOR: serve
/// The event loop: wait until some socket is ready or a deadline passes, serve exactly what is
/// ready, repeat. Every request is answered by `service`.
pub fn serve<S: Service>(opts: &ServerOpts, service: &mut S) -> io::Result<()> {
    // Before listening: from the moment clients can come, a signal to stop is heard.
    let signals = shutdown_signals()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot catch SIGTERM and SIGINT: {e}")))?;
    let listener = listen(opts.addr)?;
    listener.set_nonblocking(true)?;
    let mut conns = Conns::<S::Session>::new();
    // Set after `accept` failed for a reason of the server's: not before then, try again.
    let mut accept_paused_until: Option<Instant> = None;
    let mut epoll = Epoll::new().map_err(|e| io::Error::new(e.kind(), format!("epoll: {e}")))?;
    epoll.watch(signals.as_fd(), SIGNALS, POLLIN, false)?;
    if let Some(fd) = service.wake_fd() {
        epoll.watch(fd, WAKE, POLLIN, false)?;
    }
    let mut listener_watched = None;
    loop {
        let deadlines = accept_paused_until
            .into_iter()
            .chain(conns.list.iter().filter_map(Conn::deadline))
            .chain(conns.idle_deadline(opts.idle_timeout))
            .chain(service.next_deadline());
        let timeout = timeout_ms(Instant::now(), deadlines.min());
        // Which events each socket should wake us for, worked out every turn from its state.
        let listen_for = if accept_paused_until.is_none() { POLLIN } else { 0 };
        // epoll is told only what changed since the last turn.
        let listener_fd = listener.as_fd();
        if let Err(e) = watch(&epoll, listener_fd, &mut listener_watched, LISTENER, listen_for) {
            errln!("epoll_ctl on the listening socket failed: {e}");
        }
        conns.watch_all(&epoll);
        let ready = match epoll.wait(FIRST_CONN + conns.list.len(), timeout) {
            Ok(ready) => ready,
            Err(e) => {
                poll_failed(e);
                continue;
            }
        };
        if ready[SIGNALS] != 0
            && let Some(caught) = read_signals(signals)
        {
            // Stop accepting: a client that connects from now on is refused, not left waiting.
            drop(listener);
            return shut_down(caught, &mut conns, &mut epoll, signals, service);
        }
        let now = Instant::now();
        if ready[WAKE] != 0 {
            service.on_wake();
        }
        for (i, &revents) in ready[FIRST_CONN..].iter().enumerate() {
            conns.list[i].on_events(revents, now, service);
            if revents != 0 {
                conns.touch(i, now);
            }
        }
        // Every reply of the turn goes out now, back to back, after every ready client has been
        // answered: a client is woken once for all its replies, not once per read we answered.
        for conn in &mut conns.list {
            conn.flush(service);
        }
        service.on_timers(now);
        conns.close_idle(opts.idle_timeout, now);
        // Dropping a `Conn` closes its socket.
        conns.remove_closed(service);
        if ready[LISTENER] & POLLIN != 0 {
            accept_paused_until = accept_all::<S>(&listener, &mut conns, opts);
        } else if accept_paused_until.is_some_and(|until| until <= now) {
            accept_paused_until = None;
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: shut_down
/// How long clients are given, once a signal has asked the server to stop, to take the
/// replies they are owed; then the server exits whatever is left.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// While shutting down, how often to look whether the closing connections' replies have all
/// arrived: an acknowledgement coming in is not something `poll` reports.
const SHUTDOWN_CHECK: Duration = Duration::from_millis(10);

/// The signals caught since the last look: the first one's number, the last one's, and how
/// many.
struct Caught {
    first: u8,
    last: u8,
    count: usize,
}

fn read_signals(mut signals: &UnixStream) -> Option<Caught> {
    let mut bytes = [0u8; 16];
    match signals.read(&mut bytes) {
        Ok(count) if count > 0 => Some(Caught { first: bytes[0], last: bytes[count - 1], count }),
        _ => None,
    }
}

/// After SIGTERM or SIGINT, with the listener closed: nothing more is answered, the replies
/// already answered go out, and each connection closes as it would, for at most
/// [`SHUTDOWN_GRACE`]; then the service has its last word, and the server exits 0, saying so in
/// one line. Another signal meanwhile: exit at once, status 1.
fn shut_down<S: Service>(
    mut caught: Caught,
    conns: &mut Conns<S::Session>,
    epoll: &mut Epoll,
    signals: &UnixStream,
    service: &mut S,
) -> io::Result<()> {
    let (started, clients) = (Instant::now(), conns.list.len());
    conns.list.iter_mut().for_each(Conn::stop_answering);
    loop {
        if caught.count > 1 {
            let (first, last, left) = (name(caught.first), name(caught.last), conns.list.len());
            let left = count(left, "client");
            let msg =
                format!("{last} while shutting down on {first}: exiting at once, {left} not done");
            return Err(io::Error::other(msg));
        }
        for conn in &mut conns.list {
            conn.flush(service);
            conn.close_if_delivered();
        }
        conns.remove_closed(service);
        let now = Instant::now();
        if conns.list.is_empty() || now >= started + SHUTDOWN_GRACE {
            break;
        }
        let wake_at = (started + SHUTDOWN_GRACE).min(now + SHUTDOWN_CHECK);
        conns.watch_all(epoll);
        let ready = match epoll.wait(FIRST_CONN + conns.list.len(), timeout_ms(now, Some(wake_at)))
        {
            Ok(ready) => ready,
            Err(e) => {
                poll_failed(e);
                continue;
            }
        };
        if ready[SIGNALS] != 0
            && let Some(more) = read_signals(signals)
        {
            (caught.last, caught.count) = (more.last, caught.count + more.count);
        }
        // Still watched, and reported until it is read: the freeing thread has finished.
        if ready[WAKE] != 0 {
            service.on_wake();
        }
        let now = Instant::now();
        for (i, &revents) in ready[FIRST_CONN..].iter().enumerate() {
            conns.list[i].on_events(revents, now, service);
        }
    }
    // Out of time, or done: what is left goes as it is.
    conns.list.iter_mut().for_each(Conn::let_go);
    let ms = started.elapsed().as_millis();
    let first = name(caught.first);
    errln!("{first}: shut down in {ms} ms; {}", conns.what_was_left(clients));
    Ok(())
}

/// `n` things, in English: "1 client", "2 clients".
fn count(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

fn name(signal: u8) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
// ANCHOR_END: shut_down

/// Milliseconds from `now` until `deadline`, rounded up so that `poll` never wakes a moment
/// early and spins; -1 (wait as long as it takes) when there is no deadline.
fn timeout_ms(now: Instant, deadline: Option<Instant>) -> c_int {
    let Some(deadline) = deadline else { return -1 };
    let micros = deadline.saturating_duration_since(now).as_micros();
    micros.div_ceil(1000).try_into().unwrap_or(c_int::MAX)
}

// ANCHOR: poll_failed
/// What to do when `epoll_wait` fails: go round again after a signal; otherwise say so and
/// wait a little before trying again. (Unlike poll(2), it never fails for having more
/// descriptors to watch than the open-file limit now allows: they are in the kernel already.)
fn poll_failed(e: io::Error) {
    if e.kind() != io::ErrorKind::Interrupted {
        errln!("epoll_wait failed: {e}; trying again in {} ms", ACCEPT_BACKOFF.as_millis());
        thread::sleep(ACCEPT_BACKOFF);
    }
}
// ANCHOR_END: poll_failed

// ANCHOR: accept_all
/// Accepts every connection that is waiting. Returns `None` to go on accepting, or the moment
/// to try again after `accept` failed for a reason of the server's own (out of file
/// descriptors, say): the listener stays readable meanwhile, so asking `poll` about it would
/// wake the loop at once, forever. The pause is a `poll` timeout, never a sleep: the clients
/// already connected go on being served.
fn accept_all<S: Service>(
    listener: &TcpListener,
    conns: &mut Conns<S::Session>,
    opts: &ServerOpts,
) -> Option<Instant> {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if !accept_should_back_off(&e) => continue,
            Err(e) => {
                let ms = ACCEPT_BACKOFF.as_millis();
                errln!("accept failed: {e}; trying again in {ms} ms");
                return Some(Instant::now() + ACCEPT_BACKOFF);
            }
        };
        if conns.list.len() >= opts.max_conns {
            errln!("{peer}: refused: already serving {} clients", conns.list.len());
            refuse(stream, S::REFUSAL);
            continue;
        }
        match Conn::new(stream, peer.to_string(), opts.nagle) {
            Ok(conn) => conns.push(conn),
            Err(e) => errln!("{peer}: cannot set up the connection: {e}"),
        }
    }
}

/// Tells a client past `--max-conns` why, if the protocol has words for it, and closes its
/// connection (dropping `stream`). One `write` that cannot block: the socket is fresh, its
/// send buffer empty, and a line of a few dozen bytes fits it whole. Whatever goes wrong
/// (the client already left), there is nothing more to do for it.
fn refuse(stream: TcpStream, refusal: Option<&[u8]>) {
    if let Some(words) = refusal
        && stream.set_nonblocking(true).is_ok()
    {
        let _ = (&stream).write(words);
    }
}
// ANCHOR_END: accept_all

// ANCHOR: conns
/// What an idle check found of a connection's replies.
enum Undelivered {
    /// Some were delivered since the last look: the client is reading, slowly.
    Moving,
    /// None moved (or none are left): this many bytes wait.
    Stuck(usize),
}

/// No connection: the end of the list either way.
const NONE: u32 = u32::MAX;

/// Every connection, and their order of last activity: a doubly-linked list threaded through
/// the connections themselves by index, oldest first, as the C++ original threads its idle
/// list through its `Conn`s with pointers. Moving a connection to the newest end when it
/// does something, and finding the oldest, are both O(1), however many clients there are.
///
/// Why indices: safe Rust cannot have two pointers into one `Vec` element that both may
/// write, but it can hold numbers. The connections stay packed in `list` (which `poll` wants
/// in order, every turn), and removing one moves the last into its place (`swap_remove`), so
/// only that one's neighbours need their links fixed.
struct Conns<T> {
    list: Vec<Conn<T>>,
    oldest: u32,
    newest: u32,
}

impl<T: Session> Conns<T> {
    fn new() -> Conns<T> {
        Conns { list: Vec::new(), oldest: NONE, newest: NONE }
    }

    fn push(&mut self, conn: Conn<T>) {
        self.list.push(conn);
        self.link_newest(self.list.len() - 1);
    }

    /// Connection `i` did something at `now`: it becomes the newest.
    fn touch(&mut self, i: usize, now: Instant) {
        self.list[i].last_active = now;
        if self.newest as usize != i {
            self.unlink(i);
            self.link_newest(i);
        }
    }

    /// When the oldest connection will have been silent for `timeout`: the only idle deadline
    /// the loop needs, as every other connection was active more recently.
    fn idle_deadline(&self, timeout: Option<Duration>) -> Option<Instant> {
        let oldest = self.list.get(self.oldest as usize)?;
        Some(oldest.last_active + timeout?)
    }

    /// Closes every connection silent for `timeout`: the oldest ones, until one is not. A
    /// connection still taking delivery of its replies is not silent, even if `poll` had
    /// nothing to say about it (Linux reports room to write only once the free space is half
    /// of what is still queued, `sk_stream_min_wspace`: a third of a big send buffer, which a
    /// slow reader can take seconds to drain): it is touched instead,
    /// and closed only after a whole timeout in which none of its replies moved. Connections
    /// already closing are left to their own deadlines.
    fn close_idle(&mut self, timeout: Option<Duration>, now: Instant) {
        let Some(timeout) = timeout else { return };
        let mut at = self.oldest;
        while let Some(conn) = self.list.get_mut(at as usize)
            && conn.last_active + timeout <= now
        {
            let next = conn.newer;
            if conn.phase == Phase::Serving {
                match conn.undelivered() {
                    Undelivered::Moving => self.touch(at as usize, now),
                    Undelivered::Stuck(bytes) => {
                        let silent = now.duration_since(conn.last_active).as_millis();
                        let lost = if bytes > 0 {
                            format!(", {bytes} bytes undelivered")
                        } else {
                            String::new()
                        };
                        conn.abort(format_args!("idle for {silent} ms{lost}"));
                    }
                }
            }
            at = next;
        }
    }

    /// What a shutdown left, of `clients` connections: how many had every reply; of those still
    /// open when the grace ran out, how many reply bytes were never sent, and how many were
    /// sent but not yet acknowledged (the kernel goes on delivering those after we exit).
    fn what_was_left(&self, clients: usize) -> String {
        let left = self.list.len();
        if left == 0 {
            return format!("{}, all had every reply", count(clients, "client"));
        }
        let unsent: usize = self.list.iter().map(Conn::unsent).sum();
        let unacked = |conn: &Conn<T>| unacknowledged(conn.stream.as_fd()).unwrap_or(0);
        let in_flight: usize = self.list.iter().map(unacked).sum();
        let done = clients - left;
        format!(
            "{done} of {clients} clients had every reply; {left} not done: {unsent} reply bytes \
             unsent, {in_flight} sent and not yet acknowledged"
        )
    }

    // ANCHOR: watch_all
    /// Tells epoll what each connection waits for now, where that changed. A connection
    /// `swap_remove` moved has a new place, so a new token: epoll is told that too. One
    /// epoll cannot watch does not cost the others: it is closed.
    fn watch_all(&mut self, epoll: &Epoll) {
        for (i, conn) in self.list.iter_mut().enumerate() {
            let (_, events) = conn.interest();
            let fd = conn.stream.as_fd();
            if let Err(e) = watch(epoll, fd, &mut conn.watched, FIRST_CONN + i, events) {
                conn.abort(format_args!("epoll cannot watch it: {e}"));
            }
        }
    }
    // ANCHOR_END: watch_all

    /// Drops the connections that are done, closing their sockets.
    /// What they were still to send of shared strings goes back to the service.
    fn remove_closed<S: Service>(&mut self, service: &mut S) {
        for i in (0..self.list.len()).rev() {
            if self.list[i].phase == Phase::Closed {
                let conn = &mut self.list[i];
                conn.outgoing.give_back(service, true);
                // The big strings of a request never answered, up to 512 MiB each, whole or cut
                // short, are freed as the service frees values.
                for bytes in conn.session.take_held().into_iter().filter(|b| b.capacity() > 0) {
                    service.take_back(Arc::new(bytes));
                }
                self.unlink(i);
                self.list.swap_remove(i);
                if i < self.list.len() {
                    self.relink_moved(i);
                }
            }
        }
    }

    fn link_newest(&mut self, i: usize) {
        (self.list[i].older, self.list[i].newer) = (self.newest, NONE);
        match self.newest {
            NONE => self.oldest = i as u32,
            newest => self.list[newest as usize].newer = i as u32,
        }
        self.newest = i as u32;
    }

    fn unlink(&mut self, i: usize) {
        let (older, newer) = (self.list[i].older, self.list[i].newer);
        match older {
            NONE => self.oldest = newer,
            older => self.list[older as usize].newer = newer,
        }
        match newer {
            NONE => self.newest = older,
            newer => self.list[newer as usize].older = older,
        }
    }

    /// The connection now at `i` was moved there from the end: its neighbours' links, and the
    /// ends', still name its old index.
    fn relink_moved(&mut self, i: usize) {
        let (old, older, newer) = (self.list.len() as u32, self.list[i].older, self.list[i].newer);
        match older {
            NONE => self.oldest = i as u32,
            older => self.list[older as usize].newer = i as u32,
        }
        match newer {
            NONE => self.newest = i as u32,
            newer => self.list[newer as usize].older = i as u32,
        }
        debug_assert!(self.oldest != old && self.newest != old);
    }
}
// ANCHOR_END: conns

impl<T: Session> Conn<T> {
    fn new(stream: TcpStream, peer: String, nagle: bool) -> io::Result<Conn<T>> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(!nagle)?;
        Ok(Conn {
            stream,
            peer,
            session: T::default(),
            incoming: Vec::new(),
            start: 0,
            end: 0,
            outgoing: Outgoing::default(),
            phase: Phase::Serving,
            peer_closed: false,
            discarded: 0,
            resume_at: None,
            last_active: Instant::now(),
            undelivered_seen: usize::MAX,
            older: NONE,
            newer: NONE,
            watched: None,
        })
    }

    fn unsent(&self) -> usize {
        self.outgoing.unsent()
    }

    /// Whether this connection's replies are still on their way to the client: what is queued
    /// here or unacknowledged in the kernel, compared with the last look.
    fn undelivered(&mut self) -> Undelivered {
        let unacked = unacknowledged(self.stream.as_fd()).unwrap_or(0);
        let now = self.unsent() + unacked;
        let before = std::mem::replace(&mut self.undelivered_seen, now);
        match now > 0 && now < before {
            true => Undelivered::Moving,
            false => Undelivered::Stuck(now),
        }
    }

    // ANCHOR: interest
    /// The socket and what to wake for: writable while replies wait; readable while serving,
    /// unless the client is not reading its replies (backpressure), and while closing, until
    /// the client has closed its side, so that what it still sends can be thrown away.
    fn interest(&self) -> (BorrowedFd<'_>, c_short) {
        let want_read = match self.phase {
            Phase::Serving => self.unsent() <= PAUSE_READING_ABOVE,
            Phase::Draining | Phase::Lingering(_) => {
                !self.peer_closed && self.discarded <= LINGER_BYTES
            }
            Phase::Closed => false,
        };
        let want_write = self.unsent() > 0;
        let events = if want_read { POLLIN } else { 0 } | if want_write { POLLOUT } else { 0 };
        (self.stream.as_fd(), events)
    }
    // ANCHOR_END: interest

    /// When the loop must wake for this connection even if nothing happens: the next time a
    /// lingering connection checks on its client, or at once when frames wait to be answered
    /// after the connection yielded to the others.
    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Lingering(delivery) => Some(delivery.deadline),
            Phase::Serving => self.resume_at,
            _ => None,
        }
    }

    // ANCHOR: on_events
    /// Serves whatever `poll` said is ready. An error or hang-up is handled as readable: the
    /// read that follows reports what happened.
    fn on_events<S: Service<Session = T>>(
        &mut self,
        revents: c_short,
        now: Instant,
        service: &mut S,
    ) {
        if self.resume_at.take().is_some() && self.phase == Phase::Serving {
            // This connection's turn again, after it yielded: its waiting frames come first.
            self.answer_buffered(service);
        }
        if revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL) != 0 {
            match self.phase {
                Phase::Serving => self.on_readable(service),
                _ => self.discard_input(),
            }
        }
        // Room to write (POLLOUT) needs nothing here: the loop's `flush` pass sends, and
        // answers what backpressure held back, once the replies drain.
        if let Phase::Lingering(mut delivery) = self.phase
            && now >= delivery.deadline
        {
            // The client kept its side open. Close if it has every reply, or has stopped
            // taking them; wait on if it is still reading.
            self.phase = match delivery.may_close(&self.stream) {
                true => Phase::Closed,
                false => Phase::Lingering(delivery),
            };
        }
    }
    // ANCHOR_END: on_events

    // ANCHOR: on_readable
    /// One `read` of whatever has arrived, then the complete frames in the buffer answered. The
    /// replies are sent at the end of the turn, with every other client's (`flush`).
    fn on_readable<S: Service<Session = T>>(&mut self, service: &mut S) {
        // Frames that backpressure held back come before new bytes; while replies still pile
        // up, nothing more is read (poll can report an error or hang-up unasked).
        self.answer_buffered(service);
        let waiting = self.resume_at.is_some();
        if self.phase != Phase::Serving || self.unsent() > PAUSE_READING_ABOVE || waiting {
            return;
        }
        if let Some((big, wanted)) = self.session.big_string() {
            match read_big_string(&self.stream, big, wanted) {
                Ok(BigRead::More) => _ = self.answer_buffered(service),
                Ok(BigRead::End) => self.on_end_of_input(service),
                Err(e) => self.abort(e),
            }
            return;
        }
        if self.end == self.incoming.len() {
            self.make_room(S::MAX_MSG);
        }
        if self.end == self.incoming.len() {
            // As big as a request may be, and still not a whole one: a frame's header would have
            // said so already; a request without one (v3.0's) only shows it here.
            let msg = format!("a request larger than {} bytes", S::MAX_MSG);
            return self.stop_serving(msg);
        }
        match self.stream.read(&mut self.incoming[self.end..]) {
            Ok(0) => {
                self.on_end_of_input(service);
                self.on_writable();
            }
            Ok(n) => {
                self.end += n;
                self.answer_buffered(service);
            }
            Err(e) if is_transient(&e) => {}
            Err(e) => self.abort(e),
        }
    }

    /// Sends the turn's replies (the loop calls it once a turn, for every connection, after
    /// answering every ready one). If that drains replies that backpressure was holding
    /// requests back for, those requests are answered, and their replies go out from the next
    /// turn on (their socket is writable, so the wait returns at once): no read event would
    /// come for them, as their bytes arrived long ago.
    fn flush<S: Service<Session = T>>(&mut self, service: &mut S) {
        let held = self.unsent() > PAUSE_READING_ABOVE;
        if self.unsent() > 0 || self.phase == Phase::Draining {
            self.on_writable();
        }
        let released = held && self.unsent() <= PAUSE_READING_ABOVE;
        if released && self.phase == Phase::Serving && self.resume_at.is_none() {
            // Answered now, written from the next turn on: a turn writes a client at most
            // `WRITE_PER_TURN`, and a socket that goes on taking bytes cannot keep the loop.
            self.answer_buffered(service);
        }
        self.outgoing.give_back(service, false);
    }
    // ANCHOR_END: on_readable

    // ANCHOR: make_room
    /// The incoming buffer is full. If frames were cut from its front, move the unparsed tail
    /// there. If not, one frame fills all of it and is not complete: grow the buffer, by an
    /// eighth, from 16 KiB to 1 MiB (zeroing more at once is a pause), never past the largest
    /// frame. It grows with the bytes that
    /// arrived, never with what a header promised, so a client that sends the header of a
    /// 32 MiB frame and then nothing costs 16 KiB, not 32 MiB. And what is written (the room to
    /// read into is zeroed first) is at most an eighth more than what arrived: the `Vec`'s
    /// capacity behind it doubles as it must, for cheap copies, but capacity never written is
    /// address space, not memory.
    fn make_room(&mut self, max_msg: usize) {
        if self.start > 0 {
            self.incoming.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        } else {
            let room = (self.incoming.len() / 8).clamp(INCOMING_CAP, GROW_AT_MOST);
            let grown = (self.incoming.len() + room).min(HEADER_LEN + max_msg);
            self.incoming.resize(grown, 0);
        }
    }
    // ANCHOR_END: make_room

    // ANCHOR: answer_frames
    /// Has `service` answer the complete frames in the incoming buffer, in order, while the
    /// replies waiting to be sent stay under the backpressure threshold: one read can bring in
    /// hundreds of small requests, and each may ask for a big reply (a `get` of a 1 MiB value),
    /// so the threshold is checked before every frame, not only before every read. Frames not
    /// answered yet wait in the buffer. A frame that breaks the protocol ends the serving.
    /// Returns how many frames were answered.
    fn answer_buffered<S: Service<Session = T>>(&mut self, service: &mut S) -> usize {
        let mut answered = 0;
        while self.phase == Phase::Serving && self.unsent() <= PAUSE_READING_ABOVE {
            let buffered = &self.incoming[self.start..self.end];
            match service.answer_next(&mut self.session, buffered, &mut self.outgoing) {
                Ok(Next::Answered(used)) => {
                    (self.start, answered) = (self.start + used, answered + 1)
                }
                Ok(Next::Wait) => break,
                Ok(Next::BigString { at }) => {
                    self.move_to_big_string(at);
                    break;
                }
                // The frames before the bad one were answered: those replies go out first.
                Err(e) => self.stop_serving(e),
            }
            if service.should_yield() {
                // The rest wait for the next turn, after every other ready client's.
                self.resume_at = Some(Instant::now());
                break;
            }
        }
        self.tidy_incoming();
        answered
    }

    /// The bytes from `at` on (counted from the first unanswered one) begin a big string:
    /// they go into its own buffer, and the connection's keeps what came before.
    fn move_to_big_string(&mut self, at: usize) {
        let from = self.start + at;
        if let Some((big, _)) = self.session.big_string() {
            big.extend_from_slice(&self.incoming[from..self.end]);
            self.end = from;
        }
    }

    /// Starts the buffer over when everything in it is consumed, for free, and gives back what
    /// a big frame made it grow to once what is left takes a quarter of it or less: the buffer
    /// shrinks to twice what is left (the usual size at least), so that a client holds at most
    /// about twice what it has sent and not had answered, whatever it sent before.
    fn tidy_incoming(&mut self) {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        let left = self.end - self.start;
        if self.incoming.len() > INCOMING_CAP && left <= self.incoming.len() / 4 {
            self.incoming.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, left);
            self.incoming.truncate((2 * left).max(INCOMING_CAP));
            self.incoming.shrink_to_fit();
        }
    }
    // ANCHOR_END: answer_frames

    // ANCHOR: on_writable
    /// Sends as much of the queued replies as the socket takes. Once every reply is out, a
    /// connection that is closing shuts down its sending side.
    fn on_writable(&mut self) {
        // A connection that failed is not written to again: its failure is logged already,
        // and a write would only fail once more (a reset, then a broken pipe).
        if self.phase == Phase::Closed {
            return;
        }
        let mut budget = WRITE_PER_TURN;
        while self.unsent() > 0 && budget > 0 {
            let next = self.outgoing.next();
            match self.stream.write(&next[..next.len().min(budget)]) {
                Ok(n) => {
                    self.outgoing.advance(n);
                    budget -= n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return self.abort(e),
            }
        }
        self.outgoing.forget_sent();
        if self.unsent() == 0 && self.phase == Phase::Draining {
            self.shut_down_sending();
        }
    }
    // ANCHOR_END: on_writable

    // ANCHOR: closing
    /// The client closed its side: cleanly between frames, or in the middle of one. Either
    /// way, the replies it is owed still go out.
    fn on_end_of_input<S: Service<Session = T>>(&mut self, service: &S) {
        self.peer_closed = true;
        if self.start == self.end {
            errln!("{}: EOF, client closed the connection", self.peer);
            self.phase = Phase::Draining;
        } else {
            let partial = &self.incoming[self.start..self.end];
            self.stop_serving(service.ended_inside(&self.session, partial));
        }
    }

    /// Answers no more requests, saying why in one line on stderr; the replies already queued
    /// are sent before the connection closes.
    fn stop_serving(&mut self, why: impl Display) {
        errln!("{}: closing the connection: {why}", self.peer);
        self.phase = Phase::Draining;
    }

    /// Every reply is out of our hands: send our FIN behind them, then close at once if the
    /// client has closed its side too (nothing more can arrive to provoke a reset), or linger.
    fn shut_down_sending(&mut self) {
        if self.peer_closed || self.stream.shutdown(Shutdown::Write).is_err() {
            self.phase = Phase::Closed;
        } else {
            self.phase = Phase::Lingering(Delivery::new());
        }
    }

    /// The shutdown's grace is over and this client is not done. The kernel goes on sending
    /// what it holds of its replies after the process exits, but only if the socket is closed
    /// with nothing unread in it: closing it with unread requests resets the connection, and a
    /// reset drops every byte still queued to the client. So the client's requests are read
    /// and thrown away (as much as the kernel holds now, a few megabytes at most; the reads
    /// are bounded all the same), and our FIN goes behind the replies. The stream may still
    /// end inside a reply: the ones in `outgoing` that the kernel had no room for are lost.
    fn let_go(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        for _ in 0..LET_GO_READS {
            match self.stream.read(scratch(&mut self.incoming)) {
                Ok(n) if n > 0 => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
    }

    /// Reads and throws away what a closing client still sends, so that closing the socket
    /// does not find unread bytes and reset the connection. Bounded: past `LINGER_BYTES`,
    /// `interest` stops asking to read, and the client's sending stalls, not our loop.
    fn discard_input(&mut self) {
        match self.stream.read(scratch(&mut self.incoming)) {
            Ok(0) => {
                self.peer_closed = true;
                if matches!(self.phase, Phase::Lingering(_)) {
                    self.phase = Phase::Closed;
                }
            }
            Ok(n) => self.discarded += n,
            Err(e) if is_transient(&e) => {}
            // Reset: the client is gone, and the connection's end was logged already.
            Err(_) => self.phase = Phase::Closed,
        }
    }

    /// The server is shutting down: no more requests are answered, and the connection closes
    /// as it would once the replies already answered are out.
    fn stop_answering(&mut self) {
        if self.phase == Phase::Serving {
            self.phase = Phase::Draining;
        }
    }

    /// While shutting down: a connection whose every reply, and our FIN, the client's kernel
    /// has acknowledged can close now and lose nothing, without waiting for the client to
    /// close its side (an idle `redis-cli` would not until someone typed a command).
    fn close_if_delivered(&mut self) {
        if matches!(self.phase, Phase::Lingering(_))
            && unacknowledged(self.stream.as_fd()).is_ok_and(|left| left == 0)
        {
            self.phase = Phase::Closed;
        }
    }

    /// The connection cannot go on (a reset, a failed write): closes it at once, saying why in
    /// one line on stderr.
    fn abort(&mut self, why: impl Display) {
        errln!("{}: closing the connection: {why}", self.peer);
        self.phase = Phase::Closed;
    }
    // ANCHOR_END: closing
}

// ANCHOR: read_big_string
/// What a read into a big string's buffer came to.
enum BigRead {
    /// Bytes, or none yet: go on.
    More,
    /// The client closed its side before the string was whole.
    End,
}

/// Reads up to `wanted` bytes of a big string, [`BIG_STRING_PER_TURN`] at most, into the spare
/// capacity of `big`, reserved at the string's length. `read_to_end` on a `take` writes into
/// that capacity without zeroing it first, and never grows `big` (it stops at the `take`'s
/// limit, which is within the capacity), so memory is touched only where bytes arrived. It
/// reads until the limit or until the socket has nothing more (`WouldBlock`), keeping what it
/// read.
fn read_big_string(stream: &TcpStream, big: &mut Vec<u8>, wanted: usize) -> io::Result<BigRead> {
    let (before, limit) = (big.len(), wanted.min(BIG_STRING_PER_TURN));
    let result = stream.take(limit as u64).read_to_end(big);
    let got = big.len() - before;
    match result {
        // `read_to_end` ends at the limit, or at the end of the stream before it.
        Ok(_) if got < limit => Ok(BigRead::End),
        Ok(_) => Ok(BigRead::More),
        Err(e) if is_transient(&e) => Ok(BigRead::More),
        Err(e) => Err(e),
    }
}
// ANCHOR_END: read_big_string

/// A connection's buffer, `incoming`, as room to read into what will be thrown away: made now
/// if the client never sent anything (a read into no room reads nothing, which looks like the
/// end of the stream).
fn scratch(incoming: &mut Vec<u8>) -> &mut [u8] {
    if incoming.is_empty() {
        incoming.resize(INCOMING_CAP, 0);
    }
    incoming
}

/// Errors that mean "not now", not "broken": try again when `poll` says so.
fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}
