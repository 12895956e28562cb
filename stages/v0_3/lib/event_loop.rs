// src/event_loop.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! The event loop: one thread, many clients, non-blocking sockets and poll(2). Introduced in
//! v0.3: what a request means is the stage's, a [`Service`] the loop is handed, which
//! in v0.3 answers every frame with `world`.
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
//! incoming buffer is 16 KiB, room for a few whole frames of the service's
//! [`Service::MAX_MSG`], and never more;
//! at most `--max-conns` clients are served at once; a protocol violation closes only that
//! client, and only after the replies it was already owed have been delivered.
//!
//! SIGTERM and SIGINT stop it well: the loop stops accepting and answering, lets every client
//! take the replies already answered for up to [`SHUTDOWN_GRACE`], and returns. What it cannot
//! do: use epoll instead of poll, as a real server would; save anything before it exits (no
//! stage keeps its data on disk yet).

use std::ffi::{c_int, c_short};
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::iter;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::ServerOpts;
use crate::errln;
use crate::frame::{HEADER_LEN, ended_inside, parse_frame_up_to};
use crate::net::{ACCEPT_BACKOFF, Delivery, LINGER_BYTES, accept_should_back_off, listen};
use crate::sys::{
    POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, Poller, SIGINT, SIGTERM, shutdown_signals,
    unacknowledged,
};

// ANCHOR: service
/// What a stage plugs into the loop: the largest request it accepts, and how it answers one.
pub trait Service {
    /// The largest request body, in bytes: the stage's `k_max_msg`, checked as soon as a
    /// frame's header is in, before its body is waited for.
    const MAX_MSG: usize;

    /// Answers one request, `body`, by appending one whole reply frame to `out`. An error
    /// means the request broke the protocol: nothing after it is answered, and the connection
    /// closes once the replies before it are delivered.
    fn answer(&mut self, body: &[u8], out: &mut Vec<u8>) -> io::Result<()>;
}

// ANCHOR_END: service

// ANCHOR: answer_frame
/// Cuts the first frame from the front of `buf` and has `service` answer the body: how many
/// bytes the frame took, or `None` while it has not all arrived. An error is the protocol
/// broken (a frame too long) or the service's own.
fn answer_frame<S: Service>(
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

/// Room for received bytes per client: several whole frames of the largest size.
const INCOMING_CAP: usize = 16 * 1024;

/// The reply buffer's capacity kept once it has drained; a burst's worth above this is given
/// back, so that an idle client costs little whatever it did before.
const OUTGOING_KEEP: usize = 64 * 1024;

/// The most reads of a client's unread requests when the shutdown lets it go: 1,024 of the
/// connection's buffer, 16 MiB or more, past anything a kernel's receive queue holds.
const LET_GO_READS: usize = 1024;

// ANCHOR_END: limits

// ANCHOR: conn
/// One client's state, kept between calls to `poll`.
struct Conn {
    stream: TcpStream,
    peer: String,
    /// Received bytes; those in `incoming[start..end]` are not yet cut into frames.
    incoming: Vec<u8>,
    start: usize,
    end: usize,
    /// Replies waiting to be sent; `outgoing[sent..]` has not been sent yet.
    outgoing: Vec<u8>,
    sent: usize,
    phase: Phase,
    /// The client has closed its sending side (we read end of stream): nothing more comes.
    peer_closed: bool,
    /// Bytes read and thrown away since the connection began to close.
    discarded: usize,
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

// ANCHOR: serve
/// The event loop: wait until some socket is ready or a deadline passes, serve exactly what is
/// ready, repeat. Every request is answered by `service`.
pub fn serve<S: Service>(opts: &ServerOpts, service: &mut S) -> io::Result<()> {
    // Before listening: from the moment clients can come, a signal to stop is heard.
    let signals = shutdown_signals()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot catch SIGTERM and SIGINT: {e}")))?;
    let listener = listen(opts.addr)?;
    listener.set_nonblocking(true)?;
    let mut conns = Conns::new();
    let mut poller = Poller::new();
    // Set after `accept` failed for a reason of the server's: not before then, try again.
    let mut accept_paused_until: Option<Instant> = None;
    // How many descriptors one `poll` may take, when the open-file limit is below what is open.
    let mut slice = None;
    loop {
        if poller.slice() != slice {
            slice = poller.slice();
            say_how_polled(slice, poller.watched());
        }
        let deadlines =
            accept_paused_until.into_iter().chain(conns.list.iter().filter_map(Conn::deadline));
        let timeout = timeout_ms(Instant::now(), deadlines.min());
        // Which events each socket should wake us for, worked out every turn from its state.
        let listen_for = if accept_paused_until.is_none() { POLLIN } else { 0 };
        let first_conn = 2;
        let interests = iter::once((signals.as_fd(), POLLIN))
            .chain(iter::once((listener.as_fd(), listen_for)))
            .chain(conns.list.iter().map(Conn::interest));
        let ready = match poller.poll(interests, timeout) {
            Ok(ready) => ready,
            Err(e) => {
                poll_failed(e);
                continue;
            }
        };
        if ready[0].revents() != 0
            && let Some(caught) = read_signals(signals)
        {
            // Stop accepting: a client that connects from now on is refused, not left waiting.
            drop(listener);
            return shut_down(caught, &mut conns, &mut poller, signals, service);
        }
        let now = Instant::now();
        for (i, fd) in ready[first_conn..].iter().enumerate() {
            conns.list[i].on_events(fd.revents(), now, service);
        }
        // Every reply of the turn goes out now, back to back, after every ready client has been
        // answered: a client is woken once for all its replies, not once per read we answered.
        for conn in &mut conns.list {
            conn.flush(service);
        }
        // Dropping a `Conn` closes its socket.
        conns.remove_closed();
        if ready[1].revents() & POLLIN != 0 {
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
    conns: &mut Conns,
    poller: &mut Poller,
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
        conns.remove_closed();
        let now = Instant::now();
        if conns.list.is_empty() || now >= started + SHUTDOWN_GRACE {
            break;
        }
        let wake_at = (started + SHUTDOWN_GRACE).min(now + SHUTDOWN_CHECK);
        let interests =
            iter::once((signals.as_fd(), POLLIN)).chain(conns.list.iter().map(Conn::interest));
        let ready = match poller.poll(interests, timeout_ms(now, Some(wake_at))) {
            Ok(ready) => ready,
            Err(e) => {
                poll_failed(e);
                continue;
            }
        };
        if ready[0].revents() != 0
            && let Some(more) = read_signals(signals)
        {
            (caught.last, caught.count) = (more.last, caught.count + more.count);
        }
        let now = Instant::now();
        for (i, fd) in ready[1..].iter().enumerate() {
            conns.list[i].on_events(fd.revents(), now, service);
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
/// What to do when `poll` itself fails: go round again after a signal; otherwise say so and
/// wait a little before trying again. `ENOMEM` is a shortage, not a reason to drop every
/// client. (`EINVAL`, more descriptors than the process may now have open, is the
/// `Poller`'s to handle: it polls them in slices.)
fn poll_failed(e: io::Error) {
    if e.kind() != io::ErrorKind::Interrupted {
        errln!("poll failed: {e}; trying again in {} ms", ACCEPT_BACKOFF.as_millis());
        thread::sleep(ACCEPT_BACKOFF);
    }
}

/// One line when the open-file limit starts or stops making `poll` take its `total`
/// descriptors in slices, or changes the slices' size: not one a turn.
fn say_how_polled(slice: Option<usize>, total: usize) {
    match slice {
        Some(n) => errln!(
            "poll: {total} descriptors open, more than the open-file limit lets one call \
             watch: polling them {n} at a time"
        ),
        None => errln!(
            "poll: the open-file limit allows {total} descriptors: polling them all at once again"
        ),
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
    conns: &mut Conns,
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
            continue;
        }
        match Conn::new(stream, peer.to_string(), opts.nagle) {
            Ok(conn) => conns.push(conn),
            Err(e) => errln!("{peer}: cannot set up the connection: {e}"),
        }
    }
}

// ANCHOR_END: accept_all

// ANCHOR: conns
/// Every connection, packed in a `Vec` in the order `poll` is given them. Removing one moves
/// the last into its place (`swap_remove`): their order means nothing, so nothing else moves.
struct Conns {
    list: Vec<Conn>,
}

impl Conns {
    fn new() -> Conns {
        Conns { list: Vec::new() }
    }

    fn push(&mut self, conn: Conn) {
        self.list.push(conn);
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
        let unacked = |conn: &Conn| unacknowledged(conn.stream.as_fd()).unwrap_or(0);
        let in_flight: usize = self.list.iter().map(unacked).sum();
        let done = clients - left;
        format!(
            "{done} of {clients} clients had every reply; {left} not done: {unsent} reply bytes \
             unsent, {in_flight} sent and not yet acknowledged"
        )
    }

    /// Drops the connections that are done, closing their sockets.
    fn remove_closed(&mut self) {
        for i in (0..self.list.len()).rev() {
            if self.list[i].phase == Phase::Closed {
                self.list.swap_remove(i);
            }
        }
    }
}
// ANCHOR_END: conns

impl Conn {
    fn new(stream: TcpStream, peer: String, nagle: bool) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(!nagle)?;
        Ok(Conn {
            stream,
            peer,
            incoming: vec![0; INCOMING_CAP],
            start: 0,
            end: 0,
            outgoing: Vec::new(),
            sent: 0,
            phase: Phase::Serving,
            peer_closed: false,
            discarded: 0,
        })
    }

    fn unsent(&self) -> usize {
        self.outgoing.len() - self.sent
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
    /// lingering connection checks on its client.
    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Lingering(delivery) => Some(delivery.deadline),
            _ => None,
        }
    }

    // ANCHOR: on_events
    /// Serves whatever `poll` said is ready. An error or hang-up is handled as readable: the
    /// read that follows reports what happened.
    fn on_events<S: Service>(&mut self, revents: c_short, now: Instant, service: &mut S) {
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
    fn on_readable<S: Service>(&mut self, service: &mut S) {
        // Frames that backpressure held back come before new bytes; while replies still pile
        // up, nothing more is read (poll can report an error or hang-up unasked).
        self.answer_buffered(service);
        if self.phase != Phase::Serving || self.unsent() > PAUSE_READING_ABOVE {
            return;
        }
        if self.end == self.incoming.len() {
            // A whole frame always fits, so a full buffer has frames cut from its front.
            const { assert!(HEADER_LEN + S::MAX_MSG <= INCOMING_CAP) };
            self.make_room();
        }
        match self.stream.read(&mut self.incoming[self.end..]) {
            Ok(0) => {
                self.on_end_of_input();
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
    /// requests back for, those requests are answered and sent too, again and again while the
    /// socket takes everything: no `poll` event would come for them, as their bytes arrived
    /// long ago.
    fn flush<S: Service>(&mut self, service: &mut S) {
        loop {
            let held = self.unsent() > PAUSE_READING_ABOVE;
            if self.unsent() > 0 || self.phase == Phase::Draining {
                self.on_writable();
            }
            let released = held && self.unsent() <= PAUSE_READING_ABOVE;
            if !released || self.phase != Phase::Serving {
                return;
            }
            if self.answer_buffered(service) == 0 {
                return;
            }
        }
    }
    // ANCHOR_END: on_readable

    // ANCHOR: make_room
    /// The incoming buffer is full, and frames were cut from its front: move the unparsed
    /// tail there.
    fn make_room(&mut self) {
        self.incoming.copy_within(self.start..self.end, 0);
        (self.start, self.end) = (0, self.end - self.start);
    }
    // ANCHOR_END: make_room

    // ANCHOR: answer_frames
    /// Has `service` answer the complete frames in the incoming buffer, in order, while the
    /// replies waiting to be sent stay under the backpressure threshold: one read can bring in
    /// hundreds of small requests, and each may ask for a big reply (a `get` of a 1 MiB value),
    /// so the threshold is checked before every frame, not only before every read. Frames not
    /// answered yet wait in the buffer. A frame that breaks the protocol ends the serving.
    /// Returns how many frames were answered.
    fn answer_buffered<S: Service>(&mut self, service: &mut S) -> usize {
        let mut answered = 0;
        while self.phase == Phase::Serving && self.unsent() <= PAUSE_READING_ABOVE {
            let buffered = &self.incoming[self.start..self.end];
            match answer_frame(service, buffered, &mut self.outgoing) {
                Ok(Some(used)) => (self.start, answered) = (self.start + used, answered + 1),
                Ok(None) => break,
                // The frames before the bad one were answered: those replies go out first.
                Err(e) => self.stop_serving(e),
            }
        }
        self.tidy_incoming();
        answered
    }

    /// Starts the buffer over when everything in it is consumed, for free.
    fn tidy_incoming(&mut self) {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
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
        while self.sent < self.outgoing.len() {
            match self.stream.write(&self.outgoing[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return self.abort(e),
            }
        }
        let unsent = self.unsent();
        if unsent == 0 {
            self.outgoing.clear();
            self.sent = 0;
            // After a burst, give the memory back: an idle client should cost little.
            self.outgoing.shrink_to(OUTGOING_KEEP);
            if self.phase == Phase::Draining {
                self.shut_down_sending();
            }
        } else if self.sent > unsent {
            // Drop the sent front only once it outweighs the rest: O(1) per byte, amortised.
            self.outgoing.drain(..self.sent);
            self.sent = 0;
        }
    }
    // ANCHOR_END: on_writable

    // ANCHOR: closing
    /// The client closed its side: cleanly between frames, or in the middle of one. Either
    /// way, the replies it is owed still go out.
    fn on_end_of_input(&mut self) {
        self.peer_closed = true;
        if self.start == self.end {
            errln!("{}: EOF, client closed the connection", self.peer);
            self.phase = Phase::Draining;
        } else {
            let partial = &self.incoming[self.start..self.end];
            self.stop_serving(ended_inside(partial));
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
            match self.stream.read(&mut self.incoming) {
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
        match self.stream.read(&mut self.incoming) {
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

/// Errors that mean "not now", not "broken": try again when `poll` says so.
fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}
