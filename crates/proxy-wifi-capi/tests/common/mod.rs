//! Shared by the C/C++ tests: compilers of the target (through the `cc` crate), the built
//! library, and a harness that runs a C program while the project's guest client talks
//! to the service it started.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn include_dir() -> PathBuf {
    crate_dir().join("include")
}

fn build() -> cc::Build {
    let mut build = cc::Build::new();
    build
        .target(env!("PWIFI_BUILD_TARGET"))
        .host(env!("PWIFI_BUILD_HOST"))
        .opt_level(1)
        .debug(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .warnings(false)
        .extra_warnings(false);
    build
}

/// The C compiler for the target.
pub fn c_compiler() -> cc::Tool {
    build().get_compiler()
}

/// The C++ compiler for the target.
pub fn cpp_compiler() -> cc::Tool {
    build().cpp(true).get_compiler()
}

/// The folder holding the library built for this test (`target/<profile>/deps`).
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps folder").to_path_buf();
    let names = ["libproxy_wifi_capi.so", "libproxy_wifi_capi.dylib", "proxy_wifi_capi.dll"];
    for dir in [deps.clone(), deps.parent().expect("profile folder").to_path_buf()] {
        if names.iter().any(|n| dir.join(n).exists()) {
            return dir;
        }
    }
    panic!("the proxy_wifi_capi shared library was not found next to {}", exe.display());
}

/// `(succeeded, compiler output)` of a syntax-only compile of `file`.
pub fn compile_check(tool: cc::Tool, flags: &[&str], file: &Path) -> (bool, String) {
    let output = tool
        .to_command()
        .args(flags)
        .arg("-fsyntax-only")
        .arg(format!("-I{}", include_dir().display()))
        .arg(file)
        .output()
        .expect("run the compiler");
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Compiles and links `sources` into an executable linked to the shared library;
/// returns its path. `flags` come before the sources.
pub fn build_program(name: &str, cpp: bool, sources: &[PathBuf], flags: &[&str]) -> PathBuf {
    let tool = if cpp { cpp_compiler() } else { c_compiler() };
    // In target/tmp: rebuilt each run, removed with the target directory.
    let out_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("proxy-wifi-capi");
    std::fs::create_dir_all(&out_dir).expect("output folder");
    let exe = out_dir.join(if cfg!(windows) { format!("{name}.exe") } else { name.to_string() });
    let lib = library_dir();
    let mut command = tool.to_command();
    command.args(flags).arg(format!("-I{}", include_dir().display())).args(sources).arg("-o").arg(&exe);
    command.arg(format!("-L{}", lib.display())).arg("-lproxy_wifi_capi");
    if !cfg!(windows) {
        // DT_RPATH (not RUNPATH): it wins over the LD_LIBRARY_PATH cargo sets for tests,
        // which also lists target/<profile> where an older copy of the library may lie.
        command.arg("-Wl,--disable-new-dtags").arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    let output = command.output().expect("run the compiler");
    assert!(
        output.status.success(),
        "compiling {name} failed ({:?} {:?}):\n{}{}",
        command.get_program(),
        command.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// What a harnessed program printed and how it ended.
pub struct Outcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Panics with the program's output unless it succeeded with "N passed, 0 failed" last.
    pub fn assert_passed(&self, what: &str) {
        let last = self.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        assert!(
            self.success && last.ends_with(" passed, 0 failed"),
            "{what} failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// Runs `exe` with `args` and `env`. The program prints `PORT <n>` once its service
/// listens; then `guest(port)` runs (the project's guest client against the service);
/// then the harness writes `done` to the program's standard input and waits for it to
/// end (60 s at most).
pub fn run_with_guest(exe: &Path, args: &[String], env: &[(&str, &str)], guest: impl FnOnce(u16)) -> Outcome {
    let mut child = Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let stderr = child.stderr.take().expect("stderr");
    let stderr_reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let mut port = None;
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        printed.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("PORT ") {
            port = rest.parse::<u16>().ok();
            break;
        }
        line.clear();
    }
    let Some(port) = port else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{} did not print its port\n--- stdout\n{printed}\n--- stderr\n{}",
            exe.display(),
            stderr_reader.join().unwrap()
        );
    };
    let guest_result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guest(port)));
    {
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(b"done\n");
    }
    let stdout_reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
        rest
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the program") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    printed.push_str(&stdout_reader.join().unwrap_or_default());
    let outcome =
        Outcome { success: status.success(), stdout: printed, stderr: stderr_reader.join().unwrap_or_default() };
    if let Err(panic) = guest_result {
        eprintln!("--- program stdout\n{}\n--- program stderr\n{}", outcome.stdout, outcome.stderr);
        std::panic::resume_unwind(panic);
    }
    outcome
}

/// Runs `steps` with the project's guest client talking to the service on 127.0.0.1:`port`
/// (a TCP guest, as a VM's driver would over vsock).
pub fn as_guest<F: std::future::Future<Output = ()>>(
    port: u16,
    steps: impl FnOnce(proxy_wifi_guest::GuestClient) -> F,
) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut config = proxy_wifi_guest::GuestConfig::tcp(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    config.request_port = port;
    runtime.block_on(steps(proxy_wifi_guest::GuestClient::new(config)));
}
