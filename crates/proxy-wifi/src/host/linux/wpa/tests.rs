//! State logic of the wpa_supplicant backend against a stand-in supplicant that answers
//! with replies recorded from a real one (tests/data/wpa_supplicant/).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy_wifi_protocol::{Bssid, ConnectRequest, Pmk, Ssid};
use tokio::net::UnixDatagram;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::handler::{HandlerHandle, Work};
use crate::interface::{ConnectParams, EventSink, InterfaceError, InterfaceEvent, ScanStatus, WifiInterface};

macro_rules! recorded {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/wpa_supplicant/", $name))
    };
}

const LAB_WPA2: Bssid = Bssid([2, 0, 0, 0, 1, 0]);

#[derive(Default)]
struct FakeState {
    /// (id, ssid, enabled)
    networks: Vec<(u32, String, bool)>,
    next_id: u32,
    /// Network id the station is connected with (status reply from the recording).
    connected: Option<u32>,
    /// Events sent after SELECT_NETWORK: "connect", "wrong-key" or "save-then-wrong-key"
    /// (another tool's SAVE_CONFIG first).
    on_select: &'static str,
    commands: Vec<String>,
    /// Where SAVE_CONFIG writes (none: SAVE_CONFIG fails, as with update_config=0).
    config: Option<PathBuf>,
    /// Time taken by every command before its reply (the service is quicker than that).
    pace: Duration,
    /// The first command starting with this is answered only after this long (busy with
    /// something else meanwhile); the commands sent in the meantime wait their turn.
    late: Option<(&'static str, Duration)>,
}

impl FakeState {
    /// How long `command` takes (see `pace` and `late`).
    fn delay_for(&mut self, command: &str) -> Duration {
        match self.late {
            Some((prefix, late)) if command.starts_with(prefix) => {
                self.late = None;
                self.pace + late
            }
            _ => self.pace,
        }
    }

    /// Whether network `id` was given `name value`.
    fn was_set(&self, id: u32, name: &str) -> Option<&str> {
        let prefix = format!("SET_NETWORK {id} {name} ");
        self.commands.iter().rev().find_map(|c| c.strip_prefix(&prefix))
    }

    /// The configuration file as wpa_supplicant 2.10 writes it on SAVE_CONFIG: every
    /// network with what was set on it, its key unless `mem_only_psk=1`, `disabled=1`.
    fn config_text(&self) -> String {
        let mut text = String::from("update_config=1\n");
        for (id, ssid, enabled) in &self.networks {
            let prefix = format!("SET_NETWORK {id} ");
            let set: Vec<(&str, &str)> =
                self.commands.iter().filter_map(|c| c.strip_prefix(&prefix)?.split_once(' ')).collect();
            let memory_only = set.contains(&("mem_only_psk", "1"));
            text += "\nnetwork={\n";
            if set.is_empty() {
                text += &format!("\tssid=\"{ssid}\"\n\tpsk=\"{ssid}-password\"\n");
            }
            for (name, value) in set.iter().filter(|(name, _)| !(memory_only && *name == "psk")) {
                text += &format!("\t{name}={value}\n");
            }
            if !enabled {
                text += "\tdisabled=1\n";
            }
            text += "}\n";
        }
        text
    }
}

/// A stand-in wpa_supplicant on a datagram socket.
struct FakeSupplicant {
    path: PathBuf,
    state: Arc<Mutex<FakeState>>,
    events: mpsc::UnboundedSender<String>,
}

impl FakeSupplicant {
    fn start(dir: &Path, name: &str, state: FakeState) -> FakeSupplicant {
        let path = dir.join(name);
        let socket = UnixDatagram::bind(&path).unwrap();
        let state = Arc::new(Mutex::new(state));
        let (events, mut pending) = mpsc::unbounded_channel::<String>();
        let shared = state.clone();
        let to_self = events.clone();
        tokio::spawn(async move {
            let mut attached: Vec<PathBuf> = Vec::new();
            let mut buffer = vec![0u8; 4096];
            loop {
                tokio::select! {
                    received = socket.recv_from(&mut buffer) => {
                        let Ok((n, from)) = received else { return };
                        let Some(from) = from.as_pathname().map(Path::to_path_buf) else { continue };
                        let command = String::from_utf8_lossy(&buffer[..n]).into_owned();
                        if command == "ATTACH" {
                            attached.push(from.clone());
                        }
                        let delay = shared.lock().unwrap().delay_for(&command);
                        tokio::time::sleep(delay).await;
                        let (reply, later) = answer(&shared, &command);
                        let _ = socket.send_to(reply.as_bytes(), &from).await;
                        for event in later {
                            let _ = to_self.send(event);
                        }
                    }
                    Some(event) = pending.recv() => {
                        for client in &attached {
                            let _ = socket.send_to(event.as_bytes(), client).await;
                        }
                    }
                }
            }
        });
        FakeSupplicant { path, state, events }
    }

    fn commands(&self) -> Vec<String> {
        self.state.lock().unwrap().commands.clone()
    }

    /// The AP drops the station: no connection in the status any more, and the event.
    fn ap_drops_station(&self) {
        self.state.lock().unwrap().connected = None;
        self.events.send("<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=2".into()).unwrap();
    }
}

/// The reply to `command` and the events it causes.
fn answer(state: &Mutex<FakeState>, command: &str) -> (String, Vec<String>) {
    let mut s = state.lock().unwrap();
    s.commands.push(command.to_owned());
    let words: Vec<&str> = command.split_whitespace().collect();
    let id = || words.get(1).and_then(|w| w.parse::<u32>().ok());
    let ok = || "OK\n".to_owned();
    match words.first().copied().unwrap_or_default() {
        "PING" => ("PONG\n".into(), vec![]),
        "ATTACH" | "DETACH" | "SET_NETWORK" | "SCAN" => (ok(), vec![]),
        "SAVE_CONFIG" => match &s.config {
            Some(path) => {
                std::fs::write(path, s.config_text()).unwrap();
                (ok(), vec![])
            }
            None => ("FAIL\n".into(), vec![]),
        },
        "STATUS" => match s.connected {
            Some(id) => (recorded!("status_connected_wpa2.txt").replace("id=0", &format!("id={id}")), vec![]),
            None => (recorded!("status_disconnected.txt").into(), vec![]),
        },
        "LIST_NETWORKS" => {
            let mut out = String::from("network id / ssid / bssid / flags\n");
            for (id, ssid, enabled) in &s.networks {
                out += &format!("{id}\t{ssid}\tany\t{}\n", if *enabled { "" } else { "[DISABLED]" });
            }
            (out, vec![])
        }
        "ADD_NETWORK" => {
            let id = s.next_id;
            s.next_id += 1;
            s.networks.push((id, String::new(), false));
            (format!("{id}\n"), vec![])
        }
        "SELECT_NETWORK" => {
            let id = id().unwrap();
            for network in &mut s.networks {
                network.2 = network.0 == id;
            }
            // wpa_supplicant 2.10 (events.c, wpa_supplicant_pick_network): a network with
            // mem_only_psk=1 and neither psk nor passphrase waits for one, whatever its
            // key_mgmt, and is never joined.
            if s.was_set(id, "mem_only_psk") == Some("1") && s.was_set(id, "psk").is_none() {
                let ssid = s.was_set(id, "ssid").and_then(|h| hex::decode(h).ok()).unwrap_or_default();
                let ssid = String::from_utf8_lossy(&ssid).into_owned();
                return (
                    ok(),
                    vec![format!("<3>CTRL-REQ-PSK_PASSPHRASE-{id}:PSK or passphrase needed for SSID {ssid}")],
                );
            }
            let events = match s.on_select {
                "connect" => {
                    s.connected = Some(id);
                    vec![format!(
                        "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id={id} id_str=]"
                    )]
                }
                "save-then-wrong-key" | "wrong-key" => {
                    if s.on_select == "save-then-wrong-key" {
                        std::fs::write(s.config.as_ref().unwrap(), s.config_text()).unwrap();
                    }
                    vec![
                        "<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=15".to_owned(),
                        format!(
                            "<3>CTRL-EVENT-SSID-TEMP-DISABLED id={id} ssid=\"lab-wpa2\" auth_failures=1 duration=10 reason=WRONG_KEY"
                        ),
                    ]
                }
                _ => vec![],
            };
            (ok(), events)
        }
        "ENABLE_NETWORK" => {
            let id = id().unwrap();
            match s.networks.iter_mut().find(|n| n.0 == id) {
                Some(network) => {
                    network.2 = true;
                    (ok(), vec![])
                }
                None => ("FAIL\n".into(), vec![]),
            }
        }
        "REMOVE_NETWORK" => {
            let id = id().unwrap();
            s.networks.retain(|n| n.0 != id);
            if s.connected == Some(id) {
                s.connected = None;
                (ok(), vec!["<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=3 locally_generated=1".into()])
            } else {
                (ok(), vec![])
            }
        }
        "BSS" if command.starts_with("BSS RANGE=0-") => (recorded!("bss_range_all.txt").into(), vec![]),
        "BSS" => (String::new(), vec![]),
        "SIGNAL_POLL" => (recorded!("signal_poll.txt").into(), vec![]),
        _ => ("UNKNOWN COMMAND\n".into(), vec![]),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("proxy-wifi-wpa-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Opens the interface behind the fake and runs its monitor.
async fn open(dir: &Path, name: &str) -> (Arc<WpaInterface>, crate::interface::EventReceiver, CancellationToken) {
    let (interface, monitor) = open_interface(dir, name).await.unwrap();
    let (sink, events) = EventSink::channel(interface.id());
    interface.attach(sink);
    let stop = CancellationToken::new();
    let running = interface.clone();
    let token = stop.clone();
    tokio::spawn(async move { running.run_monitor(monitor, token).await });
    (interface, events, stop)
}

async fn next_event(events: &mut crate::interface::EventReceiver) -> InterfaceEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("an event in time").unwrap().1
}

/// A stand-in supplicant for "wlan9" in `dir` and the interface opened on it, its monitor
/// running. Dropping it stops the monitor and removes `dir`.
struct Lab {
    dir: PathBuf,
    fake: FakeSupplicant,
    interface: Arc<WpaInterface>,
    events: crate::interface::EventReceiver,
    stop: CancellationToken,
}

impl Lab {
    async fn start(dir: PathBuf, state: FakeState) -> Lab {
        let fake = FakeSupplicant::start(&dir, "wlan9", state);
        let (interface, events, stop) = open(&dir, "wlan9").await;
        Lab { dir, fake, interface, events, stop }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn psk_params(passphrase: &str) -> ConnectParams {
    let ssid = Ssid::new(b"lab-wpa2").unwrap();
    ConnectParams::new(ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.as_bytes(), &ssid)))
}

fn open_params() -> ConnectParams {
    ConnectParams::new(ConnectRequest::open(Ssid::new(b"lab-open").unwrap()))
}

fn host_networks() -> FakeState {
    FakeState {
        networks: vec![(0, "home".into(), true), (1, "office".into(), false)],
        next_id: 2,
        ..FakeState::default()
    }
}

#[tokio::test]
async fn connect_then_guest_disconnect_restores_the_host_networks() {
    let mut lab = Lab::start(temp_dir("connect"), FakeState { on_select: "connect", ..host_networks() }).await;
    let Lab { fake, interface, events, .. } = &mut lab;

    let network = interface.connect(&psk_params("labpassword")).await.unwrap();
    assert_eq!(network.bssid, LAB_WPA2);
    match next_event(events).await {
        InterfaceEvent::HostConnected(host) => assert_eq!(host.ssid.as_bytes(), b"lab-wpa2"),
        other => panic!("{other:?}"),
    }
    let commands = fake.commands();
    assert!(commands.contains(&"SET_NETWORK 2 ssid 6c61622d77706132".to_owned()), "{commands:?}");
    assert!(commands.contains(&"SET_NETWORK 2 mem_only_psk 1".to_owned()), "{commands:?}");
    assert!(commands.contains(&"SET_NETWORK 2 key_mgmt WPA-PSK".to_owned()));
    assert!(
        commands
            .contains(&format!("SET_NETWORK 2 psk {}", Pmk::derive(b"labpassword", &network.ssid).to_hex().as_str()))
    );
    assert!(commands.contains(&"SELECT_NETWORK 2".to_owned()));
    assert!(interface.connection_to(&network.ssid).await.is_some(), "mirroring sees the connection");

    interface.disconnect().await.unwrap();
    let commands = fake.commands();
    let tail: Vec<&str> = commands.iter().map(String::as_str).filter(|c| c.contains("_NETWORK")).collect();
    assert!(tail.ends_with(&["REMOVE_NETWORK 2", "ENABLE_NETWORK 0"]), "{tail:?}");
    assert!(!commands.contains(&"ENABLE_NETWORK 1".to_owned()), "a network disabled before stays disabled");
    let networks = fake.state.lock().unwrap().networks.clone();
    assert_eq!(networks, vec![(0, "home".into(), true), (1, "office".into(), false)]);
    // Our own disconnection is not reported as a host disconnection: the monitor takes
    // events in order, so everything before the results of a later scan is all it made.
    fake.events.send("<3>CTRL-EVENT-SCAN-RESULTS ".into()).unwrap();
    loop {
        match next_event(events).await {
            InterfaceEvent::ScanResults(_) => break,
            InterfaceEvent::SignalQuality { .. } => {}
            event => panic!("unexpected {event:?}"),
        }
    }
}

/// Item 14: a SAVE_CONFIG by another tool during a guest connection writes neither the
/// guest's key nor, once the guest is gone, its temporary network or the disabled flags.
#[tokio::test]
async fn a_save_during_a_guest_connection_leaves_the_host_config_as_it_was() {
    let dir = temp_dir("save");
    let config = dir.join("wpas.conf");
    let state = FakeState { on_select: "connect", config: Some(config.clone()), ..host_networks() };
    let lab = Lab::start(dir, state).await;
    let Lab { fake, interface, .. } = &lab;
    interface.driver().set_config_file(config.clone());
    let saved_by_another_tool = || answer(&fake.state, "SAVE_CONFIG");
    saved_by_another_tool();
    let host_config = std::fs::read(&config).unwrap();
    let saves = || fake.commands().iter().filter(|c| *c == "SAVE_CONFIG").count();

    // Nobody saves during the connection: the service does not save either.
    interface.connect(&psk_params("labpassword")).await.unwrap();
    interface.disconnect().await.unwrap();
    assert_eq!(saves(), 1, "{:?}", fake.commands());
    assert_eq!(std::fs::read(&config).unwrap(), host_config);

    // Someone saves during it: the key is not in the file, and once the guest is gone
    // the file is the host's again, byte for byte.
    let network = interface.connect(&psk_params("labpassword")).await.unwrap();
    saved_by_another_tool();
    let during = std::fs::read_to_string(&config).unwrap();
    let pmk = Pmk::derive(b"labpassword", &network.ssid).to_hex().to_string();
    assert!(during.contains("ssid=6c61622d77706132") && !during.contains(&pmk), "{during}");
    interface.disconnect().await.unwrap();
    assert_eq!(
        String::from_utf8(std::fs::read(&config).unwrap()).unwrap(),
        String::from_utf8(host_config.clone()).unwrap()
    );

    // The same after a failed connect (the cleanup of a wrong key), saved in between.
    fake.state.lock().unwrap().on_select = "save-then-wrong-key";
    assert!(interface.connect(&psk_params("wrong password")).await.is_err());
    assert_eq!(saves(), 4, "the service saved again after the cleanup: {:?}", fake.commands());
    assert_eq!(std::fs::read(&config).unwrap(), host_config);

    // The same for an open network (which has no mem_only_psk to mark it).
    fake.state.lock().unwrap().on_select = "connect";
    interface.connect(&open_params()).await.unwrap();
    saved_by_another_tool();
    assert!(std::fs::read_to_string(&config).unwrap().contains("key_mgmt=NONE"));
    interface.disconnect().await.unwrap();
    assert_eq!(saves(), 6, "the service saved again after the open connection: {:?}", fake.commands());
    assert_eq!(std::fs::read(&config).unwrap(), host_config);
}

/// Issue 25 item 8: an SAE password that could only go as `sae_password` (written by a
/// `SAVE_CONFIG`) never reaches wpa_supplicant; the connect is refused with status 12.
#[tokio::test]
async fn an_sae_password_a_save_would_write_is_refused_before_wpa_supplicant() {
    let lab = Lab::start(temp_dir("sae"), FakeState { on_select: "connect", ..host_networks() }).await;
    let Lab { fake, interface, .. } = &lab;
    let sae = |password: &str| {
        ConnectParams::new(ConnectRequest::wpa3_sae(Ssid::new(b"lab-sae").unwrap(), password.as_bytes()).unwrap())
    };
    let before = fake.commands().len();
    let error = interface.connect(&sae("say \"hi\"")).await.unwrap_err();
    assert!(matches!(error, InterfaceError::Rejected { .. }), "{error}");
    assert_eq!(error.connect_failure().status_code(), proxy_wifi_protocol::StatusCode::DENIED_OTHER_REASON);
    assert_eq!(fake.commands()[before..], [] as [String; 0], "nothing sent to wpa_supplicant");
    // A password it holds in memory only goes through.
    interface.connect(&sae("correct horse")).await.unwrap();
    let commands = fake.commands();
    assert!(commands.contains(&"SET_NETWORK 2 mem_only_psk 1".to_owned()), "{commands:?}");
    assert!(!commands.iter().any(|c| c.contains("sae_password")), "{commands:?}");
    interface.disconnect().await.unwrap();
}

#[tokio::test]
async fn wrong_key_fails_and_cleans_up() {
    let lab = Lab::start(temp_dir("wrongkey"), FakeState { on_select: "wrong-key", ..host_networks() }).await;
    let Lab { fake, interface, .. } = &lab;
    let error = interface.connect(&psk_params("wrong password")).await.unwrap_err();
    assert!(matches!(&error, InterfaceError::WrongKey(reason) if reason.contains("WRONG_KEY")), "{error}");
    let commands = fake.commands();
    let tail: Vec<&str> = commands.iter().map(String::as_str).filter(|c| c.contains("_NETWORK")).collect();
    assert!(tail.ends_with(&["SELECT_NETWORK 2", "REMOVE_NETWORK 2", "ENABLE_NETWORK 0"]), "{tail:?}");
    // Nothing to undo on a later guest disconnect.
    interface.disconnect().await.unwrap();
    assert_eq!(fake.commands().len(), commands.len());
}

/// Issue 25 item 6: the guest's temporary network for an open network is open (key_mgmt
/// NONE) and wpa_supplicant joins it: no mem_only_psk, which makes wpa_supplicant ask for
/// a passphrase (CTRL-REQ-PSK_PASSPHRASE) instead of joining.
#[tokio::test]
async fn an_open_network_is_joined_as_open() {
    let lab = Lab::start(temp_dir("open"), FakeState { on_select: "connect", ..host_networks() }).await;
    let Lab { fake, interface, .. } = &lab;
    let network = interface.connect(&open_params()).await.unwrap();
    assert_eq!(network.ssid.as_bytes(), b"lab-open");
    let state = fake.state.lock().unwrap();
    assert_eq!(state.connected, Some(2));
    assert_eq!(state.was_set(2, "key_mgmt"), Some("NONE"), "{:?}", state.commands);
    assert_eq!(state.was_set(2, "mem_only_psk"), None, "{:?}", state.commands);
}

/// Issue 25 item 6: wpa_supplicant, busy, answers the cleanup's REMOVE_NETWORK after the
/// reply budget, while the service goes on with its next commands. Each of them still
/// gets its own reply, and the next guest's open network is created and joined as open.
#[tokio::test]
async fn a_late_reply_is_never_read_as_another_commands() {
    let budget = Duration::from_secs(1);
    let late = Some(("REMOVE_NETWORK", budget + Duration::from_millis(500)));
    let pace = Duration::from_millis(30);
    let state = FakeState { on_select: "wrong-key", late, pace, ..host_networks() };
    let lab = Lab::start(temp_dir("late"), state).await;
    let Lab { fake, interface, .. } = &lab;
    interface.driver().set_reply_budget(budget).await;
    let error = interface.connect(&psk_params("wrong password")).await.unwrap_err();
    assert!(matches!(&error, InterfaceError::WrongKey(_)), "{error}");

    // The next guest joins the open network at once.
    fake.state.lock().unwrap().on_select = "connect";
    let network = interface.connect(&open_params()).await.unwrap();
    assert_eq!(network.ssid.as_bytes(), b"lab-open");
    {
        let state = fake.state.lock().unwrap();
        assert_eq!(state.connected, Some(3), "{:?}", state.commands);
        assert_eq!(state.was_set(3, "ssid"), Some("6c61622d6f70656e"));
        assert_eq!(state.was_set(3, "key_mgmt"), Some("NONE"), "{:?}", state.commands);
        // The home network, enabled again after the wrong key, is to be enabled again after
        // this connection too (its LIST_NETWORKS got the list, not a late OK).
        assert_eq!(state.networks.iter().filter(|n| n.2).map(|n| n.0).collect::<Vec<_>>(), vec![3]);
    }
    interface.disconnect().await.unwrap();
    let commands = fake.commands();
    let tail: Vec<&str> = commands.iter().map(String::as_str).filter(|c| c.contains("_NETWORK")).collect();
    assert!(tail.ends_with(&["REMOVE_NETWORK 3", "ENABLE_NETWORK 0"]), "{tail:?}");
}

#[tokio::test]
async fn host_events_reach_the_handler() {
    let mut lab = Lab::start(temp_dir("host"), FakeState { connected: Some(0), ..host_networks() }).await;
    let Lab { fake, interface, events, .. } = &mut lab;
    // Already connected when added: reported once attached.
    let InterfaceEvent::HostConnected(host) = next_event(events).await else { panic!("no HostConnected") };
    assert_eq!((host.ssid.as_bytes(), host.bssid), (&b"lab-wpa2"[..], LAB_WPA2));

    // Signal polled while connected: -30 dBm is 100 %.
    assert_eq!(next_event(events).await, InterfaceEvent::SignalQuality { percent: 100 });

    // A scan answers from the BSS table at once; the supplicant's results come later.
    let results = interface.scan(Some(Ssid::new(b"lab-wpa2").unwrap())).await.unwrap();
    assert_eq!(results.status, ScanStatus::Completed);
    assert_eq!(results.bss.iter().map(|b| b.bssid).collect::<Vec<_>>(), vec![LAB_WPA2, Bssid([2, 0, 0, 0, 0, 0])]);
    assert!(fake.commands().contains(&"SCAN ssid 6c61622d77706132".to_owned()));
    fake.events.send("<3>CTRL-EVENT-SCAN-RESULTS ".into()).unwrap();
    let InterfaceEvent::ScanResults(pushed) = next_event(events).await else { panic!("no ScanResults") };
    assert_eq!(pushed.bss.len(), 2);

    // The AP drops the station: the handler hears of it.
    fake.ap_drops_station();
    assert_eq!(next_event(events).await, InterfaceEvent::HostDisconnected { ssid: host.ssid });
}

/// The cleanup after a host loss removes the temporary network of the lost connection,
/// never the one a guest's reconnect made in the meantime.
#[tokio::test]
async fn cleanup_after_a_host_loss_spares_the_network_of_a_reconnect() {
    let mut lab = Lab::start(temp_dir("loss"), FakeState { on_select: "connect", ..host_networks() }).await;
    let Lab { fake, interface, events, .. } = &mut lab;
    interface.connect(&psk_params("labpassword")).await.unwrap();
    // The AP drops the station: the handler hears of it, and the guest reconnects at once.
    fake.ap_drops_station();
    loop {
        if let InterfaceEvent::HostDisconnected { .. } = next_event(events).await {
            break;
        }
    }
    interface.connect(&psk_params("labpassword")).await.unwrap();
    // Once the cleanup ran: the reconnect's network (3) is still there and selected.
    let deadline = std::time::Instant::now() + crate::limits::HOST_LOSS_CLEANUP_DELAY + Duration::from_secs(10);
    while interface.driver().link.cleanups_done() == 0 {
        assert!(std::time::Instant::now() < deadline, "the cleanup after the loss did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let commands = fake.commands();
    let tail: Vec<&str> = commands.iter().map(String::as_str).filter(|c| c.contains("REMOVE_NETWORK")).collect();
    assert_eq!(tail, ["REMOVE_NETWORK 2"], "{commands:?}");
    assert_eq!(fake.state.lock().unwrap().connected, Some(3));
    // The guest's own disconnect removes it.
    interface.disconnect().await.unwrap();
    assert!(fake.commands().contains(&"REMOVE_NETWORK 3".to_owned()));
}

#[tokio::test]
async fn backend_follows_sockets_as_they_come_and_go() {
    let dir = temp_dir("follow");
    let (work, mut queue) = mpsc::channel(16);
    let registry = InterfaceRegistry::new(HandlerHandle::new(work));
    let backend = Box::new(WpaSupplicantBackend::new(&dir).wireless_only(false));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(backend.run(registry, shutdown.clone()));

    let fake = FakeSupplicant::start(&dir, "wlan9", host_networks());
    // Not a control socket of ours to use: a plain file is ignored.
    std::fs::write(dir.join("not-a-socket"), b"").unwrap();
    let added = tokio::time::timeout(Duration::from_secs(5), queue.recv()).await.unwrap().unwrap();
    let Work::AddInterface(interface) = added else { panic!("expected an arrival") };
    assert_eq!(interface.id(), WpaSupplicantBackend::interface_id("wlan9"));

    std::fs::remove_file(&fake.path).unwrap();
    let removed = tokio::time::timeout(Duration::from_secs(5), queue.recv()).await.unwrap().unwrap();
    assert!(matches!(removed, Work::RemoveInterface(id) if id == interface.id()));

    shutdown.cancel();
    running.await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
