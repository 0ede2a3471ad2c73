use super::*;
use crate::cli::{AbiArg, BackendArg, Cli, Command, TransportKind};

const EXAMPLE: &str = include_str!("../../../../contrib/proxy-wifi.toml");

/// `proxy-wifi serve FLAGS` parsed, with the flags it gives.
fn command_line(flags: &[&str]) -> (ServeArgs, BTreeSet<String>) {
    let argv = ["proxy-wifi", "serve"].iter().chain(flags).map(std::ffi::OsString::from);
    match Cli::parse_with_given_flags(argv) {
        (Cli { command: Command::Serve(args), .. }, given) => (args, given),
        _ => unreachable!(),
    }
}

/// `serve FLAGS` with the config file `text` at `cfg/proxy-wifi.toml`.
fn load(text: &str, flags: &[&str]) -> Result<(ServeArgs, SettingSources, FileExtras), String> {
    let (mut args, given) = command_line(flags);
    let (sources, extras) =
        apply(Path::new("cfg/proxy-wifi.toml"), text, &mut args, given).map_err(|e| e.to_string())?;
    Ok((args, sources, extras))
}

fn error(text: &str) -> String {
    load(text, &[]).expect_err("the file is rejected")
}

/// The example with every setting and section that is commented out uncommented.
fn example_uncommented() -> String {
    EXAMPLE
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if rest == "[[guest]]" || rest.split_once(" = ").is_some_and(|(k, _)| !k.contains(' ')) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_file_loads_and_is_consistent() {
    let (args, sources, extras) = load(EXAMPLE, &[]).unwrap();
    assert_eq!(args.transport, Some(TransportKind::Vsock));
    assert_eq!(args.mode, None, "the default, which is host mode with vsock");
    let kind = crate::serve_rules::transport_kind(&args);
    assert_eq!(crate::serve_rules::operation_mode(&args, kind), proxy_wifi::OperationMode::Host);
    assert!(args.dynamic_guests && args.guest_cid.is_empty());
    assert!(extras.allowed_ssids.is_empty());
    crate::serve_rules::check(&args, &sources).unwrap();
}

#[test]
fn every_setting_the_example_comments_out_is_valid_too() {
    let text = example_uncommented();
    assert!(text.contains("\n[[guest]]\nvsock-cid = 4\n"), "{text}");
    let (args, _, extras) = load(&text, &[]).unwrap();
    assert_eq!(args.fake_networks, ["LabFake", "CorpFake=02:11:22:33:44:55"]);
    assert_eq!(args.networks, Some(PathBuf::from("cfg/networks.toml")), "relative to the file");
    assert_eq!(args.wpa_ctrl_dir, Some(PathBuf::from("/run/wpa_supplicant")));
    let cids: Vec<(u32, Option<GuestAbi>)> = args.guest_cid.iter().map(|g| (g.guest, g.abi)).collect();
    assert_eq!(cids, [(3, None), (4, Some(GuestAbi::Legacy))]);
    assert_eq!(args.vmm_socket[0].guest, PathBuf::from("/run/firecracker/vm1.vsock"));
    let ssids = [Ssid::new(b"Office").unwrap(), Ssid::new(b"Office-5G").unwrap()];
    assert_eq!(extras.allowed_ssids, [(GuestId::Vsock(4), ssids.to_vec())]);
}

#[test]
fn flags_given_override_the_file_and_the_rest_comes_from_it() {
    let text = "transport = \"tcp\"\nrequest-port = 4000\nnotification-port = 4001\nguest-abi = \"legacy\"\n\
                backend = \"networkmanager\"\nread-deadline-ms = 900\n";
    let (args, sources, _) = load(text, &["--request-port", "5000", "--backend", "auto"]).unwrap();
    assert_eq!((args.request_port, args.notification_port), (5000, 4001));
    assert_eq!((args.guest_abi, args.backend, args.read_deadline_ms), (AbiArg::Legacy, BackendArg::Auto, 900));
    assert_eq!(sources.describe("request_port", 5000), "--request-port 5000");
    assert_eq!(
        sources.describe("notification_port", 4001),
        "notification-port = 4001 (config file cfg/proxy-wifi.toml, line 3)"
    );
    assert!(!sources.is_set("listen"));

    // Guests on the command line replace the file's sections.
    let text = "[[guest]]\nvsock-cid = 3\nallowed-ssids = [\"A\"]\n";
    let (args, _, extras) = load(text, &["--guest-cid", "9"]).unwrap();
    assert_eq!(args.guest_cid.iter().map(|g| g.guest).collect::<Vec<_>>(), [9]);
    assert!(extras.allowed_ssids.is_empty());
}

#[test]
fn errors_name_the_file_line_field_value_and_what_is_valid() {
    assert_eq!(
        error("transport = \"vsock\"\nmode = \"real\"\n"),
        "config file cfg/proxy-wifi.toml, line 2: mode = \"real\" is not valid: one of \"host\", \"simulated\""
    );
    assert_eq!(
        error("request-port = 70000\n"),
        "config file cfg/proxy-wifi.toml, line 1: request-port = 70000 is not valid: a port from 1 to 65535"
    );
    assert_eq!(
        error("\n\n[[guest]]\nvsock-cid = 3\n\n[[guest]]\nvsock-cid = 0\n"),
        "config file cfg/proxy-wifi.toml, line 7: guest 2: vsock-cid = 0 is not valid: the VM's vsock context id, \
         3 to 4294967294 (libvirt: <cid address='N'/>, QEMU: guest-cid=N)"
    );
    let e = error("[[guest]]\nvsock-cid = 3\n[[guest]]\nvsock-cid = 3\n");
    assert!(e.contains("line 4: guest 2: guest = vsock:3") && e.contains("guest 1 names it too"), "{e}");
    let e = error("[[guest]]\nabi = \"legacy\"\n");
    assert!(e.contains("line 1: guest 1: guest = (a section with none of") && e.contains("exactly one of"), "{e}");
    let e = error("[[guest]]\nvsock-cid = 3\nvm-id = \"x\"\n");
    assert!(e.contains("more than one of vsock-cid, vm-id, vmm-socket"), "{e}");
    let e = error("[[guest]]\nvm-id = \"not-a-guid\"\n");
    assert!(e.contains("line 2: guest 1: vm-id = \"not-a-guid\"") && e.contains("GUID"), "{e}");
    let e = error("[[guest]]\nvsock-cid = 5\nabi = \"old\"\n");
    assert!(e.contains("line 3: guest 1: abi = \"old\"") && e.contains("\"current\" or \"legacy\""), "{e}");
    let e = error("[[guest]]\nvsock-cid = 5\nallowed-ssids = [\"\"]\n");
    assert!(e.contains("line 3: guest 1: allowed-ssids = \"\"") && e.contains("1 to 32 bytes"), "{e}");
    let e = error("fake-networks = [\"A=zz\"]\n");
    assert!(e.contains("line 1: fake-networks = \"A=zz\"") && e.contains("\"zz\" is not a BSSID"), "{e}");
    let e = error("listen = \"localhost\"\n");
    assert!(e.contains("listen = \"localhost\"") && e.contains("IP address"), "{e}");
    let e = error("read-deadline-ms = 1\n");
    assert!(e.contains("read-deadline-ms = 1 ") && e.contains("10 to 600000"), "{e}");
    // Unknown fields and wrong types: toml's own message, with the line.
    let e = error("\nguest-cid = 3\n");
    assert!(e.starts_with("config file cfg/proxy-wifi.toml: ") && e.contains("line 2"), "{e}");
    assert!(e.contains("unknown field `guest-cid`") && e.contains("vsock-cid") || e.contains("expected one of"), "{e}");
    let e = error("any-guest = \"yes\"\n");
    assert!(e.contains("line 1") && e.contains("any-guest") || e.contains("boolean"), "{e}");
}

#[test]
fn contradictions_in_the_file_name_it_with_the_line() {
    let check = |text: &str, flags: &[&str]| {
        let (args, sources, _) = load(text, flags).unwrap();
        crate::serve_rules::check(&args, &sources).unwrap_err()
    };
    let e = check("any-guest = true\n\n[[guest]]\nvsock-cid = 3\n", &[]);
    assert!(
        e.starts_with(
            "any-guest = true (config file cfg/proxy-wifi.toml, line 1) and guest-cid = 3 (config file \
             cfg/proxy-wifi.toml, line 3) contradict each other: --any-guest serves every VM that connects, \
             --guest-cid names the only ones served; keep one"
        ),
        "{e}"
    );
    // Beside any-guest, a reserved CID or a CID with its driver generation adds something.
    for text in [
        "any-guest = true\n[[guest]]\nvsock-cid = 1\n",
        "any-guest = true\n[[guest]]\nvsock-cid = 7\nabi = \"legacy\"\n",
    ] {
        let (args, sources, _) = load(text, &[]).unwrap();
        crate::serve_rules::check(&args, &sources).unwrap();
    }
    let e = check("transport = \"vsock\"\nlisten = \"0.0.0.0\"\n", &["--dynamic-guests"]);
    assert!(
        e.starts_with("listen = 0.0.0.0 (config file cfg/proxy-wifi.toml, line 2) is an address of the tcp"),
        "{e}"
    );
    let e = check("mode = \"simulated\"\n", &["--backend", "networkmanager"]);
    assert!(e.starts_with("--backend networkmanager chooses how the host's Wi-Fi is reached"), "{e}");
    assert!(e.contains("(mode = simulated (config file cfg/proxy-wifi.toml, line 1))"), "{e}");
}

/// The shipped file sets only what differs from the defaults (defaults are shown commented
/// out), so a flag is never contradicted by a default the file spells out.
#[test]
fn the_example_sets_no_setting_to_its_default() {
    let defaults = format!("{:?}", command_line(&[]).0);
    let settings: Vec<&str> =
        EXAMPLE.lines().filter(|l| !l.starts_with('#') && !l.starts_with('[') && l.contains(" = ")).collect();
    assert!(!settings.is_empty());
    for line in settings {
        let (args, _, _) = load(line, &[]).unwrap();
        assert_ne!(format!("{args:?}"), defaults, "{line:?} is the default: comment it out");
    }
}
