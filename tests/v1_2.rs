//! Stage v1.2's typed replies: each command's reply byte for byte, `keys`, error codes, a reply
//! too big for a frame, and the client's printing of every kind of value, pinned, including
//! replies it cannot decode. (The request side, the memory bounds and the malformed bodies are
//! v1.0's, run against v1.2 too in `tests/v1_0.rs`.)

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

use common::tlv::{Tlv, arr, dbl, err, int, nil, run, str};
use common::{Reply, Rng, Server, Stage, command, frame, read_reply_frame};

fn quiet_server() -> Server {
    Server::start_with(Stage::V1_2, &["--quiet"])
}

// ANCHOR: typed
/// Each command's reply, byte for byte: nil for a set and a missing key, a string for a value,
/// an integer for a delete (1, then 0), an array of strings for `keys`.
#[test]
fn typed_replies_on_the_wire() {
    let server = quiet_server();
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"get", b"k"]), nil());
    assert_eq!(run(&mut c, &[b"set", b"k", b"\0v"]), nil());
    assert_eq!(run(&mut c, &[b"get", b"k"]), b"\x02\x02\0\0\0\0v");
    assert_eq!(run(&mut c, &[b"keys"]), b"\x05\x01\0\0\0\x02\x01\0\0\0k");
    assert_eq!(run(&mut c, &[b"del", b"k"]), int(1));
    assert_eq!(run(&mut c, &[b"del", b"k"]), b"\x03\0\0\0\0\0\0\0\0");
    assert_eq!(run(&mut c, &[b"keys"]), arr(&[]));
}
// ANCHOR_END: typed

/// `keys` returns every key once, whatever its bytes, through a resize of the table.
#[test]
fn keys_lists_every_key() {
    let server = quiet_server();
    let mut c = server.connect();
    let mut want: Vec<Vec<u8>> = (0..3000).map(|i| format!("key:{i}").into_bytes()).collect();
    want.extend([b"".to_vec(), b"\0\xff".to_vec()]);
    let sets: Vec<u8> = want.iter().flat_map(|key| command(&[b"set", key, b"v"])).collect();
    c.write_all(&sets).unwrap();
    for _ in &want {
        assert_eq!(read_reply_frame(&mut c), Reply::Got(nil().into()));
    }
    let reply = run(&mut c, &[b"keys"]);
    let (count, mut rest) = (u32::from_le_bytes(reply[1..5].try_into().unwrap()), &reply[5..]);
    assert_eq!((reply[0], count as usize), (5, want.len()));
    let mut got = Vec::new();
    while let [2, a, b, c, d, after @ ..] = rest {
        let len = u32::from_le_bytes([*a, *b, *c, *d]) as usize;
        got.push(after[..len].to_vec());
        rest = &after[len..];
    }
    assert!(rest.is_empty(), "{} bytes after the keys", rest.len());
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

// ANCHOR: errors
/// An unknown command is ERR 1, a wrong number of arguments ERR 4; names are case-insensitive,
/// and an error leaves the connection usable.
#[test]
fn errors_have_codes_and_keep_the_connection() {
    let server = quiet_server();
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"frobnicate", b"k"]), err(1, "unknown command"));
    assert_eq!(run(&mut c, &[]), err(1, "unknown command"));
    let wrong: [&[&[u8]]; 5] =
        [&[b"get"], &[b"set", b"k"], &[b"del", b"a", b"b"], &[b"keys", b"*"], &[b"KEYS", b"a"]];
    for words in wrong {
        assert_eq!(run(&mut c, words), err(4, "wrong number of arguments"), "{words:?}");
    }
    assert_eq!(run(&mut c, &[b"SET", b"k", b"v"]), nil());
    assert_eq!(run(&mut c, &[b"Get", b"k"]), str(b"v"));
    assert_eq!(run(&mut c, &[b"kEyS"]), arr(&[str(b"k")]));
}
// ANCHOR_END: errors

// ANCHOR: too_big
/// Two keys of 17 MiB each: their `keys` reply would be 34 MiB, over the 32 MiB frame limit.
/// It is ERR 2 instead, and the connection goes on. A reply of exactly 32 MiB is sent; one
/// byte more is ERR 2.
#[test]
fn a_reply_over_the_limit_is_err_2() {
    let server = quiet_server();
    let mut c = server.connect();
    for name in [b'a', b'b'] {
        assert_eq!(run(&mut c, &[b"set", &vec![name; 17 << 20], b"v"]), nil());
    }
    let too_big = err(2, "reply too big: over 33554432 bytes");
    assert_eq!(run(&mut c, &[b"keys"]), too_big);
    assert_eq!(run(&mut c, &[b"del", &vec![b'a'; 17 << 20]]), int(1));
    assert_eq!(run(&mut c, &[b"keys"]).len(), 1 + 4 + 1 + 4 + (17 << 20));
    // The array's 5 bytes, and two strings of 5 bytes each and their keys: 32 MiB in all.
    let b_len = (32 << 20) - 15 - (17 << 20);
    assert_eq!(run(&mut c, &[b"set", &vec![b'c'; b_len], b"v"]), nil());
    assert_eq!(run(&mut c, &[b"keys"]).len(), 32 << 20, "exactly the limit");
    assert_eq!(run(&mut c, &[b"set", &vec![b'c'; b_len + 1], b"v"]), nil());
    assert_eq!(run(&mut c, &[b"keys"]), too_big, "one byte over");
}
// ANCHOR_END: too_big

/// A refused `keys` builds at most a frame's worth of reply: it stops before the key that
/// would not fit, rather than after (with two keys of 30 MiB, that was 60 MiB built to send
/// 40 bytes).
#[test]
fn a_refused_reply_is_not_built_past_the_limit() {
    let server = quiet_server();
    let mut c = server.connect();
    for name in [b'a', b'b'] {
        assert_eq!(run(&mut c, &[b"set", &vec![name; 30 << 20], b"v"]), nil());
    }
    let before = common::peak_rss_kib(server.pid());
    assert_eq!(run(&mut c, &[b"keys"]), err(2, "reply too big: over 33554432 bytes"));
    let grown = common::peak_rss_kib(server.pid()) - before;
    assert!(grown < 16 * 1024, "the peak grew by {grown} KiB to refuse a reply");
}

// ANCHOR: yields
/// A client that sends 300 costly `keys` in one write (each refused after copying 17 MiB)
/// does not hold the other clients until all 300 are done: the loop serves the others after
/// each one. The server's log shows the order in which requests were answered.
#[test]
fn costly_requests_take_turns() {
    let server = Server::start(Stage::V1_2);
    let mut a = server.connect();
    for name in [b'a', b'b'] {
        assert_eq!(run(&mut a, &[b"set", &vec![name; 17 << 20], b"v"]), nil());
        assert!(server.next_stdout().starts_with("client says: set"));
    }
    a.write_all(&command(&[b"keys"]).repeat(300)).unwrap();
    assert_eq!(server.next_stdout(), "client says: keys", "the first is being answered");
    let mut b = server.connect();
    assert_eq!(run(&mut b, &[b"get", b"other"]), nil());
    let mut before = 1;
    while server.next_stdout() != "client says: get other" {
        before += 1;
    }
    assert!(before < 100, "{before} of the 300 keys were answered before the other client");
    for _ in 0..300 {
        assert_eq!(
            read_reply_frame(&mut a),
            Reply::Got(err(2, "reply too big: over 33554432 bytes").into())
        );
    }
}
// ANCHOR_END: yields
// ANCHOR_END: too_big

/// A server that answers one request with `reply`, whatever it was, and returns its address.
fn stand_in(reply: Vec<u8>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).unwrap();
        let mut body = vec![0u8; u32::from_le_bytes(header) as usize];
        stream.read_exact(&mut body).unwrap();
        stream.write_all(&frame(&reply)).unwrap();
    });
    addr
}

fn client(addr: std::net::SocketAddr) -> assert_cmd::assert::Assert {
    Stage::V1_2.command().args(["client", "--addr", &addr.to_string(), "get", "x"]).assert()
}

// ANCHOR: client_prints
/// The client prints every kind of value as the original's client does, one line each,
/// nested arrays included; bytes that are not text are escaped.
#[test]
fn the_client_prints_every_kind_of_value() {
    let reply = arr(&[
        nil(),
        err(3, "wrong type"),
        str(b"hello world"),
        str(b"caf\xe9"),
        int(-42),
        dbl(0.25),
        dbl(1e21),
        arr(&[arr(&[]), str(b"")]),
    ]);
    let want = "(arr) len=8\n(nil)\n(err) 3 wrong type\n(str) hello world\n(str) caf\\xe9\n\
                (int) -42\n(dbl) 0.25\n(dbl) 1e+21\n(arr) len=2\n(arr) len=0\n(arr) end\n\
                (str) \n(arr) end\n(arr) end\n";
    client(stand_in(reply.into())).success().stdout(want);
}
// ANCHOR_END: client_prints

/// A reply the client cannot decode is one clear line and exit code 1, with nothing printed
/// of it: not half an array.
#[test]
fn the_client_refuses_a_reply_it_cannot_decode() {
    let cases = [
        (arr(&[str(b"fine"), Tlv(vec![9])]).into(), "bad reply at byte 14: unknown tag 9"),
        (b"\x05\x03\0\0\0\0".to_vec(), "bad reply at byte 6: the reply ends inside a value"),
        ([nil(), nil()].concat(), "bad reply at byte 1: bytes after the reply's value"),
        (vec![], "bad reply at byte 0: the reply ends inside a value"),
    ];
    for (reply, why) in cases {
        let out = client(stand_in(reply)).code(1).stdout("");
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(stderr, format!("v1_2 client: {why}\n"));
    }
}

/// A reply that claims more than it holds costs the client what arrived, not what the claim
/// would print: a 32 MiB reply of nils inside an array that promises more is refused by a
/// client whose address space is capped at 200 MB (printing first, it needed 230 MB).
#[test]
fn the_client_checks_a_reply_before_printing_it() {
    let mut reply = b"\x05\xff\xff\xff\xff".to_vec();
    reply.resize(32 << 20, 0);
    let addr = stand_in(reply);
    let out = Command::new("prlimit")
        .args(["--as=200000000", "--", Stage::V1_2.bin(), "client", "--addr", &addr.to_string()])
        .args(["get", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want =
        format!("v1_2 client: bad reply at byte {}: the reply ends inside a value\n", 32 << 20);
    assert_eq!(stderr, want);
}

/// `(dbl)` prints as C's `printf("%g")` does: checked against the system's `printf`, given
/// each number exactly (as a hexadecimal float), for edge cases and 2,000 random numbers.
#[test]
fn dbl_prints_as_c_printf_g() {
    let mut rng = Rng::new(0x1e55_0b1e);
    let mut numbers = vec![0.0, 1.0, 0.5, 1e-4, 9.99995e-5, 999999.4, 999999.5, 123456.5, 1e6];
    numbers.extend([f64::MIN_POSITIVE, f64::MAX, 5e-324, -2.5, 0.1, 1.0 / 3.0]);
    for _ in 0..2000 {
        let bits = rng.next();
        let x = f64::from_bits(bits);
        // Random bits, and random numbers near the range where %g switches format.
        numbers.push(if x.is_finite() { x } else { 1.0 });
        numbers.push((rng.below(2_000_000) as f64 - 1e6) / 10f64.powi(rng.below(12) as i32));
    }
    let hex: Vec<String> = numbers.iter().map(|&x| hex_float(x)).collect();
    let out = Command::new("printf").arg("%g\\n").args(&hex).output().expect("printf");
    let c = String::from_utf8(out.stdout).unwrap();
    let dbls: Vec<Tlv> = numbers.iter().map(|&x| dbl(x)).collect();
    // Through the client itself, in one reply.
    let ours = client(stand_in(arr(&dbls).into())).success().get_output().stdout.clone();
    let ours = String::from_utf8(ours).unwrap();
    let ours: Vec<&str> = ours.lines().filter_map(|l| l.strip_prefix("(dbl) ")).collect();
    assert_eq!(ours.len(), numbers.len());
    for ((x, want), got) in numbers.iter().zip(c.lines()).zip(ours) {
        assert_eq!(got, want, "{x:e} ({})", hex_float(*x));
    }
}

/// `x` exactly, as C reads a hexadecimal float: `0x1.8p+1` is 3.
fn hex_float(x: f64) -> String {
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exponent = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    match exponent {
        0 => format!("{sign}0x0.{fraction:013x}p-1022"),
        _ => format!("{sign}0x1.{fraction:013x}p{:+}", exponent - 1023),
    }
}
