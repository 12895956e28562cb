//! Stage v3.1 against its chapter: `SCAN` walks every key however the table grows meanwhile,
//! and `SCAN` and `TYPE` answer as Redis 7.0.15 answers (checked against a `redis-server` in
//! the same run, where one is installed).

mod common;

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpStream;

use common::{Reply, Server, Stage, read_resp_reply, resp_command};

fn server() -> Server {
    Server::start_with(Stage::V3_1, &["--quiet"])
}

fn ask(c: &mut TcpStream, words: &[&[u8]]) -> Vec<u8> {
    c.write_all(&resp_command(words)).unwrap();
    match read_resp_reply(c) {
        Reply::Got(bytes) => bytes,
        other => panic!("{other:?}"),
    }
}

/// A `SCAN` reply taken apart: the next cursor, and the keys.
fn scan_reply(reply: &[u8]) -> (u64, Vec<Vec<u8>>) {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[0] == "*2" && lines[1].starts_with('$'), "not a SCAN reply: {text:?}");
    let cursor = lines[2].parse().expect("a cursor");
    let keys = lines[4..].chunks(2).filter(|pair| pair.len() == 2).map(|pair| pair[1]);
    (cursor, keys.map(|key| key.as_bytes().to_vec()).collect())
}

// ANCHOR: scan_while_growing
/// 10,000 keys, then a walk with `SCAN ... COUNT 100` while another client adds 300 more
/// between its calls, up to 50,000, so that the table resizes under the cursor (from 16,384
/// buckets to 32,768, and from there to 65,536: the walk is not over before the table holds
/// more than 32,768 keys, which the test checks): every one of the first 10,000 comes back,
/// and nothing that is not a key.
#[test]
fn a_scan_sees_every_key_while_the_table_grows() {
    let server = server();
    let (mut scanner, mut writer) = (server.connect(), server.connect());
    let set = |n: usize| resp_command(&[b"SET", format!("key:{n}").as_bytes(), b"v"]);
    let first: Vec<u8> = (0..10_000).flat_map(set).collect();
    writer.write_all(&first).unwrap();
    (0..10_000)
        .for_each(|_| assert_eq!(read_resp_reply(&mut writer), Reply::Got(b"+OK\r\n".to_vec())));
    let (mut cursor, mut seen, mut added, mut calls) = (0, HashSet::new(), 10_000, 0);
    loop {
        let reply = ask(&mut scanner, &[b"SCAN", cursor.to_string().as_bytes(), b"COUNT", b"100"]);
        let (next, keys) = scan_reply(&reply);
        seen.extend(keys);
        calls += 1;
        if next == 0 {
            break;
        }
        assert!(calls < 10_000, "no end to the scan after {calls} calls");
        cursor = next;
        if added < 50_000 {
            let more: Vec<u8> = (added..added + 300).flat_map(set).collect();
            writer.write_all(&more).unwrap();
            (0..300).for_each(|_| _ = read_resp_reply(&mut writer));
            added += 300;
        }
    }
    assert!(added > 32_768, "the walk ended with {added} keys, before a second doubling");
    let missed = (0..10_000).filter(|n| !seen.contains(format!("key:{n}").as_bytes())).count();
    assert_eq!(missed, 0, "keys there all along that the scan missed");
    assert!(seen.iter().all(|key| key.starts_with(b"key:")), "a key that never was");
}
// ANCHOR_END: scan_while_growing

// ANCHOR: scan_as_redis
/// `SCAN`'s and `TYPE`'s replies and errors, byte for byte as Redis 7.0.15 gives them, on a
/// keyspace of one string and one sorted set (small enough that one call walks it all, so
/// that the cursor, which depends on each server's own table, is 0 in both).
#[test]
fn scan_and_type_answer_as_redis_does() {
    let (syntax, invalid) = (&b"-ERR syntax error\r\n"[..], &b"-ERR invalid cursor\r\n"[..]);
    let not_int = &b"-ERR value is not an integer or out of range\r\n"[..];
    let (both, none) = (&b"*2\r\n$1\r\n0\r\n*2\r\n"[..], &b"*2\r\n$1\r\n0\r\n*0\r\n"[..]);
    let only = |key: &str| format!("*2\r\n$1\r\n0\r\n*1\r\n$1\r\n{key}\r\n").into_bytes();
    let cases: Vec<(Vec<&[u8]>, Vec<u8>)> = vec![
        (vec![b"SCAN", b"abc"], invalid.to_vec()),
        (vec![b"SCAN", b"1.5"], invalid.to_vec()),
        (vec![b"SCAN", b"-"], invalid.to_vec()),
        (vec![b"SCAN", b" 1"], invalid.to_vec()),
        (vec![b"SCAN", b"18446744073709551616"], invalid.to_vec()),
        (vec![b"SCAN", b"+"], invalid.to_vec()),
        (vec![b"SCAN", b"-\0"], invalid.to_vec()),
        (vec![b"SCAN", b"5x\0"], invalid.to_vec()),
        (vec![b"SCAN", b"0", b"COUNT", b"0"], syntax.to_vec()),
        (vec![b"SCAN", b"0", b"COUNT", b"-1"], syntax.to_vec()),
        (vec![b"SCAN", b"0", b"COUNT", b"x"], not_int.to_vec()),
        (vec![b"SCAN", b"0", b"COUNT", b"x", b"FOO"], not_int.to_vec()),
        (vec![b"SCAN", b"0", b"COUNT"], syntax.to_vec()),
        (vec![b"SCAN", b"0", b"MATCH"], syntax.to_vec()),
        (vec![b"SCAN", b"0", b"FOO", b"bar"], syntax.to_vec()),
        (vec![b"SCAN", b"0", b"TYPE", b"nosuchtype"], none.to_vec()),
        (vec![b"SCAN", b"0", b"TYPE", b"ZSET"], only("z")),
        (vec![b"SCAN", b"0", b"TYPE", b"string\0junk"], only("s")),
        (vec![b"SCAN", b"0", b"MATCH", b"s*", b"COUNT", b"5", b"COUNT", b"7"], only("s")),
        (vec![b"SCAN", b"0", b"MATCH", b"nothing"], none.to_vec()),
        (vec![b"TYPE", b"s"], b"+string\r\n".to_vec()),
        (vec![b"TYPE", b"z"], b"+zset\r\n".to_vec()),
        (vec![b"TYPE", b"nokey"], b"+none\r\n".to_vec()),
        (vec![b"TYPE"], b"-ERR wrong number of arguments for 'type' command\r\n".to_vec()),
        (vec![b"SCAN"], b"-ERR wrong number of arguments for 'scan' command\r\n".to_vec()),
    ];
    // Which of the two keys comes first depends on the server's table: both, in any order.
    let two = [
        (vec![&b"SCAN"[..], b"0"], both),
        (vec![b"SCAN", b""], both),
        (vec![b"SCAN", b"-0"], both),
    ];
    let check = |c: &mut TcpStream, who: &str| {
        ask(c, &[b"SET", b"s", b"v"]);
        ask(c, &[b"ZADD", b"z", b"1", b"m"]);
        for (words, want) in &cases {
            let got = ask(c, words);
            assert_eq!(
                got.escape_ascii().to_string(),
                want.escape_ascii().to_string(),
                "{who} to {words:?}"
            );
        }
        // Cursors read as `strtoul` reads them: each the same as its plain form, whatever the
        // table (`-1` is 2^64 - 1, the last bucket, after which the walk is over).
        let cursor = |c: &mut TcpStream, arg: &[u8]| scan_reply(&ask(c, &[b"SCAN", arg])).0;
        for (arg, same) in
            [(&b"+5"[..], &b"5"[..]), (b"05", b"5"), (b"5\0junk", b"5"), (b"\0", b"0")]
        {
            assert_eq!(cursor(c, arg), cursor(c, same), "{who} to SCAN {}", arg.escape_ascii());
        }
        assert_eq!(cursor(c, b"-1"), 0, "{who} to SCAN -1");
        for (words, begins) in &two {
            let got = ask(c, words);
            assert!(got.starts_with(begins), "{who} to {words:?}: {}", got.escape_ascii());
            let (_, mut keys) = scan_reply(&got);
            keys.sort();
            assert_eq!(keys, [b"s".to_vec(), b"z".to_vec()], "{who} to {words:?}");
        }
    };
    on_both(check);
}
// ANCHOR_END: scan_as_redis

/// A request, and the reply Redis gave it (`None`: one that depends on the clock).
type Case<'a> = (Vec<&'a [u8]>, Option<&'a [u8]>);

/// Runs `check` against a `redis-server` it starts, where one is installed, and then against
/// v3.1, each on a connection of its own.
fn on_both(check: impl Fn(&mut TcpStream, &str)) {
    let port = common::unused_addr().port();
    match common::Redis::start(port) {
        None => eprintln!("redis-server is not installed: v3.1 checked against the table only"),
        Some(_redis) => {
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.set_read_timeout(Some(common::TIMEOUT)).unwrap();
            check(&mut c, "redis-server");
        }
    }
    check(&mut server().connect(), "v3.1");
}

/// Sends each request in turn, after a `FLUSHALL`, to a `redis-server` (where one is
/// installed) and then to v3.1, and wants from both the reply Redis 7.0.15 gave, byte for byte.
fn answers_as_redis(cases: &[Case]) {
    let check = |c: &mut TcpStream, who: &str| {
        ask(c, &[b"FLUSHALL"]);
        for (words, want) in cases {
            let got = ask(c, words);
            if let Some(want) = want {
                let (got, want) = (got.escape_ascii().to_string(), want.escape_ascii().to_string());
                let words: Vec<_> = words.iter().map(|w| w.escape_ascii().to_string()).collect();
                assert_eq!(got, want, "{who} to {words:?}");
            }
        }
    };
    on_both(check);
}

// ANCHOR: strings_as_redis
/// v3.1's string commands and `SET`'s new options, each reply byte for byte as Redis 7.0.15
/// gave it (and, where `redis-server` is installed, as it gives it now, in the same run):
/// `MGET`'s null for another type, `MSET`'s count of arguments, `SETEX`'s and `PSETEX`'s
/// bounds, `DECRBY` of the most negative integer, `GET` with `NX` and `XX`, `KEEPTTL`, two
/// kinds of deadline in one `SET`, and `EXAT` in the past. (`None`: a reply that depends on
/// the clock, checked by the requests after it.)
#[test]
fn strings_answer_as_redis_does() {
    let cases: Vec<Case> = vec![
        (vec![b"set", b"s", b"hello"], Some(&b"+OK\r\n"[..])),
        (vec![b"zadd", b"z", b"1", b"m"], Some(&b":1\r\n"[..])),
        (vec![b"mget", b"s", b"z", b"nokey"], Some(&b"*3\r\n$5\r\nhello\r\n$-1\r\n$-1\r\n"[..])),
        (
            vec![b"mset", b"a", b"1", b"b"],
            Some(&b"-ERR wrong number of arguments for 'mset' command\r\n"[..]),
        ),
        (vec![b"mset", b"a", b"1", b"b", b"2"], Some(&b"+OK\r\n"[..])),
        (vec![b"msetnx", b"a", b"1", b"c", b"3"], Some(&b":0\r\n"[..])),
        (vec![b"msetnx", b"c", b"3", b"d", b"4"], Some(&b":1\r\n"[..])),
        (vec![b"setnx", b"s", b"x"], Some(&b":0\r\n"[..])),
        (vec![b"setnx", b"n", b"v"], Some(&b":1\r\n"[..])),
        (
            vec![b"setex", b"e", b"0", b"v"],
            Some(&b"-ERR invalid expire time in 'setex' command\r\n"[..]),
        ),
        (
            vec![b"setex", b"e", b"-1", b"v"],
            Some(&b"-ERR invalid expire time in 'setex' command\r\n"[..]),
        ),
        (
            vec![b"setex", b"e", b"abc", b"v"],
            Some(&b"-ERR value is not an integer or out of range\r\n"[..]),
        ),
        (vec![b"setex", b"e", b"100", b"v"], Some(&b"+OK\r\n"[..])),
        (vec![b"ttl", b"e"], Some(&b":100\r\n"[..])),
        (
            vec![b"psetex", b"p", b"0", b"v"],
            Some(&b"-ERR invalid expire time in 'psetex' command\r\n"[..]),
        ),
        (vec![b"psetex", b"p", b"1000", b"v"], Some(&b"+OK\r\n"[..])),
        (vec![b"pttl", b"p"], None),
        (vec![b"getset", b"s", b"world"], Some(&b"$5\r\nhello\r\n"[..])),
        (
            vec![b"getset", b"z", b"x"],
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (vec![b"getset", b"nokey2", b"v"], Some(&b"$-1\r\n"[..])),
        (vec![b"getdel", b"s"], Some(&b"$5\r\nworld\r\n"[..])),
        (vec![b"getdel", b"s"], Some(&b"$-1\r\n"[..])),
        (
            vec![b"getdel", b"z"],
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (vec![b"append", b"ap", b"abc"], Some(&b":3\r\n"[..])),
        (vec![b"append", b"ap", b"def"], Some(&b":6\r\n"[..])),
        (
            vec![b"append", b"z", b"x"],
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (vec![b"strlen", b"ap"], Some(&b":6\r\n"[..])),
        (
            vec![b"strlen", b"z"],
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (vec![b"strlen", b"nokey"], Some(&b":0\r\n"[..])),
        (
            vec![b"decrby", b"n", b"1"],
            Some(&b"-ERR value is not an integer or out of range\r\n"[..]),
        ),
        (vec![b"set", b"cnt", b"10"], Some(&b"+OK\r\n"[..])),
        (vec![b"decrby", b"cnt", b"3"], Some(&b":7\r\n"[..])),
        (
            vec![b"decrby", b"cnt", b"abc"],
            Some(&b"-ERR value is not an integer or out of range\r\n"[..]),
        ),
        (
            vec![b"decrby", b"cnt", b"-9223372036854775808"],
            Some(&b"-ERR decrement would overflow\r\n"[..]),
        ),
        (vec![b"set", b"cnt", b"-9223372036854775807"], Some(&b"+OK\r\n"[..])),
        (
            vec![b"decrby", b"cnt", b"2"],
            Some(&b"-ERR increment or decrement would overflow\r\n"[..]),
        ),
        (
            vec![b"setex", b"e", b"9223372036854775807", b"v"],
            Some(&b"-ERR invalid expire time in 'setex' command\r\n"[..]),
        ),
        (
            vec![b"psetex", b"e", b"9223372036854775807", b"v"],
            Some(&b"-ERR invalid expire time in 'psetex' command\r\n"[..]),
        ),
        (vec![b"set", b"k", b"v"], Some(&b"+OK\r\n"[..])),
        (vec![b"expire", b"k", b"100"], Some(&b":1\r\n"[..])),
        (vec![b"set", b"k", b"v2", b"keepttl"], Some(&b"+OK\r\n"[..])),
        (vec![b"ttl", b"k"], Some(&b":100\r\n"[..])),
        (vec![b"set", b"k", b"v3", b"get"], Some(&b"$2\r\nv2\r\n"[..])),
        (vec![b"ttl", b"k"], Some(&b":-1\r\n"[..])),
        (vec![b"set", b"k", b"v4", b"keepttl", b"get"], Some(&b"$2\r\nv3\r\n"[..])),
        (vec![b"set", b"k", b"v5", b"ex", b"10", b"keepttl"], Some(&b"-ERR syntax error\r\n"[..])),
        (vec![b"set", b"k", b"v5", b"keepttl", b"px", b"10"], Some(&b"-ERR syntax error\r\n"[..])),
        (vec![b"set", b"z2", b"x", b"get"], Some(&b"$-1\r\n"[..])),
        (vec![b"zadd", b"zz", b"1", b"m"], Some(&b":1\r\n"[..])),
        (
            vec![b"set", b"zz", b"x", b"get"],
            Some(&b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"[..]),
        ),
        (vec![b"type", b"zz"], Some(&b"+zset\r\n"[..])),
        (vec![b"set", b"k", b"v6", b"nx", b"get"], Some(&b"$2\r\nv4\r\n"[..])),
        (vec![b"get", b"k"], Some(&b"$2\r\nv4\r\n"[..])),
        (vec![b"set", b"nk", b"v", b"nx", b"get"], Some(&b"$-1\r\n"[..])),
        (vec![b"get", b"nk"], Some(&b"$1\r\nv\r\n"[..])),
        (vec![b"set", b"nk2", b"v", b"xx", b"get"], Some(&b"$-1\r\n"[..])),
        (vec![b"exists", b"nk2"], Some(&b":0\r\n"[..])),
        (vec![b"set", b"k", b"v", b"exat", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"exists", b"k"], Some(&b":0\r\n"[..])),
        (
            vec![b"set", b"k", b"v", b"exat", b"0"],
            Some(&b"-ERR invalid expire time in 'set' command\r\n"[..]),
        ),
        (
            vec![b"set", b"k", b"v", b"pxat", b"-5"],
            Some(&b"-ERR invalid expire time in 'set' command\r\n"[..]),
        ),
        (
            vec![b"set", b"k", b"v", b"exat", b"abc"],
            Some(&b"-ERR value is not an integer or out of range\r\n"[..]),
        ),
        (vec![b"set", b"k", b"v", b"exat", b"4102444800"], Some(&b"+OK\r\n"[..])),
        (vec![b"ttl", b"k"], None),
        (
            vec![b"set", b"k", b"v", b"pxat", b"4102444800000", b"ex", b"5"],
            Some(&b"-ERR syntax error\r\n"[..]),
        ),
        (
            vec![b"set", b"k", b"v", b"exat", b"4102444800", b"pxat", b"4102444800000"],
            Some(&b"-ERR syntax error\r\n"[..]),
        ),
        (vec![b"set", b"k", b"v", b"get", b"get"], Some(&b"$1\r\nv\r\n"[..])),
        (vec![b"set", b"k", b"v", b"keepttl", b"keepttl"], Some(&b"+OK\r\n"[..])),
        (
            vec![b"set", b"k", b"v", b"ex", b"10", b"exat", b"4102444800"],
            Some(&b"-ERR syntax error\r\n"[..]),
        ),
        (
            vec![b"set", b"k", b"v", b"exat", b"9223372036854775807"],
            Some(&b"-ERR invalid expire time in 'set' command\r\n"[..]),
        ),
        (vec![b"set", b"k", b"v", b"pxat", b"9223372036854775807"], Some(&b"+OK\r\n"[..])),
        (
            vec![b"set", b"k", b"v", b"exat", b"9223372036854776"],
            Some(&b"-ERR invalid expire time in 'set' command\r\n"[..]),
        ),
        (
            vec![b"set", b"k", b"v", b"ex", b"9223372036854776"],
            Some(&b"-ERR invalid expire time in 'set' command\r\n"[..]),
        ),
        (
            vec![b"set", b"k", b"v", b"px", b"9223372036854775807"],
            Some(&b"-ERR invalid expire time in 'set' command\r\n"[..]),
        ),
        (
            vec![b"setex", b"e", b"10"],
            Some(&b"-ERR wrong number of arguments for 'setex' command\r\n"[..]),
        ),
        (vec![b"mset"], Some(&b"-ERR wrong number of arguments for 'mset' command\r\n"[..])),
        (
            vec![b"msetnx", b"a"],
            Some(&b"-ERR wrong number of arguments for 'msetnx' command\r\n"[..]),
        ),
        (vec![b"getdel"], Some(&b"-ERR wrong number of arguments for 'getdel' command\r\n"[..])),
        (
            vec![b"append", b"ap"],
            Some(&b"-ERR wrong number of arguments for 'append' command\r\n"[..]),
        ),
        (vec![b"set", b"k", b"v", b"get", b"nx"], Some(&b"$1\r\nv\r\n"[..])),
        (vec![b"get", b"k"], Some(&b"$1\r\nv\r\n"[..])),
        (vec![b"set", b"k", b"v", b"xx", b"get", b"ex", b"100"], Some(&b"$1\r\nv\r\n"[..])),
        (vec![b"ttl", b"k"], Some(&b":100\r\n"[..])),
        (vec![b"setnx", b"z", b"v"], Some(&b":0\r\n"[..])),
        (vec![b"append", b"ck", b"1"], Some(&b":1\r\n"[..])),
        (vec![b"incr", b"ck"], Some(&b":2\r\n"[..])),
        (vec![b"append", b"ck", b"0"], Some(&b":2\r\n"[..])),
        (vec![b"get", b"ck"], Some(&b"$2\r\n20\r\n"[..])),
    ];
    answers_as_redis(&cases);
}
// ANCHOR_END: strings_as_redis

// ANCHOR: differential
/// 3,000 random string and key commands over a handful of keys (deadlines given at fixed Unix
/// times where conditions compare them), the same sequence to a
/// `redis-server` and to v3.1, every reply compared byte for byte; a seed from the clock,
/// printed on failure so that a run can be replayed; then a `SCAN` of each, whose keys must
/// be the same (in whatever order each server's table keeps them). Deadlines are far enough
/// off that neither server's clock can tell them apart.
#[test]
fn random_string_commands_answer_as_redis_does() {
    let port = common::unused_addr().port();
    let Some(_redis) = common::Redis::start(port) else {
        eprintln!("skipped: redis-server is not installed (Debian: apt-get install redis-server)");
        return;
    };
    // `REDIS_LITE_SEED=0x...` replays a run.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let given = std::env::var("REDIS_LITE_SEED").ok();
    let given = given.and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
    let seed = given.unwrap_or(now.as_nanos() as u64);
    let mut rng = common::Rng::new(seed);
    let mut theirs = TcpStream::connect(("127.0.0.1", port)).unwrap();
    theirs.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let server = server();
    let mut ours = server.connect();
    let mut pick = |from: &[&'static str]| from[rng.below(from.len() as u64) as usize];
    let keys = ["a", "b", "c", "n", "z"];
    let values = ["", "x", "hello", "10", "-3", "9223372036854775807", "1e3"];
    let options = ["NX", "XX", "GET", "KEEPTTL", "EX 1000", "PX 1000000", "EXAT 4102444800"];
    // Deadlines at fixed Unix times, whose comparisons no clock can change.
    let conditions = ["", "NX", "XX", "GT", "LT"];
    for step in 0..3000 {
        let (key, other, value) = (pick(&keys), pick(&keys), pick(&values));
        let line = match step % 22 {
            17 => format!(
                "EXPIREAT {key} {} {}",
                pick(&["4102444800", "4102444801", "1"]),
                pick(&conditions)
            ),
            18 => format!("RENAME {key} {other}"),
            19 => format!("RENAMENX {key} {other}"),
            20 => format!("EXPIRETIME {key}"),
            21 => format!("TOUCH {key} {other}"),
            0 => format!("SET {key} {value} {} {}", pick(&options), pick(&options)),
            1 => format!("SET {key} {value}"),
            2 => format!("GET {key}"),
            3 => format!("MGET {key} {other} {}", pick(&keys)),
            4 => format!("MSET {key} {value} {other} {}", pick(&values)),
            5 => format!("MSETNX {key} {value} {other} {}", pick(&values)),
            6 => format!("APPEND {key} {value}"),
            7 => format!("STRLEN {key}"),
            8 => format!("INCR {key}"),
            9 => format!("DECRBY {key} {}", pick(&values)),
            10 => format!("GETDEL {key}"),
            11 => format!("GETSET {key} {value}"),
            12 => format!("SETNX {key} {value}"),
            13 => format!("DEL {key} {other}"),
            14 => format!("TYPE {key}"),
            15 => format!("ZADD z 1 {value}"),
            _ => format!("SETEX {key} {} {value}", pick(&["0", "-1", "1000", "x"])),
        };
        // Words split on spaces: an empty value is the one word that is not there, so it
        // goes as an empty argument in its place.
        let mut words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        words.retain(|w| !w.is_empty() || value.is_empty());
        let (want, got) = (ask(&mut theirs, &words), ask(&mut ours, &words));
        assert!(
            want == got,
            "seed {seed:#x}, step {step}: {line:?}\n  redis-server: {}\n  v3.1:         {}",
            want.escape_ascii(),
            got.escape_ascii()
        );
    }
    // The keyspaces end alike: the same keys, in whatever order each table keeps them.
    let mut all = [&mut theirs, &mut ours].map(|c| {
        let (cursor, mut keys) = scan_reply(&ask(c, &[b"SCAN", b"0", b"COUNT", b"1000"]));
        assert_eq!(cursor, 0, "seed {seed:#x}: five keys in one call");
        keys.sort();
        keys
    });
    let ours_at_end = all[1].split_off(0);
    assert_eq!(all[0], ours_at_end, "seed {seed:#x}: the keys at the end");
}
// ANCHOR_END: differential

// ANCHOR: keys_as_redis
/// v3.1's key commands, each reply byte for byte as Redis 7.0.15 gave it (and, where
/// `redis-server` is installed, as it gives it now): `EXPIRE`'s conditions and their errors,
/// deadlines at a Unix time and back (`EXPIREAT`, `PEXPIRETIME`), a time already past,
/// `RENAME` onto another key, onto itself and from nowhere, `RENAMENX`, `TOUCH`. (`None`: a
/// reply that depends on the clock.)
#[test]
fn key_commands_answer_as_redis_does() {
    let cases: Vec<Case> = vec![
        (vec![b"set", b"a", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"expire", b"a", b"100", b"nx"], Some(&b":1\r\n"[..])),
        (vec![b"expire", b"a", b"200", b"nx"], Some(&b":0\r\n"[..])),
        (vec![b"expire", b"a", b"50", b"gt"], Some(&b":0\r\n"[..])),
        (vec![b"expire", b"a", b"300", b"gt"], Some(&b":1\r\n"[..])),
        (vec![b"ttl", b"a"], Some(&b":300\r\n"[..])),
        (vec![b"expire", b"a", b"400", b"lt"], Some(&b":0\r\n"[..])),
        (vec![b"expire", b"a", b"10", b"lt"], Some(&b":1\r\n"[..])),
        (vec![b"ttl", b"a"], Some(&b":10\r\n"[..])),
        (vec![b"persist", b"a"], Some(&b":1\r\n"[..])),
        (vec![b"expire", b"a", b"10", b"gt"], Some(&b":0\r\n"[..])),
        (vec![b"expire", b"a", b"10", b"lt"], Some(&b":1\r\n"[..])),
        (vec![b"expire", b"a", b"10", b"xx"], Some(&b":1\r\n"[..])),
        (
            vec![b"expire", b"a", b"10", b"nx", b"xx"],
            Some(&b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"[..]),
        ),
        (
            vec![b"expire", b"a", b"10", b"gt", b"lt"],
            Some(&b"-ERR GT and LT options at the same time are not compatible\r\n"[..]),
        ),
        (vec![b"expire", b"a", b"10", b"foo"], Some(&b"-ERR Unsupported option foo\r\n"[..])),
        (vec![b"expire", b"a", b"10", b"NX", b"NX"], Some(&b":0\r\n"[..])),
        // Later than the same 10 s asked for a moment ago only if a millisecond has gone by.
        (vec![b"expire", b"a", b"10", b"xx", b"gt"], None),
        (vec![b"expireat", b"a", b"4102444800"], Some(&b":1\r\n"[..])),
        (vec![b"expiretime", b"a"], Some(&b":4102444800\r\n"[..])),
        (vec![b"pexpiretime", b"a"], Some(&b":4102444800000\r\n"[..])),
        (vec![b"expiretime", b"nokey"], Some(&b":-2\r\n"[..])),
        (vec![b"pexpiretime", b"nokey"], Some(&b":-2\r\n"[..])),
        (vec![b"set", b"b", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"expiretime", b"b"], Some(&b":-1\r\n"[..])),
        (vec![b"pexpireat", b"b", b"4102444800123"], Some(&b":1\r\n"[..])),
        (vec![b"pexpiretime", b"b"], Some(&b":4102444800123\r\n"[..])),
        (vec![b"expiretime", b"b"], Some(&b":4102444800\r\n"[..])),
        (vec![b"expireat", b"b", b"1"], Some(&b":1\r\n"[..])),
        (vec![b"exists", b"b"], Some(&b":0\r\n"[..])),
        (vec![b"rename", b"a", b"c"], Some(&b"+OK\r\n"[..])),
        (vec![b"expiretime", b"c"], Some(&b":4102444800\r\n"[..])),
        (vec![b"rename", b"nokey", b"d"], Some(&b"-ERR no such key\r\n"[..])),
        (vec![b"rename", b"c", b"c"], Some(&b"+OK\r\n"[..])),
        (vec![b"set", b"e", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"renamenx", b"c", b"e"], Some(&b":0\r\n"[..])),
        (vec![b"renamenx", b"c", b"f"], Some(&b":1\r\n"[..])),
        (vec![b"renamenx", b"nokey", b"f"], Some(&b"-ERR no such key\r\n"[..])),
        (vec![b"touch", b"f", b"e", b"nokey", b"f"], Some(&b":3\r\n"[..])),
        (vec![b"zadd", b"z", b"1", b"m"], Some(&b":1\r\n"[..])),
        (vec![b"rename", b"z", b"e"], Some(&b"+OK\r\n"[..])),
        (vec![b"type", b"e"], Some(&b"+zset\r\n"[..])),
        (vec![b"expire", b"nokey", b"10", b"gt"], Some(&b":0\r\n"[..])),
        (
            vec![b"expireat", b"a", b"abc"],
            Some(&b"-ERR value is not an integer or out of range\r\n"[..]),
        ),
        (
            vec![b"expireat", b"e", b"9223372036854775807"],
            Some(&b"-ERR invalid expire time in 'expireat' command\r\n"[..]),
        ),
        (vec![b"set", b"a", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"expire", b"a", b"abc", b"foo"], Some(&b"-ERR Unsupported option foo\r\n"[..])),
        (
            vec![b"expire", b"a", b"abc", b"nx", b"xx"],
            Some(&b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"[..]),
        ),
        (vec![b"expire", b"a", b"-1", b"nx"], Some(&b":1\r\n"[..])),
        (vec![b"exists", b"a"], Some(&b":0\r\n"[..])),
        (vec![b"set", b"a", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"renamenx", b"a", b"a"], Some(&b":0\r\n"[..])),
        (vec![b"rename", b"nokey", b"nokey"], Some(&b"-ERR no such key\r\n"[..])),
        (
            vec![b"expire", b"a", b"9223372036854775807"],
            Some(&b"-ERR invalid expire time in 'expire' command\r\n"[..]),
        ),
        (
            vec![b"pexpire", b"a", b"9223372036854775807"],
            Some(&b"-ERR invalid expire time in 'pexpire' command\r\n"[..]),
        ),
        (vec![b"expireat", b"a", b"-1"], Some(&b":1\r\n"[..])),
        (vec![b"exists", b"a"], Some(&b":0\r\n"[..])),
        (vec![b"set", b"a", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"pexpireat", b"a", b"0"], Some(&b":1\r\n"[..])),
        (vec![b"exists", b"a"], Some(&b":0\r\n"[..])),
        (vec![b"set", b"a", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"expire", b"a", b"100"], Some(&b":1\r\n"[..])),
        (vec![b"expireat", b"a", b"1", b"gt"], Some(&b":0\r\n"[..])),
        (vec![b"ttl", b"a"], Some(&b":100\r\n"[..])),
        (vec![b"expireat", b"a", b"1", b"lt"], Some(&b":1\r\n"[..])),
        (vec![b"exists", b"a"], Some(&b":0\r\n"[..])),
        (vec![b"set", b"a", b"1"], Some(&b"+OK\r\n"[..])),
        (vec![b"expire", b"a", b"0", b"nx"], Some(&b":1\r\n"[..])),
        (vec![b"exists", b"a"], Some(&b":0\r\n"[..])),
        (vec![b"pexpireat", b"a", b"9223372036854775807"], Some(&b":0\r\n"[..])),
        (vec![b"pexpiretime", b"a"], Some(&b":-2\r\n"[..])),
        (vec![b"expire"], Some(&b"-ERR wrong number of arguments for 'expire' command\r\n"[..])),
        (vec![b"touch"], Some(&b"-ERR wrong number of arguments for 'touch' command\r\n"[..])),
        (
            vec![b"rename", b"a"],
            Some(&b"-ERR wrong number of arguments for 'rename' command\r\n"[..]),
        ),
    ];
    answers_as_redis(&cases);
}
// ANCHOR_END: keys_as_redis
