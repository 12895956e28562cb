//! redis-lite: a Redis-like in-memory server rebuilt from first principles, one runnable stage
//! at a time, on nothing but Rust's standard library.
//!
//! Each stage is a binary in `stages/` (`cargo run --bin v0_2`) holding that stage's whole
//! server and client, so that two stages can be diffed. What stays the same from stage to
//! stage lives here, once. The book in `book/` walks through it chapter by chapter.
//!
//! # Layout
//!
//! | module      | what it is for                                               | introduced in |
//! |-------------|--------------------------------------------------------------|---------------|
//! | [`net`]     | listening and connecting, with errors that name the address  | v0.1          |
//! | [`cli`]     | the command line every stage shares, and its exit codes      | v0.1          |
//! | [`io_util`] | `read_full` and `write_all`: exact I/O over partial reads    | v0.2          |
//! | [`frame`]   | the length-prefixed protocol: `K_MAX_MSG`, read/write frames | v0.2          |
//! | [`poll`]    | poll(2), declared by hand, behind a safe function            | v0.3          |
//!
//! This crate has no runtime dependencies. Its only `unsafe` code is the call to poll(2) in
//! [`poll`]; everywhere else it is refused by the compiler.

#![deny(unsafe_code)]

pub mod cli;
pub mod frame;
pub mod io_util;
pub mod net;
#[allow(unsafe_code)]
pub mod poll;
