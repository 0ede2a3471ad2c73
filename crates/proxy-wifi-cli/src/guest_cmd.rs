//! `proxy-wifi guest`: a client that behaves like the proxy_wifi driver.

use std::process::ExitCode;
use std::time::Duration;

use proxy_wifi::protocol::{AuthType, Bssid, ConnectRequest, Pmk, SessionId, Ssid, StatusCode};
use proxy_wifi_guest::{
    DEFAULT_SCAN_WAIT, GuestClient, GuestConfig, GuestTransport, NotificationListener, scan_until_complete,
};
use serde_json::json;

use crate::cli::{GuestArgs, GuestCommand, GuestTransportKind};
use crate::output::{self, Progress};
use crate::secret_input::{self, Secret};
use crate::{guest_hints, guest_session};

fn config(args: &GuestArgs) -> Result<GuestConfig, String> {
    let transport = match args.transport {
        GuestTransportKind::Tcp => GuestTransport::Tcp { host: args.host },
        #[cfg(target_os = "linux")]
        GuestTransportKind::Vsock => GuestTransport::Vsock { host_cid: args.cid },
        #[cfg(not(target_os = "linux"))]
        GuestTransportKind::Vsock => return Err("--transport vsock is available on Linux only".into()),
    };
    let mut config = GuestConfig::with_transport(transport);
    config.request_port = args.request_port;
    config.notification_port = args.notification_port;
    config.io_timeout = Duration::from_secs(args.timeout);
    config.abi = args.abi.into();
    config.notification_read_timeout = Duration::from_millis(args.notification_read_ms);
    Ok(config)
}

fn ssid_arg(text: &str) -> Result<Ssid, String> {
    Ssid::new(text.as_bytes()).map_err(|_| format!("SSID {text:?} is {} bytes long; at most 32", text.len()))
}

/// Builds the connect request a supplicant would send for these secrets; errors name
/// where a passphrase or SAE password came from ([`Secret::origin`]).
pub fn connect_request(
    ssid: Ssid,
    passphrase: Option<&Secret>,
    psk: Option<&str>,
    sae_password: Option<&Secret>,
    bssid: Option<Bssid>,
) -> Result<ConnectRequest, String> {
    let request = match (passphrase, psk, sae_password) {
        (Some(passphrase), None, None) => {
            let length = passphrase.text.len();
            if !(8..=63).contains(&length) {
                return Err(format!(
                    "{}: the passphrase has {length} characters; a WPA2 passphrase has 8 to 63 (or give --psk HEX64)",
                    passphrase.origin
                ));
            }
            ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.text.as_bytes(), &ssid))
        }
        (None, Some(hex), None) => {
            ConnectRequest::wpa2_psk(ssid, Pmk::from_hex(hex).map_err(|e| format!("--psk: {e}"))?)
        }
        (None, None, Some(password)) => ConnectRequest::wpa3_sae(ssid, password.text.as_bytes()).map_err(|_| {
            format!("{}: the SAE password is {} bytes long; at most 255", password.origin, password.text.len())
        })?,
        // What `iw connect` sends for an open network.
        (None, None, None) => ConnectRequest { auth_type: AuthType::Automatic, ..ConnectRequest::open(ssid) },
        _ => return Err("give at most one of --passphrase(-file), --psk, --sae-password(-file)".into()),
    };
    Ok(ConnectRequest { bssid: bssid.unwrap_or(Bssid::ZERO), ..request })
}

/// The class of a connect answer: `guest connect`'s exit status and what it means
/// (documented in `guest connect --help` and docs/connect-failures.md).
pub fn connect_class(code: StatusCode) -> (u8, &'static str) {
    match code {
        StatusCode::SUCCESS => (0, "connected"),
        StatusCode::CHALLENGE_FAILURE => (4, "wrong key"),
        StatusCode::DENIED_OTHER_REASON => (5, "denied by the host's policy"),
        StatusCode::DENIED_NO_MORE_STAS => (5, "denied: the host's interfaces serve other guests"),
        StatusCode::REJECTED_SEQUENCE_TIMEOUT => (6, "timed out"),
        StatusCode::INVALID_AKMP => (7, "security mismatch"),
        StatusCode::UNSPECIFIED_FAILURE => (3, "refused without a reason code"),
        _ => (3, "refused by the network"),
    }
}

/// What to check after a failed connect, where the code alone does not say it.
pub fn connect_hint(code: StatusCode) -> Option<&'static str> {
    match code {
        StatusCode::INVALID_AKMP => Some(
            "the network's security is not the one asked for: give --passphrase or --psk for WPA2-PSK, \
             --sae-password for WPA3-SAE, none for an open network (`guest scan` shows SECURITY)",
        ),
        StatusCode::UNSPECIFIED_FAILURE => Some(
            "the usual causes are a network the host does not see (`guest scan` lists those it sees) or a \
             host Wi-Fi interface that is gone; on the host, `proxy-wifi ctl status` and the service's log \
             (journalctl -u proxy-wifi) say which",
        ),
        _ => None,
    }
}

/// Runs a guest subcommand.
pub async fn run(args: GuestArgs) -> Result<ExitCode, String> {
    if let GuestCommand::Doctor { json } = args.command {
        return crate::doctor::run(&args, json).await;
    }
    let config = config(&args)?;
    let client = GuestClient::new(config.clone());
    let target = guest_hints::Target::of(&args);
    let session_file = guest_session::file_for(&config.request_endpoint().to_string());
    match args.command {
        GuestCommand::Scan { ssid, json, no_wait } => {
            let ssid = ssid.as_deref().map(ssid_arg).transpose()?;
            let mut trouble = None;
            let mut listener = if no_wait {
                None
            } else {
                match NotificationListener::bind(&config).await {
                    Ok(listener) => Some(listener),
                    Err(error) => {
                        let found = guest_hints::listener_trouble(&error);
                        if let guest_hints::ListenerTrouble::Other(error) = &found {
                            tracing::warn!(%error, "cannot listen for scan-results notifications; showing the first answer only");
                        }
                        trouble = Some(found);
                        None
                    }
                }
            };
            let progress = Progress::start("waiting for scan results");
            let outcome = scan_until_complete(&client, listener.as_mut(), ssid, DEFAULT_SCAN_WAIT)
                .await
                .map_err(|e| guest_hints::explain(e, &target))?;
            drop(progress);
            let mut outcome = outcome;
            if let Some(ssid) = ssid {
                // The host may answer a targeted scan with every network it sees.
                outcome.bss.retain(|b| b.ssid() == Some(ssid));
            }
            if json {
                let value = json!({
                    "complete": outcome.completed,
                    "networks": outcome.bss.iter().map(output::bss_json).collect::<Vec<_>>(),
                });
                crate::say!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else {
                crate::output::write_stdout(format_args!("{}", output::bss_table(&outcome.bss)));
                if !outcome.completed {
                    eprintln!("{}", guest_hints::incomplete_scan_note(trouble.as_ref()));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        GuestCommand::Connect {
            ssid,
            passphrase,
            passphrase_file,
            psk,
            sae_password,
            sae_password_file,
            bssid,
            json,
        } => {
            // The process holds a key from here on.
            crate::no_dump::forbid("guest client");
            let ssid = ssid_arg(&ssid)?;
            let bssid = bssid.as_deref().map(|b| b.parse::<Bssid>().map_err(|e| e.to_string())).transpose()?;
            let prompt = |what: &str| format!("{what} for {ssid}");
            let passphrase = secret_input::choose(
                "--passphrase",
                passphrase,
                "--passphrase-file",
                passphrase_file.as_deref(),
                &prompt("passphrase"),
            )?;
            let sae_password = secret_input::choose(
                "--sae-password",
                sae_password,
                "--sae-password-file",
                sae_password_file.as_deref(),
                &prompt("SAE password"),
            )?;
            let request = connect_request(ssid, passphrase.as_ref(), psk.as_deref(), sae_password.as_ref(), bssid)?;
            let progress = Progress::start("connecting");
            let response = client.connect(request).await.map_err(|e| guest_hints::explain(e, &target))?;
            drop(progress);
            let success = response.result_code.is_success();
            let (exit, class) = connect_class(response.result_code);
            if let (true, Some(file)) = (success, &session_file) {
                guest_session::remember(file, response.session_id.0);
            }
            if json {
                let value = json!({
                    "success": success,
                    "result_code": response.result_code.0,
                    "result_name": response.result_code.name(),
                    "class": class,
                    "bssid": response.bssid.to_string(),
                    "session_id": response.session_id.0,
                });
                crate::say!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else if success {
                crate::say!(
                    "connected to {ssid} ({}), result 0 (success), session {}",
                    response.bssid,
                    response.session_id
                );
            } else {
                eprintln!(
                    "connect to {ssid} failed: {class}: result {}, session {}",
                    response.result_code, response.session_id
                );
                if let Some(hint) = connect_hint(response.result_code) {
                    eprintln!("  hint: {hint}");
                }
            }
            Ok(ExitCode::from(exit))
        }
        GuestCommand::Disconnect { session, json } => {
            let current = session_file.as_deref().and_then(guest_session::recall);
            client.disconnect(SessionId(session)).await.map_err(|e| guest_hints::explain(e, &target))?;
            if let (Some(file), true) = (&session_file, current.is_none_or(|c| session >= c)) {
                guest_session::forget(file);
            }
            if json {
                crate::say!("{}", json!({"disconnected": true, "session_id": session}));
            } else {
                crate::say!("{}", guest_session::disconnect_text(session, current));
            }
            Ok(ExitCode::SUCCESS)
        }
        GuestCommand::Doctor { .. } => unreachable!("handled above"),
        GuestCommand::Listen { json, count, duration } => {
            let mut listener = NotificationListener::bind(&config).await.map_err(|e| e.to_string())?;
            eprintln!("listening for notifications on {}", listener.local_endpoint());
            let deadline = duration.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
            let mut received = 0u64;
            while count.is_none_or(|c| received < c) {
                let next = match deadline {
                    Some(deadline) => match tokio::time::timeout_at(deadline, listener.next()).await {
                        Ok(next) => next,
                        Err(_) => break,
                    },
                    None => listener.next().await,
                };
                let message = next.map_err(|e| e.to_string())?;
                received += 1;
                if json {
                    crate::say!("{}", output::notification_json(&message));
                } else {
                    crate::say!("{}", output::notification_text(&message));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use proxy_wifi::protocol::HostBound;

    use super::*;

    fn given(text: &str) -> Secret {
        Secret { text: zeroize::Zeroizing::new(text.to_owned()), origin: "--passphrase".into() }
    }

    #[test]
    fn passphrase_gives_the_vector_pmk() {
        let ssid = Ssid::new(b"FakeWpa2Psk").unwrap();
        let r = connect_request(ssid, Some(&given("secretsecret")), None, None, None).unwrap();
        let bytes = HostBound::Connect(r).to_bytes();
        let vector = "036c00000001000b46616b655770613250736b00000000000000000000000000000000000000000000000000000000020102ac0f00000000000104ac0f000000000000000000000000000000000004ac0f002038b4872e652742beaeb9d49376e5e987b74b844b262cd6a223b7413b00ce036f";
        assert_eq!(hex::encode(bytes), vector);
    }

    #[test]
    fn secrets_are_validated() {
        let ssid = Ssid::new(b"N").unwrap();
        let short = connect_request(ssid, Some(&given("short")), None, None, None).unwrap_err();
        assert!(short.starts_with("--passphrase: the passphrase has 5 characters") && short.contains("8 to 63"));
        assert!(connect_request(ssid, None, Some("12"), None, None).unwrap_err().contains("64 hex digits"));
        let open = connect_request(ssid, None, None, None, None).unwrap();
        assert_eq!(open.auth_type, AuthType::Automatic);
    }
}
