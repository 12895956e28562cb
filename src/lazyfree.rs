//! Freeing big values on a thread of their own (introduced in v2.0), as Redis's `lazyfree`
//! does for `UNLINK` and, when configured, for `DEL` and expiry.
//!
//! Dropping a sorted set of a million members frees some four million allocations: tens of
//! milliseconds in which a one-thread server answers nobody. Nothing about that work needs the
//! loop, though. Once a value is out of the table no request can reach it, so it can be
//! handed, whole, to another thread that drops it while the loop goes on serving.
//!
//! Why this is safe: the value is *moved* into the channel. The loop keeps no reference to it
//! (the compiler checks that), so the two threads never share anything but the channel itself;
//! and the type must be `Send`, which the compiler checks too (a value holding an `Rc`, say,
//! could not be sent). What it costs: one more thread, mostly asleep; a send per big value
//! (an allocation of the channel's, now and then); and memory that is given back a little
//! later than it would have been. Small values are dropped inline: sending one would cost more
//! than freeing it.
//!
//! What it cannot do: bound the memory waiting to be freed. A client deleting big values
//! faster than the thread frees them makes the queue grow; Redis counts the pending frees
//! and reports them (`lazyfree_pending_objects`), and so could this.

use std::io;
use std::sync::mpsc::{self, Sender};
use std::thread;

// ANCHOR: lazyfree
/// A thread that drops what it is sent.
pub struct LazyFree<T: Send + 'static> {
    to_free: Sender<T>,
}

impl<T: Send + 'static> LazyFree<T> {
    /// Starts the thread. It ends when the `LazyFree` is dropped (the channel closes), after
    /// freeing what it was sent.
    pub fn start() -> io::Result<LazyFree<T>> {
        let (to_free, freeing) = mpsc::channel::<T>();
        let (started, running) = mpsc::channel();
        thread::Builder::new().name("lazyfree".into()).spawn(move || {
            // Its first allocation sets the thread up with the allocator (an arena of its
            // own, 64 MiB of address space reserved): done now, before the server says it is
            // listening, not at some later moment while it serves.
            merge_freed_blocks();
            let _ = started.send(());
            for value in freeing {
                drop(value);
                merge_freed_blocks();
            }
        })?;
        let _ = running.recv();
        Ok(LazyFree { to_free })
    }

    /// Hands `value` to the thread to drop. If the thread is gone (it cannot panic, but if it
    /// did), the value is dropped here: late is better than never.
    pub fn free(&self, value: T) {
        if let Err(mpsc::SendError(value)) = self.to_free.send(value) {
            drop(value);
        }
    }
}
// ANCHOR_END: lazyfree

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
