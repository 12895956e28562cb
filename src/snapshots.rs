//! Every stage compiles its own copy of the shared code, cut from `src/` to what that stage
//! teaches: `stages/v0_3/lib/event_loop.rs` is `src/event_loop.rs` as v0.3 has it. These tests
//! make the copies and fail when one is stale, so that no copy is ever kept by hand.
//!
//! `src/` is the one source. Its lines carry stage tags, comments the library's compiler
//! ignores, where the code differs from stage to stage (a range is `v2_0..`, from v2.0 on;
//! `..v2_0`, before v2.0; `v1_2..v2_0`, from v1.2 to before v2.0; several, with commas
//! between; `stages`, in every stage but not in the library; `lib`, in no stage, only in the
//! library the tests and benches use, which is where each module's unit tests run):
//!
//! ```text
//! struct Conn<T> { //@ v3_0..            this line only from v3.0 on
//! //@ ..v3_0: struct Conn {              this line, uncommented, only before v3.0
//! //@ v2_0.. {                           the lines up to the matching `//@ }`, from v2.0 on
//! //@ }
//! impl<T> Conn<T> {
//!     //@ v3_0..                         the line above only from v3.0 on (where rustfmt
//!                                        puts a tag that ends a line opening a block)
//! ```
//!
//! Which modules a stage has is said once, in its `main.rs`: a `#[path = "lib/NAME.rs"]` line
//! before each `mod`. One module is not cut: `src/sys.rs`, the only `unsafe` code, which every
//! stage compiles whole from that one file (`#[path = "../../src/sys.rs"]`), so that no copy
//! of it exists. A stage's own file that a later stage takes unchanged is copied, not
//! borrowed by a path into another stage, so that every stage's directory is whole and a diff
//! of two stages shows only what changed: `mod client; // copied from stages/v1_0/client.rs`
//! in `main.rs` makes `client.rs` beside it a copy of that file. `cargo test` checks (here, in the library's own tests, which build no stage: a
//! stage may not compile until its snapshot is made); `REDIS_LITE_SNAPSHOTS=write cargo test
//! --lib snapshots` writes them.

use std::fs;
use std::path::{Path, PathBuf};

/// The marker of a stage tag, in a comment.
const TAG: &str = "//@ ";

/// Where the snapshots live in a stage's directory.
const LIB: &str = "lib";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every stage, oldest first: `v0_1`, `v0_2`, ... (names of one digit each, so they sort).
fn stages() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root().join("stages"))
        .expect("stages/")
        .map(|entry| entry.expect("a stage").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('v'))
        .collect();
    names.sort();
    names
}

/// The shared modules a stage's `main.rs` takes from its `lib/`.
fn modules(stage: &str) -> Vec<String> {
    let main = fs::read_to_string(root().join("stages").join(stage).join("main.rs"))
        .expect("the stage's main.rs");
    let prefix = format!("#[path = \"{LIB}/");
    let names = main.lines().filter_map(|line| line.trim().strip_prefix(prefix.as_str()));
    names.filter_map(|rest| rest.strip_suffix(".rs\"]")).map(str::to_owned).collect()
}

/// The files a stage's `main.rs` takes unchanged from an earlier stage: (the copy, the original).
fn copies(stage: &str) -> Vec<(PathBuf, PathBuf)> {
    let dir = root().join("stages").join(stage);
    let main = fs::read_to_string(dir.join("main.rs")).expect("the stage's main.rs");
    let copy = |line: &str| {
        let (module, original) =
            line.trim().strip_prefix("mod ")?.split_once("; // copied from ")?;
        Some((dir.join(format!("{module}.rs")), root().join(original)))
    };
    main.lines().filter_map(copy).collect()
}

/// Whether `stage` is in `ranges`, one range or several with commas between (see the top of
/// this file).
fn in_range(ranges: &str, stage: &str) -> Result<bool, String> {
    let mut any = false;
    for range in ranges.split(", ") {
        any |= in_one_range(range, stage)?;
    }
    Ok(any)
}

fn in_one_range(range: &str, stage: &str) -> Result<bool, String> {
    match range {
        "lib" => return Ok(false),
        "stages" => return Ok(true),
        _ => {}
    }
    let Some((from, before)) = range.split_once("..") else {
        return Err(format!("not a stage range: {range:?}"));
    };
    let valid = |s: &str| s.is_empty() || (s.len() == 4 && s.starts_with('v'));
    if !valid(from) || !valid(before) {
        return Err(format!("not a stage range: {range:?}"));
    }
    Ok((from.is_empty() || stage >= from) && (before.is_empty() || stage < before))
}

/// `source` as `stage` has it: tagged lines kept or dropped, tags taken out.
fn cut(source: &str, stage: &str) -> Result<String, String> {
    let mut out: Vec<String> = Vec::new();
    // Whether each enclosing block is in the stage, and its indentation.
    let mut blocks: Vec<(bool, &str)> = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}", n + 1);
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let shown = blocks.iter().all(|&(b, _)| b);
        let Some(tag) = trimmed.strip_prefix(TAG) else {
            let (code, keep) = match line.rsplit_once(&format!(" {TAG}")) {
                Some((code, range)) => {
                    (code.trim_end(), in_range(range.trim(), stage).map_err(at)?)
                }
                None => (line, true),
            };
            out.push(if shown && keep { code.to_owned() } else { CUT.to_owned() });
            continue;
        };
        if tag == "}" {
            let (_, opened) = blocks.pop().ok_or_else(|| at("a `//@ }` closing nothing".into()))?;
            // Deeper is rustfmt's doing, after a line that opens a block; shallower, a mistake.
            if indent.len() < opened.len() {
                return Err(at("a `//@ }` indented less than the block it closes".into()));
            }
        } else if let Some((range, code)) = tag.split_once(": ") {
            if shown && in_range(range, stage).map_err(at)? {
                out.push(format!("{indent}{code}"));
            }
        } else if let Some(range) = tag.strip_suffix(" {") {
            blocks.push((in_range(range, stage).map_err(at)?, indent));
        } else if !in_range(tag, stage).map_err(at)? {
            // A range alone: the line above is only in it. (rustfmt moves a comment that ends a
            // line opening a block, `impl Conn<T> { //@ v3_0..`, to the next line.)
            let above = out.iter_mut().rev().find(|line| *line != CUT);
            *above.ok_or_else(|| at("a range with no line above it".into()))? = CUT.to_owned();
        }
        out.push(CUT.to_owned());
    }
    if !blocks.is_empty() {
        return Err(format!("{} `//@ ... {{` blocks left open", blocks.len()));
    }
    drop_empty_anchors(&mut out);
    Ok(tidy_blank_lines(&out))
}

/// Takes out the book's anchors around code the stage does not have: an empty listing's
/// markers would only name, in an earlier stage, what a later one adds.
fn drop_empty_anchors(lines: &mut [String]) {
    let anchor = |line: &str, mark: &str| line.trim().strip_prefix(mark).map(str::to_owned);
    for i in 0..lines.len() {
        let Some(name) = anchor(&lines[i], "// ANCHOR: ") else { continue };
        let next = (i + 1..lines.len()).find(|&j| lines[j] != CUT);
        if let Some(j) = next.filter(|&j| anchor(&lines[j], "// ANCHOR_END: ") == Some(name)) {
            lines[i] = CUT.to_owned();
            lines[j] = CUT.to_owned();
        }
    }
}

/// Where `cut` took lines out: a line that is never in a source file.
const CUT: &str = "\u{0}";

/// What a cut leaves as rustfmt would: where lines were taken out, no two blank lines in a row,
/// and none at the start or end of the file or of a block.
fn tidy_blank_lines(lines: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line == CUT {
            continue;
        }
        if line.is_empty() {
            let before = lines[..i].iter().rev().position(|l| *l != CUT);
            let after = lines[i + 1..].iter().position(|l| *l != CUT);
            let cut_before = before != Some(0);
            let cut_after = after != Some(0);
            let prev = out.last();
            let next = after.map(|n| lines[i + 1 + n].as_str());
            let at_start = prev.is_none_or(|l| l.is_empty() || l.ends_with('{'));
            let at_end = next.is_none_or(|l| l.is_empty() || l.trim_start().starts_with('}'));
            if (cut_before || cut_after) && (at_start || at_end) {
                continue;
            }
        }
        out.push(line);
    }
    out.iter().map(|line| format!("{line}\n")).collect()
}

/// The first line of every snapshot: where it comes from, and how to change it.
/// The same in every stage, so that a diff of two stages shows only what changed.
fn header(module: &str) -> String {
    format!(
        "// src/{module}.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run\n\
         // `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.\n"
    )
}

/// Every snapshot's path and what it should hold.
fn expected() -> Vec<(PathBuf, String)> {
    let mut all = Vec::new();
    for stage in stages() {
        for module in modules(&stage) {
            let source = fs::read_to_string(root().join("src").join(format!("{module}.rs")))
                .unwrap_or_else(|e| panic!("src/{module}.rs, for {stage}: {e}"));
            let body = cut(&source, &stage).unwrap_or_else(|e| panic!("src/{module}.rs: {e}"));
            let path = root().join("stages").join(&stage).join(LIB).join(format!("{module}.rs"));
            all.push((path, header(&module) + &body));
        }
        for (copy, original) in copies(&stage) {
            let text = fs::read_to_string(&original)
                .unwrap_or_else(|e| panic!("{}, for {stage}: {e}", relative(&original)));
            all.push((copy, text));
        }
    }
    all
}

/// Files in a stage's `lib/` that no `main.rs` asks for: left over, and misleading.
fn strays(expected: &[(PathBuf, String)]) -> Vec<PathBuf> {
    let mut strays = Vec::new();
    for stage in stages() {
        let Ok(entries) = fs::read_dir(root().join("stages").join(&stage).join(LIB)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a snapshot").path();
            if !expected.iter().any(|(p, _)| *p == path) {
                strays.push(path);
            }
        }
    }
    strays
}

/// Every `.rs` file under `dir`, at any depth.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// Every stage's snapshots are what `src/` makes of them.
#[test]
fn every_snapshot_is_current() {
    let expected = expected();
    let write = std::env::var("REDIS_LITE_SNAPSHOTS").is_ok_and(|v| v == "write");
    let mut stale = Vec::new();
    for (path, text) in &expected {
        if fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if write {
            fs::create_dir_all(path.parent().expect("a stage")).expect("the stage's lib/");
            fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", relative(path)));
        } else {
            stale.push(relative(path));
        }
    }
    for path in strays(&expected) {
        if write {
            fs::remove_file(&path).expect("a stray snapshot");
        } else {
            stale.push(format!("{} (no main.rs asks for it)", relative(&path)));
        }
    }
    assert!(
        stale.is_empty(),
        "stale snapshots: {}\nrun `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`",
        stale.join(", ")
    );
}

/// Each kind of tag keeps what it should, for the stage it should.
#[test]
fn tags_cut_as_documented() {
    let source = "a\nb //@ v2_0..\n//@ ..v2_0: c\n  //@ v1_0..v2_0 {\n  d\n  //@ }\ne //@ lib\n";
    assert_eq!(cut(source, "v0_3").unwrap(), "a\nc\n");
    assert_eq!(cut(source, "v1_2").unwrap(), "a\nc\n  d\n");
    assert_eq!(cut(source, "v2_0").unwrap(), "a\nb\n");
    assert_eq!(cut("a //@ ..v0_3, v1_2..\n", "v1_0").unwrap(), "");
    assert_eq!(cut("a //@ ..v0_3, v1_2..\n", "v1_2").unwrap(), "a\n");
    assert_eq!(cut("x {\n    //@ v2_0..\n}\n", "v1_0").unwrap(), "}\n");
    assert_eq!(cut("x {\n    //@ v2_0..\n}\n", "v2_0").unwrap(), "x {\n}\n");
    let anchored = "a\n// ANCHOR: b\nb //@ v2_0..\n// ANCHOR_END: b\n";
    assert_eq!(cut(anchored, "v1_0").unwrap(), "a\n", "an empty listing's anchors go too");
    assert_eq!(cut(anchored, "v2_0").unwrap(), "a\n// ANCHOR: b\nb\n// ANCHOR_END: b\n");
}

/// Blank lines left side by side by a cut are one, as rustfmt would have them.
#[test]
fn cut_lines_leave_no_double_blank() {
    let source = "a\n\nb //@ v2_0..\n\nc {\n\n    d //@ v2_0..\n}\n";
    assert_eq!(cut(source, "v1_0").unwrap(), "a\n\nc {\n}\n");
    assert_eq!(cut(source, "v2_0").unwrap(), "a\n\nb\n\nc {\n\n    d\n}\n");
}

/// A tag that is not one, or a block never closed, is an error, not a silent keep.
#[test]
fn bad_tags_are_refused() {
    assert!(cut("a //@ 2.0\n", "v1_0").is_err());
    assert!(cut("//@ v1_0.. {\na\n", "v1_0").is_err());
    assert!(cut("//@ }\n", "v1_0").is_err());
    assert!(cut("//@ whatever\n", "v1_0").is_err());
    assert!(cut("    //@ v1_0.. {\n//@ }\n", "v1_0").is_err());
    assert!(cut("//@ v2_0..\n", "v1_0").is_err());
}

/// `unsafe` code is refused in every stage except in `src/sys.rs`: each `main.rs` denies it,
/// the one exception is the attribute on `mod sys`, which is that file; and no other Rust file
/// of the repository (tests and benches included) holds `unsafe` code.
#[test]
fn every_stage_allows_unsafe_only_in_sys() {
    for stage in stages() {
        let dir = root().join("stages").join(&stage);
        let main = fs::read_to_string(dir.join("main.rs")).expect("the stage's main.rs");
        assert!(main.contains("#![deny(unsafe_code)]"), "{stage}'s main.rs does not deny unsafe");
        let lines: Vec<&str> = main.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("allow(unsafe_code)") {
                let module = lines[i + 1..].iter().position(|line| line.starts_with("mod "));
                let module = module.map(|at| &lines[i + 1..][..=at]);
                let whole = module.is_some_and(|lines| {
                    lines.last() == Some(&"mod sys;")
                        && lines.contains(&"#[path = \"../../src/sys.rs\"]")
                });
                assert!(whole, "{stage}: unsafe allowed outside src/sys.rs");
            }
        }
        for entry in fs::read_dir(&dir).expect("the stage") {
            let path = entry.expect("a file").path();
            let text = fs::read_to_string(&path).unwrap_or_default();
            let is_main = path.ends_with("main.rs");
            assert!(is_main || !text.contains("allow(unsafe_code)"), "{}", relative(&path));
        }
    }
    for dir in ["src", "stages", "tests", "benches"] {
        for path in rust_files(&root().join(dir)) {
            let text = fs::read_to_string(&path).expect("a Rust file");
            let code = text.lines().filter(|line| !line.trim_start().starts_with("//"));
            // `unsafe` and then what it opens: a block, a function, an impl, an extern block.
            let forms = ["{", "fn", "impl", "extern"].map(|what| ["unsafe", what].join(" "));
            let unsafe_code = code
                .filter(|line| !line.contains('"'))
                .any(|line| forms.iter().any(|form| line.contains(form.as_str())));
            let allowed = path == root().join("src").join("sys.rs");
            assert!(allowed || !unsafe_code, "unsafe code in {}", relative(&path));
        }
    }
    // The copies in `lib/` come from `src/`, where only `lib.rs` may say it, on `mod sys`.
    for entry in fs::read_dir(root().join("src")).expect("src/") {
        let path = entry.expect("a file").path();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let allowed = path.ends_with("lib.rs") || path.ends_with("snapshots.rs");
        assert!(allowed || !text.contains("allow(unsafe_code)"), "{}", relative(&path));
    }
}
