//! Tells the crate's tests which target and host they are built for, so that they compile
//! their C and C++ programs with the matching compiler (the `cc` crate picks it).

fn main() {
    for name in ["TARGET", "HOST"] {
        let value = std::env::var(name).unwrap_or_default();
        println!("cargo:rustc-env=PWIFI_BUILD_{name}={value}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
