// src/log.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! Printing that can neither crash a server nor stall it: [`outln!`](crate::outln) and
//! [`errln!`](crate::errln), `println!` and `eprintln!` for servers.
//!
//! `println!` is the wrong tool for a server, for two reasons:
//!
//! - it **panics** when the write fails. Run `cargo run --bin v0_1 | head -1`: `head` exits after the first
//!   line; the next `println!` gets `EPIPE` (Rust ignores the signal that would have killed a C
//!   program, so the error comes back as a value) and panics: one client's request took the
//!   server down. A full disk (`> /dev/full`) does the same with `ENOSPC`.
//! - it **blocks** when the pipe is full. Piped into a program that stops reading, the server
//!   waits inside `println!`, and an event loop (v0.3) stops serving every client.
//!
//! So a server's lines go into a bounded queue, and one thread of their own writes them out,
//! in order, ignoring errors. The caller never waits: when the queue is full (whoever reads our
//! output has fallen 4,096 lines or 1 MiB behind) the line is dropped and counted, and the
//! writer says how many were lost when it next gets a line through. A log that loses lines under overload
//! is a trade every production logger makes one way or the other; a server that stops is not.
//!
//! Clients are different: their output *is* the result, so they write with `writeln!` and
//! report a failed write (a broken pipe, a full disk) as an error, and exit 1.

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread;
use std::time::Duration;

/// Lines that may wait to be written before new ones are dropped.
pub const QUEUE_LINES: usize = 4096;

/// Bytes those lines may hold. Lines are as long as what they quote (a 4 KiB request, or three
/// times that once invalid UTF-8 is replaced), so a bound in lines alone is not a bound.
pub const QUEUE_BYTES: usize = 1 << 20;

/// Where a line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    Stdout,
    Stderr,
}

enum Entry {
    Line(To, String),
    /// Asks the writer to say when everything queued before it is written.
    Flush(SyncSender<()>),
}

static QUEUE: OnceLock<Option<SyncSender<Entry>>> = OnceLock::new();
static QUEUED_BYTES: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

// ANCHOR: line
/// Queues one line for `to`, without waiting. Use [`outln!`](crate::outln) and
/// [`errln!`](crate::errln) rather than calling this.
pub fn line(to: To, args: fmt::Arguments<'_>) {
    let Some(queue) = QUEUE.get_or_init(start_writer) else { return };
    let text = args.to_string();
    let len = text.len();
    if QUEUED_BYTES.fetch_add(len, Ordering::Relaxed) + len > QUEUE_BYTES {
        QUEUED_BYTES.fetch_sub(len, Ordering::Relaxed);
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if let Err(e) = queue.try_send(Entry::Line(to, text)) {
        QUEUED_BYTES.fetch_sub(len, Ordering::Relaxed);
        // Disconnected: the writer thread is gone (it cannot panic, so only at exit).
        if matches!(e, TrySendError::Full(_)) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}
// ANCHOR_END: line

/// Waits, for at most `limit`, until every line queued so far is written. A program calls this
/// before it exits, so that its last lines are not lost with the writer thread.
pub fn flush(limit: Duration) {
    let Some(Some(queue)) = QUEUE.get() else { return };
    let (done, written) = sync_channel(1);
    if queue.try_send(Entry::Flush(done)).is_ok() {
        let _ = written.recv_timeout(limit);
    }
}

/// Starts the writer thread. If the system cannot give us a thread, there is no log: better
/// than no server.
fn start_writer() -> Option<SyncSender<Entry>> {
    let (queue, lines) = sync_channel(QUEUE_LINES);
    thread::Builder::new().name("log".into()).spawn(move || write_lines(lines)).ok()?;
    Some(queue)
}

// ANCHOR: write_lines
/// The writer thread: writes each line where it belongs and ignores every error. It is the
/// only thread that may block on a full pipe, and nothing waits for it.
fn write_lines(lines: Receiver<Entry>) {
    for entry in lines {
        match entry {
            Entry::Line(to, text) => {
                let dropped = DROPPED.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    let note = format!("({dropped} log lines dropped: the output was not read)");
                    write_line(To::Stderr, &note);
                }
                write_line(to, &text);
                QUEUED_BYTES.fetch_sub(text.len(), Ordering::Relaxed);
            }
            Entry::Flush(done) => {
                let _ = done.try_send(());
            }
        }
    }
}

fn write_line(to: To, text: &str) {
    // `let _ =`: a closed or broken output is the reader's choice, not our failure.
    let _ = match to {
        To::Stdout => writeln!(io::stdout().lock(), "{text}"),
        To::Stderr => writeln!(io::stderr().lock(), "{text}"),
    };
}
// ANCHOR_END: write_lines

/// `println!` for servers: queues the line for stdout, never panics, never waits.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::log::line($crate::log::To::Stdout, format_args!($($arg)*))
    };
}

/// `eprintln!` for servers: queues the line for stderr, never panics, never waits.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::log::line($crate::log::To::Stderr, format_args!($($arg)*))
    };
}
