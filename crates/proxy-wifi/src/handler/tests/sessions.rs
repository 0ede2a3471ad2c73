//! Reconnects, guest reboots, shared guest-made connections and the guest cap (issue 13,
//! items 6–8). Events are pumped between requests, as the work queue does.

use super::*;
use crate::interface::simulated::{SimulatedInterface, SimulationControl};

fn simulated() -> (Arc<SimulatedInterface>, SimulationControl) {
    let sim = SimulatedInterface::new(crate::SimulatedNetwork::defaults());
    let control = sim.control();
    (sim, control)
}

/// A harness over one simulated interface (the default networks), and its control.
fn simulated_harness() -> (SimulationControl, Harness) {
    let (sim, control) = simulated();
    (control, Harness::new(vec![sim]))
}

const RIGHT: &str = "secretsecret";
const WRONG: &str = "wrong-passphrase";

async fn psk_as(h: &mut Harness, guest: &GuestId, passphrase: &str) -> ConnectResponse {
    match h.request_as(guest, Request::Connect(psk_request("FakeWpa2Psk", passphrase))).await {
        GuestBound::ConnectResponse(r) => r,
        other => panic!("{other:?}"),
    }
}

async fn disconnect_as(h: &mut Harness, guest: &GuestId, session: SessionId) {
    let answer = h.request_as(guest, Request::Disconnect(DisconnectRequest { session_id: session })).await;
    assert_eq!(answer, GuestBound::DisconnectResponse);
}

fn disconnected_notifications(h: &Harness, guest: &GuestId) -> Vec<GuestBound> {
    h.notifications_of(guest).into_iter().filter(|m| matches!(m, GuestBound::NotifDisconnected(_))).collect()
}

// ---- 13.6: a reconnect keeps the new link --------------------------------------------------

/// The interface's own disconnection of the old link reaches the handler after the new
/// connect was answered; it must not end the new session.
#[tokio::test(start_paused = true)]
async fn a_guest_connecting_again_to_its_network_keeps_the_new_link() {
    let (control, mut h) = simulated_harness();
    let first = psk_as(&mut h, &G, RIGHT).await;
    assert_eq!(first.result_code, StatusCode::SUCCESS);
    h.pump_events();
    let again = psk_as(&mut h, &G, RIGHT).await;
    assert_eq!((again.result_code, again.session_id), (StatusCode::SUCCESS, SessionId(2)));
    h.pump_events();
    assert_eq!(disconnected_notifications(&h, &G), Vec::<GuestBound>::new(), "the new session was not ended");
    assert_eq!(h.connection().map(|c| c.session), Some(SessionId(2)));
    // The guest's disconnect of the new session releases the host.
    h.disconnect(2).await;
    assert_eq!(control.host_connection(), None);
}

/// After a reconnect, a retry with a wrong key is checked by the interface (it fails)
/// instead of being taken for mirroring of the guest's own connection.
#[tokio::test(start_paused = true)]
async fn after_a_reconnect_a_wrong_key_never_succeeds_as_mirroring() {
    let (control, mut h) = simulated_harness();
    assert_eq!(psk_as(&mut h, &G, RIGHT).await.result_code, StatusCode::SUCCESS);
    h.pump_events();
    assert_eq!(psk_as(&mut h, &G, RIGHT).await.result_code, StatusCode::SUCCESS);
    h.pump_events();
    let wrong = psk_as(&mut h, &G, WRONG).await;
    h.pump_events();
    assert_ne!(wrong.result_code, StatusCode::SUCCESS);
    assert_eq!(control.host_connection(), None, "the host was released");
    assert!(!h.observer_log().await.iter().any(|l| l.starts_with("authorize HostMirroring")));
}

/// When the host cannot leave a guest-made connection, it stays guarded by its key: a
/// wrong key is not mirrored into it.
#[tokio::test(start_paused = true)]
async fn a_wrong_key_never_mirrors_a_guest_made_connection_the_host_could_not_leave() {
    let x = TestInterface::new(1);
    x.on_connect(Behaviour::Answer(bssid(1)));
    x.on_disconnect(Behaviour::Fail);
    let mut h = Harness::new(vec![x.clone()]);
    let ssid = "FakeWpa2Psk";
    assert_eq!(psk_as(&mut h, &G, RIGHT).await.result_code, StatusCode::SUCCESS);
    x.host_connected_to(ssid, bssid(1));
    x.on_connect(Behaviour::Fail); // the network refuses the wrong key
    let wrong = psk_as(&mut h, &G, WRONG).await;
    assert_ne!(wrong.result_code, StatusCode::SUCCESS);
    assert_eq!(x.calls(), vec!["connect FakeWpa2Psk", "disconnect", "connect FakeWpa2Psk"]);
    // The right key may join it again.
    let right = psk_as(&mut h, &G, RIGHT).await;
    assert_eq!((right.result_code, right.bssid), (StatusCode::SUCCESS, bssid(1)));
    assert_eq!(h.connection().unwrap().kind, OperationType::HostMirroring);
}

/// Decision: a guest's state outlives its reboot (the guest id persists and the host
/// cannot see the reboot). Its session ids go on; the connection of the old boot stays
/// until the rebooted guest connects again, which replaces it without losing the new link.
#[tokio::test(start_paused = true)]
async fn a_rebooted_guest_keeps_its_state_and_its_first_connect_replaces_the_old_link() {
    let (control, mut h) = simulated_harness();
    let before = psk_as(&mut h, &G, RIGHT).await;
    h.pump_events();
    // The guest reboots: its driver starts over with a scan, then connects again.
    h.scan(None).await;
    assert_eq!(h.connection().map(|c| c.session), Some(before.session_id), "still recorded");
    let after = psk_as(&mut h, &G, RIGHT).await;
    h.pump_events();
    assert_eq!((after.result_code, after.session_id), (StatusCode::SUCCESS, SessionId(before.session_id.0 + 1)));
    assert!(disconnected_notifications(&h, &G).is_empty());
    // A disconnect for the old boot's session is stale and leaves the new link alone.
    disconnect_as(&mut h, &G, before.session_id).await;
    assert!(control.host_connection().is_some());
    disconnect_as(&mut h, &G, after.session_id).await;
    assert_eq!(control.host_connection(), None);
}

// ---- 13.7: guest-made connections are shared by reference -----------------------------------

#[tokio::test(start_paused = true)]
async fn a_guest_made_connection_ends_when_its_last_user_leaves() {
    let (control, mut h) = simulated_harness();
    let a = psk_as(&mut h, &A, RIGHT).await;
    h.pump_events();
    let b = psk_as(&mut h, &B, RIGHT).await;
    assert_eq!((b.result_code, b.bssid), (StatusCode::SUCCESS, Bssid([0, 0, 0, 0, 0, 1])));
    assert_eq!(h.handler.guest_connection(&B).unwrap().kind, OperationType::HostMirroring);
    disconnect_as(&mut h, &A, a.session_id).await;
    h.pump_events();
    assert!(control.host_connection().is_some(), "B still uses it");
    assert!(disconnected_notifications(&h, &B).is_empty());
    disconnect_as(&mut h, &B, b.session_id).await;
    assert_eq!(control.host_connection(), None, "the last user left: the host left the network");
}

#[tokio::test(start_paused = true)]
async fn another_guest_shares_a_guest_made_connection_only_with_its_credentials() {
    let (control, mut h) = simulated_harness();
    assert_eq!(psk_as(&mut h, &A, RIGHT).await.result_code, StatusCode::SUCCESS);
    h.pump_events();
    // B does not know the key: no mirroring, and the interface stays A's.
    let b = psk_as(&mut h, &B, WRONG).await;
    assert_ne!(b.result_code, StatusCode::SUCCESS);
    let open = h.request_as(&C, Request::Connect(ConnectRequest::open(ssid_of("FakeWpa2Psk")))).await;
    assert!(matches!(open, GuestBound::ConnectResponse(r) if r.result_code != StatusCode::SUCCESS), "{open:?}");
    assert!(!h.observer_log().await.iter().any(|l| l.starts_with("authorize HostMirroring")));
    assert!(h.handler.guest_connection(&B).is_none() && h.handler.guest_connection(&C).is_none());
    assert_eq!(h.handler.guest_connection(&A).unwrap().kind, OperationType::GuestDirected);
    assert!(control.host_connection().is_some());
}

#[tokio::test(start_paused = true)]
async fn an_open_guest_made_connection_is_shared_with_anyone_and_ends_with_its_last_user() {
    let (x, mut h, a, b) = a_then_b_connect_to("Cafe").await;
    assert_eq!(b.result_code, StatusCode::SUCCESS);
    disconnect_as(&mut h, &B, b.session_id).await;
    assert_eq!(x.calls(), vec!["connect Cafe"], "A still uses it");
    disconnect_as(&mut h, &A, a.session_id).await;
    assert_eq!(x.calls(), vec!["connect Cafe", "disconnect"]);
}

/// The host's own connections are mirrored as before, whatever key the guest sends.
#[tokio::test(start_paused = true)]
async fn the_hosts_own_connection_is_mirrored_with_any_key_and_never_disconnected() {
    let (sim, control) = simulated();
    control.host_connect(crate::HostNetworkKind::Psk).unwrap();
    let mut h = Harness::new(vec![sim]);
    let a = psk_as(&mut h, &A, WRONG).await;
    assert_eq!(a.result_code, StatusCode::SUCCESS);
    disconnect_as(&mut h, &A, a.session_id).await;
    assert!(control.host_connection().is_some());
}

// ---- 13.8: the guest cap --------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn at_the_guest_cap_guests_without_a_connection_go_first() {
    let (control, mut h) = simulated_harness();
    h.handler.max_guests = 2;
    assert_eq!(psk_as(&mut h, &A, RIGHT).await.result_code, StatusCode::SUCCESS);
    tokio::time::advance(Duration::from_secs(1)).await;
    h.request_as(&B, Request::Scan(ScanRequest::default())).await;
    // C arrives: B (no connection) goes, though A was less recently active.
    h.request_as(&C, Request::Scan(ScanRequest::default())).await;
    assert!(h.handler.guests.contains_key(&A) && !h.handler.guests.contains_key(&B));
    assert!(control.host_connection().is_some());
}

#[tokio::test(start_paused = true)]
async fn at_the_guest_cap_an_evicted_guest_releases_its_guest_made_connection() {
    let (control, mut h) = simulated_harness();
    h.handler.max_guests = 1;
    let a = psk_as(&mut h, &A, RIGHT).await;
    assert_eq!(a.result_code, StatusCode::SUCCESS);
    let a_queue = h.handler.guests[&A].notifications.clone();
    h.request_as(&B, Request::Scan(ScanRequest::default())).await;
    assert_eq!(h.handler.guests.keys().collect::<Vec<_>>(), vec![&B]);
    assert_eq!(control.host_connection(), None, "the host left A's network");
    assert!(h.handler.links.is_empty());
    let told: Vec<GuestBound> = std::iter::from_fn(|| a_queue.try_pop()).collect();
    assert_eq!(told, vec![GuestBound::NotifDisconnected(DisconnectedNotification { session_id: a.session_id })]);
}

#[tokio::test(start_paused = true)]
async fn an_evicted_guest_leaves_a_shared_connection_to_its_other_users() {
    let (control, mut h) = simulated_harness();
    h.handler.max_guests = 2;
    psk_as(&mut h, &A, RIGHT).await;
    h.pump_events();
    tokio::time::advance(Duration::from_secs(1)).await;
    let b = psk_as(&mut h, &B, RIGHT).await;
    h.request_as(&C, Request::Scan(ScanRequest::default())).await;
    assert!(!h.handler.guests.contains_key(&A), "A, the idlest, was evicted");
    assert!(control.host_connection().is_some(), "B still uses the connection");
    assert_eq!(h.handler.links.values().next().unwrap().users, std::collections::BTreeSet::from([B]));
    // The link was not forgotten: its last user leaving releases the host.
    disconnect_as(&mut h, &B, b.session_id).await;
    assert_eq!(control.host_connection(), None);
}
