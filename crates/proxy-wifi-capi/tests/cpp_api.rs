//! The C++ test program (`tests/cpp/cpp_test.cpp`), written against `proxy_wifi.hpp` in
//! the original API's shape, serves the project's guest client; the examples and the
//! README port in docs/capi.md compile (and the examples run).

// Not on Windows: these tests run compilers and cargo, which the Windows build of the
// tests (run under Wine) cannot start; windows-test.sh covers the C test there.
#![cfg(not(windows))]

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;

use proxy_wifi::protocol::{ConnectRequest, Pmk, Ssid};

fn drive_as_guest(port: u16) {
    common::as_guest(port, |client| async move {
        let scan = client.scan(None).await.expect("scan answered");
        let ssids: Vec<Option<Ssid>> = scan.bss.iter().map(|b| b.ssid()).collect();
        let ssid = |s: &str| Ssid::new(s.as_bytes()).unwrap();
        assert_eq!(ssids.first(), Some(&Some(ssid("FakeNet"))), "the fake network comes first: {ssids:?}");
        assert!(ssids.contains(&Some(ssid("FakeOpen"))), "the simulated networks follow: {ssids:?}");

        let request = ConnectRequest::wpa2_psk(ssid("FakeNet"), Pmk::from_bytes([7; 32]));
        let fake = client.connect(request).await.expect("connect");
        assert!(fake.result_code.is_success(), "the fake network connects: {fake:?}");
        let denied = client.connect(ConnectRequest::open(ssid("FakeOpen"))).await.expect("connect");
        assert!(!denied.result_code.is_success(), "the observer denies FakeOpen: {denied:?}");
    });
}

fn cpp_flags() -> Vec<&'static str> {
    vec!["-std=c++17", "-Wall", "-Wextra", "-Werror"]
}

#[test]
fn cpp_program_serves_a_guest_through_the_original_api_shape() {
    let exe =
        common::build_program("cpp_test", true, &[common::crate_dir().join("tests/cpp/cpp_test.cpp")], &cpp_flags());
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let notification_port = listener.local_addr().unwrap().port().to_string();
    let outcome = common::run_with_guest(&exe, &[notification_port], &[], drive_as_guest);
    outcome.assert_passed("cpp_test");
}

/// The C++ block of docs/capi.md headed "Ported", as a file to compile.
fn readme_port_source() -> std::path::PathBuf {
    let doc = std::fs::read_to_string(common::crate_dir().join("../../docs/capi.md")).expect("docs/capi.md");
    let start = doc.find("<!-- ported example -->").expect("the ported example marker in docs/capi.md");
    let block = &doc[start..];
    let code_start = block.find("```cpp\n").expect("a cpp block after the marker") + "```cpp\n".len();
    let code_end = code_start + block[code_start..].find("```").expect("end of the cpp block");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("proxy-wifi-capi");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("readme_port.cpp");
    std::fs::write(&path, &block[code_start..code_end]).unwrap();
    path
}

#[test]
fn readme_port_in_the_docs_compiles_and_links() {
    // -Wextra would flag the example's unused parameters, kept as the original has them.
    common::build_program("readme_port", true, &[readme_port_source()], &["-std=c++17", "-Wall", "-Werror"]);
}

fn run_example(exe: &std::path::Path) {
    let output = Command::new(exe).arg("0").output().expect("run the example");
    assert!(
        output.status.success(),
        "{} failed:\n{}{}",
        exe.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("proxy-wifi serving on port "), "{stdout}");
    assert!(stdout.contains("stopped"), "{stdout}");
}

#[test]
fn c_example_builds_and_runs() {
    let source = common::crate_dir().join("examples/c/embed.c");
    run_example(&common::build_program(
        "embed_c",
        false,
        &[source],
        &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"],
    ));
}

#[test]
fn cpp_example_builds_and_runs() {
    let source = common::crate_dir().join("examples/cpp/embed.cpp");
    run_example(&common::build_program("embed_cpp", true, &[source], &cpp_flags()));
}
