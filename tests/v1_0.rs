//! Stage v1.0's commands: the store's semantics, the request protocol's edges, what a hostile
//! header can cost, and the client, run against every stage that speaks them: v1.0; v1.1,
//! which keeps them and changes only the table underneath; and, where only the encoding of the
//! replies differs, v1.2 to v2.0 (whose own commands and client are in `tests/v1_2.rs`,
//! `tests/v1_3.rs` and `tests/v2_0.rs`). (The
//! scenarios every stage shares are in `tests/compare.rs`, where v1.0 is the first row that
//! stores a value.)

mod common;

use std::io::Write;
use std::net::TcpStream;

use common::{Reply, Server, Stage, command, frame, read_reply_frame};

/// The reply body v1.0 and v1.1 send: a status, then the data.
fn reply(status: u32, data: &[u8]) -> Reply {
    let mut body = status.to_le_bytes().to_vec();
    body.extend_from_slice(data);
    Reply::Got(body)
}

fn ok(data: &[u8]) -> Reply {
    reply(0, data)
}

/// What a `set` gets back: status 0; from v1.2 on, nil.
fn stored(stage: Stage) -> Reply {
    match stage {
        Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => Reply::Got(vec![0]),
        _ => ok(b""),
    }
}

/// What a `get` of a key holding `data` gets back: status 0 and the data; from v1.2 on, a
/// string.
fn found(stage: Stage, data: &[u8]) -> Reply {
    match stage {
        Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => {
            let mut body = vec![2];
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            Reply::Got(body)
        }
        _ => ok(data),
    }
}

/// What a `get` of a missing key gets back: status 2; from v1.2 on, nil.
fn nx(stage: Stage) -> Reply {
    match stage {
        Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => Reply::Got(vec![0]),
        _ => reply(2, b""),
    }
}

/// Sends one command and reads its reply.
fn run(stream: &mut TcpStream, words: &[&[u8]]) -> Reply {
    stream.write_all(&command(words)).unwrap();
    read_reply_frame(stream)
}

/// The stages that take v1.0's requests.
const KV: [Stage; 5] = [Stage::V1_0, Stage::V1_1, Stage::V1_2, Stage::V1_3, Stage::V2_0];

/// The stages that also answer as v1.0 does, with a status and a blob (v1.2 and v1.3 answer
/// with typed values: `tests/v1_2.rs`).
const STATUS_REPLIES: [Stage; 2] = [Stage::V1_0, Stage::V1_1];

fn quiet_server(stage: Stage) -> Server {
    Server::start_with(stage, &["--quiet"])
}

// ANCHOR: semantics
/// A missing key, a set, an overwrite, a delete, and deleting what is not there.
#[test]
fn get_set_overwrite_delete() {
    for stage in STATUS_REPLIES {
        let server = quiet_server(stage);
        let mut c = server.connect();
        assert_eq!(run(&mut c, &[b"get", b"k"]), nx(stage));
        assert_eq!(run(&mut c, &[b"set", b"k", b"one"]), ok(b""));
        assert_eq!(run(&mut c, &[b"get", b"k"]), ok(b"one"));
        assert_eq!(run(&mut c, &[b"set", b"k", b"a longer second value"]), ok(b""));
        assert_eq!(run(&mut c, &[b"get", b"k"]), ok(b"a longer second value"));
        assert_eq!(run(&mut c, &[b"del", b"k"]), ok(b""));
        assert_eq!(run(&mut c, &[b"get", b"k"]), nx(stage));
        assert_eq!(run(&mut c, &[b"del", b"k"]), ok(b""));
    }
}
// ANCHOR_END: semantics

/// Keys and values are bytes: zero bytes, invalid UTF-8, and empty keys and values.
#[test]
fn keys_and_values_are_bytes() {
    for stage in KV {
        let server = quiet_server(stage);
        let mut c = server.connect();
        let pairs: [(&[u8], &[u8]); 3] =
            [(b"\0k\0", b"\xff\0\xfe"), (b"", b"empty key"), (b"e", b"")];
        for (key, value) in pairs {
            assert_eq!(run(&mut c, &[b"set", key, value]), stored(stage));
        }
        for (key, value) in pairs {
            assert_eq!(run(&mut c, &[b"get", key]), found(stage, value));
        }
        assert_eq!(run(&mut c, &[b"get", b"\0k"]), nx(stage), "a prefix is another key");
    }
}

/// Command names in any case; unknown commands and wrong numbers of arguments are errors
/// that leave the connection open.
#[test]
fn command_names_and_errors() {
    for stage in STATUS_REPLIES {
        let server = quiet_server(stage);
        let mut c = server.connect();
        assert_eq!(run(&mut c, &[b"SET", b"k", b"v"]), ok(b""));
        assert_eq!(run(&mut c, &[b"Get", b"k"]), ok(b"v"));
        assert_eq!(run(&mut c, &[b"frobnicate", b"k"]), reply(1, b"unknown command"));
        assert_eq!(run(&mut c, &[]), reply(1, b"unknown command"));
        for wrong in
            [&[&b"get"[..]][..], &[b"set", b"k"], &[b"del", b"a", b"b"], &[b"get", b"a", b"b"]]
        {
            assert_eq!(run(&mut c, wrong), reply(1, b"wrong number of arguments"), "{wrong:?}");
        }
        assert_eq!(run(&mut c, &[b"dEl", b"k"]), ok(b""));
        assert_eq!(run(&mut c, &[b"get", b"k"]), nx(stage));
    }
}

/// A 1 MiB value and a 30 MiB one (a frame close to the 32 MiB limit) go in and come back
/// whole; the buffers that grew for them shrink back afterwards.
#[test]
fn big_values() {
    for stage in KV {
        let server = quiet_server(stage);
        let mut c = server.connect();
        for size in [1 << 20, 30 << 20] {
            let value: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            assert_eq!(run(&mut c, &[b"set", b"big", &value]), stored(stage));
            assert_eq!(run(&mut c, &[b"get", b"big"]), found(stage, &value));
        }
    }
}

// ANCHOR: amplified
/// One write of 16 KiB holds 744 `get`s of a 256 KiB value: 190 MB of replies. Backpressure is
/// checked before every request, not only before every read, so the server holds about 1 MiB
/// of them at a time, serves another client meanwhile, and delivers every reply as the client
/// reads. (Checked only before reads, one such write cost 765 MB; with bigger values, all the
/// memory there was.)
#[test]
fn a_small_write_cannot_ask_for_unbounded_replies() {
    for stage in KV {
        let server = quiet_server(stage);
        let mut c = server.connect();
        let value: Vec<u8> = (0..256 * 1024).map(|i| (i % 253) as u8).collect();
        assert_eq!(run(&mut c, &[b"set", b"big", &value]), stored(stage));
        let gets = command(&[b"get", b"big"]).repeat(744);
        assert!(gets.len() <= 16 * 1024, "one read's worth");
        c.write_all(&gets).unwrap();
        let mut other = server.connect();
        assert_eq!(run(&mut other, &[b"get", b"small"]), nx(stage));
        let peak = common::peak_rss_kib(server.pid());
        assert!(peak < 32 * 1024, "peak memory {peak} KiB with 190 MB of replies asked for");
        let want = found(stage, &value);
        for i in 0..744 {
            assert!(read_reply_frame(&mut c) == want, "reply {i}");
        }
    }
}
// ANCHOR_END: amplified

/// A key overwritten with a small value does not keep the big one's memory, and neither does
/// the connection's buffer after a big frame, even when the bytes after it end mid-frame.
#[test]
fn big_values_give_their_memory_back() {
    for stage in KV {
        let server = quiet_server(stage);
        let mut c = server.connect();
        let before = common::rss_kib(server.pid());
        let big = vec![b'v'; 8 << 20];
        for key in [&b"a"[..], b"b", b"c", b"d"] {
            assert_eq!(run(&mut c, &[b"set", key, &big]), stored(stage));
            assert_eq!(run(&mut c, &[b"set", key, b"y"]), stored(stage));
        }
        // A big frame, then the first bytes of the next one: the buffer is not left at 8 MiB.
        let mut wire = command(&[b"set", b"e", &big]);
        wire.extend_from_slice(&command(&[b"get", b"e"])[..2]);
        c.write_all(&wire).unwrap();
        assert_eq!(read_reply_frame(&mut c), stored(stage));
        c.write_all(&command(&[b"get", b"e"])[2..]).unwrap();
        assert_eq!(read_reply_frame(&mut c), found(stage, &big));
        assert_eq!(run(&mut c, &[b"set", b"e", b"y"]), stored(stage));
        let after = common::rss_kib(server.pid());
        assert!(
            after < before + 8 * 1024,
            "{before} KiB before, {after} KiB after, 5 bytes stored"
        );
    }
}

/// 10,000 keys, set in one pipelined write and read back in another.
#[test]
fn ten_thousand_keys() {
    for stage in KV {
        let server = quiet_server(stage);
        let mut c = server.connect();
        let key = |i: usize| format!("key:{i}").into_bytes();
        let value = |i: usize| format!("value {}", i * 7).into_bytes();
        let sets: Vec<u8> =
            (0..10_000).flat_map(|i| command(&[b"set", &key(i), &value(i)])).collect();
        c.write_all(&sets).unwrap();
        for _ in 0..10_000 {
            assert_eq!(read_reply_frame(&mut c), stored(stage));
        }
        let gets: Vec<u8> = (0..10_000).flat_map(|i| command(&[b"get", &key(i)])).collect();
        c.write_all(&gets).unwrap();
        for i in 0..10_000 {
            assert_eq!(read_reply_frame(&mut c), found(stage, &value(i)), "key {i}");
        }
    }
}

// ANCHOR: in_order
/// 1,000 commands in one write, each `get` reading what the `set` before it wrote: the replies
/// come back in order (they all differ, so order is visible here).
#[test]
fn pipelined_commands_are_answered_in_order() {
    for stage in KV {
        let server = quiet_server(stage);
        let mut c = server.connect();
        let mut batch = Vec::new();
        for i in 0..500 {
            batch.extend(command(&[b"set", b"counter", i.to_string().as_bytes()]));
            batch.extend(command(&[b"get", b"counter"]));
        }
        c.write_all(&batch).unwrap();
        for i in 0..500 {
            assert_eq!(read_reply_frame(&mut c), stored(stage));
            assert_eq!(
                read_reply_frame(&mut c),
                found(stage, i.to_string().as_bytes()),
                "reply {i}"
            );
        }
    }
}
// ANCHOR_END: in_order

/// Two clients share one store: what one sets, the other gets.
#[test]
fn two_clients_see_each_others_writes() {
    for stage in KV {
        let server = quiet_server(stage);
        let (mut a, mut b) = (server.connect(), server.connect());
        assert_eq!(run(&mut a, &[b"set", b"shared", b"from a"]), stored(stage));
        assert_eq!(run(&mut b, &[b"get", b"shared"]), found(stage, b"from a"));
        assert_eq!(run(&mut b, &[b"set", b"shared", b"from b"]), stored(stage));
        assert_eq!(run(&mut a, &[b"get", b"shared"]), found(stage, b"from b"));
    }
}

// ANCHOR: malformed
/// Every way a body can fail to parse closes that client, after the reply to the good request
/// before it, with one log line saying what was wrong; the next client is served.
#[test]
fn malformed_bodies_close_only_their_client() {
    for stage in KV {
        let mut server = Server::start(stage);
        let mut trailing = command(&[b"get", b"k"]);
        trailing[0] += 1; // the frame is one byte longer...
        trailing.push(b'!'); // ...and the byte is after the last string
        let mut past_end = command(&[b"get", b"k"]);
        past_end[8] = 200; // "get" claims 200 bytes
        let cases: [(Vec<u8>, &str); 5] = [
            (frame(&200_001u32.to_le_bytes()), "bad request: too many strings: 200001 > 200000"),
            (past_end, "bad request: string 0 is 200 bytes, but 8 are left"),
            (trailing, "bad request: trailing bytes after the last string: 1"),
            (frame(b""), "bad request: no string count"),
            ((32u32 << 20 | 1).to_le_bytes().to_vec(), "message too long: 33554433 > 33554432"),
        ];
        for (bad, log) in cases {
            let mut c = server.connect();
            let mut wire = command(&[b"get", b"before"]);
            wire.extend_from_slice(&bad);
            c.write_all(&wire).unwrap();
            assert_eq!(read_reply_frame(&mut c), nx(stage), "the request before the bad one");
            server.expect_says("before");
            common::assert_closed_without_reply(&mut c);
            server.expect_log(log);
            drop(c);
            common::assert_still_serves(&mut server);
        }
    }
}
// ANCHOR_END: malformed

// ANCHOR: stalled_promise
/// 200 clients each send the header of a 32 MiB frame, a few bytes of it, and then nothing.
/// Memory grows with the bytes that arrive, never with what a header promises: the server
/// holds 16 KiB for each, not 32 MiB (which would be 6.4 GB), and serves everyone else.
#[test]
fn headers_that_promise_32_mib_cost_what_arrived() {
    for stage in KV {
        let server = quiet_server(stage);
        let (before, reserved_before) =
            (common::rss_kib(server.pid()), common::virtual_kib(server.pid()));
        let mut promise = (32u32 << 20).to_le_bytes().to_vec();
        promise.extend_from_slice(b"\x02\0\0\0\x03\0\0\0set");
        let stalled: Vec<TcpStream> = (0..200)
            .map(|_| {
                let mut c = server.connect();
                c.write_all(&promise).unwrap();
                c
            })
            .collect();
        // Once another client is served, the loop has read every stalled client's bytes.
        let mut other = server.connect();
        assert_eq!(run(&mut other, &[b"get", b"k"]), nx(stage));
        let after = common::rss_kib(server.pid());
        let peak = common::peak_rss_kib(server.pid());
        let reserved = common::virtual_kib(server.pid()) - reserved_before;
        assert!(after - before < 8 * 1024, "{} KiB for 200 stalled promises", after - before);
        assert!(peak < 32 * 1024, "peak memory {peak} KiB");
        assert!(reserved < 64 * 1024, "{reserved} KiB of address space reserved for them");
        drop(stalled);
    }
}
// ANCHOR_END: stalled_promise

/// The client sends the command on its command line and prints the reply as the original's
/// client does; a value that is not UTF-8 prints escaped.
#[test]
fn client_command_line() {
    for stage in STATUS_REPLIES {
        let server = quiet_server(stage);
        let client = |words: &[&str]| stage.client(server.addr, words);
        client(&["set", "greeting", "hello"]).success().stdout("server says: [0] \n");
        client(&["get", "greeting"]).success().stdout("server says: [0] hello\n");
        client(&["get", "nobody"]).success().stdout("server says: [2] \n");
        client(&["GET"]).success().stdout("server says: [1] wrong number of arguments\n");
        let mut c = server.connect();
        assert_eq!(run(&mut c, &[b"set", b"bin", b"caf\xe9\0"]), ok(b""));
        client(&["get", "bin"]).success().stdout("server says: [0] caf\\xe9\\x00\n");
    }
}

// ANCHOR: client_stdin
/// With no command, the client reads one per line of standard input, split like a shell
/// (quotes keep spaces, `\xNN` in double quotes is any byte), and prints no prompt, because
/// its input is not a terminal.
#[test]
fn client_reads_commands_from_stdin() {
    for stage in STATUS_REPLIES {
        let server = quiet_server(stage);
        let input = "set k 'two words'\n\nget k\nset bin \"\\xff\\x00\"\nget bin\nget nope\n";
        let want = "server says: [0] \nserver says: [0] two words\nserver says: [0] \n\
                    server says: [0] \\xff\\x00\nserver says: [2] \n";
        stage
            .command()
            .args(["client", "--addr", &server.addr.to_string()])
            .write_stdin(input)
            .assert()
            .success()
            .stdout(want);
    }
}
// ANCHOR_END: client_stdin

/// Standard input is bytes: a line that is not UTF-8 is a key like any other, and CRLF line
/// ends are understood.
#[test]
fn client_stdin_is_bytes() {
    for stage in STATUS_REPLIES {
        let server = quiet_server(stage);
        let out = "server says: [0] \nserver says: [0] caf\\xe9\nserver says: [0] caf\\xe9\n";
        stage
            .command()
            .args(["client", "--addr", &server.addr.to_string()])
            .write_stdin(&b"set caf\xe9 caf\xe9\r\nget caf\xe9\r\nget \"caf\\xe9\""[..])
            .assert()
            .success()
            .stdout(out);
    }
}

/// A line that does not split (an unclosed quote) ends a scripted run with one clear line and
/// exit code 1, after the replies to the lines before it.
#[test]
fn client_stdin_mistake() {
    for stage in STATUS_REPLIES {
        let server = quiet_server(stage);
        let out = stage
            .command()
            .args(["client", "--addr", &server.addr.to_string()])
            .write_stdin("get k\nset k 'oops\nget k\n")
            .assert()
            .code(1)
            .stdout("server says: [2] \n");
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(stderr, format!("{} client: line 2: a ' is not closed\n", stage.name()));
    }
}

/// The client refuses a command too big for a frame, with one line, before sending it.
#[test]
fn client_refuses_a_command_over_the_limit() {
    for stage in STATUS_REPLIES {
        let server = Server::start(stage);
        let line = format!("set k {}\n", "v".repeat(32 << 20));
        let out = stage
            .command()
            .args(["client", "--addr", &server.addr.to_string()])
            .write_stdin(line)
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(
            stderr,
            format!("{} client: message too long: 33554452 > 33554432\n", stage.name())
        );
        // The server saw the connection come and go, and no request.
        server.expect_log("EOF, client closed the connection");
    }
}
