//! The book must not drift from the code. `mdbook build` is no help here: it exits 0 when an
//! included file is missing and says nothing at all when an anchor is. So this suite checks,
//! without mdbook:
//!
//! - every `{{#include path:anchor}}` names a file that exists and an anchor it defines;
//! - every listing names the file it comes from, in a caption above it, and a chapter of a
//!   stage shows that stage's own code;
//! - every local link and image resolves, and every code fence says its language;
//! - every `cargo run --bin X`, `cargo test --test X` and `cargo bench --bench X` the book
//!   shows names a target that exists;
//! - every transcript in `book/transcripts/` is what the programs print today: the commands
//!   are run (a stage server on a free port, its clients pointed at it) and their output is
//!   compared, with port numbers normalised. `BLESS=1 cargo test --test book` rewrites the
//!   transcripts from a real run instead.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;

use common::{QUIET_PERIOD, TIMEOUT, lines_of};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn book_src() -> PathBuf {
    Path::new(ROOT).join("book/src")
}

fn chapters() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(book_src())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    found.sort();
    assert!(found.len() > 5, "the book has chapters");
    found
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Includes and anchors

/// The `{{#include ...}}` and `{{#rustdoc_include ...}}` directives in `text`, as the text
/// between the directive name and the closing braces.
fn includes(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for directive in ["{{#include ", "{{#rustdoc_include "] {
        let mut rest = text;
        while let Some(start) = rest.find(directive) {
            let after = &rest[start + directive.len()..];
            let end = after.find("}}").expect("an include closes with }}");
            found.push(after[..end].trim());
            rest = &after[end..];
        }
    }
    found
}

/// Whether `source` defines `anchor` the way mdBook reads it: `ANCHOR: name` and
/// `ANCHOR_END: name`, the name ending at the end of a word.
fn has_anchor(source: &str, anchor: &str) -> bool {
    let marks = |mark: &str| {
        source.lines().any(|line| {
            line.split(mark).nth(1).is_some_and(|after| {
                let name: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                name == anchor
            })
        })
    };
    marks("ANCHOR:") && marks("ANCHOR_END:")
}

/// Everything wrong with the includes of one chapter at `dir` whose text is `text`.
fn include_problems(dir: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for include in includes(text) {
        let (path, selector) = include.split_once(':').unwrap_or((include, ""));
        let file = dir.join(path);
        let Ok(source) = fs::read_to_string(&file) else {
            problems.push(format!("{include}: no file {}", file.display()));
            continue;
        };
        let is_anchor = !selector.is_empty() && !selector.starts_with(|c: char| c.is_ascii_digit());
        if is_anchor && !has_anchor(&source, selector) {
            problems.push(format!("{include}: {path} has no anchor '{selector}'"));
        }
    }
    problems
}

/// Every include in every chapter names a file that exists and an anchor in it.
#[test]
fn every_include_resolves() {
    let mut problems = Vec::new();
    for chapter in chapters() {
        for problem in include_problems(chapter.parent().unwrap(), &read(&chapter)) {
            problems.push(format!("{}: {problem}", chapter.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check above fails on what it should: a renamed anchor, a missing file.
#[test]
fn the_include_check_catches_drift() {
    let dir = book_src();
    let good = "{{#include ../../stages/v0_2/server.rs:one_request}}";
    assert_eq!(include_problems(&dir, good), Vec::<String>::new());
    let renamed = "{{#include ../../stages/v0_2/server.rs:one_request_renamed}}";
    assert_eq!(include_problems(&dir, renamed).len(), 1);
    let missing = "{{#include ../../stages/v0_9/server.rs:one_request}}";
    assert_eq!(include_problems(&dir, missing).len(), 1);
    // A name that merely starts like the anchor is not the anchor.
    assert!(!has_anchor("// ANCHOR: one_request_x\n// ANCHOR_END: one_request_x", "one_request"));
}

/// The files that the listing in each fence of `text` includes from the repository (not the
/// book's own transcripts), and the caption above the fence, if it has one.
fn listings(text: &str) -> Vec<(Vec<&str>, Option<&str>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("```") {
            i += 1;
            continue;
        }
        let end =
            (i + 1..lines.len()).find(|&j| lines[j].starts_with("```")).unwrap_or(lines.len());
        let mut files = Vec::new();
        for include in lines[i + 1..end].iter().flat_map(|line| includes(line)) {
            let path = include.split_once(':').map_or(include, |(path, _)| path);
            if let Some(file) = path.strip_prefix("../../")
                && !files.contains(&file)
            {
                files.push(file);
            }
        }
        let above = lines[..i].iter().rev().find(|line| !line.trim().is_empty());
        let caption = above.and_then(|line| {
            line.strip_prefix("<span class=\"filename\">")?.strip_suffix("</span>")
        });
        if !files.is_empty() {
            found.push((files, caption));
        }
        i = end + 1;
    }
    found
}

/// The listings of `text` whose caption does not name exactly the files they come from.
fn uncaptioned(text: &str) -> Vec<String> {
    let wrong = |(files, caption): &(Vec<&str>, Option<&str>)| *caption != Some(&files.join(", "));
    let show = |(files, caption): (Vec<&str>, Option<&str>)| {
        format!("a listing of {} captioned {caption:?}", files.join(", "))
    };
    listings(text).into_iter().filter(wrong).map(show).collect()
}

/// Every listing says which file it comes from, in a caption just above it, as the Rust book
/// names its listings' files: a reader who wants the whole file knows where to look.
#[test]
fn every_listing_names_its_file() {
    let mut problems = Vec::new();
    for chapter in chapters() {
        for problem in uncaptioned(&read(&chapter)) {
            problems.push(format!("{}: {problem}", chapter.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The caption check fails on a listing without a caption, and on one naming another file.
#[test]
fn the_caption_check_catches_a_missing_or_wrong_name() {
    let fence = "```rust\n{{#include ../../src/frame.rs:limits}}\n```\n";
    let good = format!("<span class=\"filename\">src/frame.rs</span>\n\n{fence}");
    assert_eq!(uncaptioned(&good), Vec::<String>::new());
    assert_eq!(uncaptioned(&format!("Some text.\n\n{fence}")).len(), 1);
    let wrong = format!("<span class=\"filename\">src/net.rs</span>\n\n{fence}");
    assert_eq!(uncaptioned(&wrong).len(), 1);
    // A transcript is the book's own, not a file of the code: no caption needed.
    assert_eq!(uncaptioned("```text\n{{#include ../transcripts/cli.txt}}\n```\n").len(), 0);
}

/// The stage each chapter belongs to, from the parts of `SUMMARY.md` (`# Stage v1.2: ...`):
/// `v1_2`. Chapters outside a stage's part (the introduction, the look back) are not listed.
fn stage_chapters() -> BTreeMap<String, String> {
    let mut chapters = BTreeMap::new();
    let mut stage = None;
    for line in read(&book_src().join("SUMMARY.md")).lines() {
        if let Some(part) = line.strip_prefix("# ") {
            let version = part.strip_prefix("Stage v").and_then(|rest| rest.get(..3));
            stage = version.map(|v| format!("v{}", v.replace('.', "_")));
        } else if let (Some(stage), Some((_, link))) = (&stage, line.split_once("](")) {
            chapters.insert(link.trim_end_matches(')').to_owned(), stage.clone());
        }
    }
    chapters
}

/// The name after `mark` (`ANCHOR:` or `ANCHOR_END:`) in `line`, if it has one, read as
/// mdBook reads it: up to the end of the word.
fn anchor_name(line: &str, mark: &str) -> Option<String> {
    let after = line.split(mark).nth(1)?;
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    Some(after.trim_start().chars().take_while(|&c| word(c)).collect())
}

/// The lines of `source` between `ANCHOR: anchor` and `ANCHOR_END: anchor`, other anchors'
/// markers left out.
fn anchor_lines<'a>(source: &'a str, anchor: &str) -> Vec<&'a str> {
    let (mut inside, mut lines) = (false, Vec::new());
    for line in source.lines() {
        if anchor_name(line, "ANCHOR_END:").is_some_and(|name| name == anchor) {
            inside = false;
        } else if anchor_name(line, "ANCHOR:").is_some_and(|name| name == anchor) {
            inside = true;
        } else if inside && !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:") {
            lines.push(line);
        }
    }
    lines
}

/// Why a listing in a chapter of `stage` may not come from `include`, if it may not: a stage's
/// chapters show that stage's own code (`stages/vX_Y/`, where a file kept from an earlier
/// stage is a copy), never another stage's, and from `src/` only what no stage compiles (the
/// library's unit tests and the checkers the model tests use).
fn foreign_listing(stage: &str, include: &str) -> Option<String> {
    let (path, anchor) = include.split_once(':').unwrap_or((include, ""));
    let file = path.strip_prefix("../../")?;
    if let Some(rest) = file.strip_prefix("stages/") {
        let own = rest.strip_prefix(stage).is_some_and(|name| name.starts_with('/'));
        return (!own).then(|| format!("{file} is not {stage}'s code"));
    }
    // A stage's own tests (`tests/v1_2.rs`) belong to it and to the stages after it.
    if let Some(tested) = file.strip_prefix("tests/").and_then(|f| f.strip_suffix(".rs")) {
        let later = tested.starts_with('v') && tested > stage;
        return later.then(|| format!("{file} tests a later stage than {stage}"));
    }
    let module = file.strip_prefix("src/")?;
    let stages = Path::new(ROOT).join("stages");
    for entry in fs::read_dir(&stages).unwrap() {
        let snapshot = entry.unwrap().path().join("lib").join(module);
        let Ok(text) = fs::read_to_string(&snapshot) else { continue };
        if anchor_lines(&text, anchor).iter().any(|line| !line.trim().is_empty()) {
            return Some(format!(
                "{file}:{anchor} is compiled by a stage: show its copy in stages/{stage}/lib/"
            ));
        }
    }
    None
}

/// Every chapter of a stage shows that stage's code: what the reader at that chapter can build.
#[test]
fn every_listing_is_its_stages_own_code() {
    let mut problems = Vec::new();
    for (chapter, stage) in stage_chapters() {
        for include in includes(&read(&book_src().join(&chapter))) {
            if let Some(why) = foreign_listing(&stage, include) {
                problems.push(format!("{chapter} ({stage}): {why}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The rule above refuses a later stage's file, and code of `src/` that a stage compiles.
#[test]
fn the_stage_check_refuses_another_stages_code() {
    assert_eq!(foreign_listing("v0_2", "../../stages/v0_2/server.rs:serve"), None);
    assert!(foreign_listing("v0_2", "../../stages/v0_3/server.rs:world").is_some());
    assert_eq!(foreign_listing("v1_1", "../../stages/v1_1/server.rs:answer"), None);
    assert!(foreign_listing("v1_1", "../../stages/v1_0/server.rs:answer").is_some());
    assert!(foreign_listing("v1_1", "../../stages/v1_10/server.rs:answer").is_some());
    assert!(foreign_listing("v0_3", "../../src/event_loop.rs:serve").is_some());
    assert_eq!(foreign_listing("v1_1", "../../src/hashtable.rs:check_invariants"), None);
    assert_eq!(foreign_listing("v0_3", "../../tests/v0_2.rs:drain_then_close"), None);
    assert!(foreign_listing("v0_3", "../../tests/v3_0.rs:slow_reader_shutdown").is_some());
    assert_eq!(stage_chapters().get("v0_3.md").map(String::as_str), Some("v0_3"));
}

// ---------------------------------------------------------------------------------------------
// Fences, links and images

/// The chapter's lines outside code fences, and the info strings of its fences.
fn split_fences(text: &str) -> (Vec<&str>, Vec<&str>) {
    let (mut prose, mut infos) = (Vec::new(), Vec::new());
    let mut in_fence = false;
    for line in text.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            if !in_fence {
                infos.push(info.trim());
            }
            in_fence = !in_fence;
        } else if !in_fence {
            prose.push(line);
        }
    }
    (prose, infos)
}

/// Targets of Markdown links and images, and of `src="..."` attributes, in `line`.
fn link_targets(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for opener in ["](", "src=\""] {
        let closer = if opener == "](" { ')' } else { '"' };
        let mut rest = line;
        while let Some(start) = rest.find(opener) {
            let after = &rest[start + opener.len()..];
            let end = after.find(closer).unwrap_or(after.len());
            found.push(&after[..end]);
            rest = &after[end..];
        }
    }
    found
}

/// The ids mdBook gives a chapter's headings: lower case, spaces as `-`, and only letters,
/// digits, `-` and `_` kept (`## v1.2: typed replies` is `v12-typed-replies`).
fn heading_ids(text: &str) -> Vec<String> {
    let (prose, _) = split_fences(text);
    let headings = prose.iter().filter_map(|line| line.strip_prefix('#'));
    let titles = headings.map(|rest| rest.trim_start_matches('#').trim());
    let id = |title: &str| -> String {
        let kept = title.chars().filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
        kept.map(|c| if c == ' ' { '-' } else { c.to_ascii_lowercase() }).collect()
    };
    titles.map(id).collect()
}

/// Every fence names its language (mdBook treats an untagged fence as Rust), and every local
/// link or image points at a file that exists, and at a heading in it when it names one.
#[test]
fn fences_are_tagged_and_links_resolve() {
    let mut problems = Vec::new();
    for chapter in chapters() {
        let text = read(&chapter);
        let (prose, infos) = split_fences(&text);
        if infos.iter().any(|info| info.is_empty()) {
            problems.push(format!("{}: a code fence without a language", chapter.display()));
        }
        for target in prose.iter().flat_map(|line| link_targets(line)) {
            let local = target.split('#').next().unwrap();
            if local.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let path = chapter.parent().unwrap().join(local);
            if !path.exists() {
                problems.push(format!("{}: broken link {target}", chapter.display()));
            } else if let Some((_, fragment)) = target.split_once('#')
                && local.ends_with(".md")
                && !heading_ids(&read(&path)).iter().any(|id| id == fragment)
            {
                problems.push(format!("{}: no heading for {target}", chapter.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every cargo command the book shows names a binary, test or bench that exists.
#[test]
fn cargo_commands_name_real_targets() {
    let kinds =
        [("--bin", "stages", "main.rs"), ("--test", "tests", ".rs"), ("--bench", "benches", ".rs")];
    let mut problems = Vec::new();
    for chapter in chapters() {
        let text = read(&chapter);
        for line in text.lines().filter(|line| line.contains("cargo ")) {
            for (flag, dir, suffix) in kinds {
                let Some(after) = line.split(&format!("{flag} ")).nth(1) else { continue };
                let name: String =
                    after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                let path = match flag {
                    "--bin" => Path::new(ROOT).join(dir).join(&name).join(suffix),
                    _ => Path::new(ROOT).join(dir).join(format!("{name}{suffix}")),
                };
                if !path.exists() {
                    problems.push(format!("{}: `{flag} {name}` names nothing", chapter.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Transcripts

/// One terminal's worth of a transcript: commands and what each printed.
#[derive(Debug, Clone, PartialEq)]
struct Section {
    name: String,
    steps: Vec<(String, Vec<String>)>,
}

/// Reads the `ANCHOR: name` ... `ANCHOR_END: name` sections of a transcript.
fn parse_transcript(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("ANCHOR: ") {
            sections.push(Section { name: name.trim().to_string(), steps: Vec::new() });
            open = true;
        } else if line.starts_with("ANCHOR_END: ") {
            open = false;
        } else if open {
            let section = sections.last_mut().unwrap();
            if let Some(command) = line.strip_prefix("$ ") {
                section.steps.push((command.to_string(), Vec::new()));
            } else {
                let step = section.steps.last_mut().expect("output follows a command");
                step.1.push(line.to_string());
            }
        }
    }
    sections
}

fn write_transcript(sections: &[Section]) -> String {
    let mut text = String::new();
    for section in sections {
        text += &format!("ANCHOR: {}\n", section.name);
        for (command, output) in &section.steps {
            text += &format!("$ {command}\n");
            for line in output {
                text += &format!("{line}\n");
            }
        }
        text += &format!("ANCHOR_END: {}\n", section.name);
    }
    text
}

/// Splits a command line into words, honouring double and single quotes (nothing else).
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in command.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (Some(q), _) if c == q => quote = None,
            (None, ' ') => words.extend(word.take()),
            _ => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// For `cargo run --bin STAGE -- ARGS`: the stage binary and its arguments.
fn stage_command(command: &str) -> Option<(&'static str, Vec<String>)> {
    let words = words(command);
    let ["cargo", "run", "--bin", stage, rest @ ..] =
        &words.iter().map(String::as_str).collect::<Vec<_>>()[..]
    else {
        return None;
    };
    let bin = match *stage {
        "v0_1" => env!("CARGO_BIN_EXE_v0_1"),
        "v0_2" => env!("CARGO_BIN_EXE_v0_2"),
        "v0_3" => env!("CARGO_BIN_EXE_v0_3"),
        "v1_0" => env!("CARGO_BIN_EXE_v1_0"),
        "v1_2" => env!("CARGO_BIN_EXE_v1_2"),
        "v1_3" => env!("CARGO_BIN_EXE_v1_3"),
        "v2_0" => env!("CARGO_BIN_EXE_v2_0"),
        "v3_0" => env!("CARGO_BIN_EXE_v3_0"),
        other => panic!("a transcript runs unknown stage {other}"),
    };
    let args = match rest {
        [] => Vec::new(),
        ["--", args @ ..] => args.iter().map(|a| a.to_string()).collect(),
        _ => panic!("expected `-- ARGS` after the binary in {command:?}"),
    };
    Some((bin, args))
}

/// Builds a command whose stdout and stderr share one pipe, as in a terminal, so that their
/// lines interleave as the program wrote them. Returns the child and the pipe's read end.
fn spawn_merged(mut cmd: Command) -> (Child, std::io::PipeReader) {
    let (reader, writer) = std::io::pipe().unwrap();
    cmd.stdin(Stdio::null()).stdout(writer.try_clone().unwrap()).stderr(writer);
    let child = cmd.current_dir(ROOT).spawn().unwrap();
    // `cmd` holds our copies of the write end; drop it so the reader sees EOF at exit.
    drop(cmd);
    (child, reader)
}

/// Runs a command that ends by itself, and returns its merged output lines.
fn run_to_end(command: &str, server: Option<&str>) -> Vec<String> {
    let cmd = match stage_command(command) {
        Some((bin, mut args)) => {
            // Point a client at the transcript's server, wherever the kernel put it.
            if let (Some(addr), Some(0)) = (server, args.iter().position(|a| a == "client")) {
                args.splice(1..1, ["--addr".to_string(), addr.to_string()]);
            }
            let mut cmd = Command::new(bin);
            cmd.args(args);
            cmd
        }
        None => {
            let mut cmd = Command::new("sh");
            cmd.args(["-c", command]);
            cmd
        }
    };
    let (mut child, reader) = spawn_merged(cmd);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = String::new();
        let _ = BufReader::new(reader).read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let out = rx.recv_timeout(TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
    let out = out.unwrap_or_else(|_| panic!("`{command}` did not finish within {TIMEOUT:?}"));
    out.lines().map(String::from).collect()
}

/// A stage server started for a transcript, killed on drop.
struct TranscriptServer {
    child: Child,
    lines: Receiver<String>,
    addr: String,
}

impl TranscriptServer {
    fn start(command: &str) -> TranscriptServer {
        let (bin, mut args) = stage_command(command).expect("the server section runs a stage");
        args.extend(["--addr".to_string(), "127.0.0.1:0".to_string()]);
        let mut cmd = Command::new(bin);
        cmd.args(args);
        let (child, reader) = spawn_merged(cmd);
        let lines = lines_of(reader);
        let mut server = TranscriptServer { child, lines, addr: String::new() };
        let first = server.next_line();
        server.addr = first.strip_prefix("listening on ").expect("listening on ADDR").to_string();
        server
    }

    fn next_line(&self) -> String {
        self.lines.recv_timeout(TIMEOUT).expect("a line from the server within the timeout")
    }
}

impl Drop for TranscriptServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces the port in every `127.0.0.1:PORT` with `PORT`, so runs can be compared.
fn normalise_ports(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out += before;
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out += if digits > 0 { "PORT" } else { "" };
        rest = &after[digits..];
    }
    out + rest
}

/// Runs one transcript and returns what really happened, in the transcript's shape.
fn replay(sections: &[Section]) -> Vec<Section> {
    let server_section = sections.iter().find(|s| s.name == "server");
    let server = server_section.map(|s| TranscriptServer::start(&s.steps[0].0));
    let addr = server.as_ref().map(|s| s.addr.clone());
    let mut actual: Vec<Section> = sections.to_vec();
    for section in actual.iter_mut().filter(|s| s.name != "server") {
        for (command, output) in section.steps.iter_mut() {
            *output = run_to_end(command, addr.as_deref());
        }
    }
    if let (Some(server), Some(expected)) = (server, server_section) {
        let section = actual.iter_mut().find(|s| s.name == "server").unwrap();
        // Every line the server printed, not just as many as the transcript shows: lines
        // up to that count as they come, then any more that come within a quiet period.
        let want = expected.steps[0].1.len();
        let mut lines = vec![format!("listening on {}", server.addr)];
        while lines.len() < want {
            match server.lines.recv_timeout(TIMEOUT) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        while let Ok(line) = server.lines.recv_timeout(QUIET_PERIOD) {
            lines.push(line);
            assert!(lines.len() < want + 1000, "the server does not stop printing");
        }
        // Show the address a reader gets, who runs the command without --addr.
        section.steps[0].1 =
            lines.iter().map(|l| l.replace(&server.addr, "127.0.0.1:1234")).collect();
    }
    actual
}

/// Every transcript the book shows is what the programs print (ports aside).
#[test]
fn transcripts_are_true() {
    let dir = Path::new(ROOT).join("book/transcripts");
    let mut failures = BTreeMap::new();
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let expected = parse_transcript(&read(&path));
        assert!(!expected.is_empty(), "{}: no sections", path.display());
        let actual = replay(&expected);
        count += 1;
        if std::env::var_os("BLESS").is_some() {
            fs::write(&path, write_transcript(&actual)).unwrap();
            continue;
        }
        let norm = |sections: &[Section]| normalise_ports(&write_transcript(sections));
        if norm(&expected) != norm(&actual) {
            failures.insert(path.display().to_string(), write_transcript(&actual));
        }
    }
    assert!(count > 0, "no transcripts found");
    let report: Vec<String> =
        failures.iter().map(|(path, actual)| format!("{path} now prints:\n{actual}")).collect();
    assert!(
        failures.is_empty(),
        "{}\n(BLESS=1 cargo test --test book rewrites them)",
        report.join("\n")
    );
}

/// The transcript machinery itself: quoting, ports, and the file format round trip.
#[test]
fn transcript_machinery() {
    assert_eq!(
        words(r#"cargo run --bin v0_1 -- client "two words" 'x y'"#)[5..],
        ["client", "two words", "x y"]
    );
    assert_eq!(
        normalise_ports("127.0.0.1:41234: EOF at 127.0.0.1:1"),
        "127.0.0.1:PORT: EOF at 127.0.0.1:PORT"
    );
    let text = "ANCHOR: a\n$ echo hi\nhi\n$ true\nANCHOR_END: a\n";
    assert_eq!(write_transcript(&parse_transcript(text)), text);
    let replayed = replay(&parse_transcript("ANCHOR: a\n$ echo hi\nwrong\nANCHOR_END: a\n"));
    assert_eq!(replayed[0].steps[0].1, ["hi"]);
}

/// A server section that shows fewer lines than the server prints is caught: here the
/// transcript leaves out the server's last line.
#[test]
fn a_transcript_missing_server_lines_is_caught() {
    let text = "ANCHOR: server\n$ cargo run --bin v0_2\nlistening on 127.0.0.1:1234\n\
                ANCHOR_END: server\nANCHOR: client\n$ cargo run --bin v0_2 -- client one\n\
                server says: world\nANCHOR_END: client\n";
    let replayed = replay(&parse_transcript(text));
    let server = &replayed.iter().find(|s| s.name == "server").unwrap().steps[0].1;
    assert_eq!(server.len(), 3, "{server:?}");
    assert_eq!(server[1], "client says: one");
}

// ---------------------------------------------------------------------------------------------
// Exercises

/// The exercises of a chapter: the numbered list items (`1. `, at the start of a line) of its
/// `## Exercises` section, which ends at the next heading of level one or two. Each is the
/// item's text, its continuation lines and fences included.
fn exercises(text: &str) -> Vec<String> {
    let (mut found, mut in_section, mut in_fence) = (Vec::<String>::new(), false, false);
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && (line.starts_with("# ") || line.starts_with("## ")) {
            in_section = line.trim_end() == "## Exercises";
            continue;
        }
        if !in_section {
            continue;
        }
        let numbered = line.split_once(". ").is_some_and(|(number, _)| {
            !in_fence && !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
        });
        match found.last_mut() {
            Some(item) if !numbered => {
                item.push('\n');
                item.push_str(line);
            }
            _ if numbered => found.push(line.to_string()),
            _ => {}
        }
    }
    found
}

/// The names of the `#[ignore]`d tests in `tests/exercises.rs`, the checks an exercise can
/// name.
fn exercise_tests(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut ignored = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[ignore") {
            ignored = true;
        } else if let Some(rest) = line.strip_prefix("fn ").filter(|_| ignored) {
            names.insert(rest.split('(').next().unwrap_or_default().to_string());
            ignored = false;
        }
    }
    names
}

/// What is wrong with an exercise's check, if anything. An exercise has a check when it says
/// `**Check:**` and then either names `cargo test --test exercises -- --ignored NAME`, NAME
/// one of `tests` (each one it names must be), or shows a `console` fence whose first line is
/// a command (`$ ...`) followed by at least one line of the output to expect.
fn check_problem(exercise: &str, tests: &BTreeSet<String>) -> Option<String> {
    let Some((_, check)) = exercise.split_once("**Check:**") else {
        return Some("no **Check:**".into());
    };
    let command = "cargo test --test exercises -- --ignored ";
    let named: Vec<&str> = check
        .split(command)
        .skip(1)
        .map(|rest| rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or(""))
        .collect();
    if let Some(missing) = named.iter().find(|name| !tests.contains(**name)) {
        return Some(format!(
            "names `{command}{missing}`, not an ignored test in tests/exercises.rs"
        ));
    }
    let mut fences = check.split("```console").skip(1);
    let shows_output = fences.any(|fence| {
        let body: Vec<&str> =
            fence.split("```").next().unwrap_or("").lines().map(str::trim).collect();
        let mut lines = body.into_iter().filter(|line| !line.is_empty());
        lines.next().is_some_and(|first| first.starts_with("$ "))
            && lines.any(|line| !line.starts_with("$ "))
    });
    match named.is_empty() && !shows_output {
        true => Some("**Check:** names no exercises test and shows no command with output".into()),
        false => None,
    }
}

/// The exercises' problems in every chapter, and the exercises tests no exercise names.
fn exercise_problems(chapters: &[(String, String)], tests_source: &str) -> Vec<String> {
    let tests = exercise_tests(tests_source);
    let mut problems = Vec::new();
    let mut named: BTreeSet<String> = BTreeSet::new();
    for (name, text) in chapters {
        for (i, exercise) in exercises(text).iter().enumerate() {
            if let Some(problem) = check_problem(exercise, &tests) {
                problems.push(format!("{name}: exercise {}: {problem}", i + 1));
            }
            let names = |test: &&String| {
                exercise.contains(&format!("--ignored {test}`"))
                    || exercise.contains(&format!("--ignored {test} "))
            };
            named.extend(tests.iter().filter(names).cloned());
        }
    }
    for orphan in tests.difference(&named) {
        problems.push(format!("tests/exercises.rs: {orphan} is the check of no exercise"));
    }
    problems
}

/// Every exercise in the book says how the learner knows they are done: an ignored test in
/// `tests/exercises.rs` that exists, or a command and the output to expect; and every test
/// in `tests/exercises.rs` is some exercise's check.
#[test]
fn every_exercise_has_a_check() {
    let chapters: Vec<(String, String)> = chapters()
        .iter()
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), read(path)))
        .collect();
    let total: usize = chapters.iter().map(|(_, text)| exercises(text).len()).sum();
    assert!(total > 50, "the book's exercises are found: {total}");
    let tests_source = read(&Path::new(ROOT).join("tests/exercises.rs"));
    let problems = exercise_problems(&chapters, &tests_source);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check above fails on what it should: an exercise without a check, one that names a
/// test that does not exist or is not ignored, a command shown without its output, and a test
/// that no exercise names.
#[test]
fn the_exercise_check_catches_an_exercise_without_one() {
    let tests = "#[test]\n#[ignore = \"exercise\"]\nfn v9_done() {}\n#[test]\nfn v9_plain() {}\n";
    let chapter = |items: &str| {
        vec![(
            "x.md".to_string(),
            format!("# X\n\n## Exercises\n\n{items}\n## Next\n\n1. Not an exercise.\n"),
        )]
    };
    let good = "1. **Do it.** Text.\n\n   **Check:** `cargo test --test exercises -- --ignored v9_done` passes.\n";
    assert_eq!(exercise_problems(&chapter(good), tests), Vec::<String>::new());
    let console = "2. **Run it.** Text.\n\n   **Check:**\n\n   ```console\n   $ cargo test --test v0_2\n   test result: ok.\n   ```\n";
    assert_eq!(
        exercise_problems(&chapter(&format!("{good}{console}")), tests),
        Vec::<String>::new()
    );
    let cases = [
        "2. **No check.** Do something.\n",
        "2. **Wrong name.** **Check:** `cargo test --test exercises -- --ignored v9_gone` passes.\n",
        "2. **Not ignored.** **Check:** `cargo test --test exercises -- --ignored v9_plain` passes.\n",
        "2. **No output.** **Check:**\n\n   ```console\n   $ cargo test --test v0_2\n   ```\n",
        "2. **No command.** **Check:** it works.\n",
    ];
    for case in cases {
        let problems = exercise_problems(&chapter(&format!("{good}{case}")), tests);
        assert_eq!(problems.len(), 1, "{case}: {problems:?}");
        assert!(problems[0].starts_with("x.md: exercise 2:"), "{problems:?}");
    }
    let orphan = "1. **Other.** **Check:**\n\n   ```console\n   $ true\n   ok\n   ```\n";
    let problems = exercise_problems(&chapter(orphan), tests);
    assert_eq!(problems, ["tests/exercises.rs: v9_done is the check of no exercise"]);
}
