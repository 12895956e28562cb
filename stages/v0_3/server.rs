//! The v0.3 server: the event loop of `src/event_loop.rs`, answering every frame with `world`.
//!
//! Compared with v0.2 (`diff stages/v0_2/server.rs stages/v0_3/server.rs`), everything about
//! how the server waits has changed, and all of it lives in `src/event_loop.rs`, because the
//! stages after this one keep the loop and change only what a request does. What v0.3 itself
//! decides is that: print what the client said, answer `world`.

use std::io;

use crate::cli::ServerOpts;
use crate::event_loop::{self, Service};
use crate::frame::{K_MAX_MSG, append_frame};
use crate::outln;

const REPLY: &[u8] = b"world";

// ANCHOR: world
/// The whole of v0.3's service: every request gets `world`.
struct World {
    quiet: bool,
}

impl Service for World {
    const MAX_MSG: usize = K_MAX_MSG;

    fn answer(&mut self, body: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        if !self.quiet {
            outln!("client says: {}", String::from_utf8_lossy(body));
        }
        append_frame(out, REPLY)
    }
}
// ANCHOR_END: world

pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    event_loop::serve(opts, &mut World { quiet: opts.quiet })
}
