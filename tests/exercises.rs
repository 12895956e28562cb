//! The book's exercises, as checks a learner turns green. Each test here is `#[ignore]`d and
//! fails on the code as it is; it passes once its exercise is done. Run one by name, as the
//! exercise says: `cargo test --test exercises -- --ignored v1_0_strlen`.
//!
//! The tests check what the exercise asks the server (or the library) to *do*, through the
//! stage binary on a free port or through the library's public API, never how it is written:
//! any correct solution passes. `tests/book.rs` checks that every exercise in the book names
//! a check, and that a check named here exists.

mod common;

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::tlv::{Tlv, V, decode, int, members, nil, run, str};
use common::{Reply, Server, Stage, frame, read_reply_frame, resp_command};

// ---------------------------------------------------------------------------------------------
// Helpers: reading what a server sends, independently of the code under test

/// Whether a read that returned `result` means the server closed the connection.
fn is_close(result: &io::Result<usize>) -> bool {
    match result {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => {
            matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted)
        }
    }
}

/// Waits, at most `limit`, for the server to close `stream`; fails the test otherwise.
fn expect_closed_within(stream: &mut TcpStream, limit: Duration, what: &str) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut byte = [0u8; 1];
    let result = stream.read(&mut byte);
    assert!(
        is_close(&result),
        "{what}: expected the server to close within {limit:?}, got {result:?}"
    );
}

/// Sends one command to a v1.2-or-later stage and decodes its reply.
fn run_tlv(stream: &mut TcpStream, words: &[&[u8]]) -> V {
    let body = run(stream, words);
    let (value, used) = decode(&body).unwrap_or_else(|| panic!("not a typed value: {body:?}"));
    assert_eq!(used, body.len(), "one value per reply to {words:?}");
    value
}

/// Reads one RESP2 or RESP3 reply, whole, and returns its bytes as they came (independent of
/// `src/resp.rs`). Aggregates (`*`, `%`, `~`, `>`) are read value by value; `$`, `=` and `!`
/// carry a length; every other type is one line.
fn read_resp(r: &mut impl BufRead) -> Vec<u8> {
    let mut reply = Vec::new();
    let mut values = 1usize;
    while values > 0 {
        values -= 1;
        let start = reply.len();
        r.read_until(b'\n', &mut reply).unwrap();
        assert!(
            reply.ends_with(b"\r\n"),
            "a reply line, got {:?}",
            String::from_utf8_lossy(&reply)
        );
        let line = &reply[start..reply.len() - 2];
        let n: i64 =
            std::str::from_utf8(&line[1..]).ok().and_then(|n| n.parse().ok()).unwrap_or(-1);
        match line[0] {
            b'*' | b'~' | b'>' if n > 0 => values += n as usize,
            b'%' if n > 0 => values += 2 * n as usize,
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut data = vec![0u8; n as usize + 2];
                r.read_exact(&mut data).unwrap();
                reply.extend_from_slice(&data);
            }
            _ => {}
        }
    }
    reply
}

/// One connection to a RESP server, read through a buffer.
struct Resp(BufReader<TcpStream>);

impl Resp {
    fn connect(server: &Server) -> Resp {
        Resp(BufReader::new(server.connect()))
    }

    /// Sends `words` as one command and returns the reply as text.
    fn run(&mut self, words: &[&str]) -> String {
        let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        self.0.get_mut().write_all(&resp_command(&words)).unwrap();
        String::from_utf8(read_resp(&mut self.0)).unwrap()
    }
}

/// The bulk strings of a RESP2 reply made of arrays and bulk strings, in order (a scan's
/// cursor first, then its keys).
fn bulk_strings(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') && line != "$-1" {
            found.push(lines.next().unwrap_or_default().to_string());
        }
    }
    found
}

fn v1_server(stage: Stage) -> Server {
    Server::start_with(stage, &["--quiet"])
}

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

// ---------------------------------------------------------------------------------------------
// v0.1 to v0.3

/// v0_1.md, exercise 1: v0.1 answers a second request on the same connection, then a third,
/// until the client closes.
#[test]
#[ignore = "exercise: v0_1.md, serve the connection until the client closes"]
fn v0_1_serve_until_close() {
    let server = Server::start_with(Stage::V0_1, &["--quiet"]);
    let mut stream = server.connect();
    for message in [&b"hello"[..], b"again", b"third"] {
        stream.write_all(message).unwrap();
        let mut reply = [0u8; 5];
        let got = stream.read_exact(&mut reply);
        assert!(got.is_ok(), "no reply to {:?} on the same connection: {got:?}", message);
        assert_eq!(&reply, b"world");
    }
}

/// v0_2.md, exercise 1: v0.2 replies with the request's body, request after request.
#[test]
#[ignore = "exercise: v0_2.md, echo"]
fn v0_2_echo() {
    let server = Server::start_with(Stage::V0_2, &["--quiet"]);
    let mut stream = server.connect();
    for body in [&b"hello"[..], b"a longer message, with spaces", b""] {
        stream.write_all(&frame(body)).unwrap();
        assert_eq!(read_reply_frame(&mut stream), Reply::Got(body.to_vec()));
    }
}

/// poll-ffi.md, exercise 2: v0.3 closes a client that has sent nothing for ten seconds, and
/// keeps serving one that talks.
#[test]
#[ignore = "exercise: poll-ffi.md, add an idle timeout"]
fn v0_3_idle_timeout() {
    let server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let mut talker = server.connect();
    talker.write_all(&frame(b"hello")).unwrap();
    assert_eq!(read_reply_frame(&mut talker), Reply::Got(b"world".to_vec()));
    let mut idle = server.connect();
    expect_closed_within(&mut idle, Duration::from_secs(20), "a client silent for 10 s");
}

// ---------------------------------------------------------------------------------------------
// v1.0 and v1.1

/// The status and data of a v1.0 reply, the data as text (so that a failure reads).
fn run_v1_0(stream: &mut TcpStream, words: &[&[u8]]) -> (u32, String) {
    let body = run(stream, words);
    assert!(body.len() >= 4, "a status first, got {:?}", &body[..]);
    let status = u32::from_le_bytes(body[..4].try_into().unwrap());
    (status, String::from_utf8_lossy(&body[4..]).into_owned())
}

/// v1_0.md, exercise 1: `strlen KEY` answers the value's length as decimal text, or NX.
#[test]
#[ignore = "exercise: v1_0.md, a command of your own"]
fn v1_0_strlen() {
    let server = v1_server(Stage::V1_0);
    let mut c = server.connect();
    assert_eq!(run_v1_0(&mut c, &[b"set", b"greeting", b"hello"]), (0, "".into()));
    assert_eq!(run_v1_0(&mut c, &[b"strlen", b"greeting"]), (0, "5".into()));
    assert_eq!(run_v1_0(&mut c, &[b"set", b"empty", b""]), (0, "".into()));
    assert_eq!(run_v1_0(&mut c, &[b"strlen", b"empty"]), (0, "0".into()));
    assert_eq!(run_v1_0(&mut c, &[b"strlen", b"nobody"]), (2, "".into()), "NX for no key");
}

/// v1_0.md, exercise 2: command names are case-sensitive, as in the original: `GET` is an
/// unknown command, `get` is not.
#[test]
#[ignore = "exercise: v1_0.md, the original's names"]
fn v1_0_case_sensitive() {
    let server = v1_server(Stage::V1_0);
    let mut c = server.connect();
    assert_eq!(run_v1_0(&mut c, &[b"get", b"k"]), (2, "".into()));
    assert_eq!(run_v1_0(&mut c, &[b"GET", b"k"]), (1, "unknown command".into()));
    assert_eq!(run_v1_0(&mut c, &[b"Set", b"k", b"v"]), (1, "unknown command".into()));
}

/// v1_1.md, exercise 4: a table that lost nine in ten of its keys starts a resize by itself
/// (a shrink: nothing was inserted), finishes it, and still finds every key it kept.
#[test]
#[ignore = "exercise: v1_1.md, shrink"]
fn v1_1_shrink() {
    use redis_lite::hashtable::HashTable;
    let mut table = HashTable::new();
    let key = |i: u32| format!("key:{i}").into_bytes();
    for i in 0..100_000 {
        table.insert(&key(i), i);
    }
    // Finish the last grow, so that any resize seen from here on is a shrink.
    for _ in 0..1_000_000 {
        if !table.is_resizing() {
            break;
        }
        table.get(b"key:0");
    }
    assert!(!table.is_resizing(), "the grow finishes");
    let mut shrank = false;
    for i in 1_000..100_000 {
        assert_eq!(table.remove(&key(i)), Some(i));
        shrank |= table.is_resizing();
    }
    assert!(shrank, "no resize started while 99,000 of 100,000 keys were removed");
    for _ in 0..1_000_000 {
        if !table.is_resizing() {
            break;
        }
        table.get(b"key:0");
    }
    assert!(!table.is_resizing(), "the shrink finishes");
    for i in 0..1_000 {
        assert_eq!(table.get(&key(i)), Some(&i), "key {i} kept");
    }
    assert_eq!(table.len(), 1_000);
    table.check_invariants().unwrap();
}

// ---------------------------------------------------------------------------------------------
// v1.2 and serialization

/// v1_2.md, exercise 4: `incr KEY` counts up from a missing key or from a value that is an
/// integer, and answers `(int) N`.
#[test]
#[ignore = "exercise: v1_2.md, ints as ints"]
fn v1_2_incr() {
    let server = v1_server(Stage::V1_2);
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"incr", b"n"]), int(1));
    assert_eq!(run(&mut c, &[b"incr", b"n"]), int(2));
    assert_eq!(run(&mut c, &[b"get", b"n"]), str(b"2"), "the count reads back as text");
    assert_eq!(run(&mut c, &[b"set", b"n", b"41"]), nil());
    assert_eq!(run(&mut c, &[b"incr", b"n"]), int(42));
}

/// Scans with `scan` until the cursor comes back 0; inserts `extra` keys after the first call,
/// so that the table resizes mid-scan. Returns every key seen.
fn scan_all(
    next: &mut dyn FnMut(&str) -> (String, Vec<String>),
    extra: &mut dyn FnMut(),
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    for call in 0..100_000 {
        let (after, keys) = next(&cursor);
        seen.extend(keys);
        if call == 0 {
            extra();
        }
        if after == "0" {
            return seen;
        }
        cursor = after;
    }
    panic!("the scan did not end within 100,000 calls");
}

/// v1_2.md, exercise 3: `scan CURSOR COUNT` walks every key present for the whole scan, even
/// when the table resizes between two calls.
#[test]
#[ignore = "exercise: v1_2.md, SCAN"]
fn v1_2_scan() {
    let server = v1_server(Stage::V1_2);
    let mut c = server.connect();
    let mut more = server.connect();
    let kept: BTreeSet<String> = (0..300).map(|i| format!("k{i}")).collect();
    for key in &kept {
        run(&mut c, &[b"set", key.as_bytes(), b"v"]);
    }
    let mut next = |cursor: &str| match run_tlv(&mut c, &[b"scan", cursor.as_bytes(), b"10"]) {
        V::Arr(pair) => match &pair[..] {
            [V::Int(after), V::Arr(keys)] => {
                let keys = keys.iter().map(|key| match key {
                    V::Str(key) => String::from_utf8(key.clone()).unwrap(),
                    other => panic!("a key, got {other:?}"),
                });
                (after.to_string(), keys.collect())
            }
            other => panic!("[(int) cursor, (arr) keys], got {other:?}"),
        },
        other => panic!("an array of two, got {other:?}"),
    };
    let mut grow = || {
        for i in 0..3000 {
            run(&mut more, &[b"set", format!("new{i}").as_bytes(), b"v"]);
        }
    };
    let seen = scan_all(&mut next, &mut grow);
    let missed: Vec<&String> = kept.difference(&seen).collect();
    assert!(missed.is_empty(), "keys present throughout and never returned: {missed:?}");
}

/// serialization.md, exercise 1: the decoder knows a boolean, tag 6, one byte 0 or 1 after it,
/// as `Item::Bool`; any other byte after the tag is an error.
#[test]
#[ignore = "exercise: serialization.md, a boolean"]
fn tlv_bool() {
    use redis_lite::tlv::items;
    let first =
        |bytes: &[u8]| items(bytes).next().expect("one item").map(|item| format!("{item:?}"));
    assert_eq!(first(&[6, 1]).ok().as_deref(), Some("Bool(true)"));
    assert_eq!(first(&[6, 0]).ok().as_deref(), Some("Bool(false)"));
    assert!(first(&[6, 2]).is_err(), "2 is not a boolean");
    assert!(first(&[6]).is_err(), "a boolean cut short");
    let in_array: Vec<String> =
        items(&[5, 1, 0, 0, 0, 6, 1]).map(|item| format!("{:?}", item.unwrap())).collect();
    assert_eq!(in_array, ["Arr(1)", "Bool(true)", "End"]);
}

// ---------------------------------------------------------------------------------------------
// v1.3 and balanced trees

/// A sorted set `z` of a 1, b 2, c 3, d 4, e 5, on a new connection.
fn abcde(server: &Server) -> TcpStream {
    let mut c = server.connect();
    for (score, name) in [("1", "a"), ("2", "b"), ("3", "c"), ("4", "d"), ("5", "e")] {
        assert_eq!(run(&mut c, &[b"zadd", b"z", score.as_bytes(), name.as_bytes()]), int(1));
    }
    c
}

/// Members as zquery lists them, names as text.
fn listed(list: &[(&str, f64)]) -> Tlv {
    members(&list.iter().map(|&(name, score)| (name.as_bytes(), score)).collect::<Vec<_>>())
}

/// v1_3.md, exercise 1: `zrevquery` seeks to the last member at or before (score, name),
/// steps `offset` members back, and lists up to `limit` backwards.
#[test]
#[ignore = "exercise: v1_3.md, reverse order"]
fn v1_3_zrevquery() {
    let server = v1_server(Stage::V1_3);
    let mut c = abcde(&server);
    let rev = |c: &mut TcpStream, args: [&str; 4]| {
        let [score, name, offset, limit] = args.map(str::as_bytes);
        run(c, &[b"zrevquery", b"z", score, name, offset, limit])
    };
    assert_eq!(rev(&mut c, ["3", "c", "0", "10"]), listed(&[("c", 3.0), ("b", 2.0), ("a", 1.0)]));
    assert_eq!(rev(&mut c, ["2.5", "", "0", "10"]), listed(&[("b", 2.0), ("a", 1.0)]));
    assert_eq!(rev(&mut c, ["9", "", "1", "2"]), listed(&[("d", 4.0), ("c", 3.0)]));
    assert_eq!(rev(&mut c, ["0.5", "", "0", "10"]), listed(&[]), "nothing at or before");
    assert_eq!(rev(&mut c, ["3", "b", "0", "1"]), listed(&[("b", 2.0)]), "(3, b) is before c");
}

/// v1_3.md, exercise 2: `zremrange key start stop` removes the members ranked `start` to `stop`
/// (from 0, both included, a stop past the end meaning the end) and answers how many.
#[test]
#[ignore = "exercise: v1_3.md, delete by range"]
fn v1_3_zremrange() {
    let server = v1_server(Stage::V1_3);
    let mut c = abcde(&server);
    assert_eq!(run(&mut c, &[b"zremrange", b"z", b"1", b"2"]), int(2));
    let all = [&b"zquery"[..], b"z", b"-inf", b"", b"0", b"10"];
    assert_eq!(run(&mut c, &all), listed(&[("a", 1.0), ("d", 4.0), ("e", 5.0)]));
    assert_eq!(run(&mut c, &[b"zremrange", b"z", b"1", b"100"]), int(2));
    assert_eq!(run(&mut c, &all), listed(&[("a", 1.0)]));
    assert_eq!(run(&mut c, &[b"zremrange", b"nokey", b"0", b"1"]), int(0));
}

/// v1_3.md, exercise 4: `zrank key name` answers the member's rank from 0, or nil.
#[test]
#[ignore = "exercise: v1_3.md, ZRANK"]
fn v1_3_zrank() {
    let server = v1_server(Stage::V1_3);
    let mut c = abcde(&server);
    assert_eq!(run(&mut c, &[b"zrank", b"z", b"a"]), int(0));
    assert_eq!(run(&mut c, &[b"zrank", b"z", b"c"]), int(2));
    assert_eq!(run(&mut c, &[b"zrank", b"z", b"nobody"]), nil());
    assert_eq!(run(&mut c, &[b"zrank", b"nokey", b"a"]), nil());
}

/// balanced-trees.md, exercise 1: `zcount key min max` counts the members with scores from
/// `min` to `max`, both included.
#[test]
#[ignore = "exercise: balanced-trees.md, ZCOUNT from two ranks"]
fn v1_3_zcount() {
    let server = v1_server(Stage::V1_3);
    let mut c = abcde(&server);
    assert_eq!(run(&mut c, &[b"zadd", b"z", b"3", b"c2"]), int(1));
    assert_eq!(run(&mut c, &[b"zcount", b"z", b"2", b"4"]), int(4));
    assert_eq!(run(&mut c, &[b"zcount", b"z", b"3", b"3"]), int(2));
    assert_eq!(run(&mut c, &[b"zcount", b"z", b"-inf", b"inf"]), int(6));
    assert_eq!(run(&mut c, &[b"zcount", b"z", b"4", b"2"]), int(0));
    assert_eq!(run(&mut c, &[b"zcount", b"z", b"10", b"20"]), int(0));
    assert_eq!(run(&mut c, &[b"zcount", b"nokey", b"0", b"1"]), int(0));
}

// ---------------------------------------------------------------------------------------------
// v2.0 and timers

/// v2_0.md, exercise 1: `persist key` removes a deadline and answers 1, or 0 if there was none.
#[test]
#[ignore = "exercise: v2_0.md, PERSIST and EXPIREAT"]
fn v2_0_persist() {
    let server = v1_server(Stage::V2_0);
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"set", b"k", b"v"]), nil());
    assert_eq!(run(&mut c, &[b"persist", b"k"]), int(0), "no deadline yet");
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"100000"]), int(1));
    assert_eq!(run(&mut c, &[b"persist", b"k"]), int(1));
    assert_eq!(run(&mut c, &[b"pttl", b"k"]), int(-1), "no deadline any more");
    assert_eq!(run(&mut c, &[b"persist", b"nokey"]), int(0));
}

/// v2_0.md, exercise 1: `pexpireat key unix_ms` sets a deadline in Unix time; one in the past
/// deletes the key.
#[test]
#[ignore = "exercise: v2_0.md, PERSIST and EXPIREAT"]
fn v2_0_pexpireat() {
    let server = v1_server(Stage::V2_0);
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"set", b"k", b"v"]), nil());
    let at = (unix_ms() + 100_000).to_string();
    assert_eq!(run(&mut c, &[b"pexpireat", b"k", at.as_bytes()]), int(1));
    let left = match run_tlv(&mut c, &[b"pttl", b"k"]) {
        V::Int(left) => left,
        other => panic!("an int, got {other:?}"),
    };
    assert!((90_000..=100_000).contains(&left), "100 s from now, pttl says {left} ms");
    assert_eq!(run(&mut c, &[b"pexpireat", b"k", b"1"]), int(1), "1970: already past");
    assert_eq!(run(&mut c, &[b"get", b"k"]), nil());
    assert_eq!(run(&mut c, &[b"pexpireat", b"nokey", at.as_bytes()]), int(0));
}

/// v2_0.md, exercise 3: `idle MS` sets this connection's own idle timeout (answering nil): a
/// client that asked for 200 ms is closed after 200 ms of silence, and another client, on the
/// server's timeout (5 s), is still served.
#[test]
#[ignore = "exercise: v2_0.md, idle timeouts per client"]
fn v2_0_idle_per_client() {
    let server = v1_server(Stage::V2_0);
    let mut patient = server.connect();
    let mut hasty = server.connect();
    assert_eq!(run(&mut hasty, &[b"idle", b"200"]), nil());
    expect_closed_within(&mut hasty, Duration::from_secs(3), "a client that asked for 200 ms");
    assert_eq!(run(&mut patient, &[b"get", b"k"]), nil(), "the other client is still served");
}

/// timers.md, exercise 1: `ttl key` answers the seconds left, rounded to the nearest, -1 for a
/// key without a deadline, -2 for no key, as Redis's `TTL`.
#[test]
#[ignore = "exercise: timers.md, TTL in seconds"]
fn v2_0_ttl() {
    let server = v1_server(Stage::V2_0);
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"set", b"k", b"v"]), nil());
    assert_eq!(run(&mut c, &[b"ttl", b"k"]), int(-1));
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"100000"]), int(1));
    assert_eq!(run(&mut c, &[b"ttl", b"k"]), int(100));
    assert_eq!(run(&mut c, &[b"ttl", b"nokey"]), int(-2));
}

/// timers.md, exercise 2: `set key value px MS` sets the value and its deadline at once, and a
/// plain `set` afterwards forgets the deadline.
#[test]
#[ignore = "exercise: timers.md, SET with PX"]
fn v2_0_set_px() {
    let server = v1_server(Stage::V2_0);
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"set", b"k", b"v", b"px", b"100000"]), nil());
    assert_eq!(run(&mut c, &[b"get", b"k"]), str(b"v"));
    match run_tlv(&mut c, &[b"pttl", b"k"]) {
        V::Int(left) => assert!((90_000..=100_000).contains(&left), "pttl {left}"),
        other => panic!("an int, got {other:?}"),
    }
    assert_eq!(run(&mut c, &[b"set", b"k", b"w"]), nil());
    assert_eq!(run(&mut c, &[b"pttl", b"k"]), int(-1));
}

// ---------------------------------------------------------------------------------------------
// v3.0 and RESP

fn v3_server() -> Server {
    Server::start_with(Stage::V3_0, &["--quiet"])
}

/// v3_0.md, exercise 5: `INFO` reports `lazyfree_pending_objects`, a count.
#[test]
#[ignore = "exercise: v2_0.md, say what waits to be freed"]
fn v3_0_lazyfree_pending() {
    let server = v3_server();
    let mut c = Resp::connect(&server);
    let info = c.run(&["INFO"]);
    let field = info.split("\r\n").find_map(|line| line.strip_prefix("lazyfree_pending_objects:"));
    let field = field.unwrap_or_else(|| panic!("no lazyfree_pending_objects in {info:?}"));
    assert!(field.parse::<u64>().is_ok(), "a count, got {field:?}");
}

/// v3_0.md, exercise 1: `SCAN cursor [MATCH pattern] [COUNT n]` returns every key present for
/// the whole scan, though the table resizes between calls; `MATCH` filters; a cursor that is
/// not a number is refused as Redis refuses it.
#[test]
#[ignore = "exercise: v3_0.md, SCAN"]
fn v3_0_scan() {
    let server = v3_server();
    let mut c = Resp::connect(&server);
    let mut more = Resp::connect(&server);
    let kept: BTreeSet<String> = (0..300).map(|i| format!("k{i}")).collect();
    for key in &kept {
        assert_eq!(c.run(&["SET", key, "v"]), "+OK\r\n");
    }
    let mut next = |cursor: &str| {
        let reply = c.run(&["SCAN", cursor, "COUNT", "10"]);
        assert!(reply.starts_with("*2\r\n"), "an array of two, got {reply:?}");
        let mut strings = bulk_strings(&reply);
        let after = strings.remove(0);
        (after, strings)
    };
    let mut grow = || {
        for i in 0..3000 {
            more.run(&["SET", &format!("new{i}"), "v"]);
        }
    };
    let seen = scan_all(&mut next, &mut grow);
    let missed: Vec<&String> = kept.difference(&seen).collect();
    assert!(missed.is_empty(), "keys present throughout and never returned: {missed:?}");
    let mut matched = |cursor: &str| {
        let mut strings = bulk_strings(&c.run(&["SCAN", cursor, "MATCH", "k1?", "COUNT", "100"]));
        let after = strings.remove(0);
        (after, strings)
    };
    let seen = scan_all(&mut matched, &mut || {});
    let want: BTreeSet<String> = (10..20).map(|i| format!("k{i}")).collect();
    assert_eq!(seen, want, "SCAN ... MATCH k1?");
    assert_eq!(c.run(&["SCAN", "abc"]), "-ERR invalid cursor\r\n");
}

/// v3_0.md, exercise 2: `MGET` and `MSET`, with Redis 7's replies: nil for a key that holds
/// another type, and arity errors for an odd `MSET`.
#[test]
#[ignore = "exercise: v3_0.md, MGET and MSET"]
fn v3_0_mget_mset() {
    let server = v3_server();
    let mut c = Resp::connect(&server);
    assert_eq!(c.run(&["MSET", "a", "1", "b", "2"]), "+OK\r\n");
    assert_eq!(c.run(&["ZADD", "z", "1", "m"]), ":1\r\n");
    assert_eq!(
        c.run(&["MGET", "a", "b", "nokey", "z"]),
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$-1\r\n"
    );
    assert_eq!(
        c.run(&["MSET", "a", "1", "b"]),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(c.run(&["MGET"]), "-ERR wrong number of arguments for 'mget' command\r\n");
    assert_eq!(c.run(&["MSET", "a", "x", "z", "y"]), "+OK\r\n", "MSET replaces any type");
    assert_eq!(c.run(&["MGET", "a", "z"]), "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
}

/// v3_0.md, exercise 3: `ZADD`'s `NX`, `XX`, `GT`, `LT` and `CH`, with Redis 7.0's replies
/// and refusals, and nothing changed by a command that is refused.
#[test]
#[ignore = "exercise: v3_0.md, ZADD's options"]
fn v3_0_zadd_options() {
    let server = v3_server();
    let mut c = Resp::connect(&server);
    let nx_xx = "-ERR XX and NX options at the same time are not compatible\r\n";
    let gt_lt_nx = "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n";
    let cases: &[(&[&str], &str)] = &[
        (&["ZADD", "z", "1", "a"], ":1\r\n"),
        (&["ZADD", "z", "NX", "XX", "1", "a"], nx_xx),
        (&["ZADD", "z", "GT", "LT", "1", "a"], gt_lt_nx),
        (&["ZADD", "z", "NX", "GT", "1", "a"], gt_lt_nx),
        (&["ZADD", "z", "XX", "5", "b"], ":0\r\n"),
        (&["ZSCORE", "z", "b"], "$-1\r\n"),
        (&["ZADD", "z", "NX", "9", "a", "1", "c"], ":1\r\n"),
        (&["ZSCORE", "z", "a"], "$1\r\n1\r\n"),
        (&["ZADD", "z", "CH", "2", "a", "3", "d"], ":2\r\n"),
        (&["ZADD", "z", "GT", "CH", "1", "a"], ":0\r\n"),
        (&["ZADD", "z", "GT", "CH", "10", "a"], ":1\r\n"),
        (&["ZADD", "z", "LT", "CH", "100", "a"], ":0\r\n"),
        (&["ZADD", "z", "GT", "1", "e"], ":1\r\n"),
        (&["ZADD", "z", "XX", "CH", "7", "a", "8", "f"], ":1\r\n"),
        (&["ZSCORE", "z", "f"], "$-1\r\n"),
        (&["ZADD", "z", "NX", "1"], "-ERR syntax error\r\n"),
        (&["ZADD", "z", "XX", "1", "a", "x", "c"], "-ERR value is not a valid float\r\n"),
        (&["ZSCORE", "z", "a"], "$1\r\n7\r\n"),
    ];
    for (words, want) in cases {
        assert_eq!(c.run(words), *want, "{}", words.join(" "));
    }
}

/// v3_0.md, exercise 4: after `HELLO 3`, that connection gets RESP3 (a map for `HELLO`,
/// doubles, `_` for nil, pairs for `WITHSCORES`); another connection still gets RESP2.
#[test]
#[ignore = "exercise: v3_0.md, RESP3"]
fn v3_0_resp3() {
    let server = v3_server();
    let mut two = Resp::connect(&server);
    assert_eq!(two.run(&["ZADD", "z", "1", "a", "2.5", "b"]), ":2\r\n");
    let mut three = Resp::connect(&server);
    let hello = three.run(&["HELLO", "3"]);
    assert!(hello.starts_with('%'), "a map, got {hello:?}");
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "proto 3 in {hello:?}");
    let pairs = "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n";
    assert_eq!(three.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]), pairs);
    assert_eq!(three.run(&["GET", "nokey"]), "_\r\n");
    assert_eq!(three.run(&["ZSCORE", "z", "b"]), ",2.5\r\n");
    assert_eq!(two.run(&["GET", "nokey"]), "$-1\r\n", "RESP2 on the other connection");
    assert_eq!(two.run(&["ZSCORE", "z", "b"]), "$3\r\n2.5\r\n");
}

/// resp.md, exercise 1: the reply reader takes RESP3's null, doubles, booleans and maps,
/// whole or waiting for more, and says how many bytes each took.
#[test]
#[ignore = "exercise: resp.md, read RESP3"]
fn resp_reads_resp3() {
    use redis_lite::resp::parse_reply;
    let used = |bytes: &[u8]| match parse_reply(bytes) {
        Ok(Some((_, used))) => Some(used),
        Ok(None) => None,
        Err(e) => panic!("{:?}: {e}", String::from_utf8_lossy(bytes)),
    };
    assert_eq!(used(b"_\r\n"), Some(3));
    assert_eq!(used(b",3.5\r\n"), Some(6));
    assert_eq!(used(b",-inf\r\n"), Some(7));
    assert_eq!(used(b"#t\r\n"), Some(4));
    assert_eq!(used(b"%1\r\n+a\r\n:1\r\n"), Some(12));
    assert_eq!(used(b"*2\r\n_\r\n,1\r\n:7\r\n"), Some(11), "one reply, then the next");
    assert_eq!(used(b"%2\r\n+a\r\n:1\r\n"), None, "a map still waiting for its second pair");
    assert!(parse_reply(b",abc\r\n").is_err(), "not a double");
}

/// v3.1, exercise 2: the table shrinks (v1.1's exercise 4), and a scan that goes on while
/// it does still hands over every key that stays, at least once.
#[test]
#[ignore = "exercise: v3_1.md, a scan through a shrink"]
fn v3_1_scan_through_a_shrink() {
    use redis_lite::hashtable::HashTable;
    let mut table = HashTable::new();
    let key = |i: u32| format!("key:{i}").into_bytes();
    for i in 0..100_000 {
        table.insert(&key(i), i);
    }
    for _ in 0..1_000_000 {
        if !table.is_resizing() {
            break;
        }
        table.get(b"key:0");
    }
    assert!(!table.is_resizing(), "the grow finishes");
    let (mut cursor, mut seen, mut gone, mut shrank) = (0, BTreeSet::new(), 1_000, false);
    for step in 0..1_000_000 {
        cursor = table.scan(cursor, |key, _| _ = seen.insert(key.to_vec()));
        for _ in 0..100 {
            if gone < 100_000 {
                table.remove(&key(gone));
                gone += 1;
            }
        }
        shrank |= table.is_resizing();
        if cursor == 0 {
            break;
        }
        assert!(step < 999_999, "the scan never ends");
    }
    assert!(shrank, "no resize while 99,000 of 100,000 keys went");
    let missed = (0..1_000).filter(|&i| !seen.contains(&key(i))).count();
    assert_eq!(missed, 0, "keys that stayed through the shrink and were never handed over");
}
