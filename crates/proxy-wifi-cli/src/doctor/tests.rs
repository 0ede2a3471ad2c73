use std::time::Duration;

use super::*;

const TARGET: Target = Target { host_cid: 2, request_port: 12345, notification_port: 12346, from_module: false };

/// A guest where everything works.
fn healthy() -> Findings {
    Findings {
        module_loaded: true,
        links: Ok(vec![ProxyLink { name: "wlan0".into(), up: true, lower: Some("eth0".into()) }]),
        vsock_device: true,
        local_cid: Ok(7),
        notification_port: PortState::Held,
        host: HostAnswer::Scanned { networks: 3, elapsed: Duration::from_millis(12) },
    }
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
