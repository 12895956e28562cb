//! The v0.3 server: one thread, many clients, an event loop over non-blocking sockets.
//!
//! Compared with v0.2 (`diff stages/v0_2/server.rs stages/v0_3/server.rs`): nothing blocks.
//! Every socket is non-blocking, and the only place the server waits is `poll`, which returns
//! when *some* socket is ready. Each client has a [`Conn`] with its own buffers, so a half-read
//! frame or a half-sent reply waits in memory, not in a blocked call, and the loop serves the
//! next ready client meanwhile. Every complete frame that one `read` brought in is answered,
//! and all the replies go out together: that is pipelining done properly.
//!
//! Limits, so that no client can cost more than its share: a client whose unsent replies pass
//! [`MAX_OUTGOING`] is not read from until they drain (backpressure); at most
//! `--max-conns` clients are served at once; a protocol violation closes only that client.
//! A real server would also time out idle clients and use epoll instead of poll.

use std::ffi::c_short;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};

use redis_lite::cli::ServerOpts;
use redis_lite::frame::{append_frame, ended_inside, parse_frame};
use redis_lite::net::listen;
use redis_lite::poll::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, PollFd, poll};

const REPLY: &[u8] = b"world";

// ANCHOR: limits
/// Unsent reply bytes past which a client is not read from until they drain. Without it, a
/// client that pipelines requests and never reads replies would grow the server's memory
/// without bound.
const MAX_OUTGOING: usize = 1 << 20;

/// Room for received bytes per client: several frames, and always at least one whole one.
const INCOMING_CAP: usize = 16 * 1024;
// ANCHOR_END: limits

// ANCHOR: conn
/// One client's state, kept between calls to `poll`.
struct Conn {
    stream: TcpStream,
    peer: String,
    /// Received bytes; those in `incoming[start..end]` are not yet cut into frames.
    incoming: Box<[u8]>,
    start: usize,
    end: usize,
    /// Replies waiting to be sent; `outgoing[sent..]` has not been sent yet.
    outgoing: Vec<u8>,
    sent: usize,
    /// What the event loop should do with this client next.
    want_read: bool,
    want_write: bool,
    want_close: bool,
}
// ANCHOR_END: conn

// ANCHOR: serve
/// The event loop: wait until some socket is ready, serve exactly what is ready, repeat.
pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    let listener = listen(opts.addr)?;
    listener.set_nonblocking(true)?;
    let mut conns: Vec<Conn> = Vec::new();
    let mut fds: Vec<PollFd> = Vec::new();
    let mut accepting = true;
    loop {
        // Which events each socket should wake us for, rebuilt every turn from the wants.
        fds.clear();
        fds.push(PollFd::new(&listener, if accepting { POLLIN } else { 0 }));
        fds.extend(conns.iter().map(Conn::interest));
        match poll(&mut fds, -1) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for (conn, fd) in conns.iter_mut().zip(&fds[1..]) {
            conn.on_events(fd.revents(), opts.quiet);
        }
        let before = conns.len();
        // Dropping a `Conn` closes its socket.
        conns.retain(|conn| !conn.want_close);
        accepting |= conns.len() < before;
        if fds[0].revents() & POLLIN != 0 {
            accepting = accept_all(&listener, &mut conns, opts);
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: accept_all
/// Accepts every connection that is waiting. Returns whether to go on accepting: after an
/// error such as running out of file descriptors (EMFILE), the listener would stay readable
/// and wake `poll` at once, forever; so it is left alone until a client leaves.
fn accept_all(listener: &TcpListener, conns: &mut Vec<Conn>, opts: &ServerOpts) -> bool {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The client gave up before we accepted it: its loss, not ours.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => {
                eprintln!("accept failed: {e}; not accepting until a client leaves");
                return false;
            }
        };
        if conns.len() >= opts.max_conns {
            eprintln!("{peer}: refused: already serving {} clients", conns.len());
            continue;
        }
        match Conn::new(stream, peer.to_string(), opts.nagle) {
            Ok(conn) => conns.push(conn),
            Err(e) => eprintln!("{peer}: cannot set up the connection: {e}"),
        }
    }
}
// ANCHOR_END: accept_all

impl Conn {
    fn new(stream: TcpStream, peer: String, nagle: bool) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(!nagle)?;
        Ok(Conn {
            stream,
            peer,
            incoming: vec![0; INCOMING_CAP].into_boxed_slice(),
            start: 0,
            end: 0,
            outgoing: Vec::new(),
            sent: 0,
            want_read: true,
            want_write: false,
            want_close: false,
        })
    }

    /// The `pollfd` for this client: readable if we want to read, writable if we have
    /// replies to send.
    fn interest(&self) -> PollFd {
        let read = if self.want_read { POLLIN } else { 0 };
        let write = if self.want_write { POLLOUT } else { 0 };
        PollFd::new(&self.stream, read | write)
    }

    // ANCHOR: on_events
    /// Serves whatever `poll` said is ready. An error or hang-up is handled as readable: the
    /// read that follows reports what happened.
    fn on_events(&mut self, revents: c_short, quiet: bool) {
        if revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL) != 0 {
            self.on_readable(quiet);
        }
        if revents & POLLOUT != 0 && !self.want_close {
            self.on_writable();
        }
    }
    // ANCHOR_END: on_events

    // ANCHOR: on_readable
    /// One `read` of whatever has arrived, then every complete frame in the buffer answered,
    /// then an attempt to send the replies at once.
    fn on_readable(&mut self, quiet: bool) {
        if self.end == self.incoming.len() {
            // Full: move the unparsed tail to the front. It is less than one frame, and the
            // buffer holds several, so this copies little and happens rarely.
            self.incoming.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        match self.stream.read(&mut self.incoming[self.end..]) {
            Ok(0) => return self.close_at_eof(),
            Ok(n) => self.end += n,
            Err(e) if is_transient(&e) => return,
            Err(e) => return self.close(e),
        }
        if let Err(e) = self.answer_frames(quiet) {
            // Send what was answered before the bad frame, as v0.2 would have, then close.
            self.on_writable();
            if !self.want_close {
                self.close(e);
            }
            return;
        }
        if self.sent < self.outgoing.len() {
            self.on_writable();
        }
    }
    // ANCHOR_END: on_readable

    // ANCHOR: answer_frames
    /// Cuts every complete frame out of the incoming buffer and queues a reply for each.
    fn answer_frames(&mut self, quiet: bool) -> io::Result<()> {
        while let Some((body, used)) = parse_frame(&self.incoming[self.start..self.end])? {
            if !quiet {
                println!("client says: {}", String::from_utf8_lossy(body));
            }
            append_frame(&mut self.outgoing, REPLY)?;
            self.start += used;
        }
        if self.start == self.end {
            // Everything consumed: start the buffer over, for free.
            (self.start, self.end) = (0, 0);
        }
        Ok(())
    }
    // ANCHOR_END: answer_frames

    // ANCHOR: on_writable
    /// Sends as much of the queued replies as the socket takes, and decides what to wait for
    /// next: more room to write, or more requests to read.
    fn on_writable(&mut self) {
        while self.sent < self.outgoing.len() {
            match self.stream.write(&self.outgoing[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return self.close(e),
            }
        }
        let unsent = self.outgoing.len() - self.sent;
        if unsent == 0 {
            self.outgoing.clear();
            self.sent = 0;
        } else if self.sent > unsent {
            // Drop the sent front only once it outweighs the rest: O(1) per byte, amortised.
            self.outgoing.drain(..self.sent);
            self.sent = 0;
        }
        self.want_write = unsent > 0;
        // Backpressure: a client that does not read its replies gets no more read from it.
        self.want_read = unsent <= MAX_OUTGOING;
    }
    // ANCHOR_END: on_writable

    /// The client closed its side: cleanly between frames, or in the middle of one.
    fn close_at_eof(&mut self) {
        if self.start == self.end {
            eprintln!("{}: EOF, client closed the connection", self.peer);
            self.want_close = true;
        } else {
            self.close(ended_inside(&self.incoming[self.start..self.end]));
        }
    }

    /// Marks the connection to be closed, saying why in one line on stderr.
    fn close(&mut self, why: impl Display) {
        eprintln!("{}: closing the connection: {why}", self.peer);
        self.want_close = true;
    }
}

/// Errors that mean "not now", not "broken": try again when `poll` says so.
fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}
