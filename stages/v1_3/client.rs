//! The v1.2 client: v1.0's, printing typed replies the way the original's client does, one
//! line per value: `(nil)`, `(err) 4 wrong number of arguments`, `(str) hello`, `(int) 1`,
//! `(dbl) 0.5`, and an array as `(arr) len=2`, its values, `(arr) end`.

use std::io::{self, Write};
use std::net::TcpStream;

use crate::cli::{ClientOpts, each_command};
use crate::frame::read_frame_growing;
use crate::net::connect;
use crate::request::{Escaped, append_request};
use crate::tlv::{self, Item, PrintfG};

use crate::server::K_MAX_MSG;

/// One command from the command line, or, with none, one per line of standard input.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let mut stream = connect(opts.addr)?;
    stream.set_nodelay(true)?;
    let prompt = concat!(env!("CARGO_BIN_NAME"), "> ");
    each_command(opts, prompt, |words| command(&mut stream, words))
}

// ANCHOR: command
/// Sends one command and prints its reply: all of it or, if it does not decode, none of it.
fn command(stream: &mut TcpStream, words: &[Vec<u8>]) -> io::Result<()> {
    let mut request = Vec::new();
    append_request(&mut request, words, K_MAX_MSG)?;
    stream.write_all(&request)?;
    let mut reply = Vec::new();
    if !read_frame_growing(stream, K_MAX_MSG, &mut reply)? {
        let msg = "server closed the connection without replying";
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg));
    }
    // The whole reply is checked before any of it is printed: a broken reply prints nothing
    // of itself, not half an array followed by an error.
    tlv::items(&reply).try_for_each(|item| item.map(drop))?;
    print(&reply, &mut io::BufWriter::new(io::stdout().lock()))
}
// ANCHOR_END: command

// ANCHOR: printed
/// Prints a reply, already checked, as the original's client prints it. Bytes that are not
/// text are escaped (`\xNN`), where the original prints them raw: a terminal is no place for
/// arbitrary bytes.
fn print(reply: &[u8], out: &mut impl Write) -> io::Result<()> {
    for item in tlv::items(reply) {
        match item? {
            Item::Nil => writeln!(out, "(nil)"),
            // The original prints the code as a C `int`.
            Item::Err(code, msg) => writeln!(out, "(err) {} {}", code as i32, Escaped(msg)),
            Item::Str(bytes) => writeln!(out, "(str) {}", Escaped(bytes)),
            Item::Int(n) => writeln!(out, "(int) {n}"),
            Item::Dbl(x) => writeln!(out, "(dbl) {}", PrintfG(x)),
            Item::Arr(count) => writeln!(out, "(arr) len={count}"),
            Item::End => writeln!(out, "(arr) end"),
        }?;
    }
    out.flush()
}
// ANCHOR_END: printed
