//! Which guests a bound transport accepts, and changing them while it runs.

use crate::guest_set::{GuestChangeError, GuestList, GuestSet};
use crate::identity::GuestId;

/// Changes the guests a bound transport accepts while the service runs.
pub(crate) trait GuestAdmission: Send + Sync + 'static {
    /// Accepts `guest` from its next connection; false when it already was.
    fn add(&self, guest: GuestId) -> Result<bool, GuestChangeError>;
    /// Refuses `guest` from its next connection; false when it was not listed.
    fn remove(&self, guest: &GuestId) -> Result<bool, GuestChangeError>;
    /// The guests accepted now.
    fn list(&self) -> GuestList;
}

/// Whether a transport's guests can be added and removed while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Changes {
    /// `ctl guest add` and `remove` work.
    Allowed,
    /// The guests were fixed when the transport was bound.
    Fixed,
}

/// The form of guest a transport serves, as `ctl guest add` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuestKind {
    /// `tcp:IP`.
    Tcp,
    /// `vsock:CID`.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Vsock,
    /// `hyperv:GUID`.
    #[cfg_attr(not(windows), allow(dead_code))]
    HyperV,
    /// `hybrid-vsock:PATH`.
    #[cfg_attr(not(unix), allow(dead_code))]
    HybridVsock,
}

impl GuestKind {
    /// The transport's name, as `--transport` spells it.
    pub(crate) fn transport(self) -> &'static str {
        match self {
            GuestKind::Tcp => "tcp",
            GuestKind::Vsock => "vsock",
            GuestKind::HyperV => "hyperv",
            GuestKind::HybridVsock => "hybrid-vsock",
        }
    }

    fn form(self) -> &'static str {
        match self {
            GuestKind::Tcp => "tcp:IP",
            GuestKind::Vsock => "vsock:CID",
            GuestKind::HyperV => "hyperv:GUID",
            GuestKind::HybridVsock => "hybrid-vsock:PATH",
        }
    }

    /// Whether `guest` is of this form.
    fn fits(self, guest: &GuestId) -> bool {
        matches!(
            (self, guest),
            (GuestKind::Tcp, GuestId::Tcp(_))
                | (GuestKind::Vsock, GuestId::Vsock(_))
                | (GuestKind::HyperV, GuestId::HyperV(_))
                | (GuestKind::HybridVsock, GuestId::HybridVsock(_))
        )
    }

    /// The guests a transport of this kind accepts now, as `ctl guest list` shows them.
    fn guest_list(self, any_guest: bool, listed: Vec<GuestId>, changes: Changes) -> GuestList {
        GuestList { transport: self.transport().into(), any_guest, listed, changeable: changes == Changes::Allowed }
    }

    /// Refuses a guest this transport cannot serve.
    pub(crate) fn check(self, guest: &GuestId) -> Result<(), GuestChangeError> {
        if !self.fits(guest) {
            return Err(GuestChangeError::WrongKind {
                guest: guest.clone(),
                transport: self.transport(),
                expected: self.form(),
            });
        }
        if *guest == GuestId::Vsock(u32::MAX) {
            return Err(GuestChangeError::Reserved { guest: guest.clone(), why: "VMADDR_CID_ANY, every CID" });
        }
        Ok(())
    }
}

/// Guests listed in a shared [`GuestSet`] that the transport's accept filter reads
/// (vsock CIDs, TCP source addresses), plus every guest when `any_guest`.
pub(crate) struct ListedGuests {
    pub(crate) kind: GuestKind,
    pub(crate) set: GuestSet,
    pub(crate) any_guest: bool,
}

impl GuestAdmission for ListedGuests {
    fn add(&self, guest: GuestId) -> Result<bool, GuestChangeError> {
        self.kind.check(&guest)?;
        Ok(self.set.insert(guest))
    }

    fn remove(&self, guest: &GuestId) -> Result<bool, GuestChangeError> {
        self.kind.check(guest)?;
        Ok(self.set.remove(guest))
    }

    fn list(&self) -> GuestList {
        self.kind.guest_list(self.any_guest, self.set.list(), Changes::Allowed)
    }
}

/// Guests fixed when the transport was bound.
pub(crate) struct FixedGuests {
    pub(crate) kind: GuestKind,
    pub(crate) listed: Vec<GuestId>,
    pub(crate) any_guest: bool,
    /// Which guests, for the refusal.
    pub(crate) what: &'static str,
    /// How to start a service whose guests can change.
    pub(crate) hint: &'static str,
}

impl FixedGuests {
    fn refuse(&self) -> GuestChangeError {
        GuestChangeError::Fixed { transport: self.kind.transport(), what: self.what, hint: self.hint }
    }
}

impl GuestAdmission for FixedGuests {
    fn add(&self, _guest: GuestId) -> Result<bool, GuestChangeError> {
        Err(self.refuse())
    }

    fn remove(&self, _guest: &GuestId) -> Result<bool, GuestChangeError> {
        Err(self.refuse())
    }

    fn list(&self) -> GuestList {
        self.kind.guest_list(self.any_guest, self.listed.clone(), Changes::Fixed)
    }
}

/// The VMM sockets of a hybrid-vsock transport: adding one starts its listener,
/// removing one stops it.
#[cfg(unix)]
pub(crate) struct HybridVsockGuests(pub(crate) super::hybrid_vsock::HybridSockets);

#[cfg(unix)]
impl GuestAdmission for HybridVsockGuests {
    fn add(&self, guest: GuestId) -> Result<bool, GuestChangeError> {
        GuestKind::HybridVsock.check(&guest)?;
        let GuestId::HybridVsock(socket) = &guest else { unreachable!("checked above") };
        self.0.add(socket).map_err(|source| GuestChangeError::Listen { guest: guest.clone(), source })
    }

    fn remove(&self, guest: &GuestId) -> Result<bool, GuestChangeError> {
        GuestKind::HybridVsock.check(guest)?;
        let GuestId::HybridVsock(socket) = guest else { unreachable!("checked above") };
        Ok(self.0.remove(socket))
    }

    fn list(&self) -> GuestList {
        let sockets = self.0.list().into_iter().map(GuestId::HybridVsock).collect();
        GuestKind::HybridVsock.guest_list(false, sockets, Changes::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_transport_takes_only_its_own_kind_of_guest() {
        let guests = ListedGuests { kind: GuestKind::Vsock, set: GuestSet::default(), any_guest: false };
        assert!(guests.add(GuestId::Vsock(7)).unwrap());
        assert!(!guests.add(GuestId::Vsock(7)).unwrap(), "already listed");
        let wrong = guests.add(GuestId::HybridVsock("/run/vm.sock".into())).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "hybrid-vsock:/run/vm.sock cannot be served by the vsock transport of this service; give a vsock:CID guest"
        );
        assert!(guests.add(GuestId::Vsock(u32::MAX)).unwrap_err().to_string().contains("VMADDR_CID_ANY"));
        assert_eq!(guests.list().listed, [GuestId::Vsock(7)]);
        assert!(guests.remove(&GuestId::Vsock(7)).unwrap() && !guests.remove(&GuestId::Vsock(7)).unwrap());
    }

    #[test]
    fn fixed_guests_say_how_to_get_a_changeable_list() {
        let fixed = FixedGuests {
            kind: GuestKind::Tcp,
            listed: vec![GuestId::Tcp("127.0.0.1".parse().unwrap())],
            any_guest: false,
            what: "one guest",
            hint: "use TransportSettings::TcpListed",
        };
        let error = fixed.add(GuestId::Tcp("127.0.0.2".parse().unwrap())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the tcp transport of this service serves one guest, fixed at start; use TransportSettings::TcpListed"
        );
        assert!(!fixed.list().changeable);
    }
}
