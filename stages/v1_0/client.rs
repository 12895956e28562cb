//! The v1.0 client: sends a command given on the command line, or each line of standard input
//! as a command, and prints each reply the way the original's client does:
//! `server says: [0] hello`.

use std::io::{self, BufRead, IsTerminal, Write};
use std::net::TcpStream;

use redis_lite::cli::{ClientOpts, split_words};
use redis_lite::frame::read_frame_growing;
use redis_lite::net::connect;
use redis_lite::request::{Escaped, append_request};

use crate::server::K_MAX_MSG;

// ANCHOR: run
/// One command from the command line, or, with none, one per line of standard input.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let mut stream = connect(opts.addr)?;
    stream.set_nodelay(true)?;
    if !opts.messages.is_empty() {
        return command(&mut stream, &opts.messages);
    }
    let stdin = io::stdin();
    // A prompt only for a person: a script piping commands in wants the replies alone.
    let person = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    for number in 1.. {
        if person {
            // The binary's name, so that a later stage that runs this client shows its own.
            write!(io::stdout(), "{}> ", env!("CARGO_BIN_NAME"))?;
            io::stdout().flush()?;
        }
        line.clear();
        // Bytes, not text: a line need not be UTF-8, since keys and values need not be.
        if input.read_until(b'\n', &mut line)? == 0 {
            if person {
                writeln!(io::stdout())?; // End the prompt's line.
            }
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        match split_words(text) {
            Ok(words) if words.is_empty() => {}
            Ok(words) => command(&mut stream, &words)?,
            // A typo costs a person one line; a script, its run.
            Err(e) if person => eprintln!("{e}"),
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("line {number}: {e}"),
                ));
            }
        }
    }
    Ok(())
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
