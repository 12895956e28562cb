//! v3.0 against one client that tries to cost the others: a request trickled in a byte at a
//! time, values announced and half sent, one very big value. Each attack checks that the
//! server does the work and holds the memory that what arrived calls for, no more, and goes
//! on answering everyone else. (What these cost in time, beside Redis's, is measured by
//! `cargo bench --bench one_client`, not here.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Reply, Server, Stage, read_resp_reply, resp_command};

fn server() -> Server {
    Server::start_with(Stage::V3_0, &["--quiet"])
}

fn ping(stream: &mut TcpStream) {
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
    assert_eq!(read_resp_reply(stream), Reply::Got(b"+PONG\r\n".to_vec()));
}

/// The header of a `DEL` of a million keys and all but the last, then the header of a 100 MB
/// last key, then the key a byte at a time: every byte costs the server O(1), not a walk of
/// the million strings before it. Checked against the server's own CPU time for taking in
/// the first 7 MB (a walk of them all, and more): 300 more bytes, each followed by another
/// client's PING, cost less than that.
#[test]
fn a_trickled_request_costs_only_its_bytes() {
    let server = server();
    let (mut slow, mut other) = (server.connect(), server.connect());
    slow.set_nodelay(true).unwrap();
    let count = 1_000_000;
    let mut head = format!("*{count}\r\n$3\r\nDEL\r\n").into_bytes();
    head.extend(b"$1\r\na\r\n".repeat(count - 2));
    head.extend(b"$100000000\r\n");
    let busy = || common::cpu_ticks(server.pid()).iter().sum::<u64>();
    let before = busy();
    slow.write_all(&head).unwrap();
    common::wait_until_read(&slow);
    ping(&mut other);
    let head_cost = busy() - before;
    let trickle_before = busy();
    for _ in 0..300 {
        slow.write_all(b"x").unwrap();
        // The byte is in the server's queue before the PING is: answering the PING means
        // the loop has had the byte too.
        ping(&mut other);
    }
    let trickle_cost = busy() - trickle_before;
    assert!(
        trickle_cost <= head_cost.max(3),
        "300 bytes cost {trickle_cost} ticks, the 7 MB before them {head_cost}"
    );
}

/// Twenty clients each announce a 512 MB value and send 4 MiB of it: the server holds about
/// what arrived (80 MiB), not twice that (a buffer that doubles, zeroed as it grows).
#[test]
fn half_sent_values_cost_what_arrived() {
    let server = server();
    let mut other = server.connect();
    ping(&mut other);
    let (clients, sent_each) = (20, 4 << 20);
    let mut head = resp_command(&[b"SET", b"k"]);
    head[1] = b'3'; // `*3`: the value is the third string, still to come.
    head.extend(format!("${}\r\n", 512 << 20).into_bytes());
    let before = common::rss_kib(server.pid());
    let part = vec![b'v'; sent_each];
    let mut streams = Vec::new();
    for _ in 0..clients {
        let mut c = server.connect();
        c.write_all(&head).unwrap();
        c.write_all(&part).unwrap();
        streams.push(c);
    }
    let sent = (clients * (head.len() + sent_each)) as u64;
    streams.iter().for_each(common::wait_until_read);
    ping(&mut other);
    let grown_kib = common::rss_kib(server.pid()).saturating_sub(before);
    let sent_kib = sent / 1024;
    assert!(
        grown_kib <= sent_kib * 11 / 10 + 4096,
        "{grown_kib} KiB resident for {sent_kib} KiB sent"
    );
    drop(streams);
    ping(&mut other);
}

/// A 200 MiB `SET` sent in pieces: the value is read into a buffer of its own and becomes the
/// stored value as it is, so the server's peak memory is one copy of it, not two or three.
/// `GET` gives it back whole.
#[test]
fn a_big_value_is_stored_without_a_copy() {
    let server = server();
    let mut c = server.connect();
    ping(&mut c);
    let len = 200 << 20;
    let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let peak_before = common::peak_rss_kib(server.pid());
    c.write_all(&resp_command(&[b"SET", b"big", &value])).unwrap();
    assert_eq!(read_resp_reply(&mut c), Reply::Got(b"+OK\r\n".to_vec()));
    let peak_kib = common::peak_rss_kib(server.pid()).saturating_sub(peak_before);
    assert!(peak_kib <= (len as u64 / 1024) * 11 / 10, "peak {peak_kib} KiB for a 200 MiB value");
    c.write_all(&resp_command(&[b"GET", b"big"])).unwrap();
    let want = [format!("${len}\r\n").into_bytes(), value, b"\r\n".to_vec()].concat();
    let mut got = vec![0; want.len()];
    c.read_exact(&mut got).unwrap();
    assert!(got == want, "GET gave back something else");
}

/// A client that announces a big string and closes halfway: the server says so in one line,
/// counting what came of it (the big string's buffer too), and goes on serving.
#[test]
fn a_big_string_cut_short_is_one_line() {
    let server = server();
    let mut c = server.connect();
    let mut wire = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n".to_vec();
    wire.extend(vec![b'v'; 300_000]);
    c.write_all(&wire).unwrap();
    drop(c);
    server.expect_log(&format!("the stream ended inside a request, after {} bytes", wire.len()));
    ping(&mut server.connect());
}

/// A client that sent a 64 MiB request of small strings (each under the size read into a
/// buffer of its own), and then 9,021 bytes of the next request, which it never finishes: once
/// the first is answered, the server gives back the buffer it grew to, rather than holding
/// 64 MiB for 9 KiB that wait.
#[test]
fn a_grown_buffer_is_given_back_when_little_of_it_waits() {
    let server = server();
    let mut other = server.connect();
    ping(&mut other);
    let before = common::rss_kib(server.pid());
    let one = [b"$1000\r\n".as_slice(), &[b'x'; 1000], b"\r\n"].concat();
    let count = (64 << 20) / one.len();
    let mut request = format!("*{}\r\n$3\r\nDEL\r\n", count + 1).into_bytes();
    request.extend(one.repeat(count));
    let next = [b"*2\r\n$3\r\nGET\r\n$9013\r\n".as_slice(), &[b'k'; 9001]].concat();
    assert_eq!(next.len(), 9021);
    let mut client = server.connect();
    client.write_all(&[request, next].concat()).unwrap();
    assert_eq!(read_resp_reply(&mut client), Reply::Got(b":0\r\n".to_vec()));
    ping(&mut other);
    let held_kib = common::rss_kib(server.pid()).saturating_sub(before);
    assert!(held_kib < 8 << 10, "{held_kib} KiB held for 9,021 bytes waiting");
}

/// Connections that have sent nothing cost no buffer: 500 of them grow the server by far
/// less than the 16 KiB each that a buffer made at accept would cost (8 MiB).
#[test]
fn a_silent_connection_costs_no_buffer() {
    let server = server();
    let mut other = server.connect();
    ping(&mut other);
    let before = common::rss_kib(server.pid());
    let silent: Vec<TcpStream> = (0..500).map(|_| server.connect()).collect();
    // Accepted in order: a PING answered on a newer connection means all of them are in.
    let mut last = server.connect();
    ping(&mut last);
    let grown_kib = common::rss_kib(server.pid()).saturating_sub(before);
    assert!(grown_kib < 2 << 10, "{grown_kib} KiB for {} silent connections", silent.len());
}

/// One client pipelines 2,000 `GET`s of a 1 MiB value and reads as fast as it can. Each turn
/// writes a bounded share of its replies and then lets the others go: another client's `PING`,
/// sent once the replies begin to flow, is answered while most of them are still to come,
/// not after the loop has poured hundreds of megabytes into one socket that keeps taking them.
#[test]
fn a_fast_reader_of_big_replies_takes_turns() {
    let server = server();
    let (mut greedy, mut other) = (server.connect(), server.connect());
    let value = vec![b'v'; 1 << 20];
    greedy.write_all(&resp_command(&[b"SET", b"v", &value])).unwrap();
    assert_eq!(read_resp_reply(&mut greedy), Reply::Got(b"+OK\r\n".to_vec()));
    let gets = 2000;
    greedy.write_all(&resp_command(&[b"GET", b"v"]).repeat(gets)).unwrap();
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&received);
    let reader = std::thread::spawn(move || {
        let (mut buf, want) = (vec![0u8; 8 << 20], gets * (value.len() + 12));
        let mut got = 0;
        while got < want {
            let n = greedy.read(&mut buf).expect("the replies");
            assert!(n > 0, "closed after {got} bytes");
            got += n;
            counted.store(got, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while received.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(std::time::Instant::now() < give_up, "no reply in 10 s");
        std::thread::yield_now();
    }
    // Counted from the PING's sending: what the server wrote to the greedy client while the
    // PING waited (and not what the reader took while this thread waited for a CPU).
    let at_ping = received.load(std::sync::atomic::Ordering::Relaxed);
    ping(&mut other);
    let by_then = received.load(std::sync::atomic::Ordering::Relaxed) - at_ping;
    reader.join().unwrap();
    // A turn writes it 64 KiB; written until its socket refuses, 12 to 122 MiB went first.
    assert!(by_then < 8 << 20, "the PING waited for {} MiB of another's replies", by_then >> 20);
}

/// A `GET` of a 64 MiB value, read only a little at first: the reply is sent from the stored
/// value, so the server's memory does not grow by another copy of it. A `SET` that replaces
/// the value meanwhile leaves the reply as it was asked for, and the next `GET` sees the new
/// value; an `ECHO` of a big message sends back its bytes.
#[test]
fn a_big_reply_is_sent_from_the_store_without_a_copy() {
    let server = server();
    let (mut reader, mut writer) = (server.connect(), server.connect());
    let len = 64 << 20;
    let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    writer.write_all(&resp_command(&[b"SET", b"big", &value])).unwrap();
    assert_eq!(read_resp_reply(&mut writer), Reply::Got(b"+OK\r\n".to_vec()));
    let before = common::rss_kib(server.pid());
    reader.write_all(&resp_command(&[b"GET", b"big"])).unwrap();
    let header = format!("${len}\r\n").into_bytes();
    let mut got = vec![0; header.len()];
    reader.read_exact(&mut got).unwrap();
    assert_eq!(got, header);
    let grown_kib = common::rss_kib(server.pid()).saturating_sub(before);
    assert!(grown_kib < (len as u64 / 1024) / 4, "{grown_kib} KiB more for a 64 MiB reply");
    writer.write_all(&resp_command(&[b"SET", b"big", b"new"])).unwrap();
    assert_eq!(read_resp_reply(&mut writer), Reply::Got(b"+OK\r\n".to_vec()));
    let mut rest = vec![0; len + 2];
    reader.read_exact(&mut rest).unwrap();
    assert!(rest[..len] == value[..] && &rest[len..] == b"\r\n", "the reply changed under way");
    reader.write_all(&resp_command(&[b"GET", b"big"])).unwrap();
    assert_eq!(read_resp_reply(&mut reader), Reply::Got(b"$3\r\nnew\r\n".to_vec()));
    writer.write_all(&resp_command(&[b"ECHO", &value[..2 << 20]])).unwrap();
    let want = [format!("${}\r\n", 2 << 20).into_bytes(), value[..2 << 20].to_vec()].concat();
    assert_eq!(read_resp_reply(&mut writer), Reply::Got([want, b"\r\n".to_vec()].concat()));
}

/// A 256 MiB argument where `SET` expects an option, after a 256 MiB value: the server's CPU
/// time for the option is about what taking in its bytes costs, as it is for the value, not
/// that and a walk of all of it for each option name it is compared with, looking for the NUL
/// byte where C would stop (four, with an `NX` after it: measured, 2.2 to 2.8 times the
/// value's cost, where the option now costs 0.9 to 1.3 times it).
#[test]
fn a_big_option_costs_only_its_bytes() {
    let server = server();
    let mut c = server.connect();
    let big = vec![b'x'; 256 << 20];
    let busy = || common::cpu_ticks(server.pid()).iter().sum::<u64>();
    let before = busy();
    c.write_all(&resp_command(&[b"SET", b"k", &big])).unwrap();
    assert_eq!(read_resp_reply(&mut c), Reply::Got(b"+OK\r\n".to_vec()));
    let value_cost = busy() - before;
    let before = busy();
    c.write_all(&resp_command(&[b"SET", b"k", b"v", &big, b"NX"])).unwrap();
    assert_eq!(read_resp_reply(&mut c), Reply::Got(b"-ERR syntax error\r\n".to_vec()));
    let option_cost = busy() - before;
    assert!(
        2 * option_cost <= 3 * value_cost.max(5),
        "a big option cost {option_cost} ticks, a value as big {value_cost}"
    );
}

/// Big strings that no key keeps are freed off the loop, as big values are: an option, an
/// unknown command's argument, the big strings of a request whose client went away before
/// its end (halfway through one, or between two), or broke the protocol after one.
/// The `lazyfree` thread sleeps until it is sent something to free, and `/proc` counts its
/// waking and sleeping again; freed on the loop (as Redis frees them), nothing wakes it.
#[test]
fn big_strings_no_key_keeps_are_freed_off_the_loop() {
    let server = server();
    let (pid, tid) = (server.pid(), common::lazyfree_thread(server.pid()));
    let mut c = server.connect();
    ping(&mut c);
    let woken_after = |before: u64, what: &str| {
        let give_up = std::time::Instant::now() + common::TIMEOUT;
        while common::times_blocked(pid, &tid) == before {
            assert!(std::time::Instant::now() < give_up, "{what}: the lazyfree thread slept on");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    // The count once the thread has been asleep for 100 ms: done with what it was sent before.
    let asleep = || {
        let mut count = common::times_blocked(pid, &tid);
        for _ in 0..100 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            match common::times_blocked(pid, &tid) {
                now if now == count => return count,
                now => count = now,
            }
        }
        panic!("the lazyfree thread never slept for 100 ms in 10 s");
    };
    let big = vec![b'x'; 4 << 20];
    for (what, request) in [
        ("an option", &[&b"SET"[..], b"k", b"v", &big][..]),
        ("an unknown command's", &[b"NOSUCH", &big]),
    ] {
        let before = asleep();
        c.write_all(&resp_command(request)).unwrap();
        assert!(matches!(read_resp_reply(&mut c), Reply::Got(reply) if reply.starts_with(b"-ERR")));
        woken_after(before, what);
    }
    // Half a value; a whole one in a request that never ends; one that breaks the protocol.
    let ends = [
        ("half a value", &b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$8388608\r\n"[..], &b""[..]),
        ("a request cut short", b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4194304\r\n", b"\r\n"),
        ("a protocol error", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4194304\r\n", b"XY"),
    ];
    for (what, head, tail) in ends {
        let before = asleep();
        let mut cut = server.connect();
        cut.write_all(head).unwrap();
        cut.write_all(&big).unwrap();
        cut.write_all(tail).unwrap();
        drop(cut);
        woken_after(before, what);
    }
    ping(&mut c);
}

/// A `PING` of a 64 MiB message: the message is sent back from the buffer it arrived in, so
/// the server's peak memory grows by the message, once, not by a copy of it as well.
#[test]
fn a_big_ping_is_sent_back_without_a_copy() {
    let server = server();
    let mut c = server.connect();
    ping(&mut c);
    let len = 64 << 20;
    let message = vec![b'p'; len];
    let peak_before = common::peak_rss_kib(server.pid());
    c.write_all(&resp_command(&[b"PING", &message])).unwrap();
    let header = format!("${len}\r\n").into_bytes();
    let mut got = vec![0; header.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got, header);
    let grown_kib = common::peak_rss_kib(server.pid()).saturating_sub(peak_before);
    assert!(grown_kib < (len as u64 / 1024) * 5 / 4, "peak {grown_kib} KiB more for 64 MiB");
    let mut rest = vec![0; len + 2];
    c.read_exact(&mut rest).unwrap();
    assert!(rest[..len] == message[..] && &rest[len..] == b"\r\n", "not the message");
}
