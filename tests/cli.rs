//! Command-line mistakes, against every stage's binary: each gets one clear line on stderr and
//! a non-zero exit code, and never a panic.

mod common;

use std::net::TcpListener;

use common::Stage;

const STAGES: [Stage; 3] = [Stage::V0_1, Stage::V0_2, Stage::V0_3];

fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

/// An address someone else holds: exit 1, naming the address and suggesting `--addr`.
#[test]
fn address_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    for stage in STAGES {
        let out = stage.command().args(["--addr", &addr.to_string()]).assert().code(1);
        let stderr = stderr_of(&out);
        let name = stage.name();
        assert!(
            stderr.starts_with(&format!("{name} server: cannot listen on {addr}: ")),
            "{stderr}"
        );
        assert!(stderr.contains("Choose another address with --addr HOST:PORT"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // Nothing was announced: the server never listened.
        assert!(out.get_output().stdout.is_empty());
    }
}

/// An option no stage knows: usage error, exit 2.
#[test]
fn unknown_option() {
    for stage in STAGES {
        let out = stage.command().arg("--bogus").assert().code(2);
        let name = stage.name();
        let want = format!("{name}: unknown option '--bogus'; try '{name} --help'\n");
        assert_eq!(stderr_of(&out), want);
    }
}

/// An address that does not parse: usage error, exit 2, saying what an address looks like.
#[test]
fn bad_address() {
    for stage in STAGES {
        for args in [&["--addr", "nowhere"][..], &["client", "--addr", "1.2.3.4:99999"]] {
            let out = stage.command().args(args).assert().code(2);
            let stderr = stderr_of(&out);
            assert!(stderr.contains("expected IP:PORT, such as 127.0.0.1:1234"), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
        }
    }
}

/// `--help` prints the usage on stdout and succeeds.
#[test]
fn help() {
    for stage in STAGES {
        let out = stage.command().arg("--help").assert().success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(stdout.starts_with(&format!("usage: {} [server]", stage.name())), "{stdout}");
        assert!(
            stdout.contains(&format!("{} client [--addr HOST:PORT]", stage.name())),
            "{stdout}"
        );
    }
}

/// An option a later stage adds is unknown to the stages before it.
#[test]
fn options_from_later_stages() {
    let cases: [(Stage, &[&str], &str); 5] = [
        (Stage::V0_1, &["--nagle"], "--nagle"),
        (Stage::V0_2, &["--max-conns", "5"], "--max-conns"),
        (Stage::V0_2, &["client", "--pipeline"], "--pipeline"),
        (Stage::V1_0, &["client", "--pipeline"], "--pipeline"),
        (Stage::V1_3, &["--idle-timeout", "5"], "--idle-timeout"),
    ];
    for (stage, args, unknown) in cases {
        let out = stage.command().args(args).assert().code(2);
        let name = stage.name();
        assert_eq!(
            stderr_of(&out),
            format!("{name}: unknown option '{unknown}'; try '{name} --help'\n")
        );
    }
}
