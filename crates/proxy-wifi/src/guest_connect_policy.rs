//! Which connections a guest may make the host's Wi-Fi join: the operator's policy, applied
//! before the application's observer is asked, and shown in the status.
//!
//! A guest-directed connection moves a host interface to the guest's network: the host,
//! and every other guest sharing that interface, leave theirs. Mirroring (joining the
//! network the host is already on) never moves the host and is always allowed.

use std::collections::BTreeSet;
use std::str::FromStr;

use proxy_wifi_protocol::Ssid;

/// The operator's rule for guest-directed connections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GuestConnectPolicy {
    /// A guest may direct the host to any network (the original's behaviour; the
    /// observer, if any, still decides).
    #[default]
    Any,
    /// Only to the networks listed (the host's own, or those the operator trusts).
    AllowList(BTreeSet<Ssid>),
    /// Never: a guest only mirrors the network the host is on; the host is never moved.
    MirrorOnly,
}

impl GuestConnectPolicy {
    /// Whether a guest-directed connection to `ssid` is allowed; `Err` says why not.
    pub fn permits(&self, ssid: &Ssid) -> Result<(), String> {
        match self {
            GuestConnectPolicy::Any => Ok(()),
            GuestConnectPolicy::AllowList(list) if list.contains(ssid) => Ok(()),
            GuestConnectPolicy::AllowList(_) => {
                Err(format!("guest-connect = allow-list, and {ssid} is not on the list"))
            }
            GuestConnectPolicy::MirrorOnly => Err(format!(
                "guest-connect = mirror-only: the host is not connected to {ssid}, and guests may not move it"
            )),
        }
    }

    /// The policy's name: `any`, `allow-list` or `mirror-only`.
    pub fn name(&self) -> &'static str {
        match self {
            GuestConnectPolicy::Any => "any",
            GuestConnectPolicy::AllowList(_) => "allow-list",
            GuestConnectPolicy::MirrorOnly => "mirror-only",
        }
    }
}

/// `any`, `allow-list (Home, Office)`, `mirror-only`.
impl std::fmt::Display for GuestConnectPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestConnectPolicy::AllowList(list) => {
                let names: Vec<String> = list.iter().map(Ssid::to_string).collect();
                write!(f, "allow-list ({})", names.join(", "))
            }
            other => f.write_str(other.name()),
        }
    }
}

/// A policy name that is not one of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("guest-connect {0:?} is not one of: any, allow-list, mirror-only")]
pub struct BadPolicyName(pub String);

/// The policy kind from its name; an `allow-list` starts empty (see
/// [`GuestConnectPolicy::AllowList`]).
impl FromStr for GuestConnectPolicy {
    type Err = BadPolicyName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "any" => Ok(GuestConnectPolicy::Any),
            "allow-list" => Ok(GuestConnectPolicy::AllowList(BTreeSet::new())),
            "mirror-only" => Ok(GuestConnectPolicy::MirrorOnly),
            other => Err(BadPolicyName(other.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssid(name: &str) -> Ssid {
        Ssid::new(name.as_bytes()).unwrap()
    }

    #[test]
    fn each_policy_decides_guest_directed_connections() {
        assert_eq!(GuestConnectPolicy::Any.permits(&ssid("Cafe")), Ok(()));
        let list = GuestConnectPolicy::AllowList([ssid("Home")].into_iter().collect());
        assert_eq!(list.permits(&ssid("Home")), Ok(()));
        assert!(list.permits(&ssid("Cafe")).unwrap_err().contains("Cafe is not on the list"));
        assert!(GuestConnectPolicy::MirrorOnly.permits(&ssid("Home")).unwrap_err().contains("mirror-only"));
    }

    #[test]
    fn names_parse_and_display() {
        for name in ["any", "allow-list", "mirror-only"] {
            assert_eq!(name.parse::<GuestConnectPolicy>().unwrap().name(), name);
        }
        assert_eq!("all".parse::<GuestConnectPolicy>(), Err(BadPolicyName("all".into())));
        let list = GuestConnectPolicy::AllowList([ssid("B"), ssid("A")].into_iter().collect());
        assert_eq!(list.to_string(), "allow-list (A, B)");
    }
}
