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
    // The byte that is not a `$` is shown as it came, as Redis shows it (a CR as a space).
    let cases: [(&[u8], &[u8]); 8] = [
        (b"*-x\r\n", b"invalid multibulk length"),
        (b"*2147483648\r\n", b"invalid multibulk length"),
        (b"*1\r\n$-5\r\n", b"invalid bulk length"),
        (b"*1\r\n$600000000\r\n", b"invalid bulk length"),
        (b"*1\r\n:3\r\n", b"expected '$', got ':'"),
        (b"*1\r\n\xff3\r\n", b"expected '$', got '\xff'"),
        (b"*1\r\n\r\n", b"expected '$', got ' '"),
        (b"*1\r\n$3\r\nget!!\r\n", b"expected CRLF after bulk data"),
    ];
    for (bad, why) in cases {
        let mut c = server.connect();
        let mut wire = resp_command(&[b"PING"]);
        wire.extend_from_slice(bad);
        c.write_all(&wire).unwrap();
        assert_eq!(read_resp_reply(&mut c), Reply::Got(b"+PONG\r\n".to_vec()));
        let Reply::Got(error) = read_resp_reply(&mut c) else { panic!("no error for {bad:?}") };
        let want = [&b"-ERR Protocol error: "[..], why, b"\r\n"].concat();
        assert_eq!(error, want, "{}", String::from_utf8_lossy(&error));
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

/// Sends each request in turn on `c` and returns the raw replies.
fn replies(c: &mut TcpStream, requests: &[(Vec<&[u8]>, Vec<u8>)]) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    for (words, _) in requests {
        c.write_all(&resp_command(words)).unwrap();
        match read_resp_reply(c) {
            Reply::Got(reply) => got.push(reply),
            Reply::Closed => panic!("closed instead of answering {words:?}"),
        }
    }
    got
}

// ANCHOR: parsed_as_redis_start
/// Arguments read as Redis 7.0.15 reads them, each reply byte for byte as it answered (and,
/// where `redis-server` is installed, as it answers now, in the same run): `SET`'s options
/// repeated and in conflict, every option read before any value, scores as `strtod` reads
/// them (hexadecimal, `infinity`, out of range), bounds of `ZRANGEBYSCORE` (empty is 0),
/// options compared up to a NUL byte as C compares them, and the errors that quote what was
/// sent: 128 bytes of the arguments, raw, with CR and LF as spaces.
#[test]
fn arguments_are_read_as_redis_reads_them() {
    let (a60, b60, c60) = (vec![b'a'; 60], vec![b'b'; 60], vec![b'c'; 60]);
    let (a128, a200, x200) = (vec![b'a'; 128], vec![b'a'; 200], vec![b'x'; 200]);
    let unknown = |name: &[u8], shown: &[u8]| {
        let mut reply = b"-ERR unknown command '".to_vec();
        reply.extend_from_slice(name);
        reply.extend_from_slice(b"', with args beginning with: ");
        reply.extend_from_slice(shown);
        reply.extend_from_slice(b"\r\n");
        reply
    };
    let quoted = |args: &[&[u8]]| -> Vec<u8> {
        args.iter().flat_map(|a| [b"'".as_slice(), a, b"' "].concat()).collect()
    };
    let syntax = b"-ERR syntax error\r\n".to_vec();
    let not_int = b"-ERR value is not an integer or out of range\r\n".to_vec();
    let bad_expire = b"-ERR invalid expire time in 'set' command\r\n".to_vec();
    let not_float = b"-ERR value is not a valid float\r\n".to_vec();
    let bad_bound = b"-ERR min or max is not a float\r\n".to_vec();
    let rank_limit =
        b"-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"
            .to_vec();
    let (ok, null) = (b"+OK\r\n".to_vec(), b"$-1\r\n".to_vec());
    let int = |n: i64| format!(":{n}\r\n").into_bytes();
    let bulk = |s: &str| format!("${}\r\n{s}\r\n", s.len()).into_bytes();
    let all_three = b"*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec();
    let cases: Vec<(Vec<&[u8]>, Vec<u8>)> = vec![
        // SET: a repeated deadline or condition is allowed and the last wins; EX with PX, or
        // NX with XX, is a syntax error; every option is read before the deadline's number.
        (vec![b"SET", b"k", b"v", b"EX", b"10", b"EX", b"20"], ok.clone()),
        (vec![b"TTL", b"k"], int(20)),
        (vec![b"SET", b"k", b"v", b"ex", b"10", b"Ex", b"30"], ok.clone()),
        (vec![b"TTL", b"k"], int(30)),
        // ANCHOR_END: parsed_as_redis_start
        (vec![b"SET", b"k", b"v", b"PX", b"10", b"PX", b"40000"], ok.clone()),
        (vec![b"TTL", b"k"], int(40)),
        (vec![b"SET", b"k", b"v", b"EX", b"10", b"PX", b"20000"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"PX", b"10", b"EX", b"20"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"NX", b"NX"], null.clone()),
        (vec![b"SET", b"k", b"v", b"XX", b"XX"], ok.clone()),
        (vec![b"SET", b"k", b"v", b"NX", b"XX"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"XX", b"NX"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"abc", b"FOO"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"FOO", b"EX", b"abc"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"PX", b"abc", b"XX", b"NX"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"0", b"FOO"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"abc"], not_int.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"abc", b"NX"], not_int.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"10", b"EX", b"abc"], not_int.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"abc", b"EX", b"10"], ok.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"0", b"EX", b"10"], ok.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"0"], bad_expire.clone()),
        (vec![b"SET", b"k", b"v", b"PX", b"-1"], bad_expire.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"9223372036854776"], bad_expire.clone()),
        (vec![b"SET", b"k", b"v", b"PX", b"9223372036854775806"], bad_expire.clone()),
        (vec![b"SET", b"k", b"v", b"EX"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"10", b"EX"], syntax.clone()),
        (vec![b"SET", b"k", b"v", b"EX", b"10", b"EX", b"20", b"NX"], null.clone()),
        (vec![b"SET", b"k", b"v", b"NX\0x"], null.clone()),
        (vec![b"SET", b"k2", b"v", b"EX\0", b"50"], ok.clone()),
        (vec![b"TTL", b"k2"], int(50)),
        (vec![b"SET", b"k", b"v", b"WITHSCORES"], syntax.clone()),
        // ZADD: scores as strtod reads them, then Redis's checks.
        (vec![b"ZADD", b"f", b"1e400", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"-1.8e308", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"1e-400", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"2e-324", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"0x1p1024", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"0x1p-1080", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"0x1.fffffffffffff8p1023", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"0x10", b"hex"], int(1)),
        (vec![b"ZSCORE", b"f", b"hex"], bulk("16")),
        (vec![b"ZADD", b"f", b"0x1p3", b"hexp"], int(1)),
        (vec![b"ZSCORE", b"f", b"hexp"], bulk("8")),
        (vec![b"ZADD", b"f", b"0X1P-2", b"quarter"], int(1)),
        (vec![b"ZSCORE", b"f", b"quarter"], bulk("0.25")),
        (vec![b"ZADD", b"f", b"0x.8", b"half"], int(1)),
        (vec![b"ZSCORE", b"f", b"half"], bulk("0.5")),
        (vec![b"ZADD", b"f", b"-0xA.8p1", b"neg"], int(1)),
        (vec![b"ZSCORE", b"f", b"neg"], bulk("-21")),
        (vec![b"ZADD", b"f", b"0x1.000000000000080000001p0", b"up"], int(1)),
        (vec![b"ZSCORE", b"f", b"up"], bulk("1.0000000000000002")),
        (vec![b"ZADD", b"f", b"0x1.0000000000000800000000p0", b"tie"], int(1)),
        (vec![b"ZSCORE", b"f", b"tie"], bulk("1")),
        (vec![b"ZADD", b"f", b"0x1.fffffffffffff7p1023", b"max"], int(1)),
        (vec![b"ZADD", b"f", b"1.7976931348623158e308", b"max2"], int(1)),
        (vec![b"ZADD", b"f", b"4e-324", b"tiny"], int(1)),
        (vec![b"ZADD", b"f", b"0x1p-1074", b"tiny2"], int(1)),
        (vec![b"ZADD", b"f", b"0e-400", b"zero"], int(1)),
        (vec![b"ZADD", b"f", b"inf", b"i1", b"-inf", b"i2", b"+inf", b"i3"], int(3)),
        (vec![b"ZADD", b"f", b"infinity", b"i4", b"-INFINITY", b"i5", b"InF", b"i6"], int(3)),
        (vec![b"ZSCORE", b"f", b"i5"], bulk("-inf")),
        (vec![b"ZADD", b"f", b".5", b"d1", b"5.", b"d2", b"+.5", b"d3", b"-.5e1", b"d4"], int(4)),
        (vec![b"ZSCORE", b"f", b"d4"], bulk("-5")),
        (vec![b"ZADD", b"f", b"1e+2", b"d5", b"1E2", b"d6"], int(2)),
        (vec![b"ZSCORE", b"f", b"d6"], bulk("100")),
        (vec![b"ZADD", b"f", b"1", b"a", b"nan", b"b"], not_float.clone()),
        (vec![b"ZADD", b"f", b"nan(123)", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"-nan", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b" 1", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"\t1", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"1 ", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"1e", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"1e+", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"1_0", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"infin", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b".", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"0x", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"0x1.8p", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"1\0", b"m"], not_float.clone()),
        (vec![b"ZADD", b"f", b"abc", b"x", b"2"], syntax.clone()),
        (vec![b"ZADD", b"f", b"abc", b"x", b"2", b"y"], not_float.clone()),
        (vec![b"ZCARD", b"f"], int(24)),
        // ZRANGE and ZRANGEBYSCORE: options first, then the range, then the key.
        (vec![b"ZADD", b"z", b"0", b"a", b"1", b"b", b"-1", b"c"], int(3)),
        (vec![b"ZRANGE", b"z", b"a", b"1", b"foo"], syntax.clone()),
        (vec![b"ZRANGE", b"z", b"a", b"1"], not_int.clone()),
        (vec![b"ZRANGE", b"nokey", b"0", b"1", b"foo"], syntax.clone()),
        (vec![b"ZRANGE", b"z", b"9223372036854775808", b"1"], not_int.clone()),
        (vec![b"ZRANGE", b"z", b"-9223372036854775808", b"9223372036854775807"], all_three.clone()),
        (vec![b"ZRANGE", b"z", b"0", b"1", b"LIMIT", b"0", b"1"], rank_limit.clone()),
        (vec![b"ZRANGE", b"z", b"a", b"1", b"LIMIT", b"1", b"1"], rank_limit.clone()),
        (vec![b"ZRANGE", b"z", b"0", b"1", b"LIMIT", b"x", b"-1"], not_int.clone()),
        (vec![b"ZRANGE", b"z", b"0", b"1", b"LIMIT", b"0"], syntax.clone()),
        (vec![b"ZRANGE", b"z", b"0", b"0", b"LIMIT", b"5", b"-1"], b"*1\r\n$1\r\nc\r\n".to_vec()),
        (
            vec![b"ZRANGE", b"z", b"0", b"0", b"LIMIT", b"1", b"1", b"LIMIT", b"0", b"-1"],
            b"*1\r\n$1\r\nc\r\n".to_vec(),
        ),
        (
            vec![b"ZRANGE", b"z", b"0", b"0", b"LIMIT", b"0", b"-1", b"LIMIT", b"1", b"1"],
            rank_limit.clone(),
        ),
        (
            vec![b"ZRANGE", b"z", b"0", b"0", b"WITHSCORES", b"withscores\0x"],
            b"*2\r\n$1\r\nc\r\n$2\r\n-1\r\n".to_vec(),
        ),
        (vec![b"ZRANGEBYSCORE", b"z", b"", b"1"], b"*2\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec()),
        (vec![b"ZRANGEBYSCORE", b"z", b"(", b"1"], b"*1\r\n$1\r\nb\r\n".to_vec()),
        (vec![b"ZRANGEBYSCORE", b"z", b"(", b" 1"], b"*1\r\n$1\r\nb\r\n".to_vec()),
        (vec![b"ZRANGEBYSCORE", b"z", b"-1", b"1\0x"], all_three.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"-1e400", b"1e400"], all_three.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"-0x1", b"0x1"], all_three.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"-1", b"1 "], bad_bound.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"-1", b" "], bad_bound.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"-1", b"nan"], bad_bound.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"((1", b"2"], bad_bound.clone()),
        (vec![b"ZRANGEBYSCORE", b"nokey", b"x", b"1"], bad_bound.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"x", b"1", b"LIMIT", b"a", b"b"], not_int.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"x", b"1", b"FOO"], syntax.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"0", b"1", b"LIMIT", b"a", b"b", b"FOO"], not_int.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"0", b"1", b"FOO", b"LIMIT", b"a", b"b"], syntax.clone()),
        (vec![b"ZRANGEBYSCORE", b"z", b"-inf", b"inf", b"LIMIT", b"1"], syntax.clone()),
        (
            vec![
                b"ZRANGEBYSCORE",
                b"z",
                b"-inf",
                b"inf",
                b"LIMIT",
                b"0",
                b"1",
                b"LIMIT",
                b"1",
                b"1",
            ],
            b"*1\r\n$1\r\na\r\n".to_vec(),
        ),
        (
            vec![b"ZRANGEBYSCORE", b"z", b"-inf", b"inf", b"LIMIT\0", b"0", b"1"],
            b"*1\r\n$1\r\nc\r\n".to_vec(),
        ),
        (
            vec![b"ZRANGEBYSCORE", b"z", b"-inf", b"inf", b"LIMIT", b"0", b"9223372036854775808"],
            not_int.clone(),
        ),
        // Errors that quote the request: up to 128 bytes of all the arguments, raw, each cut
        // at a NUL byte as C's printf cuts it, with CR and LF as spaces.
        (
            vec![b"FROB", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10"],
            unknown(
                b"FROB",
                &quoted(&[b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9", b"10"]),
            ),
        ),
        (vec![b"FROB", &a60, &b60, &c60, b"d"], unknown(b"FROB", &quoted(&[&a60, &b60, b"cc"]))),
        (vec![b"FROB", &a200], unknown(b"FROB", &quoted(&[&a128]))),
        (vec![b"FROB", &a128, b"b"], unknown(b"FROB", &quoted(&[&a128]))),
        (vec![&x200, b"a"], unknown(&x200[..128], &quoted(&[b"a"]))),
        (vec![b"FROB", b"\xff\xfe", b"b"], unknown(b"FROB", &quoted(&[b"\xff\xfe", b"b"]))),
        (vec![b"FR\xffOB"], unknown(b"FR\xffOB", b"")),
        (vec![b"FROB", b"a\r\nb", b"c\nd"], unknown(b"FROB", &quoted(&[b"a  b", b"c d"]))),
        (vec![b"FR\r\nOB"], unknown(b"FR  OB", b"")),
        (vec![b"FROB", b"a\0b", b"c"], unknown(b"FROB", &quoted(&[b"a", b"c"]))),
        // Subcommands: Redis's words for one it does not know, and each one's own arity.
        (vec![b"CLIENT", b"foo"], b"-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n".to_vec()),
        (
            vec![b"client", b"\xff\r\n"],
            b"-ERR unknown subcommand '\xff  '. Try CLIENT HELP.\r\n".to_vec(),
        ),
        (
            vec![b"CLIENT", &x200],
            [b"-ERR unknown subcommand '", &x200[..128], b"'. Try CLIENT HELP.\r\n"].concat(),
        ),
        (vec![b"CLIENT"], b"-ERR wrong number of arguments for 'client' command\r\n".to_vec()),
        (
            vec![b"CLIENT", b"SETNAME"],
            b"-ERR wrong number of arguments for 'client|setname' command\r\n".to_vec(),
        ),
        (
            vec![b"CLIENT", b"setname", b"a", b"b"],
            b"-ERR wrong number of arguments for 'client|setname' command\r\n".to_vec(),
        ),
        (
            vec![b"CLIENT", b"SETNAME", b"a b"],
            b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
                .to_vec(),
        ),
        (
            vec![b"CLIENT", b"SETNAME", b"\x7f"],
            b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
                .to_vec(),
        ),
        (vec![b"CLIENT", b"SETNAME", b"!~"], ok.clone()),
        (vec![b"CLIENT", b"SETNAME", b""], ok.clone()),
        (vec![b"CONFIG", b"foo"], b"-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n".to_vec()),
        (vec![b"CONFIG"], b"-ERR wrong number of arguments for 'config' command\r\n".to_vec()),
        (
            vec![b"CONFIG", b"GET"],
            b"-ERR wrong number of arguments for 'config|get' command\r\n".to_vec(),
        ),
        (
            vec![b"COMMAND", b"foo"],
            b"-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n".to_vec(),
        ),
        (
            vec![b"GeT", b"a", b"b"],
            b"-ERR wrong number of arguments for 'get' command\r\n".to_vec(),
        ),
        // Other arguments read as Redis reads them.
        (vec![b"SELECT", b"abc"], not_int.clone()),
        (vec![b"SELECT", b"00"], not_int.clone()),
        (vec![b"SELECT", b"-1"], b"-ERR DB index is out of range\r\n".to_vec()),
        (vec![b"FLUSHALL", b"ASYNC\0"], ok.clone()),
        (vec![b"FLUSHALL", b"async", b"sync"], syntax.clone()),
    ];
    let port = common::unused_addr().port();
    match common::Redis::start(port) {
        None => eprintln!("redis-server is not installed: v3.0 checked against the table only"),
        Some(_redis) => {
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.set_read_timeout(Some(common::TIMEOUT)).unwrap();
            let theirs = replies(&mut c, &cases);
            for ((words, want), got) in cases.iter().zip(&theirs) {
                let (got, want) = (got.escape_ascii(), want.escape_ascii());
                let got: String = got.to_string().chars().take(300).collect();
                let words: Vec<_> = words.iter().map(|w| w.escape_ascii().to_string()).collect();
                assert_eq!(got, want.to_string(), "redis-server to {words:?}");
            }
        }
    }
    let server = server();
    let ours = replies(&mut server.connect(), &cases);
    let mut wrong = Vec::new();
    for ((words, want), got) in cases.iter().zip(&ours) {
        if got != want {
            wrong.push(format!(
                "{:?}: want \"{}\", got \"{}\"",
                words.iter().map(|w| w.escape_ascii().to_string()).collect::<Vec<_>>(),
                want.escape_ascii(),
                got.escape_ascii()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "v3.0 differs from Redis 7.0.15 in {} of {}:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// Random numbers in text, decimal and hexadecimal, with and without exponents, signs,
/// points, spaces and NUL bytes, read by v3.0 and by a `redis-server` started beside it, as a
/// `ZADD` score (read back with `ZSCORE`, compared as a double: the two print them
/// differently) and as both kinds of `ZRANGEBYSCORE` bound: they agree on every one.
/// Skipped, with a line, where `redis-server` is not installed.
#[test]
fn random_numbers_are_read_as_redis_reads_them() {
    let port = common::unused_addr().port();
    let Some(_redis) = common::Redis::start(port) else {
        eprintln!("skipped: redis-server is not installed (Debian: apt-get install redis-server)");
        return;
    };
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let seed = seed.as_nanos() as u64;
    let mut rng = common::Rng::new(seed);
    let mut pick = |from: &[u8], n: u64| -> Vec<u8> {
        (0..rng.below(n + 1)).map(|_| from[rng.below(from.len() as u64) as usize]).collect()
    };
    let zadd_flags = ["nx", "xx", "ch", "incr", "gt", "lt"];
    let mut texts = Vec::new();
    while texts.len() < 3000 {
        let mut text = match texts.len() % 3 {
            0 => pick(b"0123456789abcdefxXpPeE.+-( \0in", 10),
            1 => [&pick(b"+-", 1)[..], b"0x", &pick(b"0123456789abcdef.", 20)].concat(),
            _ => pick(b"0123456789.", 25),
        };
        match texts.len() % 3 {
            1 => text.extend([&b"p"[..], &pick(b"+-", 1), &pick(b"0123456789", 4)].concat()),
            2 => text.extend([&b"e"[..], &pick(b"+-", 1), &pick(b"0123456789", 3)].concat()),
            _ => {}
        }
        let name = text.split(|&b| b == 0).next().unwrap_or_default().to_ascii_lowercase();
        if !zadd_flags.iter().any(|flag| name == flag.as_bytes()) {
            texts.push(text);
        }
    }
    let members: Vec<Vec<u8>> = (0..texts.len()).map(|i| format!("m{i}").into_bytes()).collect();
    let exclusive: Vec<Vec<u8>> = texts.iter().map(|t| [b"(", &t[..]].concat()).collect();
    let mut requests: Vec<(Vec<&[u8]>, Vec<u8>)> = Vec::new();
    for ((text, member), exclusive) in texts.iter().zip(&members).zip(&exclusive) {
        requests.push((vec![b"ZADD", b"f", text, member], vec![]));
        requests.push((vec![b"ZSCORE", b"f", member], vec![]));
        requests.push((vec![b"ZRANGEBYSCORE", b"f", text, b"-inf"], vec![]));
        requests.push((vec![b"ZRANGEBYSCORE", b"f", exclusive, b"-inf"], vec![]));
    }
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let theirs = replies(&mut c, &requests);
    let ours = replies(&mut server().connect(), &requests);
    // A score's text as a double: `$3\r\n0.5\r\n` is 0.5 (and `inf` is infinity).
    let value = |reply: &[u8]| -> Option<f64> {
        let text = reply.split(|&b| b == b'\n').nth(1)?.strip_suffix(b"\r")?;
        std::str::from_utf8(text).ok()?.parse().ok()
    };
    for (i, (words, _)) in requests.iter().enumerate() {
        let (got, want) = (&ours[i], &theirs[i]);
        let same = got == want || (i % 4 == 1 && value(got) == value(want) && value(got).is_some());
        let words: Vec<_> = words.iter().map(|w| w.escape_ascii().to_string()).collect();
        assert!(
            same,
            "seed {seed}: {words:?}: redis-server {:?}, v3.0 {:?}",
            want.escape_ascii().to_string(),
            got.escape_ascii().to_string()
        );
    }
}

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

/// A client that pipelined far more than it reads, and reads nothing until the shutdown's
/// grace has run out: it cannot have every reply, but it must have what the kernel held for
/// it, the replies it was owed and nothing else (the last maybe cut short), and then a clean
/// end of stream. Closing a socket with unread requests in it resets
/// the connection, and a reset drops every byte still queued to the client.
#[test]
fn a_shutdown_that_runs_out_of_time_still_ends_cleanly() {
    let mut server = server();
    let mut other = server.connect();
    assert_eq!(run(&mut other, &["SET", "v", &"x".repeat(100)]), "+OK\r\n");
    let mut greedy = server.connect();
    let requests = resp_command(&[b"GET", b"v"]).repeat(200_000);
    let writer = {
        let mut greedy = greedy.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = greedy.write_all(&requests);
        })
    };
    // The server has stopped reading (its replies wait): it holds more than it can send.
    assert_eq!(run(&mut other, &["PING"]), "+PONG\r\n");
    server.signal("TERM");
    assert!(server.exit_status().success(), "the server did not exit 0");
    let mut got = Vec::new();
    let end = greedy.read_to_end(&mut got);
    assert!(end.is_ok(), "{end:?} after {} bytes", got.len());
    let reply = [&b"$100\r\n"[..], &b"x".repeat(100), b"\r\n"].concat();
    assert!(!got.is_empty(), "no reply at all");
    assert!(reply.repeat(got.len() / reply.len() + 1).starts_with(&got), "not the replies owed");
    drop(writer);
}

// ANCHOR: epoll_tokens
/// Clients leave in any order while others stay and newcomers arrive: each one left is still
/// answered, as itself. Every departure moves the last connection into the gap, so epoll must
/// be told its new token; a connection still reported under its old one would be starved, or
/// a newcomer woken for it.
#[test]
fn clients_leaving_in_any_order_leave_the_rest_served() {
    let server = server();
    let mut clients: Vec<(usize, TcpStream)> = (0..40).map(|i| (i, server.connect())).collect();
    for (i, client) in &mut clients {
        assert_eq!(run(client, &["SET", &format!("k{i}"), &format!("{i}")]), "+OK\r\n");
    }
    let mut newcomers = Vec::new();
    for leaving in [3, 2, 5] {
        // Every `leaving`th goes, the first among them; as many newcomers arrive.
        let (gone, kept): (Vec<_>, Vec<_>) =
            clients.into_iter().partition(|(i, _)| i % leaving == 0);
        clients = kept;
        newcomers.extend(gone.iter().map(|_| server.connect()));
        drop(gone);
        for (i, client) in &mut clients {
            let want = format!("${}\r\n{i}\r\n", i.to_string().len());
            assert_eq!(run(client, &["GET", &format!("k{i}")]), want, "client {i}");
        }
        for newcomer in &mut newcomers {
            assert_eq!(run(newcomer, &["PING"]), "+PONG\r\n");
        }
    }
}
// ANCHOR_END: epoll_tokens

/// Someone lowers the open-file limit from outside below the descriptors in use (`prlimit
/// --pid`). poll(2) would refuse the set (the stages before poll it in slices); epoll's set is
/// in the kernel already, so every client is still answered, the first and the last, one that
/// leaves is noticed, a newcomer waits (`accept` fails with EMFILE) without the server
/// spinning, and is answered once the limit is raised.
#[test]
fn a_lowered_file_limit_still_serves_everyone() {
    if common::missing_tool("prlimit") {
        return;
    }
    let mut cmd = Command::new("prlimit");
    cmd.args(["--nofile=100:200", "--", Stage::V3_0.bin(), "--addr", "127.0.0.1:0"]);
    let server = Server::start_command(Stage::V3_0, cmd);
    let mut clients: Vec<TcpStream> = (0..60).map(|_| server.connect()).collect();
    for client in &mut clients {
        assert_eq!(run(client, &["PING"]), "+PONG\r\n");
    }
    let set_limit = |soft| common::set_open_file_limit(server.pid(), soft, 200);
    set_limit(30);
    for i in [59, 0, 29, 30] {
        assert_eq!(run(&mut clients[i], &["ECHO", "during"]), "$6\r\nduring\r\n", "client {i}");
    }
    let open = common::open_fds(server.pid());
    drop(clients.pop());
    server.expect_log("EOF, client closed the connection");
    common::wait_for_open_fds(server.pid(), open - 1);

    let mut newcomer = server.connect();
    newcomer.write_all(&resp_command(&[b"PING"])).unwrap();
    server.expect_log("accept failed: Too many open files");
    let busy = || common::cpu_ticks(server.pid()).iter().sum::<u64>();
    let before = busy();
    newcomer.set_read_timeout(Some(common::QUIET_PERIOD)).unwrap();
    assert!(newcomer.read(&mut [0u8; 1]).is_err(), "answered before it was accepted");
    let spent = busy() - before;
    assert!(spent < 10, "the server used {spent} ticks of CPU while it could not accept");

    set_limit(100);
    newcomer.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    assert_eq!(read_resp_reply(&mut newcomer), Reply::Got(b"+PONG\r\n".to_vec()));
    for client in &mut clients {
        assert_eq!(run(client, &["PING"]), "+PONG\r\n");
    }
}
