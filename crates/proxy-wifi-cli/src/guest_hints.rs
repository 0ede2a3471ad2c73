//! What `proxy-wifi guest` says when the host or the notification port is not there:
//! the error, and what to check.

use std::io::ErrorKind;

use proxy_wifi_guest::GuestError;

use crate::cli::{GuestArgs, GuestTransportKind};

/// Why `guest scan` could not listen for late scan results, as far as the user cares.
#[derive(Debug, PartialEq, Eq)]
pub enum ListenerTrouble {
    /// Another program (usually `guest listen`) holds the notification port: expected in
    /// the README's three-terminal flow, so the scan stays quiet unless results come late.
    PortTaken(String),
    /// Any other error, worth a warning.
    Other(String),
}

/// Classifies a failure of [`proxy_wifi_guest::NotificationListener::bind`].
pub fn listener_trouble(error: &GuestError) -> ListenerTrouble {
    match error {
        GuestError::Bind { endpoint, source } if source.kind() == ErrorKind::AddrInUse => {
            ListenerTrouble::PortTaken(endpoint.to_string())
        }
        other => ListenerTrouble::Other(other.to_string()),
    }
}

/// The line `guest scan` prints when the host said more results were coming.
pub fn incomplete_scan_note(trouble: Option<&ListenerTrouble>) -> String {
    match trouble {
        Some(ListenerTrouble::PortTaken(endpoint)) => format!(
            "(the host said more results were coming; they go to {endpoint}, which another program \
             holds (a `guest listen`?), so these are the first answer only)"
        ),
        _ => "(the host said more results were coming; none completed the scan in time)".to_string(),
    }
}

/// Where `guest` looks for the host: what a "connection refused" hint names.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    transport: GuestTransportKind,
    host: std::net::IpAddr,
    cid: u32,
    request_port: u16,
}

impl Target {
    /// The host address flags of `args`.
    pub fn of(args: &GuestArgs) -> Target {
        Target { transport: args.transport, host: args.host, cid: args.cid, request_port: args.request_port }
    }
}

/// A guest client error, followed by what to check when the host could not be reached.
pub fn explain(error: GuestError, args: &Target) -> String {
    let refused = matches!(
        &error,
        GuestError::Connect { source, .. }
            if matches!(source.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset)
    );
    if !refused {
        return error.to_string();
    }
    let check = match args.transport {
        GuestTransportKind::Tcp => format!(
            "is `proxy-wifi serve` running? Start it in another terminal, or check --host ({}) and \
             --request-port ({}) against its banner",
            args.host, args.request_port
        ),
        GuestTransportKind::Vsock => format!(
            "is `proxy-wifi serve` running on the host? Check --cid ({}, the host is 2) and \
             --request-port ({}) against its banner",
            args.cid, args.request_port
        ),
    };
    format!("{error}\n  hint: {check}")
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::net::{Ipv4Addr, SocketAddr};

    use clap::Parser;
    use proxy_wifi_guest::Endpoint;

    use super::*;

    fn endpoint(port: u16) -> Endpoint {
        Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    fn guest_args(extra: &[&str]) -> Target {
        let cli = crate::cli::Cli::parse_from(["proxy-wifi", "guest"].iter().chain(extra).chain(&["scan"]));
        match cli.command {
            crate::cli::Command::Guest(args) => Target::of(&args),
            _ => unreachable!("parsed a guest command"),
        }
    }

    #[test]
    fn a_taken_port_is_not_a_warning_and_other_bind_errors_are() {
        let taken = GuestError::Bind { endpoint: endpoint(12346), source: io::Error::from(ErrorKind::AddrInUse) };
        assert_eq!(listener_trouble(&taken), ListenerTrouble::PortTaken("tcp:127.0.0.1:12346".into()));
        let note = incomplete_scan_note(Some(&listener_trouble(&taken)));
        assert!(note.contains("tcp:127.0.0.1:12346") && note.contains("guest listen"), "{note}");
        let denied = GuestError::Bind { endpoint: endpoint(80), source: io::Error::from(ErrorKind::PermissionDenied) };
        assert!(matches!(listener_trouble(&denied), ListenerTrouble::Other(text) if text.contains(":80")));
    }

    #[test]
    fn a_refused_connection_names_the_port_and_suggests_serve() {
        let args = guest_args(&["--request-port", "4000"]);
        let refused =
            GuestError::Connect { endpoint: endpoint(4000), source: io::Error::from(ErrorKind::ConnectionRefused) };
        let text = explain(refused, &args);
        assert!(text.contains("proxy-wifi serve") && text.contains("--request-port (4000)"), "{text}");
        let vsock = guest_args(&["--transport", "vsock", "--cid", "9"]);
        let refused =
            GuestError::Connect { endpoint: endpoint(12345), source: io::Error::from(ErrorKind::ConnectionRefused) };
        assert!(explain(refused, &vsock).contains("--cid (9, the host is 2)"));
        let other = GuestError::Connect { endpoint: endpoint(1), source: io::Error::from(ErrorKind::TimedOut) };
        assert!(!explain(other, &args).contains("hint"));
    }
}
