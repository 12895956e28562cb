//! Numbers with a fraction, read as Redis reads them: with the C library's `strtod`, and
//! then Redis's own checks on what it returned. Rust's `str::parse::<f64>` is close, but it
//! refuses hexadecimal (`0x10`, which `strtod` reads as 16) and takes `1e400` as infinity,
//! where Redis refuses it for `ZADD`; and Redis reads a score bound (`ZRANGEBYSCORE`) by
//! other rules than a score. So this file says what `strtod` consumes, and the two callers
//! say what Redis does with that.

// ANCHOR: parsed
/// What `strtod` made of the front of an argument.
#[derive(Clone, Copy, Debug)]
pub struct Parsed {
    pub value: f64,
    /// How many bytes it read (0: no number there; `strtod` then reads nothing).
    pub used: usize,
    /// Whether it set `errno` to `ERANGE` with a result Redis refuses for a score: too big
    /// for a double (a written `inf` is not that), or so small that it became zero.
    pub out_of_range: bool,
}
// ANCHOR_END: parsed

// ANCHOR: score
/// A score, as Redis's `string2d` reads one (`ZADD`): the whole argument is a number for
/// `strtod`, with no space before it, not NaN, and not out of range.
pub fn score(arg: &[u8]) -> Option<f64> {
    let p = strtod(arg);
    let refused = arg.is_empty()
        || arg[0].is_ascii_whitespace()
        || arg[0] == 0x0b
        || p.used != arg.len()
        || p.out_of_range
        || p.value.is_nan();
    (!refused).then_some(p.value)
}

/// A bound of `ZRANGEBYSCORE`, after its `(`, as Redis's `zslParseRange` reads one: `strtod`
/// must stop at the end of the string as C sees it, the first NUL byte. Nothing else is
/// checked but NaN, and so an empty bound is 0, a space before the number is skipped, and
/// `1e400` is infinity.
pub fn bound(arg: &[u8]) -> Option<f64> {
    let p = strtod(arg);
    let ends = arg.get(p.used).is_none_or(|&b| b == 0);
    (ends && !p.value.is_nan()).then_some(p.value)
}
// ANCHOR_END: score

/// What glibc's `strtod` reads from the front of `s`, in the C locale: space (which it
/// skips), a sign, then `inf`, `infinity`, `nan` (and `nan(chars)`), a hexadecimal number
/// (`0x1.8p3`) or a decimal one (`1.5e3`, `.5`, `5.`). Where no number follows, nothing is
/// read at all, not even the space.
pub fn strtod(s: &[u8]) -> Parsed {
    let none = Parsed { value: 0.0, used: 0, out_of_range: false };
    let start = s.iter().take_while(|&&b| b.is_ascii_whitespace() || b == 0x0b).count();
    let (negative, body) = match s.get(start) {
        Some(b'-') => (true, start + 1),
        Some(b'+') => (false, start + 1),
        _ => (false, start),
    };
    let Some((magnitude, len, out_of_range)) = unsigned(&s[body..]) else { return none };
    let value = if negative { -magnitude } else { magnitude };
    Parsed { value, used: body + len, out_of_range }
}

/// A number without its sign: its value, how many bytes it took, and whether it is out of
/// range; `None` if `s` does not start with one.
fn unsigned(s: &[u8]) -> Option<(f64, usize, bool)> {
    let starts = |word: &[u8]| s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word);
    if starts(b"infinity") {
        return Some((f64::INFINITY, 8, false));
    } else if starts(b"inf") {
        return Some((f64::INFINITY, 3, false));
    } else if starts(b"nan") {
        // `nan(` letters, digits and `_` `)` is one NaN; without the `)`, only `nan` is read.
        let inside = s[3..].iter().skip(1).take_while(|b| b.is_ascii_alphanumeric() || **b == b'_');
        let inside = inside.count();
        let closed = s.get(3) == Some(&b'(') && s.get(4 + inside) == Some(&b')');
        let len = if closed { 5 + inside } else { 3 };
        return Some((f64::NAN, len, false));
    }
    let hex = s.len() > 2 && s[0] == b'0' && (s[1] | 0x20) == b'x';
    match hex.then(|| hexadecimal(&s[2..])).flatten() {
        Some((value, len, out_of_range)) => Some((value, 2 + len, out_of_range)),
        None => decimal(s), // and `0x` with no digit after it is the number 0, then an `x`
    }
}

/// Digits, with at most one `.` among them and at least one digit: how many bytes, and how
/// many of them were digits that are not zero.
fn digits(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<(usize, bool)> {
    let before = s.iter().take_while(|b| is_digit(b)).count();
    let after = match s.get(before) {
        Some(b'.') => s[before + 1..].iter().take_while(|b| is_digit(b)).count(),
        _ => 0,
    };
    let len = if s.get(before) == Some(&b'.') { before + 1 + after } else { before };
    let nonzero = s[..len].iter().any(|&b| b != b'0' && b != b'.');
    (before + after > 0).then_some((len, nonzero))
}

/// An exponent after the mantissa: `e` (or `p`), a sign, digits. Without a digit after it,
/// the letter is not part of the number, and this is 0 bytes.
fn exponent(s: &[u8], letter: u8) -> usize {
    if s.first().map(|b| b | 0x20) != Some(letter) {
        return 0;
    }
    let sign = usize::from(matches!(s.get(1), Some(b'+' | b'-')));
    let count = s[1 + sign..].iter().take_while(|b| b.is_ascii_digit()).count();
    if count == 0 { 0 } else { 1 + sign + count }
}

/// A decimal number: Rust reads the digits `strtod` would take, rounding as it does (to the
/// nearest double); what comes out infinite, or zero from digits that are not all zero, is
/// what made `strtod` say `ERANGE`.
fn decimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let (len, nonzero) = digits(s, u8::is_ascii_digit)?;
    let len = len + exponent(&s[len..], b'e');
    let text = std::str::from_utf8(&s[..len]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some((value, len, value.is_infinite() || (value == 0.0 && nonzero)))
}

// ANCHOR: hexadecimal
/// A hexadecimal number after its `0x`: hex digits, perhaps a `.`, perhaps `p` and a power
/// of two. The first 15 significant hex digits (60 bits) are kept, and whether any digit
/// after them is not zero; that is enough to round to 53 bits exactly as `strtod` does.
fn hexadecimal(s: &[u8]) -> Option<(f64, usize, bool)> {
    let (len, nonzero) = digits(s, u8::is_ascii_hexdigit)?;
    let (mut mantissa, mut exp2, mut sticky, mut after_point) = (0u64, 0i64, false, false);
    for &b in &s[..len] {
        let Some(digit) = char::from(b).to_digit(16) else {
            after_point = true;
            continue;
        };
        if mantissa < 1 << 60 {
            mantissa = (mantissa << 4) | u64::from(digit);
            exp2 -= if after_point { 4 } else { 0 };
        } else {
            sticky |= digit != 0;
            exp2 += if after_point { 0 } else { 4 };
        }
    }
    let exp_len = exponent(&s[len..], b'p');
    if exp_len > 0 {
        let text = &s[len + 1..len + exp_len];
        let (negative, text) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        // Past ±1,000,000 every mantissa has overflowed or vanished: stop counting there.
        let n = text.iter().fold(0i64, |n, &d| (n * 10 + i64::from(d - b'0')).min(1_000_000));
        exp2 += if negative { -n } else { n };
    }
    let value = scaled(mantissa, sticky, exp2);
    Some((value, len + exp_len, value.is_infinite() || (value == 0.0 && nonzero)))
}

/// `mantissa` × 2^`exp2` (plus a little more if `sticky`), rounded to the nearest double,
/// ties to even, as `strtod` rounds: to a subnormal below 2^-1022, to infinity above the
/// largest double.
fn scaled(mantissa: u64, sticky: bool, exp2: i64) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    // Put the leading 1 at bit 127: the value is m × 2^(e - 127), and its leading bit is
    // worth 2^top.
    let m = u128::from(mantissa) << (64 + mantissa.leading_zeros());
    let top = exp2 + 63 - i64::from(mantissa.leading_zeros());
    if top > 1023 {
        return f64::INFINITY;
    }
    // A normal double keeps 53 bits; below 2^-1022 a subnormal keeps fewer, down to none.
    let kept = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if kept < 0 {
        return 0.0; // below half the smallest subnormal
    }
    let shift = (128 - kept) as u32;
    let (q, rest) = if shift == 128 { (0, m) } else { (m >> shift, m & ((1u128 << shift) - 1)) };
    let half = 1u128 << (shift - 1);
    let up = rest > half || (rest == half && (sticky || q & 1 == 1));
    let q = (q + u128::from(up)) as u64;
    if top < -1022 {
        // A subnormal's bits are its mantissa in units of 2^-1074; one rounded up to 2^52
        // of them is the smallest normal double, which those same bits also spell.
        return f64::from_bits(q);
    }
    let (q, top) = if q == 1 << 53 { (q >> 1, top + 1) } else { (q, top) };
    if top > 1023 {
        return f64::INFINITY;
    }
    f64::from_bits((((top + 1023) as u64) << 52) | (q - (1 << 52)))
}
// ANCHOR_END: hexadecimal
