//! Why a guest's connect request failed, and the IEEE 802.11 status code that tells the
//! guest (docs/connect-failures.md has the table and the reasons for each choice).
//!
//! The guest's kernel hands the code to wpa_supplicant and NetworkManager as the status
//! of a rejected association, so each cause gets the code of IEEE 802.11-2020 Table 9-50
//! that says the closest thing; what no code describes gets 1 (unspecified failure).

use proxy_wifi_protocol::StatusCode;

/// The cause of a failed connect request, as far as the host knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectFailure {
    /// The network refused the key (wrong passphrase, PSK or SAE password).
    WrongKey,
    /// No interface sees the network.
    NetworkNotFound,
    /// The application's observer denied the connection.
    DeniedByObserver,
    /// Every interface that could have served it backs another guest's connection
    /// (the multi-guest isolation rule).
    InterfaceBusy,
    /// The interface did not connect within the deadline.
    TimedOut,
    /// The interface went away, its Wi-Fi service is unavailable, or there is none.
    InterfaceGone,
    /// The network rejected the association with this status code.
    Rejected(StatusCode),
    /// Anything else (a backend error, an unsupported security).
    Unspecified,
}

impl ConnectFailure {
    /// The status code the guest is answered with.
    pub fn status_code(self) -> StatusCode {
        match self {
            ConnectFailure::WrongKey => StatusCode::CHALLENGE_FAILURE,
            ConnectFailure::DeniedByObserver => StatusCode::DENIED_OTHER_REASON,
            ConnectFailure::InterfaceBusy => StatusCode::DENIED_NO_MORE_STAS,
            ConnectFailure::TimedOut => StatusCode::REJECTED_SEQUENCE_TIMEOUT,
            ConnectFailure::Rejected(code) if !code.is_success() => code,
            ConnectFailure::NetworkNotFound
            | ConnectFailure::InterfaceGone
            | ConnectFailure::Rejected(_)
            | ConnectFailure::Unspecified => StatusCode::UNSPECIFIED_FAILURE,
        }
    }

    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            ConnectFailure::WrongKey => "wrong-key",
            ConnectFailure::NetworkNotFound => "network-not-found",
            ConnectFailure::DeniedByObserver => "denied-by-observer",
            ConnectFailure::InterfaceBusy => "interface-busy",
            ConnectFailure::TimedOut => "timed-out",
            ConnectFailure::InterfaceGone => "interface-gone",
            ConnectFailure::Rejected(_) => "rejected",
            ConnectFailure::Unspecified => "unspecified",
        }
    }

    /// How far an attempt got: when every interface failed, the guest is told the cause
    /// of the attempt that got furthest (a wrong key says more than "not found" on
    /// another interface).
    fn progress(self) -> u8 {
        match self {
            ConnectFailure::Unspecified => 0,
            ConnectFailure::NetworkNotFound => 1,
            ConnectFailure::InterfaceGone => 2,
            ConnectFailure::InterfaceBusy => 3,
            ConnectFailure::TimedOut => 4,
            ConnectFailure::Rejected(_) => 5,
            ConnectFailure::WrongKey => 6,
            ConnectFailure::DeniedByObserver => 7,
        }
    }

    /// The more telling of two causes (the one whose attempt got further); on a tie, `self`.
    pub fn or_further(self, other: ConnectFailure) -> ConnectFailure {
        if other.progress() > self.progress() { other } else { self }
    }
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_has_its_code_and_one_is_kept_for_the_rest() {
        let table = [
            (ConnectFailure::WrongKey, 15),
            (ConnectFailure::DeniedByObserver, 12),
            (ConnectFailure::InterfaceBusy, 17),
            (ConnectFailure::TimedOut, 16),
            (ConnectFailure::NetworkNotFound, 1),
            (ConnectFailure::InterfaceGone, 1),
            (ConnectFailure::Unspecified, 1),
            (ConnectFailure::Rejected(StatusCode(30)), 30),
            (ConnectFailure::Rejected(StatusCode::SUCCESS), 1),
        ];
        for (cause, code) in table {
            assert_eq!(cause.status_code(), StatusCode(code), "{cause}");
        }
    }

    #[test]
    fn the_attempt_that_got_furthest_is_reported() {
        let mut cause = ConnectFailure::Unspecified;
        for next in [ConnectFailure::NetworkNotFound, ConnectFailure::WrongKey, ConnectFailure::InterfaceGone] {
            cause = cause.or_further(next);
        }
        assert_eq!(cause, ConnectFailure::WrongKey);
        assert_eq!(
            ConnectFailure::NetworkNotFound.or_further(ConnectFailure::Unspecified),
            ConnectFailure::NetworkNotFound
        );
    }
}
