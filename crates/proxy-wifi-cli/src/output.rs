//! Output helpers: scan tables, JSON values, progress on a terminal.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use proxy_wifi::protocol::{BssEntry, GuestBound, Security, channel_from_frequency_mhz};
use serde_json::{Value, json};

/// Writes to stdout; a closed pipe (`proxy-wifi guest scan | head -1`) ends the
/// program quietly instead of panicking like `print!` would.
pub fn write_stdout(args: fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(args).and_then(|_| stdout.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {error}");
        std::process::exit(1);
    }
}

/// `println!` through [`write_stdout`].
#[macro_export]
macro_rules! say {
    () => { $crate::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// One scan entry as JSON.
pub fn bss_json(entry: &BssEntry) -> Value {
    let security = Security::from_bss(entry.capabilities, &entry.ies);
    let ssid = entry.ssid();
    let rsn = security.rsn.as_ref();
    json!({
        "ssid": ssid.map(|s| s.to_string()),
        "bssid": entry.bssid.to_string(),
        "frequency_mhz": entry.frequency_mhz(),
        "channel": channel_from_frequency_mhz(entry.frequency_mhz()),
        "rssi_dbm": entry.rssi_dbm,
        "security": security.kind.to_string(),
        "capabilities": format!("{:#06x}", entry.capabilities.0),
        "akm_suites": rsn.map(|r| r.akm_suites.iter().map(|a| a.label()).collect::<Vec<_>>()),
        "pairwise_ciphers": rsn.map(|r| r.pairwise_ciphers.iter().map(|c| c.label()).collect::<Vec<_>>()),
        "group_cipher": rsn.map(|r| r.group_cipher.label()),
    })
}

/// A scan result as a text table.
pub fn bss_table(entries: &[BssEntry]) -> String {
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let mhz = e.frequency_mhz();
            [
                e.ssid().map_or_else(|| "(no SSID element)".into(), |s| s.to_string()),
                e.bssid.to_string(),
                mhz.to_string(),
                channel_from_frequency_mhz(mhz).map_or("?".into(), |c| c.to_string()),
                e.rssi_dbm.to_string(),
                Security::from_bss(e.capabilities, &e.ies).kind.to_string(),
            ]
        })
        .collect();
    let header = ["SSID", "BSSID", "MHz", "CH", "dBm", "SECURITY"];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// A notification as JSON.
pub fn notification_json(message: &GuestBound) -> Value {
    match message {
        GuestBound::ScanResponse(r) => json!({
            "type": "scan-results",
            "scan_complete": r.scan_complete,
            "networks": r.bss.iter().map(bss_json).collect::<Vec<_>>(),
        }),
        GuestBound::NotifDisconnected(n) => json!({"type": "disconnected", "session_id": n.session_id.0}),
        GuestBound::NotifSignalQuality(n) => json!({"type": "signal", "signal_dbm": n.signal_dbm}),
        other => json!({"type": other.operation().name()}),
    }
}

/// A notification as one text line.
pub fn notification_text(message: &GuestBound) -> String {
    match message {
        GuestBound::ScanResponse(r) => {
            let names: Vec<String> =
                r.bss.iter().map(|b| b.ssid().map_or_else(|| b.bssid.to_string(), |s| s.to_string())).collect();
            format!(
                "scan-results: {} network(s){}: {}",
                r.bss.len(),
                if r.scan_complete { ", complete" } else { ", more coming" },
                names.join(", ")
            )
        }
        GuestBound::NotifDisconnected(n) => format!("disconnected: session {}", n.session_id),
        GuestBound::NotifSignalQuality(n) => format!("signal: {} dBm", n.signal_dbm),
        other => format!("{}", other.operation()),
    }
}

/// Shows "label… Ns" on stderr while a wait lasts more than a second, on a terminal only.
pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts showing progress for `label` (nothing in pipes).
    pub fn start(label: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { task: None };
        }
        let started = Instant::now();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            loop {
                eprint!("\r{label}… {}s ", started.elapsed().as_secs());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi::protocol::Bssid;

    #[test]
    fn table_has_a_header_and_one_row_per_network() {
        let entry = proxy_wifi::build_bss_entry(
            &proxy_wifi::protocol::Ssid::new(b"Home").unwrap(),
            Bssid([2, 0, 0, 0, 0, 1]),
            proxy_wifi::AuthAlgorithm::Wpa2Psk,
            2437,
            -40,
        );
        let table = bss_table(std::slice::from_ref(&entry));
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("SSID"));
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["Home", "02:00:00:00:00:01", "2437", "6", "-40", "WPA2-PSK"]
        );
        assert_eq!(bss_json(&entry)["channel"], 6);
        assert_eq!(bss_json(&entry)["akm_suites"][0], "PSK");
    }
}
