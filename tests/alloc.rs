//! The v0.2 request path allocates nothing, and a hostile length header allocates nothing it
//! asked for. Shown with a global allocator that counts, per thread, what this test allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;

use redis_lite::frame::{FRAME_BUF_LEN, FrameBuf, read_frame, write_frame};

struct Counting;

thread_local! {
    // `const` and without a destructor, so touching it never allocates.
    static ALLOCATED: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

// SAFETY: every call is passed straight to the system allocator; the counting touches only a
// thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.with(|a| a.set((a.get().0 + 1, a.get().1 + layout.size())));
        // SAFETY: the caller upholds `alloc`'s contract, which is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations it made on this thread, and how many bytes.
fn allocations_in(f: impl FnOnce()) -> (usize, usize) {
    let before = ALLOCATED.with(Cell::get);
    f();
    let after = ALLOCATED.with(Cell::get);
    (after.0 - before.0, after.1 - before.1)
}

/// 1,000 requests read and answered through `read_frame` and `write_frame`: zero allocations.
#[test]
fn the_request_path_allocates_nothing() {
    let mut requests = Vec::new();
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    for i in 0..1000 {
        write_frame(&mut requests, &mut buf, format!("request {i}").as_bytes()).unwrap();
    }
    // Room for every reply up front, so that growing the sink is not counted.
    let mut replies = Cursor::new(vec![0u8; 1000 * 9]);
    let mut incoming = &requests[..];

    let (count, _) = allocations_in(|| {
        while let Some(body) = read_frame(&mut incoming, &mut buf).unwrap() {
            assert!(body.starts_with(b"request "));
            write_frame(&mut replies, &mut buf, b"world").unwrap();
        }
    });
    assert_eq!(count, 0);
    assert_eq!(replies.position(), 9000);
}

/// A header claiming 4 GiB: the error message is all that is allocated, a few dozen bytes.
#[test]
fn a_hostile_header_allocates_next_to_nothing() {
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    let hostile = u32::MAX.to_le_bytes();
    let (_, bytes) = allocations_in(|| {
        let err = read_frame(&mut &hostile[..], &mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    });
    assert!(bytes < 256, "{bytes} bytes allocated for a refused header");
}
