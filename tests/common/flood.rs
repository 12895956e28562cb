//! Keys that all land in one bucket of an FNV-1a hash table: the attack on an unkeyed hash,
//! built in a fraction of a second. Shared by `tests/hash_flood.rs` and `benches/hash_flood.rs`.
//!
//! FNV-1a's state is a `u64`; each byte is xored into it, then the state is multiplied by a
//! prime, modulo 2^64. Neither step lets a high bit reach a low one: the low 32 bits of the
//! state after a byte depend only on the byte and the low 32 bits before it. A table of up to
//! 2^32 buckets picks a bucket from those bits alone. So:
//!
//! 1. From the state after what is fixed so far, try blocks of four letters until two of them
//!    leave the same low 32 bits: a birthday search, about 80,000 tries (2^16 of them, give or
//!    take, for 2^32 possible values), if the blocks tried are not too alike (see [`block`]).
//! 2. After either block the low bits agree, so the next pair is searched from there, and
//!    whichever block a key took before, it reaches the same low bits again.
//! 3. Sixteen such pairs give 2^16 keys of 64 bytes, one choice of block per pair, whose
//!    hashes all agree in their low 32 bits.

use std::collections::HashMap;

// ANCHOR: flood
/// Letters per block: 62^4 = 14.8 million blocks to try, far more than a search needs.
const BLOCK: usize = 4;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// FNV-1a's state after `bytes`, from `state` (`fnv1a(key)` is this from the offset basis).
fn fnv1a_from(mut state: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        state ^= u64::from(byte);
        state = state.wrapping_mul(0x0000_0100_0000_01b3);
    }
    state
}

/// Every block, each once, in a shuffled order: `n` times an odd number that is no multiple of
/// 31, modulo 62^4, is a different number for every `n`. Counting up in order would try blocks
/// that differ in their first letter only, and near neighbours rarely collide under FNV-1a,
/// whose low bits change almost linearly with the letters: 2.4 million tries a pair, measured,
/// where shuffled blocks take about 75,000, as a birthday search of 2^32 values should.
fn block(n: usize) -> [u8; BLOCK] {
    let blocks = ALPHABET.len().pow(BLOCK as u32);
    let mut shuffled = (n as u64 * 2_654_435_761 % blocks as u64) as usize;
    let mut letters = [0; BLOCK];
    for letter in &mut letters {
        *letter = ALPHABET[shuffled % ALPHABET.len()];
        shuffled /= ALPHABET.len();
    }
    letters
}

/// Two different blocks that take `state` to the same low 32 bits.
fn colliding_pair(state: u64) -> [[u8; BLOCK]; 2] {
    let mut seen: HashMap<u32, [u8; BLOCK]> = HashMap::new();
    for n in 0..ALPHABET.len().pow(BLOCK as u32) {
        let b = block(n);
        if let Some(&a) = seen.get(&(fnv1a_from(state, &b) as u32)) {
            return [a, b];
        }
        seen.insert(fnv1a_from(state, &b) as u32, b);
    }
    unreachable!("14.8 million tries of 2^32 values always collide")
}

/// 2^`pairs` distinct keys of `4 * pairs` letters whose FNV-1a hashes share their low 32 bits.
pub fn colliding_keys(pairs: u32) -> Vec<Vec<u8>> {
    let mut state = 0xcbf2_9ce4_8422_2325; // FNV-1a's offset basis
    let mut choices = Vec::new();
    for _ in 0..pairs {
        let pair = colliding_pair(state);
        state = fnv1a_from(state, &pair[0]);
        choices.push(pair);
    }
    let key = |i: usize| choices.iter().enumerate().flat_map(|(bit, p)| p[i >> bit & 1]).collect();
    (0..1 << pairs).map(key).collect()
}
// ANCHOR_END: flood

/// `n` keys as long as [`colliding_keys`]'s, spread as any keys are: to compare with.
pub fn ordinary_keys(n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{i:0len$}").into_bytes()).collect()
}
