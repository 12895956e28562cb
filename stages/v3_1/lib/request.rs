// src/request.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! The request protocol from v1.0 on: a command is a list of byte strings, and a request
//! frame's body carries one command, byte for byte as the C++ original lays it out:
//!
//! ```text
//! +-----------+-----------+----------+-----------+----------+-----+
//! | nstr: u32 | len1: u32 | str1 ... | len2: u32 | str2 ... | ... |   all little-endian
//! +-----------+-----------+----------+-----------+----------+-----+
//!   03 00 00 00  03 00 00 00  "set"   08 00 00 00  "greeting"  05 00 00 00  "hello"
//! ```
//!
//! A body that does not parse *exactly* is a protocol violation: more than [`K_MAX_ARGS`]
//! strings, a length that runs past the end of the body, or bytes left over after the last
//! string. Nothing is guessed and nothing is skipped.
//!
//! Parsing copies nothing and allocates nothing. A [`Request`] borrows the connection's buffer,
//! and its strings are slices of that buffer, handed out one at a time by an iterator; the
//! compiler makes sure no string outlives the buffer it points into.

use std::fmt;

/// `count` strings, `words`, as a log line shows them: escaped, separated by spaces, at most
/// 8 strings of 64 bytes.
/// (Redis's requests are shown the same way.)
pub fn show_words<'a>(
    f: &mut fmt::Formatter<'_>,
    words: impl Iterator<Item = &'a [u8]>,
    count: usize,
) -> fmt::Result {
    const STRINGS: usize = 8;
    const BYTES: usize = 64;
    for (i, arg) in words.take(STRINGS).enumerate() {
        let space = if i == 0 { "" } else { " " };
        match arg.get(..BYTES) {
            Some(head) if arg.len() > BYTES => {
                write!(f, "{space}{}...({} bytes)", Escaped(head), arg.len())?
            }
            _ => write!(f, "{space}{}", Escaped(arg))?,
        }
    }
    if count > STRINGS {
        write!(f, " ...({} more)", count - STRINGS)?;
    }
    Ok(())
}

// ANCHOR: escaped
/// Bytes shown as text: valid UTF-8 as it is, any other byte as `\xNN`, so that a binary key
/// or value prints as what it is, never as mojibake or replacement characters. (Control
/// characters and backslashes are escaped too, so that what is shown is unambiguous.)
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '\t' => f.write_str("\\t")?,
                    '\r' => f.write_str("\\r")?,
                    c if c.is_ascii_control() => write!(f, "\\x{:02x}", c as u32)?,
                    // Controls, and the marks that reorder text on a terminal (bidi overrides).
                    c if c.is_control() || is_bidi(c) => write!(f, "{}", c.escape_unicode())?,
                    c => write!(f, "{c}")?,
                }
            }
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}
// ANCHOR_END: escaped

/// The invisible characters that change the direction text is displayed in.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}
