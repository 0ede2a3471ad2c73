#![cfg(target_os = "linux")]
//! `serve` raises its soft open-files limit (RLIMIT_NOFILE) to the hard limit at start.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;

/// The (soft, hard) "Max open files" of process `pid`.
fn open_files_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let mut fields = line["Max open files".len()..].split_whitespace();
    (fields.next().unwrap().to_string(), fields.next().unwrap().to_string())
}

#[test]
fn serve_raises_the_open_files_limit_to_its_hard_limit() {
    let (_, hard) = open_files_limit(std::process::id());
    if hard != "unlimited" && hard.parse::<u64>().unwrap() <= 256 {
        eprintln!("notice: the hard open-files limit is {hard}: nothing to raise; skipped");
        return;
    }
    let free_port = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 256 && exec "$0" "$@""#)
        .arg(cargo_bin("proxy-wifi"))
        .args(["serve", "--request-port", &free_port(), "--notification-port", &free_port(), "--control-socket"])
        .arg(dir.path().join("control.sock"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
    let limits = open_files_limit(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(banner.starts_with("proxy-wifi: serving"), "banner: {banner:?}");
    assert_eq!(limits.0, limits.1, "soft limit raised from 256 to the hard limit");
}
