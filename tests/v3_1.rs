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
/// 10,000 keys, then a walk with `SCAN ... COUNT 100` while another client adds 100 more
/// between its calls, up to 50,000, so that the table resizes under the cursor (from 16,384
/// buckets to 32,768, and from there to 65,536): every one of the first 10,000 comes back,
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
            let more: Vec<u8> = (added..added + 100).flat_map(set).collect();
            writer.write_all(&more).unwrap();
            (0..100).for_each(|_| _ = read_resp_reply(&mut writer));
            added += 100;
        }
    }
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
        for (words, begins) in &two {
            let got = ask(c, words);
            assert!(got.starts_with(begins), "{who} to {words:?}: {}", got.escape_ascii());
            let (_, mut keys) = scan_reply(&got);
            keys.sort();
            assert_eq!(keys, [b"s".to_vec(), b"z".to_vec()], "{who} to {words:?}");
        }
    };
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
// ANCHOR_END: scan_as_redis
