//! What a reply of wpa_supplicant can be, command by command.
//!
//! wpa_supplicant answers each command of a client with one datagram, in order. A reply
//! that arrives after its command was given up (or after the client stopped waiting for
//! it) must never be taken for the reply of the next command: an `OK` read as the id of
//! `ADD_NETWORK`, or an id read as the `OK` of a `SET_NETWORK`, puts the guest's settings
//! on the wrong network. [`fits`] tells whether a reply can be the answer to a command;
//! the client (ctrl.rs) discards the others as stale.

/// Whether `reply` can be wpa_supplicant's answer to `command`.
///
/// - `PING`: `PONG`;
/// - `ADD_NETWORK`: a network id;
/// - `STATUS`: `key=value` lines with `wpa_state=`;
/// - `LIST_NETWORKS`: the table with its header line;
/// - `BSS`: `key=value` lines starting with `id=`, or nothing (no such entry);
/// - `SIGNAL_POLL`: `key=value` lines starting with `RSSI=`;
/// - commands that only succeed or fail (`SET_NETWORK`, `SELECT_NETWORK`,
///   `ENABLE_NETWORK`, `REMOVE_NETWORK`, `SCAN`, `SAVE_CONFIG`, `ATTACH`, `DETACH`, ...):
///   `OK`;
/// - any command but `PING`: `FAIL` (or `FAIL-<reason>`), and `UNKNOWN COMMAND` from a
///   wpa_supplicant without it;
/// - any other command: anything.
pub(super) fn fits(command: &str, reply: &str) -> bool {
    let word = command.split_whitespace().next().unwrap_or_default();
    let text = reply.strip_suffix('\n').unwrap_or(reply);
    if word == "PING" {
        return text == "PONG";
    }
    if text.starts_with("FAIL") || text == "UNKNOWN COMMAND" {
        return true;
    }
    match word {
        "ADD_NETWORK" => !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
        "STATUS" => text.lines().any(|line| line.starts_with("wpa_state=")),
        "LIST_NETWORKS" => text.starts_with("network id / ssid / bssid / flags"),
        "BSS" => text.is_empty() || text.starts_with("id="),
        "SIGNAL_POLL" => text.starts_with("RSSI="),
        "SET_NETWORK" | "SELECT_NETWORK" | "ENABLE_NETWORK" | "DISABLE_NETWORK" | "REMOVE_NETWORK" | "SCAN"
        | "SAVE_CONFIG" | "ATTACH" | "DETACH" | "DISCONNECT" | "RECONNECT" | "REASSOCIATE" | "RECONFIGURE" => {
            text == "OK"
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::fits;

    macro_rules! recorded {
        ($name:literal) => {
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/wpa_supplicant/", $name))
        };
    }

    #[test]
    fn replies_recorded_from_wpa_supplicant_fit_their_commands() {
        assert!(fits("PING", "PONG\n"));
        assert!(fits("ADD_NETWORK", "2\n"));
        assert!(fits("STATUS", recorded!("status_connected_wpa2.txt")));
        assert!(fits("STATUS", recorded!("status_disconnected.txt")));
        assert!(fits("LIST_NETWORKS", recorded!("list_networks_connected.txt")));
        assert!(fits("LIST_NETWORKS", recorded!("list_networks_empty.txt")));
        assert!(fits("BSS RANGE=0- MASK=0x21987", recorded!("bss_range_all.txt")));
        assert!(fits("BSS RANGE=5- MASK=0x21987", ""));
        assert!(fits("SIGNAL_POLL", recorded!("signal_poll.txt")));
        assert!(fits("SET_NETWORK 2 ssid 6c61622d6f70656e", "OK\n"));
        assert!(fits("SELECT_NETWORK 2", "OK\n"));
        assert!(fits("REMOVE_NETWORK 2", "FAIL\n"));
        assert!(fits("SCAN", "FAIL-BUSY\n"));
        assert!(fits("BSS RANGE=0-", "UNKNOWN COMMAND\n"));
        assert!(fits("GET_NETWORK 0 ssid", "\"home\"\n"), "commands without a known shape take anything");
    }

    #[test]
    fn a_reply_to_another_command_does_not_fit() {
        // The desync of issue 25 item 6: each command reading the reply of the one before.
        assert!(!fits("ADD_NETWORK", "OK\n"));
        assert!(!fits("ADD_NETWORK", recorded!("list_networks_empty.txt")));
        assert!(!fits("SET_NETWORK 2 key_mgmt NONE", "2\n"));
        assert!(!fits("SELECT_NETWORK 2", "PONG\n"));
        assert!(!fits("LIST_NETWORKS", "OK\n"));
        assert!(!fits("STATUS", "OK\n"));
        assert!(!fits("STATUS", recorded!("signal_poll.txt")));
        assert!(!fits("SIGNAL_POLL", recorded!("status_disconnected.txt")));
        assert!(!fits("BSS RANGE=0-", "OK\n"));
        assert!(!fits("PING", "OK\n"));
        assert!(!fits("PING", "FAIL\n"));
        assert!(!fits("REMOVE_NETWORK 2", "3\n"));
    }
}
