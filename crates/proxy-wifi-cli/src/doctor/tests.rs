use std::time::Duration;

use super::*;

const TARGET: Target = Target { host_cid: 2, request_port: 12345, notification_port: 12346, from_module: false };

const KVER: &str = "6.12.48+deb13-amd64";

/// A guest where everything works.
fn healthy() -> Findings {
    Findings {
        module_loaded: true,
        install: Install {
            kernel: Some(KVER.into()),
            module_installed: true,
            dkms_sources: vec!["0.1.0".into()],
            headers: true,
            load: LoadAttempt::NotTried,
            auto_link: Some(true),
            lower: None,
        },
        links: Ok(vec![ProxyLink { name: "wlan0".into(), up: true, lower: Some("eth0".into()) }]),
        vsock_device: true,
        local_cid: Ok(7),
        notification_port: PortState::Held,
        host: HostAnswer::Scanned { networks: 3, elapsed: Duration::from_millis(12) },
    }
}

/// A guest whose module is not loaded, with this installation.
fn unloaded(install: Install) -> Findings {
    Findings { module_loaded: false, install, links: Ok(vec![]), notification_port: PortState::Free, ..healthy() }
}

/// `healthy()`'s installation, changed by `change`.
fn install(change: impl FnOnce(&mut Install)) -> Install {
    let mut install = healthy().install;
    install.auto_link = None;
    change(&mut install);
    install
}

/// The module check's line and hint, as `guest doctor` prints them.
fn module(findings: &Findings) -> (Verdict, String, String) {
    let checks = diagnose(findings, &TARGET);
    let module = check(&checks, "module");
    (module.verdict, module.detail.clone(), module.hint.clone().unwrap_or_default())
}

fn verdicts(checks: &[Check]) -> Vec<(&'static str, Verdict)> {
    checks.iter().map(|c| (c.name, c.verdict)).collect()
}

fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks.iter().find(|c| c.name == name).unwrap()
}

#[test]
fn a_healthy_guest_passes_every_check() {
    let checks = diagnose(&healthy(), &TARGET);
    assert_eq!(
        verdicts(&checks),
        [
            ("module", Verdict::Ok),
            ("link", Verdict::Ok),
            ("vsock", Verdict::Ok),
            ("notifications", Verdict::Ok),
            ("host", Verdict::Ok)
        ]
    );
    assert_eq!(exit_code(&checks), ExitCode::SUCCESS);
    assert_eq!(check(&checks, "link").detail, "wlan0 on eth0 is up");
    assert!(check(&checks, "vsock").detail.contains("context id is 7"));
    assert!(check(&checks, "host").detail.contains("3 networks"));
}

#[test]
fn a_missing_module_says_how_to_load_or_install_it() {
    let findings =
        Findings { module_loaded: false, links: Ok(vec![]), notification_port: PortState::Free, ..healthy() };
    let checks = diagnose(&findings, &TARGET);
    let module = check(&checks, "module");
    assert_eq!(module.verdict, Verdict::Fail);
    assert!(module.hint.as_deref().unwrap().contains("modprobe proxy_wifi"));
    assert!(check(&checks, "notifications").hint.as_deref().unwrap().contains("load the module"));
    assert_eq!(exit_code(&checks), ExitCode::FAILURE);
}

#[test]
fn no_link_or_a_down_link_says_the_command_that_fixes_it() {
    let none = diagnose(&Findings { links: Ok(vec![]), ..healthy() }, &TARGET);
    assert_eq!(check(&none, "link").verdict, Verdict::Fail);
    assert!(check(&none, "link").hint.as_deref().unwrap().contains("ip link add link eth0 name wlan0 type proxy_wifi"));

    let down = Findings { links: Ok(vec![ProxyLink { name: "wifi1".into(), up: false, lower: None }]), ..healthy() };
    let checks = diagnose(&down, &TARGET);
    assert_eq!(check(&checks, "link").detail, "wifi1 is down");
    assert!(check(&checks, "link").hint.as_deref().unwrap().contains("ip link set wifi1 up"));
}

#[test]
fn an_up_link_is_reported_before_a_down_one() {
    let links = vec![
        ProxyLink { name: "wlan0".into(), up: false, lower: None },
        ProxyLink { name: "wlan1".into(), up: true, lower: None },
    ];
    let checks = diagnose(&Findings { links: Ok(links), ..healthy() }, &TARGET);
    assert_eq!(check(&checks, "link").verdict, Verdict::Ok);
    assert_eq!(check(&checks, "link").detail, "wlan1 is up");
}

#[test]
fn an_unlistable_link_table_is_a_warning_not_a_failure() {
    let checks = diagnose(&Findings { links: Err("cannot run `ip`".into()), ..healthy() }, &TARGET);
    assert_eq!(check(&checks, "link").verdict, Verdict::Warn);
    assert_eq!(exit_code(&checks), ExitCode::SUCCESS);
}

#[test]
fn without_vsock_the_host_is_not_tried_and_the_device_is_explained() {
    let findings =
        Findings { vsock_device: false, local_cid: Err("no device".into()), host: HostAnswer::NotTried, ..healthy() };
    let checks = diagnose(&findings, &TARGET);
    assert_eq!(check(&checks, "vsock").verdict, Verdict::Fail);
    assert!(check(&checks, "vsock").hint.as_deref().unwrap().contains("vhost-vsock-pci"));
    assert_eq!(check(&checks, "notifications").verdict, Verdict::Skipped);
    assert_eq!(check(&checks, "host").verdict, Verdict::Skipped);
}

#[test]
fn a_free_notification_port_means_the_driver_is_not_listening() {
    let checks = diagnose(&Findings { notification_port: PortState::Free, ..healthy() }, &TARGET);
    let notifications = check(&checks, "notifications");
    assert_eq!(notifications.verdict, Verdict::Fail);
    assert_eq!(notifications.detail, "nothing listens on vsock port 12346");
}

#[test]
fn a_host_that_refuses_gets_the_serve_command_with_this_vms_cid() {
    let findings = Findings { host: HostAnswer::Refused("connection refused".into()), ..healthy() };
    let checks = diagnose(&findings, &TARGET);
    let host = check(&checks, "host");
    assert_eq!(host.verdict, Verdict::Fail);
    assert!(host.detail.contains("vsock CID 2 port 12345"));
    assert!(host.hint.as_deref().unwrap().contains("proxy-wifi serve --guest-cid 7"));
}

#[test]
fn a_host_that_closes_the_connection_is_told_apart_from_a_wrong_protocol() {
    let closed = diagnose(&Findings { host: HostAnswer::Closed("closed".into()), ..healthy() }, &TARGET);
    assert!(check(&closed, "host").hint.as_deref().unwrap().contains("does not serve"));
    let bad = diagnose(&Findings { host: HostAnswer::BadAnswer("INVALID".into()), ..healthy() }, &TARGET);
    assert!(check(&bad, "host").hint.as_deref().unwrap().contains("--guest-abi legacy"));
    let silent = diagnose(&Findings { host: HostAnswer::TimedOut("timed out".into()), ..healthy() }, &TARGET);
    assert_eq!(check(&silent, "host").verdict, Verdict::Fail);
}

#[test]
fn an_empty_scan_is_a_warning() {
    let findings =
        Findings { host: HostAnswer::Scanned { networks: 0, elapsed: Duration::from_millis(5) }, ..healthy() };
    let checks = diagnose(&findings, &TARGET);
    assert_eq!(check(&checks, "host").verdict, Verdict::Warn);
    assert_eq!(exit_code(&checks), ExitCode::SUCCESS);
}

#[test]
fn a_kernel_older_than_6_1_is_named() {
    let (verdict, detail, hint) = module(&unloaded(install(|i| i.kernel = Some("5.15.0-91-generic".into()))));
    assert_eq!(verdict, Verdict::Fail);
    assert_eq!(detail, "the running kernel 5.15.0-91-generic is older than 6.1, the oldest proxy_wifi supports");
    assert!(hint.contains("boot a kernel 6.1 or newer"));
}

#[test]
fn kernel_releases_compare_by_major_and_minor() {
    assert!(kernel_older_than("5.15.0-91-generic", (6, 1)));
    assert!(kernel_older_than("6.0.19", (6, 1)));
    assert!(!kernel_older_than("6.1.0-13-amd64", (6, 1)));
    assert!(!kernel_older_than("6.12.48+deb13-amd64", (6, 1)));
    assert!(!kernel_older_than("7.0-rc1", (6, 1)));
    assert!(kernel_older_than("5", (6, 1)));
    assert!(!kernel_older_than("weird", (6, 1)));
}

#[test]
fn no_module_and_no_dkms_source_says_how_to_install_it() {
    let findings = unloaded(install(|i| {
        i.module_installed = false;
        i.dkms_sources.clear();
        i.headers = false;
    }));
    let (verdict, detail, hint) = module(&findings);
    assert_eq!(verdict, Verdict::Fail);
    assert_eq!(detail, format!("proxy_wifi is not installed for kernel {KVER}"));
    assert!(hint.contains("sudo apt install proxy-wifi-dkms"), "{hint}");
    assert!(hint.contains("sudo make -C guest/linux dkms-install"), "{hint}");
    // tests/vm/guest-driver/in-vm.sh greps for it.
    assert!(hint.contains("modprobe proxy_wifi"), "{hint}");
}

#[test]
fn dkms_without_the_kernel_headers_names_the_headers_package() {
    let (verdict, detail, hint) = module(&unloaded(install(|i| {
        i.module_installed = false;
        i.headers = false;
    })));
    assert_eq!(verdict, Verdict::Fail);
    assert!(detail.contains(&format!("not the headers of kernel {KVER}")), "{detail}");
    for fix in [
        format!("sudo apt install linux-headers-{KVER}"),
        format!("sudo dnf install kernel-devel-{KVER}"),
        "sudo pacman -S linux-headers".into(),
        format!("sudo dkms autoinstall -k {KVER}"),
    ] {
        assert!(hint.contains(&fix), "{fix} missing from {hint}");
    }
}

#[test]
fn dkms_that_has_not_built_the_module_points_at_autoinstall_and_its_log() {
    let (verdict, detail, hint) = module(&unloaded(install(|i| {
        i.module_installed = false;
        i.dkms_sources = vec!["0.0.9".into(), "0.1.0".into()];
    })));
    assert_eq!(verdict, Verdict::Fail);
    assert_eq!(detail, format!("DKMS has not built proxy_wifi 0.1.0 for {KVER}"));
    assert!(hint.contains(&format!("sudo dkms autoinstall -k {KVER}")), "{hint}");
    assert!(hint.contains("/var/lib/dkms/proxy_wifi/0.1.0/build/make.log"), "{hint}");
}

#[test]
fn an_installed_module_not_loaded_without_root_asks_for_sudo() {
    let (verdict, detail, hint) = module(&unloaded(install(|i| i.load = LoadAttempt::NotRoot)));
    assert_eq!(verdict, Verdict::Fail);
    assert_eq!(detail, format!("proxy_wifi is installed for {KVER} but not loaded"));
    assert!(hint.contains("`sudo modprobe proxy_wifi`"), "{hint}");
    assert!(hint.contains("run `sudo proxy-wifi guest doctor` to see why"), "{hint}");
}

fn failed_load(error: &str, kernel_log: &[&str]) -> (Verdict, String, String) {
    let kernel_log = kernel_log.iter().map(|line| line.to_string()).collect();
    module(&unloaded(install(|i| i.load = LoadAttempt::Failed { error: error.into(), kernel_log })))
}

#[test]
fn a_module_that_does_not_load_gets_the_fix_for_its_error() {
    let insert = "modprobe: ERROR: could not insert 'proxy_wifi'";
    let (verdict, detail, hint) = failed_load(&format!("{insert}: Key was rejected by service"), &[]);
    assert_eq!(verdict, Verdict::Fail);
    assert_eq!(
        detail,
        format!("proxy_wifi is installed for {KVER} but does not load: {insert}: Key was rejected by service")
    );
    assert!(hint.contains("Secure Boot") && hint.contains("sudo mokutil --import /var/lib/dkms/mok.pub"), "{hint}");
    let (_, _, hint) = failed_load(&format!("{insert}: Required key not available"), &[]);
    assert!(hint.contains("mokutil"), "{hint}");

    for error in ["Exec format error", "Invalid module format"] {
        let (_, _, hint) = failed_load(&format!("{insert}: {error}"), &[]);
        assert!(hint.contains("built for another kernel"), "{hint}");
        assert!(hint.contains(&format!("sudo dkms autoinstall -k {KVER}")), "{hint}");
    }

    let log = ["[    3.1] proxy_wifi: Unknown symbol cfg80211_scan_done (err -2)"];
    let (_, _, hint) =
        failed_load(&format!("{insert}: Unknown symbol in module, or unknown parameter (see dmesg)"), &log);
    assert!(hint.contains("lacks cfg80211 or vsock") && hint.contains("modprobe -a cfg80211 vsock"), "{hint}");
    assert!(hint.ends_with(&format!("kernel log: {}", log[0])), "{hint}");

    let (_, _, hint) = failed_load(&format!("{insert}: Cannot allocate memory"), &[]);
    assert!(hint.contains("`dmesg | grep proxy_wifi`") && !hint.contains("kernel log:"), "{hint}");
}

#[test]
fn a_module_the_doctor_loaded_is_a_warning_with_the_boot_setting() {
    let findings = Findings { install: install(|i| i.load = LoadAttempt::Loaded), ..healthy() };
    let checks = diagnose(&findings, &TARGET);
    let module = check(&checks, "module");
    assert_eq!(
        (module.verdict, module.detail.as_str()),
        (Verdict::Warn, "proxy_wifi was not loaded; the doctor loaded it")
    );
    let hint = module.hint.as_deref().unwrap();
    assert!(hint.contains("/usr/lib/modules-load.d/proxy_wifi.conf"), "{hint}");
    assert!(hint.contains("echo proxy_wifi | sudo tee /etc/modules-load.d/proxy_wifi.conf"), "{hint}");
    assert_eq!(check(&checks, "link").verdict, Verdict::Ok);
    assert_eq!(exit_code(&checks), ExitCode::SUCCESS);
}

#[test]
fn no_link_with_auto_link_off_offers_ip_link_add_or_auto_link() {
    let findings = Findings { links: Ok(vec![]), install: install(|i| i.auto_link = Some(false)), ..healthy() };
    let checks = diagnose(&findings, &TARGET);
    let hint = check(&checks, "link").hint.as_deref().unwrap();
    assert!(hint.contains("ip link add link eth0 name wlan0 type proxy_wifi"), "{hint}");
    assert!(hint.contains("auto_link=1") && hint.contains("/etc/modprobe.d/proxy_wifi.conf"), "{hint}");
    assert!(hint.contains("sudo modprobe -r proxy_wifi && sudo modprobe proxy_wifi"), "{hint}");
}

#[test]
fn no_link_with_auto_link_on_says_the_module_found_no_lower_device() {
    let findings = Findings { links: Ok(vec![]), ..healthy() };
    let checks = diagnose(&findings, &TARGET);
    let link = check(&checks, "link");
    assert_eq!(link.verdict, Verdict::Fail);
    assert!(link.detail.contains("found no Ethernet NIC to attach to"), "{}", link.detail);
    assert!(link.hint.as_deref().unwrap().contains("lower=DEV` in /etc/modprobe.d/proxy_wifi.conf"));

    let named =
        Findings { install: install(|i| (i.auto_link, i.lower) = (Some(true), Some("enp9s0".into()))), ..findings };
    let checks = diagnose(&named, &TARGET);
    assert!(check(&checks, "link").detail.contains("no device named enp9s0 (its lower parameter)"));
}

#[cfg(target_os = "linux")]
#[test]
fn the_installation_is_read_from_modules_dep_usr_src_and_the_headers_link() {
    let root = tempfile::tempdir().unwrap();
    let path = |p: &str| root.path().join(p);
    std::fs::create_dir_all(path("proc/sys/kernel")).unwrap();
    std::fs::write(path("proc/sys/kernel/osrelease"), format!("{KVER}\n")).unwrap();
    assert_eq!(probe::installed(root.path()), Install { kernel: Some(KVER.into()), ..Install::default() });

    let modules = path(&format!("lib/modules/{KVER}"));
    std::fs::create_dir_all(&modules).unwrap();
    std::fs::write(modules.join("modules.dep"), "kernel/net/wireless/cfg80211.ko.xz: kernel/net/rfkill/rfkill.ko.xz\n")
        .unwrap();
    std::fs::create_dir_all(path("usr/src/proxy_wifi-0.10.0")).unwrap();
    std::fs::create_dir_all(path("usr/src/proxy_wifi-0.9.1")).unwrap();
    std::fs::create_dir_all(path("usr/src/linux-headers-6.1.0")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/headers", modules.join("build")).unwrap();
    let found = probe::installed(root.path());
    assert!(!found.module_installed && !found.headers);
    assert_eq!(found.dkms_sources, ["0.9.1", "0.10.0"]);

    std::fs::remove_file(modules.join("build")).unwrap();
    std::fs::create_dir(modules.join("build")).unwrap();
    std::fs::write(
        modules.join("modules.dep"),
        "kernel/net/wireless/cfg80211.ko.xz:\nupdates/dkms/proxy_wifi.ko.zst: kernel/net/wireless/cfg80211.ko.xz\n",
    )
    .unwrap();
    let found = probe::installed(root.path());
    assert!(found.module_installed && found.headers);
}

#[cfg(target_os = "linux")]
#[test]
fn modules_dep_lines_name_the_module_by_file_name_only() {
    for line in
        ["updates/dkms/proxy_wifi.ko:", "extra/proxy_wifi.ko.xz: a.ko", "proxy_wifi.ko.gz:", "x/proxy_wifi.ko.zst:"]
    {
        assert!(probe::lists_the_module(line), "{line}");
    }
    for line in ["extra/not_proxy_wifi.ko:", "extra/proxy_wifi.o:", "kernel/a.ko: extra/proxy_wifi.ko", ""] {
        assert!(!probe::lists_the_module(line), "{line}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_module_parameters_and_kernel_log_are_read() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(probe::link_parameters(root.path()), (None, None));
    let parameters = root.path().join("sys/module/proxy_wifi/parameters");
    std::fs::create_dir_all(&parameters).unwrap();
    std::fs::write(parameters.join("auto_link"), "Y\n").unwrap();
    std::fs::write(parameters.join("lower"), "\n").unwrap();
    assert_eq!(probe::link_parameters(root.path()), (Some(true), None));
    std::fs::write(parameters.join("auto_link"), "N\n").unwrap();
    std::fs::write(parameters.join("lower"), "enp1s0\n").unwrap();
    assert_eq!(probe::link_parameters(root.path()), (Some(false), Some("enp1s0".into())));

    let log = "[1.0] proxy_wifi: a\n[1.1] other\n[1.2] proxy_wifi: b\n[1.3] proxy_wifi: c\n[1.4] proxy_wifi: d\n";
    assert_eq!(probe::last_mentions(log, 3), ["[1.2] proxy_wifi: b", "[1.3] proxy_wifi: c", "[1.4] proxy_wifi: d"]);
    assert!(probe::last_mentions("nothing", 3).is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn ip_json_output_gives_the_proxy_wifi_links_only() {
    // Shape of `ip -details -json link show` (iproute2 6.1), trimmed.
    let json = r#"[
        {"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"linkinfo":null},
        {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"]},
        {"ifindex":3,"link":"eth0","ifname":"wlan0","flags":["BROADCAST","MULTICAST","UP"],
         "linkinfo":{"info_kind":"proxy_wifi"}},
        {"ifindex":4,"ifname":"veth0","flags":["BROADCAST"],"linkinfo":{"info_kind":"veth"}}
    ]"#;
    assert_eq!(
        probe::parse_ip_links(json).unwrap(),
        [ProxyLink { name: "wlan0".into(), up: true, lower: Some("eth0".into()) }]
    );
    assert!(probe::parse_ip_links("not json").unwrap_err().contains("unexpected `ip -json` output"));
}
