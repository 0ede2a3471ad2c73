//! What `serve` says it serves (its banner), and why it could not start.

use std::io::ErrorKind;
use std::path::Path;

use proxy_wifi::ServiceError;

use crate::cli::TransportKind;
use crate::config_file::SettingSources;

/// What the service serves, as the banner names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// Simulated mode, with these SSIDs.
    Simulated(String),
    /// Host mode with a Wi-Fi backend, and these fake networks (maybe none).
    HostWifi { fake: String },
    /// Host mode without a backend: the fake networks only.
    FakeOnly(String),
}

impl std::fmt::Display for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Served::Simulated(ssids) => write!(f, "simulated Wi-Fi ({ssids})"),
            Served::HostWifi { fake } if fake.is_empty() => f.write_str("the host's Wi-Fi"),
            Served::HostWifi { fake } => write!(f, "the host's Wi-Fi and fake networks ({fake})"),
            Served::FakeOnly(fake) => write!(f, "fake networks only ({fake}; no host Wi-Fi service found)"),
        }
    }
}

/// The service's start error, and for a taken port which port and which flag changes it.
pub fn start_error(error: ServiceError, kind: TransportKind, request_port: u16) -> String {
    let taken = matches!(&error, ServiceError::Transport { source, .. } if source.kind() == ErrorKind::AddrInUse);
    if !taken {
        return error.to_string();
    }
    let who = match (kind, crate::port_holder::describe(kind, request_port)) {
        (_, Some(holder)) => format!("held by {holder}"),
        (TransportKind::Tcp, None) => format!("`ss -ltnp 'sport = :{request_port}'` shows which program"),
        (TransportKind::Vsock, None) => "`ss -lp --vsock` shows which program".to_string(),
        (TransportKind::Hyperv | TransportKind::HybridVsock, None) => "another `proxy-wifi serve`?".to_string(),
    };
    let activation = match kind {
        TransportKind::Vsock | TransportKind::Tcp => {
            "\n  hint: if it is not another proxy-wifi, a local user may have taken the port to receive the \
             guests' requests (keys included): socket activation (proxy-wifi.socket, ListenStream=) holds the \
             port from boot and across restarts so that nobody else can"
        }
        TransportKind::Hyperv | TransportKind::HybridVsock => "",
    };
    format!(
        "{error}\n  hint: request port {request_port} is taken ({who}); give another with --request-port \
         (`request-port` in a config file), and the same port to the guest (`guest --request-port`){activation}"
    )
}

/// The banner line naming the config file read, and the settings of it that flags overrode
/// along with their own (`dropped`).
pub fn file_banner(file: &Path, dropped: &[String]) -> String {
    let also = match dropped {
        [] => String::new(),
        names => format!("; not used with the flags given: {}", names.join(", ")),
    };
    format!("settings from config file {} (flags given override it{also})", file.display())
}

/// An error of `serve`, naming the config file and the settings taken from it when one was
/// read (unless the error names the file already): any of them may be the cause.
pub fn naming_the_file(error: String, sources: &SettingSources) -> String {
    let Some(file) = sources.file() else { return error };
    let path = file.display().to_string();
    if error.contains(&path) {
        return error;
    }
    let settings = sources.file_settings();
    let from_file = if settings.is_empty() { "no setting".to_string() } else { settings.join(", ") };
    format!(
        "{error}\n  note: settings read from config file {path}: {from_file}; a flag given on the command line \
         overrides the file, --no-config ignores it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_config_file_and_its_settings() {
        let mut args = crate::config_override::tests_support::default_serve_args();
        let path = Path::new("/etc/proxy-wifi/proxy-wifi.toml");
        let (sources, _) = crate::config_file::apply(path, "mode = \"host\"\n", &mut args, Default::default()).unwrap();
        let text = naming_the_file("no Linux Wi-Fi service found".into(), &sources);
        assert!(text.contains("config file /etc/proxy-wifi/proxy-wifi.toml: mode;"), "{text}");
        let named = format!("x = 1 (config file {}, line 1)", path.display());
        assert_eq!(naming_the_file(named.clone(), &sources), named);
        let none = crate::config_file::SettingSources::command_line(Default::default());
        assert_eq!(naming_the_file("e".into(), &none), "e");
        assert!(file_banner(path, &["backend".into()]).ends_with("not used with the flags given: backend)"));
    }

    #[test]
    fn a_taken_port_names_the_port_and_the_flag() {
        let taken = || ServiceError::Transport {
            transport: "tcp".into(),
            source: std::io::Error::new(ErrorKind::AddrInUse, "Address already in use (os error 98)"),
        };
        let text = start_error(taken(), TransportKind::Tcp, 31345);
        assert!(text.contains("request port 31345 is taken") && text.contains("--request-port"), "{text}");
        assert!(text.contains("sport = :31345"), "{text}");
        assert!(start_error(taken(), TransportKind::Vsock, 7).contains("--vsock"));
        let other = ServiceError::Transport { transport: "tcp".into(), source: ErrorKind::PermissionDenied.into() };
        assert!(!start_error(other, TransportKind::Tcp, 80).contains("hint"));
    }

    #[test]
    fn the_banner_says_when_only_fake_networks_are_served() {
        assert_eq!(Served::HostWifi { fake: String::new() }.to_string(), "the host's Wi-Fi");
        let fake_only = Served::FakeOnly("Lab".into()).to_string();
        assert!(fake_only.starts_with("fake networks only (Lab") && !fake_only.contains("host's Wi-Fi"), "{fake_only}");
        assert!(Served::HostWifi { fake: "Lab".into() }.to_string().contains("and fake networks (Lab)"));
    }
}
