//! Stage v3.0: Redis's protocol and Redis's commands. Each command's reply byte for byte,
//! through a small RESP client of the harness's own; protocol errors, which Redis answers and
//! then closes; requests split at every byte; inline commands; and, when `redis-cli` is
//! installed (CI installs it), the server driven by Redis's own client.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::{Reply, Server, Stage, read_resp_reply, resp_command, rss_kib};

fn server() -> Server {
    Server::start_with(Stage::V3_0, &["--quiet"])
}

/// Sends one command and returns its reply, as text (every reply here is text).
fn run(stream: &mut TcpStream, words: &[&str]) -> String {
    let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    stream.write_all(&resp_command(&words)).unwrap();
    match read_resp_reply(stream) {
        Reply::Got(reply) => String::from_utf8(reply).unwrap(),
        Reply::Closed => panic!("closed instead of answering {words:?}"),
    }
}

// ANCHOR: strings
/// Strings and keys, with Redis's reply types.
#[test]
fn strings_and_keys() {
    let server = server();
    let mut c = server.connect();
    let mut check = |words: &[&str], want: &str| assert_eq!(run(&mut c, words), want, "{words:?}");
    check(&["PING"], "+PONG\r\n");
    check(&["ping", "hi"], "$2\r\nhi\r\n");
    check(&["ECHO", "x y"], "$3\r\nx y\r\n");
    check(&["GET", "k"], "$-1\r\n");
    check(&["SET", "k", "v"], "+OK\r\n");
    check(&["GET", "k"], "$1\r\nv\r\n");
    check(&["SET", "k", "w", "NX"], "$-1\r\n");
    check(&["SET", "k", "w", "XX"], "+OK\r\n");
    check(&["SET", "other", "w", "XX"], "$-1\r\n");
    check(&["EXISTS", "k", "other", "k"], ":2\r\n");
    check(&["INCR", "n"], ":1\r\n");
    check(&["INCRBY", "n", "41"], ":42\r\n");
    check(&["DECR", "n"], ":41\r\n");
    check(&["INCR", "k"], "-ERR value is not an integer or out of range\r\n");
    check(&["SET", "big", "9223372036854775807"], "+OK\r\n");
    check(&["INCR", "big"], "-ERR increment or decrement would overflow\r\n");
    check(&["DBSIZE"], ":3\r\n");
    check(&["KEYS", "[kx]"], "*1\r\n$1\r\nk\r\n");
    check(&["KEYS", "b?g"], "*1\r\n$3\r\nbig\r\n");
    check(&["DEL", "k", "n", "nothing"], ":2\r\n");
    check(&["UNLINK", "big"], ":1\r\n");
    check(&["KEYS", "*"], "*0\r\n");
    check(&["SET", "k", "v"], "+OK\r\n");
    check(&["FLUSHALL"], "+OK\r\n");
    check(&["DBSIZE"], ":0\r\n");
    check(&["SET", "", "empty key"], "+OK\r\n");
    check(&["KEYS", "*"], "*1\r\n$0\r\n\r\n");
}
// ANCHOR_END: strings

/// Deadlines, as Redis has them: `SET ... EX/PX`, `EXPIRE`, `PEXPIRE`, `TTL`, `PTTL`,
/// `PERSIST`; a deadline not in the future deletes the key.
#[test]
fn deadlines() {
    let server = server();
    let mut c = server.connect();
    let mut check = |words: &[&str], want: &str| assert_eq!(run(&mut c, words), want, "{words:?}");
    check(&["TTL", "k"], ":-2\r\n");
    check(&["SET", "k", "v", "EX", "100"], "+OK\r\n");
    check(&["TTL", "k"], ":100\r\n");
    check(&["PERSIST", "k"], ":1\r\n");
    check(&["PERSIST", "k"], ":0\r\n");
    check(&["TTL", "k"], ":-1\r\n");
    check(&["PEXPIRE", "k", "100000"], ":1\r\n");
    check(&["EXPIRE", "k", "50"], ":1\r\n");
    check(&["TTL", "k"], ":50\r\n");
    check(&["SET", "k", "v"], "+OK\r\n");
    check(&["PTTL", "k"], ":-1\r\n");
    check(&["EXPIRE", "k", "0"], ":1\r\n");
    check(&["GET", "k"], "$-1\r\n");
    check(&["EXPIRE", "k", "10"], ":0\r\n");
    check(&["SET", "k", "v", "PX", "0"], "-ERR invalid expire time in 'set' command\r\n");
    check(&["SET", "k", "v", "EX"], "-ERR syntax error\r\n");
    check(&["SET", "k", "v", "EX", "x"], "-ERR value is not an integer or out of range\r\n");
    check(&["SET", "p", "v", "PX", "1500"], "+OK\r\n");
    check(&["PTTL", "p"], ":1500\r\n");
    // A deadline Redis cannot store (now, in Unix milliseconds, plus this overflows an i64):
    // refused, as Redis refuses it, and no reply can overflow either.
    let huge = "9223372036854775807";
    check(&["SET", "k", "v", "PX", huge], "-ERR invalid expire time in 'set' command\r\n");
    check(&["PEXPIRE", "p", huge], "-ERR invalid expire time in 'pexpire' command\r\n");
    check(&["EXPIRE", "p", "9223372036854775"], "-ERR invalid expire time in 'expire' command\r\n");
    check(&["TTL", "p"], ":2\r\n");
}

/// Integers as Redis reads them: no `+`, no leading zeros, no `-0`.
#[test]
fn integers_are_strict() {
    let server = server();
    let mut c = server.connect();
    let mut check = |words: &[&str], want: &str| assert_eq!(run(&mut c, words), want, "{words:?}");
    let not_an_integer = "-ERR value is not an integer or out of range\r\n";
    for bad in ["+5", "007", "-0", " 5", "5 "] {
        check(&["SET", "n", bad], "+OK\r\n");
        check(&["INCR", "n"], not_an_integer);
        check(&["INCRBY", "m", bad], not_an_integer);
        check(&["EXPIRE", "n", bad], not_an_integer);
    }
    check(&["SET", "n", "-5"], "+OK\r\n");
    check(&["INCRBY", "n", "-9223372036854775803"], ":-9223372036854775808\r\n");
}

// ANCHOR: zsets
/// Sorted sets, Redis's way: `ZADD` of many pairs, `ZRANGE` by rank, `ZRANGEBYSCORE` with
/// exclusive bounds, infinities and `LIMIT`.
#[test]
fn sorted_sets() {
    let server = server();
    let mut c = server.connect();
    let mut check = |words: &[&str], want: &str| assert_eq!(run(&mut c, words), want, "{words:?}");
    check(&["ZADD", "z", "1", "a", "2", "b", "2", "c", "3.5", "d"], ":4\r\n");
    check(&["ZADD", "z", "5", "a", "9", "e"], ":1\r\n");
    check(&["ZCARD", "z"], ":5\r\n");
    check(&["ZSCORE", "z", "d"], "$3\r\n3.5\r\n");
    check(&["ZSCORE", "z", "nobody"], "$-1\r\n");
    check(&["ZRANK", "z", "a"], ":3\r\n");
    check(&["ZRANGE", "z", "0", "1"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    check(
        &["ZRANGE", "z", "-2", "-1", "WITHSCORES"],
        "*4\r\n$1\r\na\r\n$1\r\n5\r\n$1\r\ne\r\n$1\r\n9\r\n",
    );
    check(&["ZRANGE", "z", "3", "1"], "*0\r\n");
    check(&["ZRANGEBYSCORE", "z", "(2", "5"], "*2\r\n$1\r\nd\r\n$1\r\na\r\n");
    check(&["ZRANGEBYSCORE", "z", "-inf", "(3.5"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    check(
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "10"],
        "*2\r\n$1\r\na\r\n$1\r\ne\r\n",
    );
    check(
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "1", "WITHSCORES"],
        "*2\r\n$1\r\nc\r\n$1\r\n2\r\n",
    );
    check(&["ZRANGEBYSCORE", "z", "x", "1"], "-ERR min or max is not a float\r\n");
    check(&["ZADD", "z", "nan", "f"], "-ERR value is not a valid float\r\n");
    check(&["ZADD", "z", "1", "f", "2"], "-ERR syntax error\r\n");
    check(&["ZREM", "z", "a", "b", "c", "d", "nobody"], ":4\r\n");
    check(&["ZREM", "z", "e"], ":1\r\n");
    check(&["EXISTS", "z"], ":0\r\n");
    check(&["SET", "s", "v"], "+OK\r\n");
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    check(&["ZADD", "s", "1", "a"], wrongtype);
    check(&["ZADD", "z", "1", "a"], ":1\r\n");
    check(&["GET", "z"], wrongtype);
    check(&["INCR", "z"], wrongtype);
}
// ANCHOR_END: zsets

/// `DEL` of a big sorted set answers at once, and the `lazyfree` thread frees the set to the
/// end with nothing else sent: the loop answers its asks (see `tests/v2_0.rs`, whose store
/// this is).
#[test]
fn big_sets_are_freed_off_the_loop() {
    let server = server();
    let mut c = server.connect();
    for batch in 0..100 {
        let mut words = vec!["ZADD".to_string(), "big".to_string()];
        for i in batch * 1000..(batch + 1) * 1000 {
            words.extend(["1".to_string(), format!("m{i}")]);
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        assert_eq!(run(&mut c, &words), ":1000\r\n");
    }
    let loaded = rss_kib(server.pid());
    assert_eq!(run(&mut c, &["DEL", "big"]), ":1\r\n");
    server.wait_for_resident_below(loaded - 4096, "the set was never freed");
    assert_eq!(run(&mut c, &["EXISTS", "big"]), ":0\r\n");
}

/// Sets just big enough for the `lazyfree` thread, created and deleted as fast as a client can
/// pipeline them: the thread keeps up, and the server's memory stays that of a few sets.
/// (It once asked the loop after every set, and the loop answers one ask a turn: a turn read
/// a dozen sets and freed one, and this grew the server by 160 MiB.)
#[test]
fn many_big_sets_deleted_fast_do_not_pile_up() {
    let server = server();
    let mut c = server.connect();
    let mut zadd = vec![b"ZADD".to_vec(), b"k".to_vec()];
    for i in 0..100 {
        zadd.extend([b"1".to_vec(), format!("m{i}").into_bytes()]);
    }
    let zadd: Vec<&[u8]> = zadd.iter().map(Vec::as_slice).collect();
    let mut pipeline = Vec::new();
    for _ in 0..1000 {
        pipeline.extend(resp_command(&zadd));
        pipeline.extend(resp_command(&[b"DEL", b"k"]));
    }
    let start = rss_kib(server.pid());
    for _ in 0..10 {
        c.write_all(&pipeline).unwrap();
        for _ in 0..1000 {
            assert_eq!(read_resp_reply(&mut c), Reply::Got(b":100\r\n".to_vec()));
            assert_eq!(read_resp_reply(&mut c), Reply::Got(b":1\r\n".to_vec()));
        }
    }
    let grown = rss_kib(server.pid()).saturating_sub(start);
    assert!(grown < 32 * 1024, "1,000,000 members created and deleted: {grown} KiB more resident");
}

// ANCHOR: errors
/// Unknown commands and wrong numbers of arguments, in Redis's words; what clients send when
/// they connect; `QUIT` closes after its `+OK`.
#[test]
fn errors_and_connection_commands() {
    let server = server();
    let mut c = server.connect();
    let mut check = |words: &[&str], want: &str| assert_eq!(run(&mut c, words), want, "{words:?}");
    check(
        &["FROB", "a", "b"],
        "-ERR unknown command 'FROB', with args beginning with: 'a' 'b' \r\n",
    );
    check(&["get"], "-ERR wrong number of arguments for 'get' command\r\n");
    check(&["ZADD", "z", "1"], "-ERR wrong number of arguments for 'zadd' command\r\n");
    check(&["COMMAND", "DOCS"], "*0\r\n");
    check(&["CONFIG", "GET", "save"], "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    check(&["CONFIG", "GET", "maxmemory"], "*0\r\n");
    check(&["CLIENT", "SETNAME", "me"], "+OK\r\n");
    check(&["HELLO", "3"], "-NOPROTO unsupported protocol version\r\n");
    check(&["SELECT", "0"], "+OK\r\n");
    check(&["SELECT", "1"], "-ERR DB index is out of range\r\n");
    check(&["QUIT"], "+OK\r\n");
    assert_eq!(c.read(&mut [0u8; 1]).unwrap(), 0, "closed after QUIT");
    assert!(run(&mut server.connect(), &["INFO"]).contains("redis_version:"));
}
// ANCHOR_END: errors

// ANCHOR: protocol_errors
/// Every kind of malformed request gets `-ERR Protocol error: ...` and a close, after the
/// replies to the requests before it; the next client is served.
#[test]
fn protocol_errors_close_after_the_replies_owed() {
    let server = server();
    let cases: [(&[u8], &str); 6] = [
        (b"*-x\r\n", "invalid multibulk length"),
        (b"*2000000\r\n", "invalid multibulk length"),
        (b"*1\r\n$-5\r\n", "invalid bulk length"),
        (b"*1\r\n$600000000\r\n", "invalid bulk length"),
        (b"*1\r\n:3\r\n", "expected '$', got ':'"),
        (b"*1\r\n$3\r\nget!!\r\n", ""),
    ];
    for (bad, why) in cases {
        let mut c = server.connect();
        let mut wire = resp_command(&[b"PING"]);
        wire.extend_from_slice(bad);
        c.write_all(&wire).unwrap();
        assert_eq!(read_resp_reply(&mut c), Reply::Got(b"+PONG\r\n".to_vec()));
        let Reply::Got(error) = read_resp_reply(&mut c) else { panic!("no error for {bad:?}") };
        let error = String::from_utf8(error).unwrap();
        assert!(error.starts_with("-ERR Protocol error: ") && error.contains(why), "{error}");
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
        assert!(rest.is_empty(), "after the error: {rest:?}");
        assert_eq!(run(&mut server.connect(), &["GET", "k"]), "$-1\r\n", "still serving");
    }
}
// ANCHOR_END: protocol_errors

/// Three requests, sent one byte per write: each is answered once it is whole, and only then.
#[test]
fn requests_split_at_every_byte() {
    let server = server();
    let mut c = server.connect();
    c.set_nodelay(true).unwrap();
    let words: [&[&[u8]]; 3] = [&[b"SET", b"k", b"a\r\nb"], &[b"GET", b"k"], &[b"DEL", b"k"]];
    let wire: Vec<u8> = words.iter().flat_map(|w| resp_command(w)).collect();
    for byte in &wire {
        c.write_all(std::slice::from_ref(byte)).unwrap();
    }
    for want in ["+OK\r\n", "$4\r\na\r\nb\r\n", ":1\r\n"] {
        assert_eq!(read_resp_reply(&mut c), Reply::Got(want.as_bytes().to_vec()));
    }
}

/// Inline commands, as `telnet` or `redis-benchmark`'s `PING_INLINE` send them: a line of
/// words, quotes allowed; an empty line is nothing.
#[test]
fn inline_commands() {
    let server = server();
    let mut c = server.connect();
    c.write_all(b"PING\r\n\r\nset k \"two words\"\nget k\r\n").unwrap();
    for want in ["+PONG\r\n", "+OK\r\n", "$9\r\ntwo words\r\n"] {
        assert_eq!(read_resp_reply(&mut c), Reply::Got(want.as_bytes().to_vec()));
    }
    c.write_all(b"get \"unclosed\r\n").unwrap();
    let Reply::Got(error) = read_resp_reply(&mut c) else { panic!() };
    assert!(error.starts_with(b"-ERR Protocol error: unbalanced quotes"), "{error:?}");
}

/// The defaults are Redis's: 127.0.0.1:6379, and no idle timeout (a `redis-cli` session left
/// alone is not cut off).
#[test]
fn redis_defaults() {
    let out = Stage::V3_0.command().arg("--help").assert().success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(help.contains("(default 127.0.0.1:6379;"), "{help}");
    assert!(help.contains("0 for never (default 0)"), "{help}");
}

/// A stream that ends in the middle of a request is logged as such, in RESP's terms (not as
/// a frame of 168,637,226 bytes, which is what `*3\r\n` reads as when taken for a length).
#[test]
fn a_request_cut_short() {
    let server = Server::start(Stage::V3_0);
    let mut c = server.connect();
    c.write_all(b"*3\r\n$3\r\nSET\r\n").unwrap();
    drop(c);
    server.expect_log("the stream ended inside a request, after 13 bytes of it");
}

// ANCHOR: redis_cli
/// Redis's own client against our server: `redis-cli -p PORT set a 1`, `get a`, and the rest,
/// printed as `redis-cli` prints them. Skipped, with a line, where `redis-cli` is not
/// installed, except in CI, which installs it.
#[test]
fn redis_cli_works_against_it() {
    if Command::new("redis-cli").arg("--version").output().is_err()
        && std::env::var_os("CI").is_none()
    {
        eprintln!("skipped: redis-cli is not installed (Debian: apt-get install redis-tools)");
        return;
    }
    let server = server();
    let port = server.addr.port().to_string();
    let cli = |args: &[&str]| {
        let out =
            Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", &port]).args(args).output();
        String::from_utf8(out.expect("redis-cli runs").stdout).unwrap()
    };
    assert_eq!(cli(&["set", "a", "1"]), "OK\n");
    assert_eq!(cli(&["get", "a"]), "1\n");
    assert_eq!(cli(&["incr", "a"]), "2\n");
    assert_eq!(cli(&["get", "nobody"]), "\n");
    assert_eq!(cli(&["zadd", "z", "1", "x", "2", "y"]), "2\n");
    assert_eq!(cli(&["zrangebyscore", "z", "-inf", "+inf", "withscores"]), "x\n1\ny\n2\n");
    assert_eq!(cli(&["ping"]), "PONG\n");
    assert_eq!(cli(&["dbsize"]), "2\n");
}
// ANCHOR_END: redis_cli

// ANCHOR: slow_reader_shutdown
/// A client pipelines 200 pairs of `INCR counter` and `GET value` (a 64 KiB value) and reads
/// nothing, until the server has answered what backpressure lets it (another client sees
/// `counter` stop moving); then the server is sent SIGTERM. It answers
/// nothing more, but the client, reading slowly, gets every reply it was owed, in order, then
/// a clean close (a FIN, not a reset); and the server exits 0 with one line.
#[test]
fn a_signal_lets_a_slow_reader_take_its_replies() {
    let mut server = server();
    let mut other = server.connect();
    let value = "v".repeat(64 * 1024);
    assert_eq!(run(&mut other, &["SET", "value", &value]), "+OK\r\n");
    let mut reader = server.connect();
    let pair = [resp_command(&[b"INCR", b"counter"]), resp_command(&[b"GET", b"value"])];
    reader.write_all(&pair.concat().repeat(200)).unwrap();
    // Answered: what the kernel's buffers took, and 1 MiB more held by the server.
    let counter = |other: &mut TcpStream| {
        let reply = run(other, &["GET", "counter"]);
        reply.lines().nth(1).and_then(|n| n.parse::<usize>().ok()).unwrap_or(0)
    };
    let answered = wait_until_still(|| counter(&mut other));
    server.signal("TERM");

    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("{e} after {} bytes of replies, not a clean close", got.len()),
        }
        // A slow reader: 16 KiB every 2 ms, 8 MB/s.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let reply = |i: usize| format!(":{i}\r\n${}\r\n{value}\r\n", value.len()).into_bytes();
    // Every reply, in order, whole: `answered` of them at least (more may have been answered
    // between the last look and the signal).
    let (mut whole, mut len) = (0, 0);
    while len + reply(whole + 1).len() <= got.len() {
        (whole, len) = (whole + 1, len + reply(whole + 1).len());
    }
    assert!(whole >= answered, "{} bytes of replies, {} owed", got.len(), answered);
    let replies: Vec<u8> = (1..=whole).flat_map(reply).collect();
    assert!(got == replies, "{} bytes of replies are not replies 1 to {whole}", got.len());
    assert_eq!(other.read(&mut chunk).unwrap(), 0, "the other client is closed too");
    let status = server.exit_status();
    assert!(status.success(), "{status}");
    server.expect_log("SIGTERM: shut down in");
}

/// Calls `look` until it gives the same number, above 0, twice running, within the timeout.
fn wait_until_still(mut look: impl FnMut() -> usize) -> usize {
    let started = std::time::Instant::now();
    let mut last = look();
    loop {
        let now = look();
        if now == last && now > 0 {
            return now;
        }
        assert!(started.elapsed() < common::TIMEOUT, "still moving: {now}");
        last = now;
    }
}
// ANCHOR_END: slow_reader_shutdown
