// src/glob.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! Glob patterns, as `KEYS pattern` matches them from v3.0 on: Redis's `stringmatchlen`
//! (`src/util.c`), on bytes, case-sensitive.
//!
//! ```text
//! *        any run of bytes, empty included       h*llo   hllo, hello, heeeello
//! ?        any one byte                           h?llo   hello, hallo
//! [abc]    one of these bytes                     h[ae]llo   hello, hallo
//! [^abc]   one byte not among these               h[^e]llo   hallo, not hello
//! [a-z]    one byte in this range (or [z-a])      h[a-b]llo  hallo, hbllo
//! \x       the byte x itself                      h\*llo  h*llo only
//! ```
//!
//! Redis's matcher is recursive: at each `*` it tries the rest of the pattern at every
//! position of the rest of the string. Plainly done, that is exponential: `a*a*a*a*a*b`
//! against a long run of `a`s tries every way of splitting the run among the stars, and
//! `KEYS` with such a pattern once let one client stall a server for as long as it liked
//! (CVE-2022-36021, fixed in 7.0.9 by the `skipLongerMatches` cut-off it has now). Redis also
//! stops at 1,000 nested stars and says "no match" past them, which this matcher copies
//! ([`too_deep`]), so that `KEYS` answers as Redis does.
//!
//! This matcher needs no cut-off: it never recurses and it backtracks only to the *last* star.
//! That is enough because every other token matches exactly one byte. When the pattern after
//! the last star fails at some position, an earlier star taking more bytes could only move
//! the last one further right, where we will try anyway; so only the last star need take one
//! more byte, and the work is at most (pattern length) × (string length) steps.
//!
//! Quirks kept, so that `KEYS` answers what Redis answers:
//! - An empty string matches only the empty pattern, not even `*` (Redis's `KEYS *` lists
//!   every key without calling the matcher, and so should ours).
//! - A class not closed (`[abc`) runs to the end of the pattern; `[a-]x` is the range from
//!   `]` to `a` (the `]` is taken as the range's end) and then `x`, in a class not closed.
//! - A `\` at the very end of a pattern matches a `\`.

// ANCHOR: glob_match
/// Whether `string` matches `pattern` as Redis's `KEYS` matches it.
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    if string.is_empty() {
        return pattern.is_empty(); // Redis's rule: see the module's notes
    }
    if too_deep(pattern) {
        return false;
    }
    let (mut p, mut s) = (0, 0);
    // Where to resume if the pattern fails from here: just after the last star seen, and the
    // position in the string up to which that star has taken bytes.
    let mut last_star: Option<(usize, usize)> = None;
    while s < string.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                last_star = Some((p, s)); // the star takes no bytes, to begin with
                continue;
            }
            Some(_) => {
                let (matched, len) = token(&pattern[p..], string[s]);
                if matched {
                    p += len;
                    s += 1;
                    continue;
                }
            }
            None => {}
        }
        // A mismatch, or pattern left over with string: the last star takes one more byte.
        let Some((after_star, taken_to)) = last_star else { return false };
        (p, s) = (after_star, taken_to + 1);
        last_star = Some((after_star, s));
    }
    pattern[p..].iter().all(|&b| b == b'*')
}
// ANCHOR_END: glob_match

/// Runs of stars Redis's matcher goes into: it recurses once a run, and a call more than
/// 1,000 deep says "no match" (`nesting > 1000` in `stringmatchlen_impl`).
const MAX_STAR_RUNS: usize = 1000;

/// Whether the pattern has a run of stars past [`MAX_STAR_RUNS`] with more pattern after it,
/// which Redis's matcher would have to go deeper to match: then nothing matches. (A run at
/// the very end matches the rest of any string without going deeper.)
fn too_deep(pattern: &[u8]) -> bool {
    let (mut runs, mut i) = (0, 0);
    while i < pattern.len() {
        if pattern[i] != b'*' {
            i += token(&pattern[i..], 0).1; // a token's length does not depend on the byte
            continue;
        }
        while pattern.get(i) == Some(&b'*') {
            i += 1;
        }
        runs += 1;
        if runs > MAX_STAR_RUNS {
            return i < pattern.len();
        }
    }
    false
}

// ANCHOR: token
/// Whether the token at the front of `pattern` (anything but `*`) matches the byte `c`, and
/// how many bytes of pattern the token is. The length never depends on `c`.
fn token(pattern: &[u8], c: u8) -> (bool, usize) {
    match pattern {
        [b'?', ..] => (true, 1),
        [b'[', class @ ..] => {
            let (matched, len) = one_of(class, c);
            (matched, 1 + len)
        }
        [b'\\', escaped, ..] => (*escaped == c, 2),
        [literal, ..] => (*literal == c, 1), // a `\` at the very end included
        [] => (false, 0),                    // not reached: the caller stops at the pattern's end
    }
}

/// A class after its `[`: whether `c` is in it, and its length up to and including the `]`
/// (or to the end of the pattern, for a class not closed). The cases are tried in Redis's
/// order, which decides what `[\]]`, `[a-]` and `[]` mean.
fn one_of(class: &[u8], c: u8) -> (bool, usize) {
    let negated = class.first() == Some(&b'^');
    let mut i = usize::from(negated);
    let mut matched = false;
    loop {
        match &class[i..] {
            [b'\\', escaped, ..] => {
                matched |= *escaped == c;
                i += 2;
            }
            [] => break, // not closed: the class is the rest of the pattern
            [b']', ..] => {
                i += 1;
                break;
            }
            [low, b'-', high, ..] => {
                let (low, high) = if low <= high { (*low, *high) } else { (*high, *low) };
                matched |= (low..=high).contains(&c);
                i += 3;
            }
            [byte, ..] => {
                matched |= *byte == c;
                i += 1;
            }
        }
    }
    (matched != negated, i)
}
// ANCHOR_END: token
