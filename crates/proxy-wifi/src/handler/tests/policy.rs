//! The operator's policy for guest-directed connections, and the host-radio scan
//! throttle (issue 25 item 10).

use super::*;
use crate::guest_connect_policy::GuestConnectPolicy;

fn wpa2(ssid: &str) -> ConnectRequest {
    psk_request(ssid, "secretsecret")
}

#[tokio::test(start_paused = true)]
async fn mirror_only_never_moves_the_host_but_still_mirrors_its_network() {
    let (interface, mut h) = Harness::with_host_connected_to("Home", bssid(7));
    interface.on_connect(Behaviour::Answer(bssid(1)));
    h.handler.set_guest_connect_policy(GuestConnectPolicy::MirrorOnly);

    let refused = h.connect(wpa2("Cafe")).await;
    assert_eq!(refused.result_code, StatusCode::DENIED_OTHER_REASON);
    assert!(!interface.calls().iter().any(|c| c.starts_with("connect")), "{:?}", interface.calls());
    let log = h.observer_log().await;
    assert!(!log.iter().any(|l| l.starts_with("authorize GuestDirected")), "the policy answers first: {log:?}");
    assert!(log.contains(&"connect-done GuestDirected Denied Cafe".to_string()), "{log:?}");

    let mirrored = h.connect(wpa2("Home")).await;
    assert_eq!(mirrored.result_code, StatusCode::SUCCESS);
    assert_eq!(mirrored.bssid, bssid(7));
}

#[tokio::test(start_paused = true)]
async fn an_allow_list_lets_the_guest_move_the_host_to_listed_networks_only() {
    let (interface, mut h) = Harness::with_one_connecting();
    let listed = [ssid_of("Office")].into_iter().collect();
    h.handler.set_guest_connect_policy(GuestConnectPolicy::AllowList(listed));

    assert_eq!(h.connect(wpa2("Cafe")).await.result_code, StatusCode::DENIED_OTHER_REASON);
    assert_eq!(interface.calls(), Vec::<String>::new());
    assert_eq!(h.connect(wpa2("Office")).await.result_code, StatusCode::SUCCESS);
    assert_eq!(interface.calls(), ["connect Office"]);
}

#[tokio::test(start_paused = true)]
async fn any_keeps_the_original_behaviour() {
    let (interface, mut h) = Harness::with_one_connecting();
    assert_eq!(h.connect(wpa2("Cafe")).await.result_code, StatusCode::SUCCESS);
    assert_eq!(interface.calls(), ["connect Cafe"]);
}

#[tokio::test(start_paused = true)]
async fn a_host_radio_scans_at_most_once_per_interval_and_answers_from_its_newest_results_between() {
    let radio = TestInterface::new(1);
    radio.driven_by("wpa_supplicant");
    radio.on_scan(Behaviour::Answer(results(vec![entry("A", 1), entry("B", 2)], ScanStatus::Completed)));
    let application = TestInterface::new(2);
    let mut h = Harness::new(vec![radio.clone(), application.clone()]);
    h.handler.set_host_scan_interval(Duration::from_secs(10));

    let first = h.scan(None).await;
    assert_eq!(first.bss.len(), 2);
    for _ in 0..5 {
        let again = h.scan(None).await;
        assert_eq!(again.bss.len(), 2, "answered from the radio's last results");
        assert!(again.scan_complete);
    }
    assert_eq!(radio.calls(), ["scan "], "one real scan on the host radio");
    assert_eq!(application.calls().len(), 6, "an application interface is never throttled");

    // A targeted scan in between is answered from the same results, filtered.
    let targeted = h.scan(Some("B")).await;
    assert_eq!(targeted.bss.iter().map(|e| e.bssid).collect::<Vec<_>>(), [bssid(2)]);
    assert_eq!(radio.calls(), ["scan "]);

    // Results the radio reports later become the newest.
    radio.emit(InterfaceEvent::ScanResults(results(vec![entry("C", 3)], ScanStatus::Completed)));
    h.pump_events();
    assert_eq!(h.scan(None).await.bss.iter().map(|e| e.bssid).collect::<Vec<_>>(), [bssid(3)]);

    tokio::time::advance(Duration::from_secs(10)).await;
    h.scan(None).await;
    assert_eq!(radio.calls(), ["scan ", "scan "], "a real scan again once the interval passed");
}

#[tokio::test(start_paused = true)]
async fn a_zero_interval_turns_the_throttle_off() {
    let radio = TestInterface::new(1);
    radio.driven_by("networkmanager");
    let mut h = Harness::new(vec![radio.clone()]);
    h.handler.set_host_scan_interval(Duration::ZERO);
    h.scan(None).await;
    h.scan(None).await;
    assert_eq!(radio.calls().len(), 2);
}
