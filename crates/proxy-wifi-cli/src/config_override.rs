//! A flag given on the command line overrides the config file, and so do the settings
//! that follow from it: `--mode simulated` drops the file's `backend` and
//! `wpa-ctrl-dir` (host-mode settings) instead of refusing them, `--transport vsock`
//! drops the file's TCP addresses, `--guest-cid 7` drops the file's `any-guest` and a
//! `transport` that does not carry a vsock CID, and so on.

use crate::cli::{BackendArg, ModeArg, ServeArgs, TransportKind};
use crate::config_file::SettingSources;

/// Resets each config-file setting that a command-line flag makes meaningless to its
/// default, and returns the names of those dropped (`backend`, `wpa-ctrl-dir`, ...).
pub fn drop_dependents(args: &mut ServeArgs, sources: &mut SettingSources) -> Vec<String> {
    let mut dropped = Vec::new();
    let mut drop_if = |id: &'static str, applies: bool, sources: &mut SettingSources, reset: &mut dyn FnMut()| {
        if applies && sources.only_in_file(id) {
            reset();
            sources.forget(id);
            dropped.push(id.replace('_', "-"));
        }
    };
    let given = |sources: &SettingSources, id: &str| sources.on_command_line(id);

    // The transport that the command line's guest flags call for.
    let guest_transport = if given(sources, "guest_cid") {
        Some(TransportKind::Vsock)
    } else if given(sources, "vm_id") {
        Some(TransportKind::Hyperv)
    } else if given(sources, "vmm_socket") {
        Some(TransportKind::HybridVsock)
    } else {
        None
    };
    let fits = guest_transport.is_none_or(|kind| args.transport == Some(kind));
    drop_if("transport", !fits, sources, &mut || args.transport = None);
    let named_guests = guest_transport.is_some();
    drop_if("any_guest", named_guests || given(sources, "dynamic_guests"), sources, &mut || args.any_guest = false);
    drop_if("dynamic_guests", given(sources, "any_guest"), sources, &mut || args.dynamic_guests = false);

    // Guests of another transport than the command line's.
    let transport = if given(sources, "transport") { args.transport } else { None };
    let other = |kind: TransportKind| transport.is_some_and(|t| t != kind);
    drop_if("guest_cid", other(TransportKind::Vsock), sources, &mut || args.guest_cid.clear());
    drop_if("vm_id", other(TransportKind::Hyperv), sources, &mut || args.vm_id = None);
    drop_if("vmm_socket", other(TransportKind::HybridVsock), sources, &mut || args.vmm_socket.clear());
    let not_tcp = other(TransportKind::Tcp) || (transport.is_none() && named_guests);
    drop_if("listen", not_tcp, sources, &mut || args.listen = std::net::Ipv4Addr::LOCALHOST.into());
    drop_if("guest_address", not_tcp || given(sources, "any_guest"), sources, &mut || args.guest_address = None);

    // What each mode leaves out.
    let simulated = given(sources, "mode") && args.mode == Some(ModeArg::Simulated);
    let host = given(sources, "mode") && args.mode == Some(ModeArg::Host);
    drop_if("backend", simulated, sources, &mut || args.backend = BackendArg::Auto);
    let not_wpa = simulated || (given(sources, "backend") && args.backend != BackendArg::WpaSupplicant);
    drop_if("wpa_ctrl_dir", not_wpa, sources, &mut || args.wpa_ctrl_dir = None);
    drop_if("wait_for_backend", simulated, sources, &mut || args.wait_for_backend = false);
    drop_if("networks", host, sources, &mut || args.networks = None);
    drop_if("control_socket", given(sources, "no_control"), sources, &mut || args.control_socket = None);
    dropped
}

/// Test helpers shared with other modules' tests.
#[cfg(test)]
pub mod tests_support {
    use crate::cli::{Cli, Command, ServeArgs};

    /// `serve` with these flags, and the ids of those given.
    pub fn serve_args(flags: &[&str]) -> (ServeArgs, std::collections::BTreeSet<String>) {
        let args = ["proxy-wifi", "serve"].iter().chain(flags).map(std::ffi::OsString::from);
        let (cli, given) = Cli::parse_with_given_flags(args.collect::<Vec<_>>());
        match cli.command {
            Command::Serve(args) => (args, given),
            _ => unreachable!("a serve command line"),
        }
    }

    /// `serve` without flags.
    pub fn default_serve_args() -> ServeArgs {
        serve_args(&[]).0
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// `serve FLAGS` over the config file `text`, then [`drop_dependents`].
    fn load(text: &str, flags: &[&str]) -> (ServeArgs, SettingSources, Vec<String>) {
        let (mut args, given) = super::tests_support::serve_args(flags);
        let (mut sources, _) =
            crate::config_file::apply(Path::new("/etc/proxy-wifi/proxy-wifi.toml"), text, &mut args, given).unwrap();
        let dropped = drop_dependents(&mut args, &mut sources);
        (args, sources, dropped)
    }

    const HOST_FILE: &str = "transport = \"vsock\"\nmode = \"host\"\nbackend = \"wpa-supplicant\"\n\
                             wpa-ctrl-dir = \"/run/wpa\"\ndynamic-guests = true\n\n[[guest]]\nvsock-cid = 3\n";

    #[test]
    fn mode_simulated_drops_the_files_host_mode_settings() {
        let (args, sources, dropped) = load(HOST_FILE, &["--mode", "simulated"]);
        assert_eq!(dropped, ["backend", "wpa-ctrl-dir"]);
        assert_eq!((args.backend, args.wpa_ctrl_dir.as_deref()), (BackendArg::Auto, None));
        assert!(crate::serve_rules::check(&args, &sources).is_ok());
        // The rest of the file still applies.
        assert_eq!((args.transport, args.guest_cid.len()), (Some(TransportKind::Vsock), 1));
    }

    #[test]
    fn transport_and_guest_flags_drop_the_files_guests_and_addresses() {
        let (args, sources, dropped) = load(HOST_FILE, &["--transport", "tcp", "--mode", "simulated"]);
        assert!(dropped.contains(&"guest-cid".to_string()), "{dropped:?}");
        assert!(args.guest_cid.is_empty());
        assert!(crate::serve_rules::check(&args, &sources).is_ok());
        let file = "transport = \"hybrid-vsock\"\nany-guest = false\nlisten = \"0.0.0.0\"\n";
        let (args, _, dropped) = load(file, &["--guest-cid", "7"]);
        assert_eq!(dropped, ["transport", "any-guest", "listen"]);
        assert_eq!(args.transport, None);
        let (_, _, dropped) = load("any-guest = true\n", &["--dynamic-guests"]);
        assert_eq!(dropped, ["any-guest"]);
    }

    #[test]
    fn nothing_is_dropped_without_a_flag_that_overrides_it() {
        let (args, _, dropped) = load(HOST_FILE, &[]);
        assert!(dropped.is_empty(), "{dropped:?}");
        assert_eq!(args.backend, BackendArg::WpaSupplicant);
        let (_, _, dropped) = load(HOST_FILE, &["--mode", "host", "--backend", "wpa-supplicant"]);
        assert!(dropped.is_empty(), "{dropped:?}");
    }
}
