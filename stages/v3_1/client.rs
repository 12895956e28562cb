//! The v3.0 client: a small `redis-cli`. Sends a command given on the command line, or each
//! line of standard input, as a RESP array of bulk strings, and prints each reply as
//! `redis-cli` does: `OK`, `(integer) 1`, `"hello"`, `(nil)`, `(error) ERR ...`, numbered
//! arrays. (`redis-cli` itself works against the server too, and does much more.)

use std::io::{self, Read, Write};
use std::net::TcpStream;

use crate::cli::{ClientOpts, each_command};
use crate::net::connect;
use crate::resp;

/// One command from the command line, or, with none, one per line of standard input.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let mut stream = connect(opts.addr)?;
    stream.set_nodelay(true)?;
    let prompt = concat!(env!("CARGO_BIN_NAME"), "> ");
    let mut replies = Vec::new();
    each_command(opts, prompt, |words| command(&mut stream, words, &mut replies))
}

// ANCHOR: command
/// Sends one command as a RESP array of bulk strings, and prints its reply. `replies` holds
/// what arrived and was not yet a whole reply.
fn command(stream: &mut TcpStream, words: &[Vec<u8>], replies: &mut Vec<u8>) -> io::Result<()> {
    let mut request = Vec::new();
    resp::out_array(&mut request, words.len());
    for word in words {
        resp::out_bulk(&mut request, word);
    }
    stream.write_all(&request)?;
    // A reply is parsed again from its start each time more of it arrives, so a big one is
    // looked at only when what has arrived has doubled, or the socket had nothing more for
    // now (a short read): linear in the reply's size, not quadratic.
    let mut look_at = 0;
    loop {
        if replies.len() >= look_at {
            let bad = |e| io::Error::new(io::ErrorKind::InvalidData, e);
            if let Some((reply, used)) = resp::parse_reply(replies).map_err(bad)? {
                let printed = writeln!(io::stdout(), "{reply}");
                replies.drain(..used);
                return printed;
            }
            look_at = 2 * replies.len();
        }
        let mut chunk = [0u8; 64 * 1024];
        match stream.read(&mut chunk)? {
            0 => {
                let msg = "server closed the connection without replying";
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg));
            }
            n if n < chunk.len() => {
                replies.extend_from_slice(&chunk[..n]);
                look_at = 0;
            }
            n => replies.extend_from_slice(&chunk[..n]),
        }
    }
}
// ANCHOR_END: command
