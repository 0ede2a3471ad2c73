//! What the man pages say beyond `--help`: FILES, EXAMPLES, ENVIRONMENT and SEE ALSO for
//! `proxy-wifi(1)` and `proxy-wifi-serve(1)`, and `proxy-wifi.toml(5)`, the config file,
//! whose keys are listed from `serve`'s own flags so that none is missing.

use clap::{ArgAction, Command};

/// The `serve` flags that are not config-file keys: the file itself, and the guests
/// (named by `[[guest]]` sections in the file).
const NOT_KEYS: [&str; 7] = ["config", "no_config", "guest_cid", "vm_id", "vmm_socket", "help", "version"];

/// The keys of a `[[guest]]` section and what each means.
const GUEST_KEYS: [(&str, &str); 5] = [
    ("vsock-cid = N", "the VM's vsock context id, 3 or more (libvirt: <cid address='N'/>; QEMU: guest-cid=N)"),
    ("vm-id = \"GUID\"", "a Hyper-V VM (PowerShell: (Get-VM NAME).Id); one per service"),
    ("vmm-socket = \"PATH\"", "a Firecracker uds_path or cloud-hypervisor --vsock socket="),
    ("abi = \"current\" | \"legacy\"", "this guest's driver generation (overrides guest-abi)"),
    ("allowed-ssids = [\"SSID\", ...]", "the only networks this guest may join; scans still list every network"),
];

/// Escapes text for roff: backslashes, and a leading dot or quote.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    match text.chars().next() {
        Some('.') | Some('\'') => format!("\\&{text}"),
        _ => text,
    }
}

/// A section: `.SH NAME` then paragraphs; lines starting with `$ ` are examples (`.nf`).
fn section(name: &str, paragraphs: &[&str]) -> String {
    let mut out = format!(".SH {name}\n");
    for paragraph in paragraphs {
        if let Some(example) = paragraph.strip_prefix("$ ") {
            out.push_str(".PP\n.nf\n.RS 4\n");
            for line in example.lines() {
                out.push_str(&roff(line));
                out.push('\n');
            }
            out.push_str(".RE\n.fi\n");
        } else if let Some((term, text)) = paragraph.split_once(" :: ") {
            out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(term), roff(text)));
        } else {
            out.push_str(&format!(".PP\n{}\n", roff(paragraph)));
        }
    }
    out
}

const FILES: &[&str] = &[
    "/etc/proxy-wifi/proxy-wifi.toml :: The settings of the packaged proxy-wifi.service (see proxy-wifi.toml(5)). A serve without --config reads it only when run as root; --no-config ignores it.",
    "/etc/proxy-wifi/NAME.toml :: The settings of the instance proxy-wifi@NAME.service (one service per VM).",
    "/run/proxy-wifi/control.sock :: The control socket of a serve run as root, whatever XDG_RUNTIME_DIR says (proxy-wifi ctl, the libvirt hook). Other users: $XDG_RUNTIME_DIR/proxy-wifi/control.sock, else /tmp/proxy-wifi-UID/control.sock. The default directory must be a real directory of the user with mode 0700, for serve and ctl alike. Instances: /run/proxy-wifi-NAME/control.sock.",
    "/usr/lib/systemd/system/proxy-wifi.service, proxy-wifi@.service :: The systemd units (Type=notify, sandboxed), installed disabled: systemctl enable --now proxy-wifi.",
    "/usr/lib/systemd/system/proxy-wifi.socket :: Holds the guests' request port (ListenStream=vsock::12345) from boot and across restarts, so no other local user can take it; the service takes the listener from it (socket activation). Enabled along with proxy-wifi.service.",
    "/etc/libvirt/hooks/qemu.d/proxy-wifi :: The libvirt hook: adds a VM's vsock CID to the running service when it starts, removes it when it stops.",
];

const EXAMPLES: &[&str] = &[
    "Zero configuration: simulated networks on TCP loopback, for a guest on this machine.",
    "$ proxy-wifi serve\nproxy-wifi guest scan        # in another terminal",
    "A libvirt VM with <vsock model='virtio'><cid auto='no' address='7'/></vsock>, given the host's Wi-Fi:",
    "$ proxy-wifi serve --guest-cid 7",
    "Several VMs: listed ones, every VM, or VMs added as they start (the libvirt hook does that):",
    "$ proxy-wifi serve --guest-cid 7 --guest-cid 8\nproxy-wifi serve --any-guest\nproxy-wifi serve --transport vsock --dynamic-guests\nproxy-wifi ctl guest add vsock:9",
    "Host mode with wpa_supplicant (ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev), as root or a member of netdev:",
    "$ proxy-wifi serve --guest-cid 7 --backend wpa-supplicant --wpa-ctrl-dir /run/wpa_supplicant",
    "A Firecracker or cloud-hypervisor microVM (hybrid vsock):",
    "$ proxy-wifi serve --vmm-socket /run/firecracker/vm1.vsock",
];

const ENVIRONMENT: &[&str] = &[
    "XDG_RUNTIME_DIR :: Where the control socket goes by default for users other than root ($XDG_RUNTIME_DIR/proxy-wifi/control.sock); root always uses /run/proxy-wifi.",
    "RUST_LOG :: Log filter (e.g. proxy_wifi=debug), instead of -v/-q.",
    "NOTIFY_SOCKET :: Set by systemd (Type=notify): serve reports READY=1 once it listens, STOPPING=1 when it stops.",
    "LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES :: Set by systemd for socket activation (proxy-wifi.socket): serve takes that one request listener instead of binding; it must be where the settings say (transport, listen address, request port), else serve exits naming both.",
];

/// Roff to append to `proxy-wifi-serve.1`.
pub fn serve_sections() -> String {
    [
        section("FILES", FILES),
        section("EXAMPLES", EXAMPLES),
        section("ENVIRONMENT", ENVIRONMENT),
        section(
            "SEE ALSO",
            &["proxy-wifi.toml(5), proxy-wifi(1), proxy-wifi-ctl(1), proxy-wifi-guest(1), systemctl(1), virsh(1), wpa_supplicant(8), NetworkManager(8)"],
        ),
    ]
    .concat()
}

/// Roff to append to `proxy-wifi.1`.
pub fn main_sections() -> String {
    [
        section("FILES", FILES),
        section("EXAMPLES", &EXAMPLES[..2]),
        section("SEE ALSO", &["proxy-wifi-serve(1), proxy-wifi-guest(1), proxy-wifi-ctl(1), proxy-wifi.toml(5)"]),
    ]
    .concat()
}

/// The config-file keys: `serve`'s flags, named by their clap id, with their help and
/// default; switches take `true`.
pub fn config_keys(serve: &Command) -> Vec<(String, String)> {
    serve
        .get_arguments()
        .filter(|arg| !NOT_KEYS.contains(&arg.get_id().as_str()) && !arg.is_hide_set() && !arg.is_global_set())
        .map(|arg| {
            let key = arg.get_id().as_str().replace('_', "-");
            let value = match arg.get_action() {
                ArgAction::SetTrue => "true | false".to_string(),
                ArgAction::Append => format!("[{}, ...]", value_of(arg)),
                _ => value_of(arg),
            };
            let mut help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            let defaults: Vec<String> =
                arg.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
            if !help.is_empty() && !help.ends_with('.') {
                help.push('.');
            }
            if !defaults.is_empty() {
                help.push_str(&format!(" Default: {}.", defaults.join(", ")));
            }
            (format!("{key} = {value}"), help)
        })
        .collect()
}

/// How a value is written: its choices, or its value name.
fn value_of(arg: &clap::Arg) -> String {
    let choices: Vec<String> = arg.get_possible_values().iter().map(|p| format!("\"{}\"", p.get_name())).collect();
    if !choices.is_empty() {
        return choices.join(" | ");
    }
    arg.get_value_names().and_then(|n| n.first()).map_or("VALUE".to_string(), |n| n.to_string())
}

/// `proxy-wifi.toml(5)`.
pub fn config_page(serve: &Command, version: &str) -> String {
    let keys = config_keys(serve);
    let settings: Vec<String> = keys.iter().map(|(key, help)| format!("{key} :: {help}")).collect();
    let guests: Vec<String> = GUEST_KEYS.iter().map(|(key, help)| format!("{key} :: {help}")).collect();
    let mut page = format!(".TH proxy-wifi.toml 5 \"\" \"proxy-wifi {version}\"\n");
    page.push_str(&section("NAME", &["proxy-wifi.toml - settings of proxy-wifi serve"]));
    page.push_str(&section(
        "DESCRIPTION",
        &[
            "A TOML file of proxy-wifi serve settings: proxy-wifi serve --config FILE reads it; without --config, serve run as root reads /etc/proxy-wifi/proxy-wifi.toml when it exists (--no-config ignores it). Each setting is the serve flag of the same name without its dashes. A flag given on the command line overrides the file, and with it the file's settings that only make sense without that flag (--mode simulated drops backend and wpa-ctrl-dir). Relative paths start at the file's directory. An error names the file, the line, the key and the value; serve names the file it read in its banner.",
        ],
    ));
    page.push_str(&section("SETTINGS", &settings.iter().map(String::as_str).collect::<Vec<_>>()));
    let mut guest_text = vec![
        "One [[guest]] section per VM, named by exactly one of vsock-cid, vm-id, vmm-socket; guests named on the command line (--guest-cid, --vm-id, --vmm-socket, --any-guest) replace the sections.",
    ];
    guest_text.extend(guests.iter().map(String::as_str));
    page.push_str(&section("GUESTS", &guest_text));
    page.push_str(&section(
        "EXAMPLES",
        &[
            "$ transport = \"vsock\"\ndynamic-guests = true          # also accept guests added at run time\n\n[[guest]]\nvsock-cid = 3\n\n[[guest]]\nvsock-cid = 4\nabi = \"legacy\"\nallowed-ssids = [\"Office\"]",
        ],
    ));
    page.push_str(&section("FILES", &FILES[..2]));
    page.push_str(&section("SEE ALSO", &["proxy-wifi-serve(1), proxy-wifi(1)"]));
    page
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::CommandFactory;

    use super::*;

    fn serve() -> Command {
        let mut cli = crate::cli::Cli::command();
        cli.build();
        cli.find_subcommand("serve").unwrap().clone()
    }

    #[test]
    fn every_documented_key_is_one_the_config_file_knows() {
        let keys = config_keys(&serve());
        assert!(keys.len() >= 20, "{keys:?}");
        for (key, _) in &keys {
            let name = key.split(" = ").next().unwrap();
            let (mut args, given) = crate::config_override::tests_support::serve_args(&[]);
            let text = format!("{name} = 0\n");
            if let Err(error) = crate::config_file::apply(Path::new("x.toml"), &text, &mut args, given) {
                let error = error.to_string();
                assert!(!error.contains("unknown field"), "{name}: {error}");
            }
        }
        let page = config_page(&serve(), "0");
        for key in ["request\\-port = ", "fake\\-networks = ", "vsock\\-cid = N", "allowed\\-ssids", ".SH FILES"] {
            assert!(page.contains(key), "{key} missing from the page");
        }
    }

    #[test]
    fn the_serve_page_teaches() {
        let text = serve_sections();
        for part in [".SH FILES", ".SH EXAMPLES", ".SH ENVIRONMENT", ".SH SEE ALSO", "/run/proxy\\-wifi/control.sock"] {
            assert!(text.contains(part), "{part}");
        }
        assert!(text.contains("proxy\\-wifi serve \\-\\-guest\\-cid 7 \\-\\-backend wpa\\-supplicant"));
    }
}
