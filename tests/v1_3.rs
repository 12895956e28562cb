//! Stage v1.3's sorted sets through the server: the C++ original's own transcript, reproduced
//! through our client; the commands' edges (limits, negative offsets, strict numbers); type
//! errors both ways; and a seeded random run of commands against a model, a sorted `Vec`.
//! (The tree and the set themselves are tested against models in `tests/avl.rs` and
//! `tests/zset.rs`; the string commands are v1.2's, run against v1.3 in `tests/v1_0.rs`.)

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::tlv::{dbl, err, int, members, nil, run, str};
use common::{Reply, Rng, Server, Stage, command, read_reply_frame};

// ANCHOR: original
/// The C++ original's test of its sorted sets (its `test_cmds.py`), command for command and
/// line for line, run through our client against our server.
const ORIGINAL: &str = r#"
$ zscore asdf n1
(nil)
$ zquery xxx 1 asdf 1 10
(arr) len=0
(arr) end
$ zadd zset 1 n1
(int) 1
$ zadd zset 2 n2
(int) 1
$ zadd zset 1.1 n1
(int) 0
$ zscore zset n1
(dbl) 1.1
$ zquery zset 1 "" 0 10
(arr) len=4
(str) n1
(dbl) 1.1
(str) n2
(dbl) 2
(arr) end
$ zquery zset 1.1 "" 1 10
(arr) len=2
(str) n2
(dbl) 2
(arr) end
$ zquery zset 1.1 "" 2 10
(arr) len=0
(arr) end
$ zrem zset adsf
(int) 0
$ zrem zset n1
(int) 1
$ zquery zset 1 "" 0 10
(arr) len=2
(str) n2
(dbl) 2
(arr) end
"#;

#[test]
fn the_originals_transcript() {
    let server = Server::start_with(Stage::V1_3, &["--quiet"]);
    for case in ORIGINAL.split("$ ").skip(1) {
        let (line, want) = case.split_once('\n').unwrap();
        let words = redis_lite::cli::split_words(line.as_bytes()).unwrap();
        let words: Vec<String> = words.into_iter().map(|w| String::from_utf8(w).unwrap()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        Stage::V1_3.client(server.addr, &words).success().stdout(want.to_string());
    }
}
// ANCHOR_END: original

fn with_board() -> (Server, TcpStream) {
    let server = Server::start_with(Stage::V1_3, &["--quiet"]);
    let mut c = server.connect();
    for (score, name) in [("1", "a"), ("2", "b"), ("2", "c"), ("3", "d")] {
        assert_eq!(run(&mut c, &[b"zadd", b"board", score.as_bytes(), name.as_bytes()]), int(1));
    }
    (server, c)
}

// ANCHOR: limits
/// `limit` counts array items, two per member, as the original does: 1 lists one member, 3
/// two, 0 none. Offsets move back as well as on; ties in score are ordered by name.
#[test]
fn zquery_limits_and_offsets() {
    let (_server, mut c) = with_board();
    let zquery = |c: &mut TcpStream, score: &str, name: &str, offset: &str, limit: &str| {
        let words = [&b"zquery"[..], b"board", score.as_bytes(), name.as_bytes()];
        run(c, &[&words[..], &[offset.as_bytes(), limit.as_bytes()]].concat())
    };
    assert_eq!(zquery(&mut c, "2", "", "0", "1"), members(&[(b"b", 2.0)]));
    assert_eq!(zquery(&mut c, "2", "", "0", "3"), members(&[(b"b", 2.0), (b"c", 2.0)]));
    assert_eq!(zquery(&mut c, "2", "", "0", "0"), members(&[]));
    assert_eq!(zquery(&mut c, "2", "", "0", "-5"), members(&[]));
    assert_eq!(zquery(&mut c, "2", "b\0", "0", "2"), members(&[(b"c", 2.0)]), "after (2, b)");
    assert_eq!(zquery(&mut c, "3", "", "-2", "4"), members(&[(b"b", 2.0), (b"c", 2.0)]));
    assert_eq!(zquery(&mut c, "3", "", "-3", "2"), members(&[(b"a", 1.0)]));
    assert_eq!(zquery(&mut c, "3", "", "-4", "2"), members(&[]), "before the first");
    assert_eq!(zquery(&mut c, "-inf", "", "3", "10"), members(&[(b"d", 3.0)]));
    assert_eq!(zquery(&mut c, "inf", "", "0", "10"), members(&[]), "past the last");
    assert_eq!(zquery(&mut c, "0", "", "9223372036854775807", "10"), members(&[]));
}
// ANCHOR_END: limits

/// Numbers are parsed strictly: the whole argument, and never NaN; a bad one is ERR 4 and
/// changes nothing. Scores may be negative, fractional, exponents or infinite.
#[test]
fn numbers_are_strict() {
    let (_server, mut c) = with_board();
    for bad in ["nan", "NaN", "1x", " 1", "1 ", "", "0x10", "1,5"] {
        let reply = run(&mut c, &[b"zadd", b"board", bad.as_bytes(), b"e"]);
        assert_eq!(reply, err(4, "expect float"), "score {bad:?}");
        let reply = run(&mut c, &[b"zquery", b"board", bad.as_bytes(), b"", b"0", b"1"]);
        assert_eq!(reply, err(4, "expect float"), "zquery score {bad:?}");
    }
    for bad in ["1.0", "x", "", "99999999999999999999"] {
        let reply = run(&mut c, &[b"zquery", b"board", b"0", b"", bad.as_bytes(), b"1"]);
        assert_eq!(reply, err(4, "expect int"), "offset {bad:?}");
    }
    assert_eq!(run(&mut c, &[b"zscore", b"board", b"e"]), [0], "nothing was added");
    for (score, value) in [("-2.5", -2.5), ("1e3", 1e3), ("-inf", f64::NEG_INFINITY), ("+7", 7.0)] {
        assert_eq!(run(&mut c, &[b"zadd", b"board", score.as_bytes(), b"e"]).len(), 9);
        assert_eq!(run(&mut c, &[b"zscore", b"board", b"e"]), dbl(value), "{score}");
    }
}

// ANCHOR: types
/// A command on the wrong kind of value is ERR 3, both ways; `set` replaces a sorted set, as
/// Redis's does, and `del` deletes one.
#[test]
fn type_errors_both_ways() {
    let (_server, mut c) = with_board();
    assert_eq!(run(&mut c, &[b"set", b"text", b"hello"]), [0]);
    assert_eq!(run(&mut c, &[b"get", b"board"]), err(3, "not a string value"));
    let on_text: [&[&[u8]]; 4] = [
        &[b"zadd", b"text", b"1", b"a"],
        &[b"zrem", b"text", b"a"],
        &[b"zscore", b"text", b"a"],
        &[b"zquery", b"text", b"1", b"", b"0", b"10"],
    ];
    for words in on_text {
        assert_eq!(run(&mut c, words), err(3, "expect zset"), "{words:?}");
    }
    assert_eq!(run(&mut c, &[b"get", b"text"]), str(b"hello"), "unchanged");
    assert_eq!(run(&mut c, &[b"set", b"board", b"now text"]), [0]);
    assert_eq!(run(&mut c, &[b"get", b"board"]), str(b"now text"));
    assert_eq!(run(&mut c, &[b"zadd", b"z", b"1", b"a"]), int(1));
    assert_eq!(run(&mut c, &[b"del", b"z"]), int(1));
    assert_eq!(run(&mut c, &[b"zscore", b"z", b"a"]), [0]);
}
// ANCHOR_END: types

/// A set whose last member is removed is gone, as in Redis: `keys` no longer lists it, and a
/// string may take its name without a type error.
#[test]
fn an_emptied_set_is_deleted() {
    let server = Server::start_with(Stage::V1_3, &["--quiet"]);
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"zadd", b"z", b"1", b"a"]), int(1));
    assert_eq!(run(&mut c, &[b"keys"]), [&[5, 1, 0, 0, 0][..], &str(b"z")].concat());
    assert_eq!(run(&mut c, &[b"zrem", b"z", b"a"]), int(1));
    assert_eq!(run(&mut c, &[b"keys"]), [5, 0, 0, 0, 0]);
    assert_eq!(run(&mut c, &[b"zrem", b"z", b"a"]), int(0));
}

/// Wrong numbers of arguments are ERR 4 for every sorted-set command.
#[test]
fn wrong_numbers_of_arguments() {
    let server = Server::start_with(Stage::V1_3, &["--quiet"]);
    let mut c = server.connect();
    let wrong: [&[&[u8]]; 5] = [
        &[b"zadd", b"z", b"1"],
        &[b"zrem", b"z"],
        &[b"zscore", b"z", b"a", b"b"],
        &[b"zquery", b"z", b"1", b"", b"0"],
        &[b"ZQUERY", b"z", b"1", b"", b"0", b"1", b"extra"],
    ];
    for words in wrong {
        assert_eq!(run(&mut c, words), err(4, "wrong number of arguments"), "{words:?}");
    }
}

/// A client that sends 300 costly `zquery`s in one write (each refused as ERR 2 after copying
/// 17 MiB) does not hold the other clients until all 300 are done, as v1.2's `keys` does not.
#[test]
fn costly_queries_take_turns() {
    let server = Server::start(Stage::V1_3);
    let mut a = server.connect();
    for (score, name) in [(b"1", b'a'), (b"2", b'b')] {
        assert_eq!(run(&mut a, &[b"zadd", b"wide", score, &vec![name; 17 << 20]]), int(1));
        assert!(server.next_stdout().starts_with("client says: zadd"));
    }
    let zquery = command(&[b"zquery", b"wide", b"-inf", b"", b"0", b"100"]);
    a.write_all(&zquery.repeat(300)).unwrap();
    assert!(server.next_stdout().starts_with("client says: zquery"), "the first is answered");
    let mut b = server.connect();
    assert_eq!(run(&mut b, &[b"get", b"other"]), [0]);
    let mut before = 1;
    while server.next_stdout() != "client says: get other" {
        before += 1;
    }
    assert!(before < 100, "{before} of the 300 zqueries were answered before the other client");
    for _ in 0..300 {
        assert_eq!(
            read_reply_frame(&mut a),
            Reply::Got(err(2, "reply too big: over 33554432 bytes").into())
        );
    }
}

// ANCHOR: model
/// 3,000 random `zadd`, `zrem`, `zscore` and `zquery` commands through the server, each reply
/// compared with a model: a `Vec` of (score, name), sorted after every change.
#[test]
fn random_commands_against_a_sorted_vec() {
    let seed = 0x5eed_5e75;
    let mut rng = Rng::new(seed);
    let server = Server::start_with(Stage::V1_3, &["--quiet"]);
    let mut c = server.connect();
    let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
    for step in 0..3000 {
        let name = format!("m{}", rng.below(200)).into_bytes();
        let score = rng.below(50) as f64 / 4.0 - 5.0;
        let (words, want) = match rng.below(4) {
            0 => {
                let old = model.iter().position(|(_, n)| *n == name);
                if let Some(i) = old {
                    model.remove(i);
                }
                model.push((score, name.clone()));
                model.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let words = vec![b"zadd".to_vec(), b"z".into(), score.to_string().into(), name];
                (words, int(i64::from(old.is_none())))
            }
            1 => {
                let old = model.iter().position(|(_, n)| *n == name);
                if let Some(i) = old {
                    model.remove(i);
                }
                (vec![b"zrem".to_vec(), b"z".into(), name], int(i64::from(old.is_some())))
            }
            2 => {
                let want = model.iter().find(|(_, n)| *n == name).map_or(nil(), |m| dbl(m.0));
                (vec![b"zscore".to_vec(), b"z".into(), name], want)
            }
            _ => {
                let (offset, limit) = (rng.below(21) as i64 - 10, rng.below(12) as i64);
                let start = model.partition_point(|(s, n)| (*s, n.as_slice()) < (score, &name));
                // Nothing at or after (score, name): nothing to move from, as in the original.
                let first = (start < model.len()).then(|| start as i64 + offset);
                let listed: Vec<(&[u8], f64)> = first
                    .and_then(|first| usize::try_from(first).ok())
                    .map(|first| model.iter().skip(first))
                    .into_iter()
                    .flatten()
                    .take(((limit + 1) / 2).max(0) as usize)
                    .map(|(s, n)| (n.as_slice(), *s))
                    .collect();
                let numbers = [score.to_string(), offset.to_string(), limit.to_string()];
                let [score, offset, limit] = numbers.map(String::into_bytes);
                (
                    vec![b"zquery".to_vec(), b"z".into(), score, name.clone(), offset, limit],
                    members(&listed),
                )
            }
        };
        let words: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        let got = run(&mut c, &words);
        assert!(got == want, "seed {seed:#x}, step {step}: {words:?}");
    }
}
// ANCHOR_END: model
