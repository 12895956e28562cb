//! Freeing big values on a thread of their own (introduced in v2.0), as Redis's `lazyfree`
//! does for `UNLINK` and, when configured, for `DEL` and expiry.
//!
//! Dropping a sorted set of a million members frees some three million allocations: tens of
//! milliseconds in which a one-thread server answers nobody. Nothing about that work needs the
//! loop, though. Once a value is out of the table no request can reach it, so it can be
//! handed, whole, to another thread that drops it while the loop goes on serving.
//!
//! Why this is safe: the value is *moved* into the channel. The loop keeps no reference to it
//! (the compiler checks that), so the two threads never share anything but the channel and a
//! socket; and the value must be `Send`, which the compiler checks too (a value holding an
//! `Rc`, say, could not be sent). Small values are dropped inline: sending one would cost
//! more than freeing it.
//!
//! The allocator has a say in how this goes. glibc gives a freed block back to the arena of
//! the thread that allocated it, whichever thread frees it, and keeps small freed blocks
//! unmerged until that arena's next request for a kilobyte or more merges them all, in one
//! pass (see [`merge_freed_blocks`]). Every block of a big value came from the loop, so the
//! loop pays for that pass whoever did the freeing: measured, 50 ms at the first connect after
//! a million-member set was freed, and worse when the loop merged while the thread was still
//! freeing (each pass found more than the last). So the thread frees a value a slice at a
//! time and, after each slice, asks the loop to merge and waits until it has: the loop's share
//! is one slice's worth per turn, as with expiry.
//!
//! The asking goes over a pair of connected Unix sockets. The loop polls its end with the
//! clients' sockets, so it wakes exactly when asked (no timer, no tick), and the thread waits
//! by reading its own end, which blocks until the loop answers.
//!
//! What it costs: one thread, mostly asleep; a send per big value; one socket pair; and memory
//! given back later than it would have been (a million members take a few hundred turns).
//! What it cannot do: bound the memory waiting to be freed. A client deleting big values
//! faster than the thread frees them makes the queue grow; Redis counts the pending frees and
//! reports them (`lazyfree_pending_objects`), and so could this.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Sender};
use std::thread;

// ANCHOR: lazyfree
/// Parts freed between two merges: with a sorted set's member, three blocks each.
pub const SLICE: usize = 2048;

/// A value taken apart: each step frees one part (see `ZSet::into_members`).
type Parts = Box<dyn Iterator<Item = ()> + Send>;

/// A thread that frees what it is sent, a slice at a time, with the loop merging between.
pub struct LazyFree {
    to_free: Sender<Parts>,
    /// The loop's end of the socket pair: readable when the thread asks for a merge. `None`
    /// once the thread is gone, so that its closed end does not wake the loop forever.
    asks: Option<UnixStream>,
}

impl LazyFree {
    /// Starts the thread. It ends when the `LazyFree` is dropped (the channel closes), after
    /// freeing what it was sent.
    pub fn start() -> io::Result<LazyFree> {
        let (to_free, freeing) = mpsc::channel::<Parts>();
        let (asks, mut thread_end) = UnixStream::pair()?;
        thread::Builder::new().name("lazyfree".into()).spawn(move || {
            // Its first allocation sets the thread up with the allocator (an arena of its
            // own, 64 MiB of address space reserved): done now, before the server says it is
            // listening, not at some later moment while it serves.
            merge_freed_blocks();
            let _ = thread_end.write_all(b"+");
            for mut parts in freeing {
                while parts.by_ref().take(SLICE).count() == SLICE {
                    merged_by_loop(&mut thread_end);
                }
                drop(parts); // what held the parts: a few big blocks
                merged_by_loop(&mut thread_end);
            }
        })?;
        (&asks).read_exact(&mut [0])?; // the thread is set up
        asks.set_nonblocking(true)?;
        Ok(LazyFree { to_free, asks: Some(asks) })
    }

    /// Hands `parts` to the thread, which advances it to the end, freeing each part as it
    /// goes. If the thread is gone (it cannot panic, but if it did), they are freed here:
    /// late is better than never.
    pub fn free(&self, parts: impl Iterator + Send + 'static) {
        if let Err(mpsc::SendError(parts)) = self.to_free.send(Box::new(parts.map(drop))) {
            drop(parts);
        }
    }
}

/// The thread's side of a merge: ask, then wait for the answer. If the loop's end is gone,
/// the thread goes on without waiting.
fn merged_by_loop(thread_end: &mut UnixStream) {
    let _ = thread_end.write_all(b"?").and_then(|()| thread_end.read_exact(&mut [0]));
}
// ANCHOR_END: lazyfree

// ANCHOR: on_wake
impl LazyFree {
    /// The socket for the loop to poll: readable when the thread has freed a slice.
    pub fn wake_fd(&self) -> Option<BorrowedFd<'_>> {
        self.asks.as_ref().map(AsFd::as_fd)
    }

    /// The loop's side of a merge: if the thread has asked, merges what it freed and lets it
    /// go on. The thread asks once and waits, so there is never more than one ask to read.
    pub fn on_wake(&mut self) {
        let Some(asks) = &mut self.asks else { return };
        match asks.read(&mut [0]) {
            Ok(1) => {
                merge_freed_blocks();
                let _ = asks.write_all(b"!");
            }
            Err(e)
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            _ => self.asks = None, // the thread is gone
        }
    }
}
// ANCHOR_END: on_wake

// ANCHOR: merge
/// Has the C library's allocator merge the small blocks freed since it last did, now.
///
/// glibc keeps freed small blocks on "fastbins", unmerged, which makes freeing quick; but the
/// next request for a kilobyte or more first merges *every* block on them, in one pass. After
/// a million keys expire that pass takes the better part of a second (measured: 0.4 to 0.8 s),
/// and it happens at whatever moment the server next needs a bigger block, such as a new
/// client's buffer, in the one thread that serves everyone. Asking for such a block after each
/// turn of frees, and giving it back at once, makes the pass happen then, a turn's worth at a
/// time. (`black_box` keeps the compiler from removing an allocation nobody uses.) A no-op
/// for allocators without fastbins; Redis, on jemalloc, has no such pass to spread.
pub fn merge_freed_blocks() {
    std::hint::black_box(Vec::<u8>::with_capacity(4096));
}
// ANCHOR_END: merge
