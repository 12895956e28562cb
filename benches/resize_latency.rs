//! What a resize costs a client: v1.0 (std's `HashMap`, which moves every key in the one
//! insert that crosses its load limit) and v1.1 (our table, which moves a few per command),
//! each loaded with 4,000,000 keys by `set` commands sent ping-pong, one request and then
//! its reply, every round trip timed. Ping-pong, not pipelined, so that a resize pause lands
//! on one measured request instead of being shared among a batch.
//!
//! It prints the worst round trip and the 99.99th percentile of each server, and whether
//! v1.1's worst is at most a tenth of v1.0's; and draws the worst round trip per 10,000
//! requests as `target/criterion/resize-latency.svg` (the book's copy is in assets/).
//!
//! `cargo bench --bench resize_latency` takes about a minute on a 2-core machine (a round
//! trip took ~6 µs there, so 4,000,000 took ~30 s per server);
//! `cargo bench --bench resize_latency -- --test` loads 400,000 keys and writes no file. The
//! servers run one after the other, so that each shares the cores only with its client; each
//! holds several hundred MB at the end.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::time::Instant;

use bench_util::{Series, criterion_dir, key16, nanos_u32, percentile, show_nanos, verdict};
use common::{Server, Stage, command};

/// Every value: 16 bytes, as in `kv.rs`.
const VALUE: &[u8; 16] = b"0123456789abcdef";

/// v1.0's and v1.1's reply to `set`: length 4, status 0 (OK), no data.
const SET_OK: [u8; 8] = [4, 0, 0, 0, 0, 0, 0, 0];

/// Requests per point on the chart: its worst round trip.
const BUCKET: usize = 10_000;

/// One server's load: for each request, when it was sent (since the first) and its round
/// trip, in nanoseconds.
struct Load {
    name: &'static str,
    sent_at: Vec<u64>,
    round_trips: Vec<u32>,
}

// ANCHOR: load
/// Starts `stage`'s server and sets keys 0 to `keys`-1 on one connection, ping-pong.
fn load(stage: Stage, keys: usize) -> Load {
    let server = Server::start_with(stage, &["--quiet"]);
    let mut stream = bench_util::connect(server.addr);
    // One request, rewritten in place for each key: nothing is allocated while measuring.
    let mut request = command(&[b"set", &key16(0), VALUE]);
    let at = request.windows(16).position(|w| w == key16(0)).expect("the key in the request");
    let mut reply = [0u8; 8];
    let (mut sent_at, mut round_trips) = (Vec::with_capacity(keys), Vec::with_capacity(keys));
    let start = Instant::now();
    for i in 0..keys {
        request[at..at + 16].copy_from_slice(&key16(i));
        let sent = Instant::now();
        stream.write_all(&request).expect("send a set");
        stream.read_exact(&mut reply).expect("its reply");
        round_trips.push(nanos_u32(sent.elapsed()));
        sent_at.push(u64::try_from((sent - start).as_nanos()).unwrap_or(u64::MAX));
        assert_eq!(reply, SET_OK, "{}: the reply to set number {i}", stage.name());
    }
    Load { name: stage.name(), sent_at, round_trips }
}
// ANCHOR_END: load

/// What a load came to: its worst round trip, its 99.99th percentile, and the rest as a
/// table row.
struct Summary {
    worst: u32,
    row: String,
}

fn summarise(load: &Load) -> Summary {
    let mut sorted = load.round_trips.clone();
    sorted.sort_unstable();
    let worst = *sorted.last().expect("at least one request");
    let seconds = load.sent_at.last().copied().unwrap_or(0) as f64 / 1e9;
    let row = format!(
        "| {} | {} | {:.0} s | {} | {} | {} |",
        load.name,
        bench_util::thousands(sorted.len()),
        seconds,
        show_nanos(percentile(&sorted, 50.0)),
        show_nanos(percentile(&sorted, 99.99)),
        show_nanos(worst),
    );
    Summary { worst, row }
}

/// The worst round trip per `BUCKET` requests, in milliseconds on a log scale, against the
/// keys loaded: a resize shows as a spike where the table crossed its load limit.
fn chart(loads: &[Load]) -> String {
    let colours = ["#dc2626", "#2563eb"];
    let labels = ["v1.0 (std HashMap)", "v1.1 (progressive rehash)"];
    let series: Vec<Series> = loads
        .iter()
        .enumerate()
        .map(|(i, load)| Series {
            name: labels[i % 2],
            colour: colours[i % 2],
            points: bench_util::max_per_bucket(&load.round_trips, BUCKET)
                .into_iter()
                .map(|(keys, worst)| (keys as f64 / 1e6, f64::from(worst) / 1e6))
                .collect(),
        })
        .collect();
    bench_util::line_chart(
        "Worst set round trip per 10,000, ping-pong (log scale)",
        "keys loaded (millions)",
        "ms",
        &series,
    )
}

fn main() {
    let test_mode = bench_util::test_mode();
    let keys = if test_mode { 400_000 } else { 4_000_000 };
    // One after the other: two servers and a client at once would share two cores.
    let loads = [load(Stage::V1_0, keys), load(Stage::V1_1, keys)];
    let [v1_0, v1_1] = [summarise(&loads[0]), summarise(&loads[1])];
    let ratio = f64::from(v1_1.worst) / f64::from(v1_0.worst);
    let table = [
        format!(
            "| set ping-pong, {} new keys | requests | time | median | p99.99 | worst |",
            bench_util::thousands(keys)
        ),
        "|---------------------------------|----------|------|--------|--------|-------|"
            .to_string(),
        v1_0.row,
        v1_1.row,
        String::new(),
        "| measure | this run | target |".to_string(),
        "|---------|----------|--------|".to_string(),
        format!(
            "| v1.1 worst set round trip / v1.0's | {} | ≤ 1/10: {} |",
            bench_util::show_ratio(ratio),
            verdict(ratio <= 0.1)
        ),
    ]
    .join("\n");
    println!("\n{table}\n");
    // Drawn in a `--test` run too, so that the drawing cannot rot; written only in a real one.
    let svg = chart(&loads);
    if !test_mode {
        let dir = criterion_dir();
        let _ = std::fs::create_dir_all(&dir);
        let path = format!("{dir}/resize-latency.svg");
        match std::fs::write(&path, svg) {
            Ok(()) => println!("chart: {path}"),
            Err(e) => println!("chart not written to {path}: {e}"),
        }
    }
}
