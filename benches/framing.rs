//! Framing micro-benchmarks, no network: what encoding and decoding one frame costs at each
//! size, what the `read_full` loop costs next to std's `read_exact` when the data arrives in
//! pieces, and how fast a buffer of pipelined frames is cut up.
//!
//! `cargo bench --bench framing`; criterion's report lands in `target/criterion/report/`.

use std::hint::black_box;
use std::io::{self, Read};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redis_lite::frame::{
    FRAME_BUF_LEN, FrameBuf, HEADER_LEN, encode_frame, parse_frame, read_frame,
};
use redis_lite::io_util::read_full;

const SIZES: [usize; 5] = [0, 5, 64, 1024, 4096];

fn frame_of(size: usize) -> Vec<u8> {
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    let len = encode_frame(&mut buf, &vec![b'x'; size]).expect("within the limit");
    buf[..len].to_vec()
}

/// Laying out a frame: the header and a copy of the body into the connection's buffer.
fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_frame");
    for size in SIZES {
        let body = vec![b'x'; size];
        let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
        group.throughput(Throughput::Bytes((HEADER_LEN + size) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
            b.iter(|| encode_frame(&mut buf, black_box(body)).expect("within the limit"))
        });
    }
    group.finish();
}

/// Reading a frame that is all there: `read_frame` over an in-memory stream.
fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("read_frame");
    for size in SIZES {
        let wire = frame_of(size);
        let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &wire, |b, wire| {
            b.iter(|| {
                let body = read_frame(&mut black_box(&wire[..]), &mut buf).expect("a frame");
                body.map(<[u8]>::len)
            })
        });
    }
    group.finish();
}

/// A reader that hands out at most `piece` bytes per call, like a kernel with little buffered.
struct Pieces<'a> {
    data: &'a [u8],
    piece: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.piece.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Our loop against std's, filling 4096 bytes from readers that give all, 7 or 1 byte a call.
fn read_full_against_read_exact(c: &mut Criterion) {
    let data = vec![b'x'; 4096];
    let mut group = c.benchmark_group("fill_4096_bytes");
    group.throughput(Throughput::Bytes(data.len() as u64));
    for (name, piece) in [("all_at_once", usize::MAX), ("7_bytes_a_call", 7), ("1_byte_a_call", 1)]
    {
        let mut buf = vec![0u8; data.len()];
        group.bench_function(BenchmarkId::new("read_full", name), |b| {
            b.iter(|| read_full(&mut Pieces { data: black_box(&data), piece }, &mut buf))
        });
        group.bench_function(BenchmarkId::new("std_read_exact", name), |b| {
            b.iter(|| Pieces { data: black_box(&data), piece }.read_exact(&mut buf))
        });
    }
    group.finish();
}

/// 64 pipelined `hello` frames in one buffer, cut up by `parse_frame` (a buffer, v0.3's way)
/// and by `read_frame` (a stream, v0.2's way).
fn pipelined(c: &mut Criterion) {
    let wire: Vec<u8> = (0..64).flat_map(|_| frame_of(5)).collect();
    let mut group = c.benchmark_group("pipelined_64_frames");
    group.throughput(Throughput::Elements(64));
    group.bench_function("parse_frame", |b| {
        b.iter(|| {
            let (mut at, mut count) = (0, 0);
            while let Some((_, used)) = parse_frame(&black_box(&wire)[at..]).expect("frames") {
                at += used;
                count += 1;
            }
            count
        })
    });
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    group.bench_function("read_frame", |b| {
        b.iter(|| {
            let (mut stream, mut count) = (black_box(&wire[..]), 0);
            while read_frame(&mut stream, &mut buf).expect("frames").is_some() {
                count += 1;
            }
            count
        })
    });
    group.finish();
}

criterion_group! {
    name = framing;
    // Short runs: these are nanosecond-scale and stable; the whole file takes about 30 s.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = encode, decode, read_full_against_read_exact, pipelined
}
criterion_main!(framing);
