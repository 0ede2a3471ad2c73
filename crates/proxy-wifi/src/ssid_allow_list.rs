//! Per-guest SSID allow-lists, as an observer rule: a guest given a list may connect
//! (guest-directed or mirrored) only to the networks on it; a guest without a list is
//! not restricted. Scans are not filtered: the guest still sees every network.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use proxy_wifi_protocol::Ssid;

use crate::identity::GuestId;
use crate::observer::{
    Authorization, ConnectRequestArgs, ConnectionArgs, DisconnectRequestArgs, Observer, OperationStatus, OperationType,
};

/// An [`Observer`] that denies connections to networks outside a guest's allow-list and
/// passes every callback (and the connections it allows) on to the application's
/// observer, if any. The lists may change while the service runs.
#[derive(Default)]
pub struct SsidAllowList {
    lists: RwLock<HashMap<GuestId, HashSet<Ssid>>>,
    next: Option<Arc<dyn Observer>>,
}

impl SsidAllowList {
    /// No guest restricted yet; every callback is the default.
    pub fn new() -> Self {
        Self::default()
    }

    /// No guest restricted yet; callbacks go on to `next`, which also decides the
    /// connections this rule allows.
    pub fn wrapping(next: Arc<dyn Observer>) -> Self {
        Self { lists: RwLock::default(), next: Some(next) }
    }

    /// From now on `guest` may connect only to `ssids` (replaces its previous list; an
    /// empty list allows no network).
    pub fn restrict(&self, guest: GuestId, ssids: impl IntoIterator<Item = Ssid>) {
        self.lists.write().unwrap_or_else(|p| p.into_inner()).insert(guest, ssids.into_iter().collect());
    }

    /// `guest` is no longer restricted.
    pub fn unrestrict(&self, guest: &GuestId) {
        self.lists.write().unwrap_or_else(|p| p.into_inner()).remove(guest);
    }

    /// The networks `guest` may join, sorted; `None` when it is not restricted.
    pub fn allowed(&self, guest: &GuestId) -> Option<Vec<Ssid>> {
        let lists = self.lists.read().unwrap_or_else(|p| p.into_inner());
        lists.get(guest).map(|set| {
            let mut list: Vec<Ssid> = set.iter().copied().collect();
            list.sort();
            list
        })
    }

    /// Passes a callback on to the application's observer, if any.
    fn forward(&self, call: impl FnOnce(&dyn Observer)) {
        if let Some(next) = &self.next {
            call(next.as_ref());
        }
    }

    /// Whether `guest` may join `ssid`.
    pub fn permits(&self, guest: &GuestId, ssid: &Ssid) -> bool {
        let lists = self.lists.read().unwrap_or_else(|p| p.into_inner());
        lists.get(guest).is_none_or(|allowed| allowed.contains(ssid))
    }
}

impl Observer for SsidAllowList {
    fn on_host_connection(&self, connection: &ConnectionArgs) {
        self.forward(|next| next.on_host_connection(connection));
    }

    fn on_host_disconnection(&self, connection: &ConnectionArgs) {
        self.forward(|next| next.on_host_disconnection(connection));
    }

    fn authorize_guest_connection_request(&self, kind: OperationType, request: &ConnectRequestArgs) -> Authorization {
        if !self.permits(&request.guest, &request.ssid) {
            tracing::info!(guest = %request.guest, ssid = %request.ssid, "network not on the guest's SSID allow-list");
            return Authorization::Deny;
        }
        match &self.next {
            Some(next) => next.authorize_guest_connection_request(kind, request),
            None => Authorization::Approve,
        }
    }

    fn on_guest_connection_completion(
        &self,
        kind: OperationType,
        status: OperationStatus,
        connection: &ConnectionArgs,
    ) {
        self.forward(|next| next.on_guest_connection_completion(kind, status, connection));
    }

    fn on_guest_disconnection_request(&self, kind: OperationType, request: &DisconnectRequestArgs) {
        self.forward(|next| next.on_guest_disconnection_request(kind, request));
    }

    fn on_guest_disconnection_completion(
        &self,
        kind: OperationType,
        status: OperationStatus,
        request: &DisconnectRequestArgs,
    ) {
        self.forward(|next| next.on_guest_disconnection_completion(kind, status, request));
    }

    fn on_guest_scan_request(&self, guest: &GuestId) {
        self.forward(|next| next.on_guest_scan_request(guest));
    }

    fn on_guest_scan_completion(&self, guest: &GuestId, status: OperationStatus) {
        self.forward(|next| next.on_guest_scan_completion(guest, status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interface::AuthAlgorithm;

    fn request(guest: u32, ssid: &str) -> ConnectRequestArgs {
        ConnectRequestArgs {
            guest: GuestId::Vsock(guest),
            interface: None,
            ssid: Ssid::new(ssid.as_bytes()).unwrap(),
            auth: AuthAlgorithm::Open,
        }
    }

    struct DenyAll;
    impl Observer for DenyAll {
        fn authorize_guest_connection_request(&self, _: OperationType, _: &ConnectRequestArgs) -> Authorization {
            Authorization::Deny
        }
    }

    #[test]
    fn a_listed_guest_joins_only_its_networks_and_others_are_free() {
        let rule = SsidAllowList::new();
        rule.restrict(GuestId::Vsock(3), [Ssid::new(b"Office").unwrap()]);
        let verdict =
            |guest, ssid| rule.authorize_guest_connection_request(OperationType::GuestDirected, &request(guest, ssid));
        assert_eq!(verdict(3, "Office"), Authorization::Approve);
        assert_eq!(verdict(3, "Cafe"), Authorization::Deny);
        assert_eq!(verdict(4, "Cafe"), Authorization::Approve, "guest 4 has no list");
        assert_eq!(rule.allowed(&GuestId::Vsock(3)), Some(vec![Ssid::new(b"Office").unwrap()]));
        rule.unrestrict(&GuestId::Vsock(3));
        assert_eq!(verdict(3, "Cafe"), Authorization::Approve);
        rule.restrict(GuestId::Vsock(3), []);
        assert_eq!(verdict(3, "Office"), Authorization::Deny, "an empty list allows nothing");
    }

    #[test]
    fn the_wrapped_observer_still_decides_what_the_list_allows() {
        let rule = SsidAllowList::wrapping(Arc::new(DenyAll));
        rule.restrict(GuestId::Vsock(3), [Ssid::new(b"Office").unwrap()]);
        let verdict = rule.authorize_guest_connection_request(OperationType::HostMirroring, &request(3, "Office"));
        assert_eq!(verdict, Authorization::Deny);
    }
}
