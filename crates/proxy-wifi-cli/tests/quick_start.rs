//! The README's Quick start, run as written: every `cargo run --release -- ARGS` line of its
//! `sh` blocks is run with the built binary (on free ports, with a private control socket),
//! and each output block must be, byte for byte, what the commands before it printed.
//!
//! Output blocks are matched in order: first the output of each `sh` block's commands that
//! end (`guest scan`, `ctl ...`: stdout, with nothing on stderr), then what each terminal
//! left running showed (`guest listen`: stderr then stdout). `serve` only has to start.
#![cfg(unix)]

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

/// A fenced block of the README: its language (`sh`, or empty for output) and text.
#[derive(Debug)]
struct Block {
    lang: String,
    text: String,
}

/// The fenced blocks of the README section headed `## {title}`.
fn section_blocks(readme: &str, title: &str) -> Vec<Block> {
    let start = readme.find(&format!("\n## {title}\n")).unwrap_or_else(|| panic!("README has no ## {title}"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in rest[..end].lines() {
        match (open.take(), line.trim_start().strip_prefix("```")) {
            (None, Some(lang)) => open = Some(Block { lang: lang.trim().to_string(), text: String::new() }),
            (Some(block), Some(_)) => blocks.push(block),
            (Some(mut block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed fence in ## {title}");
    blocks
}

/// The arguments of a `cargo run --release -- ARGS  # comment` line.
fn command_args(line: &str) -> Vec<String> {
    let command = line.split(" #").next().unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words.get(..4), Some(&["cargo", "run", "--release", "--"][..]), "not a cargo run line: {line}");
    words[4..].iter().map(|w| w.to_string()).collect()
}

/// Two distinct free TCP ports on loopback.
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

/// Runs the README's commands on `ports` instead of 12345/12346, with `runtime_dir` as
/// `$XDG_RUNTIME_DIR`; `serve` and `ctl` meet on a control socket in it (named: root's
/// default is /run/proxy-wifi, whatever `XDG_RUNTIME_DIR` says).
struct Runner {
    ports: (u16, u16),
    runtime_dir: PathBuf,
}

impl Runner {
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(cargo_bin("proxy-wifi"));
        command.env("XDG_RUNTIME_DIR", &self.runtime_dir).env_remove("RUST_LOG");
        let ports = ["--request-port".to_string(), self.ports.0.to_string()]
            .into_iter()
            .chain(["--notification-port".to_string(), self.ports.1.to_string()]);
        let control = self.runtime_dir.join("control.sock");
        match args.first().map(String::as_str) {
            Some("serve") => command.args(args).args(ports).arg("--control-socket").arg(control),
            Some("guest") => command.arg("guest").args(ports).args(&args[1..]),
            Some("ctl") => command.args(["ctl", "--control-socket"]).arg(control).args(&args[1..]),
            _ => command.args(args),
        };
        command
    }

    /// The README's text with this run's ports.
    fn with_ports(&self, text: &str) -> String {
        text.replace(":12345", &format!(":{}", self.ports.0)).replace(":12346", &format!(":{}", self.ports.1))
    }
}

/// A command left running in its terminal; killed when dropped.
struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    fn start(mut command: Command, dir: &Path, n: usize) -> Running {
        let stdout = dir.join(format!("{n}.out"));
        let stderr = dir.join(format!("{n}.err"));
        let child = command
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Running { child, stdout, stderr }
    }

    /// What it showed so far: stderr, then stdout.
    fn shown(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default() + &std::fs::read_to_string(&self.stdout).unwrap()
    }

    /// Waits up to 10 s for `done` to hold for what it showed.
    fn wait_for(&self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let shown = self.shown();
            if done(&shown) || Instant::now() > deadline {
                return shown;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` and waits for its banner (it must start; its output is not compared).
fn start_serve(command: Command, dir: &Path) -> Running {
    let serve = Running::start(command, dir, 0);
    let shown = serve.wait_for(|s| s.contains("proxy-wifi: serving"));
    assert!(shown.contains("proxy-wifi: serving"), "serve did not start:\n{shown}");
    serve
}

/// The two texts, and a line-by-line diff when they differ.
fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("  {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {y}\n"));
                }
            }
        }
    }
    out
}

#[test]
fn the_readme_quick_start_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let blocks = section_blocks(&readme, "Quick start");
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner { ports: free_ports(), runtime_dir: dir.path().join("runtime") };
    std::fs::create_dir(&runner.runtime_dir).unwrap();
    let mut serve = None;
    let mut terminals: Vec<Running> = Vec::new();
    let mut printed: Vec<String> = Vec::new();
    for block in blocks.iter().filter(|b| b.lang == "sh") {
        let mut output = String::new();
        let mut ran = false;
        for line in block.text.lines().filter(|l| !l.trim().is_empty()) {
            let args = command_args(line);
            let command = runner.command(&args);
            if args == ["serve"] {
                serve = Some(start_serve(command, dir.path()));
            } else if args.get(..2) == Some(&["guest".to_string(), "listen".to_string()][..]) {
                let listen = Running::start(command, dir.path(), terminals.len() + 1);
                let shown = listen.wait_for(|s| s.contains("listening for notifications"));
                assert!(shown.contains("listening"), "guest listen did not start:\n{shown}");
                terminals.push(listen);
            } else {
                let done = { command }.output().unwrap();
                let stderr = String::from_utf8_lossy(&done.stderr);
                assert!(done.status.success() && stderr.is_empty(), "`{line}` printed on stderr:\n{stderr}");
                output.push_str(&String::from_utf8_lossy(&done.stdout));
                ran = true;
            }
        }
        if ran {
            printed.push(output);
        }
    }
    assert!(serve.is_some(), "the Quick start starts `serve`");
    let expected: Vec<String> =
        blocks.iter().filter(|b| b.lang.is_empty()).map(|b| runner.with_ports(&b.text)).collect();
    assert_eq!(expected.len(), printed.len() + terminals.len(), "one output block per command block and terminal");
    for (terminal, want) in terminals.iter().zip(&expected[printed.len()..]) {
        printed.push(terminal.wait_for(|shown| shown.lines().count() >= want.lines().count()));
    }
    for (want, got) in expected.iter().zip(&printed) {
        assert!(
            want == got,
            "the README's Quick start shows (-) what the program does not print (+):\n{}",
            diff(want, got)
        );
    }
}

#[test]
fn the_block_parser_finds_commands_and_outputs_of_one_section_only() {
    let readme = "# T\n\n## Quick start\n\ntext\n\n```sh\ncargo run --release -- serve  # go\n```\n\n```\nout\n```\n\n## Next\n\n```sh\nx\n```\n";
    let blocks = section_blocks(readme, "Quick start");
    assert_eq!(blocks.len(), 2);
    assert_eq!((blocks[0].lang.as_str(), blocks[1].text.as_str()), ("sh", "out\n"));
    assert_eq!(command_args(blocks[0].text.lines().next().unwrap()), ["serve"]);
}
