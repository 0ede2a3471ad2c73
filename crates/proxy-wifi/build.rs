//! The `etw` feature on the GNU Windows toolchain (MinGW-w64).
//!
//! `tracelogging` (under `tracing-etw`) declares its five ETW functions (`EventRegister`,
//! `EventUnregister`, `EventSetInformation`, `EventWriteTransfer`, `EventActivityIdControl`)
//! with `#[link(name = "OneCore_apiset")]`, an import library of the Windows SDK that the
//! MSVC toolchain has and MinGW-w64 does not. MinGW-w64's `libadvapi32.a` imports the same
//! five functions (advapi32 forwards them to the system's ETW provider API). So for
//! `*-windows-gnu` builds with `etw`, this script writes `libOneCore_apiset.a` as a one-line
//! GNU ld script, `INPUT(-ladvapi32)`, and puts its folder on the link search path of every
//! crate that links this one. MSVC builds are untouched.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os != "windows" || target_env != "gnu" || env::var_os("CARGO_FEATURE_ETW").is_none() {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let script = out.join("libOneCore_apiset.a");
    if let Err(error) = std::fs::write(&script, "INPUT(-ladvapi32)\n") {
        panic!("cannot write {}: {error}", script.display());
    }
    println!("cargo:rustc-link-search=native={}", out.display());
}
