//! `include/proxy_wifi.h` is what cbindgen generates from the crate now, and it compiles
//! as strict C99 and as C++. Regenerate with `PWIFI_UPDATE_HEADER=1`.

// Not on Windows: these tests run compilers and cargo, which the Windows build of the
// tests (run under Wine) cannot start; windows-test.sh covers the C test there.
#![cfg(not(windows))]

mod common;

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    let path = crate_dir.join("include/proxy_wifi.h");
    if std::env::var_os("PWIFI_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/proxy_wifi.h is out of date: run `PWIFI_UPDATE_HEADER=1 cargo test -p proxy-wifi-capi --test header` and commit it"
    );
}

#[test]
fn header_is_strict_c99_and_cpp() {
    let include = common::include_dir();
    let c = common::compile_check(
        common::c_compiler(),
        &["-std=c99", "-pedantic-errors", "-Wall", "-Wextra", "-Werror", "-x", "c"],
        &include.join("proxy_wifi.h"),
    );
    assert!(c.0, "proxy_wifi.h is not clean C99:\n{}", c.1);
    let cpp = common::compile_check(
        common::cpp_compiler(),
        &["-std=c++17", "-pedantic-errors", "-Wall", "-Wextra", "-Werror", "-x", "c++"],
        &common::crate_dir().join("tests/cpp/include_only.cpp"),
    );
    assert!(cpp.0, "proxy_wifi.hpp does not compile as C++17:\n{}", cpp.1);
}

#[test]
fn every_function_says_its_thread_and_whether_it_blocks() {
    let header = std::fs::read_to_string(common::include_dir().join("proxy_wifi.h")).unwrap();
    let mut functions = 0;
    let mut rest = header.as_str();
    while let Some(start) = rest.find("/**") {
        let end = start + rest[start..].find("*/").expect("closed comment");
        let doc = rest[start..end].to_lowercase();
        let after = &rest[end + 2..];
        let declaration = after.trim_start().lines().next().unwrap_or("");
        let is_function = declaration.contains("pwifi_") && declaration.contains('(') && !declaration.contains("(*");
        if is_function && !declaration.starts_with("typedef") {
            functions += 1;
            assert!(
                doc.contains("thread:") && doc.contains("block"),
                "the doc of `{declaration}` must say its thread and whether it blocks"
            );
        }
        rest = after;
    }
    assert!(functions >= 30, "only {functions} functions found in the header");
}
