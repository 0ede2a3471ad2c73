//! The C test program (`tests/c/capi_test.c`), compiled with the target's C compiler and
//! linked to the shared library, starts a service; the project's guest client drives it
//! (scan, connect through the C interface, disconnect, a connect the observer denies);
//! the program checks every callback and then NULL / invalid handles. Also run under
//! AddressSanitizer + UndefinedBehaviorSanitizer with leak checking.

mod common;

use std::net::{Ipv4Addr, TcpListener};

use proxy_wifi::protocol::{Bssid, ConnectRequest, Ssid};

/// The guest's part: what a VM's driver would do, with the answers checked here.
pub fn drive_as_guest(port: u16) {
    common::as_guest(port, |client| async move {
        let scan = client.scan(None).await.expect("scan answered");
        assert!(scan.scan_complete);
        let seen: Vec<(Option<Ssid>, Bssid)> = scan.bss.iter().map(|b| (b.ssid(), b.bssid)).collect();
        let ssid = |s: &str| Some(Ssid::new(s.as_bytes()).unwrap());
        assert_eq!(
            seen,
            vec![
                (ssid("FakeNet"), Bssid([2, 0, 0, 0, 0x0f, 1])),
                (ssid("CNetOpen"), Bssid([2, 0, 0, 0, 0x0c, 1])),
                (ssid("DenyMe"), Bssid([2, 0, 0, 0, 0x0c, 2])),
            ],
            "the fake network first, then the C interface's two"
        );
        let cnet = scan.bss.iter().find(|b| b.ssid() == ssid("CNetOpen")).unwrap();
        assert_eq!((cnet.frequency_mhz(), cnet.rssi_dbm), (2437, -40));

        let connected = client.connect(ConnectRequest::open(Ssid::new(b"CNetOpen").unwrap())).await.expect("connect");
        assert!(connected.result_code.is_success(), "connect through the C interface: {connected:?}");
        assert_eq!(connected.bssid, Bssid([2, 0, 0, 0, 0x0c, 1]));
        client.disconnect(connected.session_id).await.expect("disconnect");

        let denied = client.connect(ConnectRequest::open(Ssid::new(b"DenyMe").unwrap())).await.expect("connect");
        assert!(!denied.result_code.is_success(), "the observer denies DenyMe: {denied:?}");
    });
}

/// A port nobody answers on but that accepts connections (the guest's notification
/// listener stand-in), held while `run` runs.
pub fn with_notification_port<R>(run: impl FnOnce(u16) -> R) -> R {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().unwrap().port();
    let result = run(port);
    drop(listener);
    result
}

#[cfg(not(windows))]
fn c_source() -> std::path::PathBuf {
    common::crate_dir().join("tests/c/capi_test.c")
}

#[test]
#[cfg(not(windows))]
fn c_program_serves_a_guest_and_checks_its_callbacks() {
    let exe = common::build_program("capi_test", false, &[c_source()], &["-std=c11", "-Wall", "-Wextra", "-Werror"]);
    let outcome = with_notification_port(|n| common::run_with_guest(&exe, &[n.to_string()], &[], drive_as_guest));
    outcome.assert_passed("capi_test");
    println!("{}", outcome.stdout.lines().last().unwrap_or_default());
}

#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn c_program_is_clean_under_asan_and_ubsan() {
    let flags =
        ["-std=c11", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-O1"];
    let exe = common::build_program("capi_test_sanitized", false, &[c_source()], &flags);
    let env = [
        ("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=23"),
        ("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
        ("LSAN_OPTIONS", "exitcode=24"),
    ];
    let outcome = with_notification_port(|n| common::run_with_guest(&exe, &[n.to_string()], &env, drive_as_guest));
    for report in ["ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"] {
        assert!(!outcome.stderr.contains(report), "sanitizer report:\n{}", outcome.stderr);
    }
    outcome.assert_passed("capi_test under ASan/UBSan");
    println!("sanitizers: no report; {}", outcome.stdout.lines().last().unwrap_or_default());
}

/// Windows (under Wine, through test-windows): the C program was built with MinGW by
/// `windows-test.sh`, which names it in `PWIFI_C_TEST_EXE` (no compiler runs under Wine).
/// On success the C program's last line is written to `<exe>.passed` for the script.
#[test]
#[cfg(windows)]
fn c_program_serves_a_guest_and_checks_its_callbacks() {
    let Some(exe) = std::env::var_os("PWIFI_C_TEST_EXE") else {
        eprintln!("skipped: PWIFI_C_TEST_EXE is not set (crates/proxy-wifi-capi/windows-test.sh builds the C test)");
        return;
    };
    let exe = std::path::PathBuf::from(exe);
    assert!(exe.exists(), "PWIFI_C_TEST_EXE {} does not exist", exe.display());
    let outcome = with_notification_port(|n| common::run_with_guest(&exe, &[n.to_string()], &[], drive_as_guest));
    outcome.assert_passed("capi_test.exe");
    let last = outcome.stdout.lines().last().unwrap_or_default().to_string();
    let mut marker = exe.into_os_string();
    marker.push(".passed");
    std::fs::write(marker, last).expect("write the pass marker");
}
