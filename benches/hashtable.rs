//! Our progressive-rehash `HashTable` against std's `HashMap<Vec<u8>, u64>`, in one process,
//! no network, 16-byte keys (`key:000000000042`) and `u64` values:
//!
//! - growth from empty to 10,000,000 entries, every single insert timed: the worst insert
//!   and the 99.99th percentile of each, and the ratio of the worsts (std's table moves every
//!   entry in the one insert that crosses its load limit; ours is meant never to pause);
//! - lookups in a fixed shuffled order on 1,000,000 entries, as criterion benchmarks
//!   (`hashtable_get_1m`: `ours`, `std`) and as a paired ratio, alternating bursts;
//! - heap bytes per entry with 1,000,000 entries, counted by a global allocator in this bench.
//!
//! It prints the figures and the targets as a Markdown table, also written to
//! `target/criterion/hashtable-targets.md`, and draws the worst insert per 100,000 as
//! `target/criterion/hashtable-growth.svg` (neither file with `--test`).
//!
//! `cargo bench --bench hashtable`; `cargo bench --bench hashtable -- --test` runs each part
//! once, small (100,000 entries), in seconds; a real run takes under a minute, and around a
//! gigabyte of memory while std's table makes its last resize.

#[path = "bench_util/mod.rs"]
mod bench_util;
// bench_util uses the test harness's timeout; this bench starts no server.
#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bench_util::{Series, criterion_dir, key16, nanos_u32, percentile, show_nanos, verdict};
use criterion::{Criterion, Throughput};
use redis_lite::hashtable::HashTable;
use redis_lite::sys::Counting;

// ANCHOR: counting
#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap bytes now (see `redis_lite::sys::Counting`).
fn live_bytes() -> usize {
    Counting::live_bytes()
}
// ANCHOR_END: counting

/// Keys 0 to n-1 in a shuffled order (Fisher-Yates), so that lookups jump around the table as
/// a server's would, rather than walk it in insertion order, which caches would flatter.
fn shuffled_keys(n: usize) -> Vec<[u8; 16]> {
    let mut keys: Vec<[u8; 16]> = (0..n).map(key16).collect();
    let mut rng = common::Rng::new(0x9e37_79b9_7f4a_7c15);
    for i in (1..n).rev() {
        keys.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    keys
}

/// The two tables, filled with the same keys, and the live heap bytes each took.
struct Filled {
    ours: HashTable<u64>,
    std: HashMap<Vec<u8>, u64>,
    ours_bytes: usize,
    std_bytes: usize,
}

fn fill(n: usize) -> Filled {
    let before = live_bytes();
    let mut ours = HashTable::new();
    for i in 0..n {
        ours.insert(&key16(i), i as u64);
    }
    let between = live_bytes();
    let mut std = HashMap::new();
    for i in 0..n {
        std.insert(key16(i).to_vec(), i as u64);
    }
    let after = live_bytes();
    Filled { ours, std, ours_bytes: between.wrapping_sub(before), std_bytes: after - between }
}

// ANCHOR: lookups
/// Criterion's measurements: one lookup per iteration, the next key in the shuffled order.
fn measure_lookups(c: &mut Criterion, filled: &mut Filled, order: &[[u8; 16]]) {
    let mut group = c.benchmark_group("hashtable_get_1m");
    group.throughput(Throughput::Elements(1));
    let mut at = 0;
    group.bench_function("ours", |b| {
        b.iter(|| {
            at = (at + 1) % order.len();
            black_box(filled.ours.get(&order[at]).copied())
        })
    });
    let std = &filled.std;
    group.bench_function("std", |b| {
        b.iter(|| {
            at = (at + 1) % order.len();
            black_box(std.get(&order[at][..]).copied())
        })
    });
    group.finish();
}

/// Our lookup rate over std's, paired: alternating bursts of lookups, each burst in runs of
/// 1,000 so that reading the clock costs little beside them.
fn lookup_ratio(filled: &mut Filled, order: &[[u8; 16]], timing: (usize, Duration)) -> f64 {
    const RUN: usize = 1_000;
    let (mut at_ours, mut at_std) = (0, 0);
    let std = &filled.std;
    let ours = &mut filled.ours;
    let ours = || {
        for _ in 0..RUN {
            at_ours = (at_ours + 1) % order.len();
            black_box(ours.get(&order[at_ours]).copied());
        }
        RUN
    };
    let std = || {
        for _ in 0..RUN {
            at_std = (at_std + 1) % order.len();
            black_box(std.get(&order[at_std][..]).copied());
        }
        RUN
    };
    bench_util::paired_rates(ours, std, timing.0, timing.1)
}
// ANCHOR_END: lookups

// ANCHOR: growth
/// Inserts keys 0 to n-1 with `insert`, timing each one alone; returns the times in
/// nanoseconds, in insertion order.
fn growth(n: usize, mut insert: impl FnMut(&[u8; 16], u64)) -> Vec<u32> {
    // Filled now, with a value that is not zero, so that the allocator cannot hand over
    // untouched pages: the loop below neither allocates nor faults a page in for its records.
    let mut times = vec![u32::MAX; n];
    for (i, time) in times.iter_mut().enumerate() {
        let key = key16(i);
        let start = Instant::now();
        insert(&key, i as u64);
        *time = nanos_u32(start.elapsed());
    }
    times
}

/// What one table's growth came to.
struct Growth {
    worst: u32,
    p9999: u32,
    /// Inserts that took over a millisecond: one is a pause the machine made (another process
    /// ran), many are the table's.
    over_1ms: usize,
    /// The worst insert of each 100,000, for the chart.
    chart: Vec<(usize, u32)>,
}

fn summarise(mut times: Vec<u32>) -> Growth {
    let chart = bench_util::max_per_bucket(&times, 100_000);
    let over_1ms = times.iter().filter(|t| **t > 1_000_000).count();
    times.sort_unstable();
    let worst = *times.last().expect("at least one insert");
    Growth { worst, p9999: percentile(&times, 99.99), over_1ms, chart }
}

/// Both tables grown from empty to n entries, ours first; each table is dropped before the
/// other grows, so that neither pays for the other's memory.
fn grow_both(n: usize) -> (Growth, Growth) {
    let mut ours = HashTable::new();
    let ours_times = growth(n, |key, value| {
        ours.insert(key, value);
    });
    drop(ours);
    let mut std = HashMap::new();
    // The key's copy is timed for std too: ours makes its copy inside `insert`.
    let std_times = growth(n, |key, value| {
        std.insert(key.to_vec(), value);
    });
    drop(std);
    (summarise(ours_times), summarise(std_times))
}
// ANCHOR_END: growth

/// The worst insert per 100,000, both tables, on a log scale: `hashtable-growth.svg`.
fn chart(n: usize, ours: &Growth, std: &Growth) -> String {
    let points = |g: &Growth| -> Vec<(f64, f64)> {
        g.chart.iter().map(|&(at, worst)| (at as f64 / 1e6, f64::from(worst) / 1e6)).collect()
    };
    bench_util::line_chart(
        &format!(
            "Worst insert per 100,000, growing to {} entries (log scale)",
            bench_util::thousands(n)
        ),
        "entries in the table (millions)",
        "ms",
        &[
            Series { name: "ours (progressive rehash)", colour: "#2563eb", points: points(ours) },
            Series { name: "std HashMap", colour: "#dc2626", points: points(std) },
        ],
    )
}

fn main() {
    let (mut c, test_mode) = bench_util::criterion();
    let (lookup_n, growth_n) = if test_mode { (100_000, 100_000) } else { (1_000_000, 10_000_000) };

    // Growth first, in a fresh process: after millions of small blocks have been freed (the
    // lookup tables below), glibc's malloc may sort all of them at the next large request,
    // a pause of milliseconds that belongs to the allocator's history, not to the table.
    let (ours, std) = grow_both(growth_n);

    let order = shuffled_keys(lookup_n);
    let mut filled = fill(lookup_n);
    measure_lookups(&mut c, &mut filled, &order);
    c.final_summary();
    let ratio = lookup_ratio(&mut filled, &order, bench_util::paired_timing(test_mode));
    let per_entry = |bytes: usize| bytes as f64 / lookup_n as f64;
    let (ours_bytes, std_bytes) = (per_entry(filled.ours_bytes), per_entry(filled.std_bytes));
    drop(filled);

    let worst_ratio = f64::from(ours.worst) / f64::from(std.worst);
    let n = bench_util::thousands(growth_n);
    let m = bench_util::thousands(lookup_n);
    let table = [
        format!("| growing to {n} entries, 16-byte keys | ours | std HashMap |"),
        "|----------------------------------------|------|-------------|".to_string(),
        format!("| worst insert | {} | {} |", show_nanos(ours.worst), show_nanos(std.worst)),
        format!("| 99.99th percentile insert | {} | {} |", show_nanos(ours.p9999), show_nanos(std.p9999)),
        format!("| inserts over 1 ms | {} | {} |", ours.over_1ms, std.over_1ms),
        format!("| heap bytes per entry, {m} entries (as asked, no allocator overhead) | {ours_bytes:.1} | {std_bytes:.1} |"),
        String::new(),
        "| measure | this run | target |".to_string(),
        "|---------|----------|--------|".to_string(),
        format!(
            "| our worst insert, growing to {n} | {} | ≤ 1 ms: {} |",
            show_nanos(ours.worst),
            verdict(ours.worst <= 1_000_000)
        ),
        format!(
            "| our worst insert / std's worst insert | {} | ≤ 1/100: {} |",
            bench_util::show_ratio(worst_ratio),
            verdict(worst_ratio <= 0.01)
        ),
        bench_util::ratio_row(
            &format!("our lookups / std's, {m} entries, shuffled (paired, interleaved)"),
            ratio,
            Some(0.8),
        ),
    ]
    .join("\n");
    println!("\n{table}\n");
    // Drawn in a `--test` run too, so that the drawing cannot rot; written only in a real one.
    let svg_text = chart(growth_n, &ours, &std);
    if !test_mode {
        let dir = criterion_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(format!("{dir}/hashtable-targets.md"), table + "\n");
        let svg = format!("{dir}/hashtable-growth.svg");
        match std::fs::write(&svg, svg_text) {
            Ok(()) => println!("chart: {svg}"),
            Err(e) => println!("chart not written to {svg}: {e}"),
        }
    }
}
