// src/lazyfree.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! Freeing big values on a thread of their own (introduced in v2.0), as Redis's `lazyfree`
//! does for `UNLINK` and `FLUSHALL ASYNC` and, when configured, for `DEL` and expiry.
//!
//! Dropping a sorted set of a million members frees some three million allocations: tens of
//! milliseconds in which a one-thread server answers nobody.
//! Dropping a string of 400 MiB is one allocation, but giving its pages back to the kernel
//! takes as long, so from v3.0 big strings come here too.
//! Nothing about that work needs the loop, though. Once a value is out of the table no request
//! can reach it, so it can be handed, whole, to another thread that drops it while the loop
//! goes on serving.
//!
//! Why this is safe: the value is *moved* into the channel. The loop keeps no reference to it
//! (the compiler checks that), so the two threads share nothing but the channel, a socket and
//! a counter; and the value must be `Send`, which the compiler checks too (a value holding an
//! `Rc`, say, could not be sent). Small values are dropped inline: sending one would cost
//! more than freeing it.
//!
//! The allocator has a say in how this goes. glibc gives a freed block back to the arena of
//! the thread that allocated it, whichever thread frees it, and keeps small freed blocks
//! unmerged until that arena's next request for a kilobyte or more merges them all, in one
//! pass (see [`merge_freed_blocks`]). Every block of a big value came from the loop, so the
//! loop pays for that pass whoever did the freeing: measured, 50 ms at the first connect after
//! a million-member set was freed, and worse when the loop merged while the thread was still
//! freeing (each pass found more than the last). So the thread frees a slice at a time,
//! counted across values, and after each slice asks the loop to merge and waits until it has:
//! the loop's share is one slice's worth per turn, as with expiry. With nothing more to free,
//! it asks once more before it sleeps, so that an idle server has nothing left unmerged.
//!
//! The asking goes over a pair of connected Unix sockets. The loop polls its end with the
//! clients' sockets, so it wakes exactly when asked (no timer, no tick), and the thread waits
//! by reading its own end, which blocks until the loop answers.
//!
//! What it costs: one thread, mostly asleep; a send per big value; one socket pair; a wake of
//! the loop per slice; and memory given back later than it would have been (a million members
//! take 489 slices). A slice a turn cannot keep up with a loop that makes more garbage than
//! that a turn, so the slice doubles whenever what waits has grown since the last one began,
//! and halves back when it has shrunk ([`next_slice`]): the thread keeps up, and a turn's merge
//! is about what that turn made. Two other answers were tried and measured. Freeing on the
//! loop past a bound: one `DEL` of two big sets held every client 245 ms. Slices that grow
//! with the backlog: the thread caught up only with hundreds of megabytes waiting. Redis has
//! no such rule; it counts what waits (`lazyfree_pending_objects`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::thread;

// ANCHOR: slice
/// Parts freed between two merges, counted across values (with a sorted set's member, three
/// blocks each), while the loop makes no garbage faster than that. A slice a turn is also the
/// thread's pace: at 512, a client pipelining hundred-member sets and deleting them outran
/// it, and around a million-member `DEL` it let through about as many round trips over 1 ms
/// as 2,048 (a few in a second; Redis's `UNLINK`, 25 to 30).
pub const SLICE: usize = 2048;

/// The largest slice: a cap on what one merge can cost the loop, whatever happens.
pub const MAX_SLICE: usize = 1 << 20;

/// The next slice's size, from the last one's, and what waits to be freed now against what
/// waited when the last slice began (`before`; 0 when the thread had caught up since). More
/// now: the loop makes garbage faster than a slice a turn, so the slice doubles. Less: it
/// halves, down to [`SLICE`]. So a lone big value goes [`SLICE`] parts a turn, and a loop that
/// makes garbage as fast as it can merges about as much a turn as it made, and leaves the
/// thread a few turns behind, not ever further. (A count can be short: see `begin_slice`.)
pub fn next_slice(slice: usize, waiting: usize, before: usize) -> usize {
    if before == 0 || waiting == before {
        slice
    } else if waiting > before {
        (2 * slice).min(MAX_SLICE)
    } else {
        (slice / 2).max(SLICE)
    }
}
// ANCHOR_END: slice

// ANCHOR: lazyfree
/// A value taken apart: each step frees one part (see `ZSet::into_members`).
type Parts = Box<dyn Iterator<Item = ()> + Send>;

/// A thread that frees what it is sent, a slice at a time, with the loop merging between.
pub struct LazyFree {
    to_free: Sender<Parts>,
    /// Parts sent and not yet merged by the loop: the loop adds, the thread takes away.
    waiting: Arc<AtomicUsize>,
    /// Values sent that the thread has not taken up yet.
    queued: Arc<AtomicUsize>,
    /// The loop's end of the socket pair: readable when the thread asks for a merge. `None`
    /// once the thread is gone, so that its closed end does not wake the loop forever.
    asks: Option<UnixStream>,
}

impl LazyFree {
    /// Starts the thread. It ends when the `LazyFree` is dropped (the channel closes), after
    /// freeing what it was sent.
    pub fn start() -> io::Result<LazyFree> {
        let (to_free, freeing) = mpsc::channel::<Parts>();
        let context = |e: io::Error| io::Error::new(e.kind(), format!("lazyfree thread: {e}"));
        let (asks, thread_end) = UnixStream::pair().map_err(context)?;
        let (waiting, queued) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut asker = Asker {
            end: thread_end,
            freed: 0,
            slice: SLICE,
            began: 0,
            waiting: Arc::clone(&waiting),
            queued: Arc::clone(&queued),
            began_queued: 0,
        };
        thread::Builder::new().name("lazyfree".into()).spawn(move || {
            // Its first allocation sets the thread up with the allocator (an arena of its
            // own, 64 MiB of address space reserved): done now, before the server says it is
            // listening, not at some later moment while it serves.
            merge_freed_blocks();
            let _ = asker.end.write_all(b"+");
            loop {
                // With nothing more sent, what was freed is merged before the thread waits:
                // an idle server is left with nothing unmerged.
                let parts = match freeing.try_recv() {
                    Ok(parts) => parts,
                    Err(_) => {
                        asker.ask_loop_to_merge();
                        asker.began = 0; // caught up
                        let Ok(parts) = freeing.recv() else { break }; // the loop hung up
                        parts
                    }
                };
                asker.queued.fetch_sub(1, Ordering::Relaxed);
                for () in parts {
                    if asker.freed == 0 {
                        asker.begin_slice();
                    }
                    asker.freed += 1;
                    if asker.freed == asker.slice {
                        asker.ask_loop_to_merge();
                    }
                }
            }
        })?;
        (&asks).read_exact(&mut [0])?; // the thread is set up
        asks.set_nonblocking(true)?;
        Ok(LazyFree { to_free, waiting, queued, asks: Some(asks) })
    }

    /// A hand on the count of parts waiting, for parts found only when the thread reaches
    /// them: the members of a sorted set inside a whole keyspace sent at once.
    pub fn waiting(&self) -> Waiting {
        Waiting(Arc::clone(&self.waiting))
    }

    /// Frees `parts`, a value taken apart into `len` parts, each freed when the iterator
    /// reaches it: on the thread, or here and now if the thread is gone (it cannot panic,
    /// but if it did).
    pub fn free(&self, len: usize, parts: impl Iterator + Send + 'static) {
        self.waiting.fetch_add(len, Ordering::Relaxed);
        self.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(mpsc::SendError(parts)) = self.to_free.send(Box::new(parts.map(drop))) {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            parts.for_each(drop);
        }
    }
}

/// See [`LazyFree::waiting`].
pub struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    /// Counts `parts` more as waiting, before they are freed: so that the count the slices
    /// are sized by stays exact.
    pub fn add(&self, parts: usize) {
        self.0.fetch_add(parts, Ordering::Relaxed);
    }
}

/// The thread's end of the socket pair; the parts it freed since the loop last merged, and
/// how many to free before it next asks, and how many waited when the last slice began (0
/// once it has caught up); and the values still queued for it, now and when the last slice
/// began.
struct Asker {
    end: UnixStream,
    freed: usize,
    slice: usize,
    began: usize,
    waiting: Arc<AtomicUsize>,
    queued: Arc<AtomicUsize>,
    began_queued: usize,
}

impl Asker {
    /// Sizes the slice about to begin: see [`next_slice`]. More values queued than when the
    /// last slice began says what a count that grew says, that the loop makes garbage faster
    /// than a slice a turn, and it is heard even when their parts are not counted yet (a
    /// keyspace sent whole, whose sorted sets are counted only when the thread reaches them).
    fn begin_slice(&mut self) {
        let (waiting, queued) =
            (self.waiting.load(Ordering::Relaxed), self.queued.load(Ordering::Relaxed));
        self.slice = match queued > self.began_queued {
            true => (2 * self.slice).min(MAX_SLICE),
            false => next_slice(self.slice, waiting, self.began),
        };
        (self.began, self.began_queued) = (waiting, queued);
    }

    /// Asks the loop to merge what was freed, and waits for the answer. If the loop's end is
    /// gone, the thread goes on without waiting (the write fails with `EPIPE`, not a signal:
    /// Rust programs ignore `SIGPIPE`).
    fn ask_loop_to_merge(&mut self) {
        if self.freed == 0 {
            return;
        }
        let _ = self.end.write_all(b"?").and_then(|()| self.end.read_exact(&mut [0]));
        let freed = std::mem::take(&mut self.freed);
        // Saturating, though `len` is exact: a wrong count must not wrap to a huge slice.
        let less = |waiting: usize| Some(waiting.saturating_sub(freed));
        let _ = self.waiting.fetch_update(Ordering::Relaxed, Ordering::Relaxed, less);
    }
}
// ANCHOR_END: lazyfree

// ANCHOR: on_wake
impl LazyFree {
    /// The socket for the loop to poll: readable when the thread has freed a slice, or all
    /// it was sent.
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
