//! The v1.0 client: sends a command given on the command line, or each line of standard input
//! as a command, and prints each reply the way the original's client does:
//! `server says: [0] hello`.

use std::io::{self, Write};
use std::net::TcpStream;

use crate::cli::{ClientOpts, each_command};
use crate::frame::read_frame_growing;
use crate::net::connect;
use crate::request::{Escaped, append_request};

use crate::server::K_MAX_MSG;

// ANCHOR: run
/// One command from the command line, or, with none, one per line of standard input.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let mut stream = connect(opts.addr)?;
    stream.set_nodelay(true)?;
    // The binary's name, so that a later stage that runs this client prompts with its own.
    let prompt = concat!(env!("CARGO_BIN_NAME"), "> ");
    each_command(opts, prompt, |words| command(&mut stream, words))
}
// ANCHOR_END: run

// ANCHOR: command
/// Sends one command and prints its reply.
fn command<S: AsRef<[u8]>>(stream: &mut TcpStream, words: &[S]) -> io::Result<()> {
    let mut request = Vec::new();
    append_request(&mut request, words, K_MAX_MSG)?;
    stream.write_all(&request)?;
    let mut reply = Vec::new();
    if !read_frame_growing(stream, K_MAX_MSG, &mut reply)? {
        let msg = "server closed the connection without replying";
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg));
    }
    let Some((status, data)) = reply.split_first_chunk::<4>() else {
        let msg = format!("a reply of {} bytes has no status", reply.len());
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    };
    let status = u32::from_le_bytes(*status);
    writeln!(io::stdout(), "server says: [{status}] {}", Escaped(data))
}
// ANCHOR_END: command
