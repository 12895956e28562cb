//! What the servers need from Linux that std does not have, declared by hand: poll(2), to
//! wait for whichever socket is ready (v0.3); the `SIOCOUTQ` ioctl, to learn how much of what
//! we sent the client has not yet acknowledged (closing without loss); getrlimit(2), to learn
//! how many descriptors one `poll` may take when someone has lowered the limit;
//! sigaction(2), so that SIGTERM and SIGINT wake the loop to shut down instead of killing it;
//! and epoll(7), v3.0's way to wait, which keeps the set of descriptors in the kernel.
//!
//! std gives us non-blocking sockets (`set_nonblocking`) but no way to wait for "any of these
//! sockets is ready". The C library has `poll`; calling it from Rust takes three things: a
//! struct with exactly C's layout (`#[repr(C)]`), the constants from `<poll.h>`, and the
//! function's signature in an `extern "C"` block. The compiler cannot check any of them
//! against the C headers, so calling it is `unsafe`; this module is the only place in the
//! crate where that happens, and it hands out safe functions instead (introduced in v0.3).
//! The declarations were checked against Linux's headers, and nothing else: `lib.rs` refuses
//! to build the crate anywhere else.
//!
//! Every stage compiles this file itself, whole (`#[path = "../../src/sys.rs"]`), not a copy
//! cut to the stage: `unsafe` code lives here and nowhere else. v0.2 calls only
//! [`unacknowledged`]; the rest is v0.3's. The tests and benches that count memory take their
//! allocator from here too ([`Counting`]).
//!
//! poll(2) makes the kernel look at every descriptor on every call, O(n) per wake-up: the
//! portable, teachable one, and the original's choice, which the stages up to v2.0 keep.
//! epoll(7) remembers the set between calls, so a wake-up costs what is ready. What it cannot
//! do: run anywhere but Linux (the BSDs' kqueue(2) is the same idea; a crate such as mio
//! hides the difference).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::{c_int, c_short, c_ulong, c_void};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

// ANCHOR: pollfd
/// `struct pollfd` from `<poll.h>`: which descriptor, which events we want to hear about,
/// and which ones happened (filled in by the kernel).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}

/// There is data to read (or a connection to accept, or the peer closed its side).
pub const POLLIN: c_short = 0x001;
/// Writing now would not block.
pub const POLLOUT: c_short = 0x004;
/// An error is pending on the socket (always reported, never asked for).
pub const POLLERR: c_short = 0x008;
/// The connection is hung up (always reported, never asked for).
pub const POLLHUP: c_short = 0x010;
/// The descriptor is not open (always reported; a bug in the caller).
pub const POLLNVAL: c_short = 0x020;

// `nfds_t` is `unsigned long` on Linux.
unsafe extern "C" {
    #[link_name = "poll"]
    fn c_poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
}
// ANCHOR_END: pollfd

impl PollFd {
    /// What happened to this descriptor, after [`Poller::poll`] returned.
    pub fn revents(&self) -> c_short {
        self.revents
    }
}

// ANCHOR: poller
/// The array of `pollfd`s, kept from call to call so that waiting allocates nothing.
#[derive(Debug, Default)]
pub struct Poller {
    fds: Vec<PollFd>,
    /// How many descriptors each poll(2) call of the last wait took, when the open-file limit
    /// did not allow them all in one (see [`Poller::poll`]); `None` when they fitted.
    slice: Option<usize>,
}

/// The longest a wait in slices sleeps before it looks at every slice again: how late, at
/// worst, a client beyond the first slice is noticed while the open-file limit is too low.
const SLICED_WAIT_MS: c_int = 10;

impl Poller {
    pub fn new() -> Poller {
        Poller::default()
    }

    /// Waits until at least one of `interests` is ready, or `timeout_ms` milliseconds pass
    /// (-1: as long as it takes), and returns one [`PollFd`] per interest, in order, to read
    /// `revents()` from. A signal ends the wait early with `ErrorKind::Interrupted`: call
    /// again.
    ///
    /// Each interest is a socket, borrowed, and the events to wake for (`POLLIN`, `POLLOUT`,
    /// both with `|`, or 0). The borrow is what makes this safe to hand out: no socket can be
    /// closed, and its number reused by another, while poll(2) watches it.
    ///
    /// poll(2) refuses (EINVAL) more descriptors than the process may have open, a limit
    /// that `prlimit --pid` can lower from outside below what is already open. Then they are
    /// polled in slices of that size ([`Poller::slice`] says how big): each slice once without
    /// waiting, and if none is ready, the first (the caller's own sockets) for at most
    /// [`SLICED_WAIT_MS`]. Every descriptor is still looked at on every call; the price is a
    /// few more system calls, and a wait that may end, with nothing ready, before `timeout_ms`.
    pub fn poll<'fd>(
        &mut self,
        interests: impl IntoIterator<Item = (BorrowedFd<'fd>, c_short)>,
        timeout_ms: c_int,
    ) -> io::Result<&[PollFd]> {
        self.fds.clear();
        self.fds.extend(interests.into_iter().map(|(fd, events)| PollFd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        }));
        self.slice = None;
        match poll_slice(&mut self.fds, timeout_ms) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(EINVAL) => {
                let limit = open_file_limit()?;
                if limit == 0 || limit >= self.fds.len() {
                    return Err(e); // Not the limit's doing: nothing to slice.
                }
                self.slice = Some(limit);
                self.poll_in_slices(limit, timeout_ms)?;
            }
            Err(e) => return Err(e),
        }
        Ok(&self.fds)
    }

    /// How many descriptors each poll(2) call of the last wait took, if they did not all fit
    /// in one.
    pub fn slice(&self) -> Option<usize> {
        self.slice
    }

    /// How many descriptors the last wait watched.
    pub fn watched(&self) -> usize {
        self.fds.len()
    }

    fn poll_in_slices(&mut self, slice: usize, timeout_ms: c_int) -> io::Result<()> {
        let mut ready = 0;
        for fds in self.fds.chunks_mut(slice) {
            ready += poll_slice(fds, 0)?;
        }
        if ready == 0 && timeout_ms != 0 {
            let wait = if timeout_ms < 0 { SLICED_WAIT_MS } else { timeout_ms.min(SLICED_WAIT_MS) };
            poll_slice(&mut self.fds[..slice], wait)?;
        }
        Ok(())
    }
}

/// One call of poll(2) on `fds`: how many are ready.
fn poll_slice(fds: &mut [PollFd], timeout_ms: c_int) -> io::Result<usize> {
    // SAFETY: `PollFd` is `#[repr(C)]` with the fields of C's `struct pollfd` in order and of
    // the same types, so the pointer is to `fds.len()` valid, initialised, writable `struct
    // pollfd`s, borrowed mutably for the length of the call; poll(2) reads them and writes
    // only their `revents`, and keeps no pointer after it returns. `fds.len()` fits in
    // `nfds_t` (usize and unsigned long are the same width on Linux). Every descriptor came
    // from a `BorrowedFd` that `Poller::poll` still borrows, so each is open.
    let ready = unsafe { c_poll(fds.as_mut_ptr(), fds.len() as c_ulong, timeout_ms) };
    // Never negative once it is not -1: `try_from` says so without a cast that could wrap.
    usize::try_from(ready).map_err(|_| io::Error::last_os_error())
}

/// `EINVAL` from `<errno.h>`: an argument the call refuses.
const EINVAL: c_int = 22;
// ANCHOR_END: poller

// ANCHOR: epoll
// epoll(7), v3.0's way to wait: the set of watched descriptors lives in the kernel, told only
// what changed (`epoll_ctl`), and a wait hands back only the ready ones, so a wait costs what
// is ready, not what is open. The stages before wait with `Poller`, and compile this unused.
unsafe extern "C" {
    fn epoll_create1(flags: c_int) -> c_int;
    fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut EpollEvent) -> c_int;
    fn epoll_wait(epfd: c_int, events: *mut EpollEvent, room: c_int, timeout: c_int) -> c_int;
}
const EPOLL_CLOEXEC: c_int = 0o2_000_000;
const EPOLL_CTL_ADD: c_int = 1;
const EPOLL_CTL_MOD: c_int = 3;

/// `struct epoll_event` from `<sys/epoll.h>`: the events, and 64 bits of ours that the kernel
/// hands back untouched when they happen (a token saying which socket). On x86-64 the header
/// packs it, 12 bytes, so that 32-bit programs agree; elsewhere it has C's usual 16.
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}

/// An epoll instance, and room for what one wait reports. Its bits for readable, writable,
/// error and hang-up are poll's (`POLLIN` and the rest, above), and it is level-triggered,
/// like poll: a socket that is still ready is reported again by the next wait.
#[allow(dead_code)] // v3.0's; the stages before compile this file whole, unused
pub struct Epoll {
    fd: OwnedFd,
    events: Vec<EpollEvent>,
    ready: Vec<c_short>,
}

#[allow(dead_code)] // as above
impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointer; it returns a new descriptor, or -1.
        let fd = unsafe { epoll_create1(EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was opened just now, and nothing else has it to close.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd, events: Vec::new(), ready: Vec::new() })
    }

    /// From now on, watches `fd` for `events` (`POLLIN`, `POLLOUT`, both, or 0 for neither:
    /// errors and hang-ups are always reported), and names it `token` when they happen.
    /// `watched`: whether it is in the set already, so that this only changes what for. A
    /// socket leaves the set by itself when it is closed (no other descriptor of it being
    /// open: no stage duplicates one).
    pub fn watch(
        &self,
        fd: BorrowedFd<'_>,
        token: usize,
        events: c_short,
        watched: bool,
    ) -> io::Result<()> {
        let op = if watched { EPOLL_CTL_MOD } else { EPOLL_CTL_ADD };
        // Poll's bits are a `c_short`'s; through `u16`, so that none spreads to the high half.
        let mut event = EpollEvent { events: u32::from(events as u16), data: token as u64 };
        // SAFETY: both descriptors are open for the call, one owned and one borrowed; `event`
        // is a live `struct epoll_event` laid out as the header's, which epoll_ctl reads and
        // does not keep.
        if unsafe { epoll_ctl(self.fd.as_raw_fd(), op, fd.as_raw_fd(), &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits until some watched socket is ready, or `timeout_ms` milliseconds pass (-1: as
    /// long as it takes), and returns the events of each token below `tokens`, indexed by
    /// token: 0 for every one that is not ready. There is room for `tokens` events, so one wait
    /// reports every ready socket when each has its own token below `tokens`; an event under a
    /// token at or past `tokens` is dropped. A signal ends the wait early with
    /// `ErrorKind::Interrupted`: call again.
    pub fn wait(&mut self, tokens: usize, timeout_ms: c_int) -> io::Result<&[c_short]> {
        self.events.resize(tokens.max(1), EpollEvent { events: 0, data: 0 });
        let room = c_int::try_from(self.events.len()).unwrap_or(c_int::MAX);
        // SAFETY: `events` holds at least `room` initialised `struct epoll_event`s, borrowed
        // mutably for the call; epoll_wait writes at most `room` of them and keeps no pointer.
        let ready =
            unsafe { epoll_wait(self.fd.as_raw_fd(), self.events.as_mut_ptr(), room, timeout_ms) };
        // Never negative once it is not -1: `try_from` says so without a cast that could wrap.
        let ready = usize::try_from(ready).map_err(|_| io::Error::last_os_error())?;
        self.ready.clear();
        self.ready.resize(tokens, 0);
        for event in &self.events[..ready] {
            // Copied out of the (perhaps packed) struct, never borrowed in it.
            let (events, token) = (event.events, event.data);
            if let Some(slot) = usize::try_from(token).ok().and_then(|t| self.ready.get_mut(t)) {
                // Every bit epoll reports for what was asked fits in poll's 16. Or'ed in: a
                // socket the caller could not tell its new token (it is being closed) may
                // still be reported under its old one, now another's, for one wait; the other
                // then only looks once for nothing, and misses nothing of its own.
                *slot |= events as u16 as c_short;
            }
        }
        Ok(&self.ready)
    }
}
// ANCHOR_END: epoll

// ANCHOR: unacked
// `ioctl(2)`: one entry point for a thousand device-specific requests, which is why its third
// argument is variadic in C. `SIOCOUTQ` (0x5411 on Linux, `TIOCOUTQ` under another name) asks
// a TCP socket for the bytes it has sent, or still holds to send, that the peer has not yet
// acknowledged; the answer is written through an `int *`.
unsafe extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
}
const SIOCOUTQ: c_ulong = 0x5411;

/// How many bytes written to `socket` its peer has not yet acknowledged: 0 once everything,
/// our FIN included, has arrived. Queuing bytes with `write` (or a FIN with `shutdown`) is
/// not delivering them; this is how a server can tell the difference.
pub fn unacknowledged(socket: BorrowedFd<'_>) -> io::Result<usize> {
    let mut unacked: c_int = 0;
    // SAFETY: `socket` is borrowed, so the descriptor is open for the whole call; SIOCOUTQ
    // writes one `int` through the pointer, which points at `unacked`, a live, writable
    // `c_int`, and the kernel keeps no pointer after it returns.
    let result = unsafe { ioctl(socket.as_raw_fd(), SIOCOUTQ, &mut unacked as *mut c_int) };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    // Never negative for a socket; `try_from` says so without a cast that could wrap.
    Ok(usize::try_from(unacked).unwrap_or(0))
}
// ANCHOR_END: unacked

// ANCHOR: rlimit
/// `struct rlimit` from `<sys/resource.h>`: the soft limit, which the kernel enforces, and the
/// hard limit, the ceiling to which the process may raise it. `rlim_t` is `unsigned long`.
#[repr(C)]
struct RLimit {
    rlim_cur: c_ulong,
    rlim_max: c_ulong,
}

unsafe extern "C" {
    fn getrlimit(resource: c_int, rlim: *mut RLimit) -> c_int;
}
/// The limit on open descriptors: 7 on x86-64 and AArch64 (MIPS and SPARC number it otherwise).
const RLIMIT_NOFILE: c_int = 7;

/// How many descriptors this process may have open now: the soft `RLIMIT_NOFILE`, which
/// `prlimit --pid` can change from outside at any moment, to below what is already open.
pub fn open_file_limit() -> io::Result<usize> {
    let mut limit = RLimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a live, writable `struct rlimit` (two `unsigned long`s, in C's
    // order, `#[repr(C)]`); getrlimit writes it and keeps no pointer after it returns.
    if unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // RLIM_INFINITY is all ones: as many as a usize can say.
    Ok(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}
// ANCHOR_END: rlimit

// ANCHOR: signals
/// `struct sigaction` as glibc and musl lay it out on x86-64 and AArch64 (MIPS puts the flags
/// first): the handler, the signals to block while it runs (a `sigset_t`, 1024 bits), flags,
/// and a field for the C library's own use.
#[repr(C)]
struct SigAction {
    sa_handler: extern "C" fn(c_int),
    sa_mask: [c_ulong; 1024 / c_ulong::BITS as usize],
    sa_flags: c_int,
    sa_restorer: Option<extern "C" fn()>,
}

unsafe extern "C" {
    fn sigaction(signal: c_int, action: *const SigAction, old: *mut SigAction) -> c_int;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    /// Where this thread's `errno` lives (glibc and musl both have it).
    fn __errno_location() -> *mut c_int;
}

/// Interrupt, as Ctrl-C sends it.
pub const SIGINT: u8 = 2;
/// Terminate, as `kill` and service managers send it.
pub const SIGTERM: u8 = 15;
/// Calls that a signal interrupts are restarted, instead of failing with `EINTR` (poll(2) is
/// not: it always returns `EINTR`, which is what wakes the loop).
const SA_RESTART: c_int = 0x1000_0000;

/// The socket pair signals are written into, made once per process and never closed: a
/// handler may run at any moment, so the descriptor it writes to must stay open for good.
static SIGNALS: OnceLock<(UnixStream, UnixStream)> = OnceLock::new();
/// The writing end's number, for the handler (-1 until there is one).
static SIGNAL_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The handler. It may interrupt the program anywhere, even inside `malloc` holding its lock,
/// so it may do only what is async-signal-safe: no allocation, no lock, no `println!`. It
/// writes the signal's number, one byte, into a non-blocking socket that the loop polls;
/// if the socket is full, bytes are waiting to be read already, and one more changes nothing.
extern "C" fn on_signal(signal: c_int) {
    let fd = SIGNAL_WRITE_FD.load(Ordering::Acquire);
    let byte = signal as u8;
    // SAFETY: write(2) is async-signal-safe; it reads one byte from `byte`, which lives for
    // the call, and fails harmlessly (EBADF) if `fd` were still -1. `__errno_location` is
    // this thread's `errno`, always valid: it is saved and put back because the code the
    // signal interrupted may be about to read it, and write(2) may change it.
    unsafe {
        let errno = __errno_location();
        let saved = *errno;
        write(fd, (&raw const byte).cast(), 1);
        *errno = saved;
    }
}

/// From now on, SIGTERM and SIGINT do not kill the process: each writes its number, one byte,
/// into the socket returned, which the caller polls and reads to learn of them. The first
/// call installs the handler; later ones return the same socket.
pub fn shutdown_signals() -> io::Result<&'static UnixStream> {
    if let Some((read_end, _)) = SIGNALS.get() {
        return Ok(read_end);
    }
    let (read_end, write_end) = UnixStream::pair()?;
    read_end.set_nonblocking(true)?;
    write_end.set_nonblocking(true)?;
    let (read_end, write_end) = SIGNALS.get_or_init(|| (read_end, write_end));
    SIGNAL_WRITE_FD.store(write_end.as_raw_fd(), Ordering::Release);
    for signal in [SIGINT, SIGTERM] {
        let action = SigAction {
            sa_handler: on_signal,
            sa_mask: [0; 1024 / c_ulong::BITS as usize],
            sa_flags: SA_RESTART,
            sa_restorer: None,
        };
        // SAFETY: `action` is a `struct sigaction` laid out as the C library's (above), alive
        // for the call; sigaction(2) copies it and keeps no pointer, and a null `old` asks
        // for nothing back. Its handler does only what a handler may (see `on_signal`), and
        // the descriptor it writes to is in a static, open until the process ends.
        if unsafe { sigaction(c_int::from(signal), &action, std::ptr::null_mut()) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(read_end)
}
// ANCHOR_END: signals

// ANCHOR: counting
/// The system allocator, counting, for the tests and benches that measure memory: each
/// installs it with `#[global_allocator] static GLOBAL: Counting = Counting;`. It counts the
/// live heap bytes of the whole program ([`Counting::live_bytes`]: handed out and not yet given
/// back, as asked, without the allocator's own overhead per block) and the allocations each
/// thread made ([`Counting::made_here`]). Every call goes through it, so it is cheap: one
/// relaxed atomic add and a thread-local `Cell`. No stage installs it.
#[allow(dead_code)] // a stage compiles this file whole, and counts nothing
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const` and without a destructor, so touching it never allocates.
    static MADE: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

#[allow(dead_code)] // as above
impl Counting {
    /// Live heap bytes now. Differences are taken with `wrapping_sub`: other threads may free
    /// what they allocated before a measurement began.
    pub fn live_bytes() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    /// How many allocations this thread has made so far (a `realloc` counts as one), and how
    /// many bytes they asked for.
    pub fn made_here() -> (usize, usize) {
        MADE.with(Cell::get)
    }

    fn count(ptr: *mut u8, bytes: usize) -> *mut u8 {
        if !ptr.is_null() {
            LIVE.fetch_add(bytes, Ordering::Relaxed);
            MADE.with(|made| made.set((made.get().0 + 1, made.get().1 + bytes)));
        }
        ptr
    }
}

// SAFETY: every call is passed straight to the system allocator with the caller's arguments;
// the counting is an atomic add and a thread-local `Cell`, which neither allocate nor unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which is the system allocator's.
        Counting::count(unsafe { System.alloc(layout) }, layout.size())
    }

    // Passed on rather than left to the default (alloc, then write zeros): the system
    // allocator hands out fresh pages already zeroed, without touching them.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        Counting::count(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the system allocator, through this one, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    // Passed on rather than left to the default (alloc, copy, free): a table that shrinks its
    // old bucket array in steps would otherwise be copied whole at each step, a pause the
    // system allocator, which shrinks in place, does not make.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract: `ptr` came from this allocator with
        // `layout`, and `new_size` is valid for its alignment.
        let new = Counting::count(unsafe { System.realloc(ptr, layout, new_size) }, new_size);
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}
// ANCHOR_END: counting

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    /// A listener with nobody connecting is not ready; after a connect it is readable; a fresh
    /// connection is writable and not readable until the peer writes.
    #[test]
    fn readiness_follows_the_sockets() {
        let mut poller = Poller::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ready = poller.poll([(listener.as_fd(), POLLIN)], 0).unwrap();
        assert_eq!(ready[0].revents(), 0);

        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let ready = poller.poll([(listener.as_fd(), POLLIN)], 5_000).unwrap();
        assert_eq!(ready[0].revents() & POLLIN, POLLIN);

        let (server_side, _) = listener.accept().unwrap();
        let ready = poller.poll([(server_side.as_fd(), POLLIN | POLLOUT)], 5_000).unwrap();
        assert_eq!(ready[0].revents(), POLLOUT);

        client.write_all(b"x").unwrap();
        let interests = [(listener.as_fd(), POLLIN), (server_side.as_fd(), POLLIN)];
        let ready = poller.poll(interests, 5_000).unwrap();
        assert_eq!([ready[0].revents(), ready[1].revents()], [0, POLLIN]);
    }

    /// Bytes the peer's kernel has not taken yet are unacknowledged: fill the peer's receive
    /// window and ours, and some are; let the peer read them all, and none are.
    #[test]
    fn unacknowledged_counts_what_the_peer_lacks() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server_side, _) = listener.accept().unwrap();
        assert_eq!(unacknowledged(client.as_fd()).unwrap(), 0);

        client.set_nonblocking(true).unwrap();
        let chunk = [7u8; 64 * 1024];
        let mut sent = 0;
        while let Ok(n) = client.write(&chunk) {
            sent += n;
            assert!(sent < 1 << 30, "a peer that never reads took a gigabyte");
        }
        assert!(unacknowledged(client.as_fd()).unwrap() > 0);

        // Read everything; then the acknowledgements follow, quickly but not instantly.
        let mut sink = vec![0u8; sent];
        std::io::Read::read_exact(&mut server_side, &mut sink).unwrap();
        let started = std::time::Instant::now();
        while unacknowledged(client.as_fd()).unwrap() != 0 {
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "never acknowledged");
            std::thread::yield_now();
        }
    }

    /// epoll reports each ready socket under its token, for what it was told to watch; told
    /// again (a new token, other events), it reports that instead; a socket closed leaves
    /// the set; and a socket it already watches cannot be added twice.
    #[test]
    fn epoll_reports_by_token() {
        let mut epoll = Epoll::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        epoll.watch(listener.as_fd(), 0, POLLIN, false).unwrap();
        assert_eq!(epoll.wait(2, 0).unwrap(), [0, 0]);

        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert_eq!(epoll.wait(2, 5_000).unwrap(), [POLLIN, 0]);
        let (server_side, _) = listener.accept().unwrap();
        epoll.watch(server_side.as_fd(), 1, POLLIN | POLLOUT, false).unwrap();
        assert_eq!(epoll.wait(2, 5_000).unwrap(), [0, POLLOUT]);
        assert!(epoll.watch(server_side.as_fd(), 1, POLLIN, false).is_err(), "added twice");

        client.write_all(b"x").unwrap();
        epoll.watch(server_side.as_fd(), 0, POLLIN, true).unwrap();
        epoll.watch(listener.as_fd(), 1, 0, true).unwrap();
        assert_eq!(epoll.wait(2, 5_000).unwrap(), [POLLIN, 0]);
        // A token at or past `tokens` is not reported.
        assert_eq!(epoll.wait(0, 0).unwrap(), []);

        drop(server_side);
        assert_eq!(epoll.wait(2, 0).unwrap(), [0, 0]);
    }

    /// A timeout with nothing ready returns with no events, after about that long.
    #[test]
    fn a_timeout_returns_empty_handed() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let started = std::time::Instant::now();
        let mut poller = Poller::new();
        let ready = poller.poll([(listener.as_fd(), POLLIN)], 50).unwrap();
        assert_eq!(ready[0].revents(), 0);
        assert!(started.elapsed() >= std::time::Duration::from_millis(50));
    }
}
