//! The client-provided fake networks interface.
//!
//! A callback of the application lists (SSID, BSSID) pairs. They are reported as
//! WPA2-PSK (RSN: CCMP group and pairwise, PSK), ESS + Privacy, −50 dBm, 5240 MHz;
//! always visible and always connected: connect and disconnect succeed as no-ops while
//! the network is listed. An SSID longer than 32 bytes is skipped. The interface id is
//! [`InterfaceId::FAKE_NETWORKS`]; it is always first in dispatch order.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use async_trait::async_trait;
use proxy_wifi_protocol::{Bssid, Ssid};

use super::bss::build_bss_entry;
use super::{
    AuthAlgorithm, ConnectParams, ConnectedNetwork, EventSink, InterfaceError, InterfaceId, ScanResults, ScanStatus,
    WifiInterface,
};

/// A network of the application's fake-network callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNetwork {
    /// SSID bytes (skipped if longer than 32).
    pub ssid: Vec<u8>,
    /// BSSID.
    pub bssid: Bssid,
}

impl FakeNetwork {
    /// A fake network.
    pub fn new(ssid: impl AsRef<[u8]>, bssid: Bssid) -> Self {
        Self { ssid: ssid.as_ref().to_vec(), bssid }
    }
}

/// Signal reported for fake networks.
pub const FAKE_NETWORK_RSSI_DBM: i32 = -50;
/// Frequency reported for fake networks.
pub const FAKE_NETWORK_FREQUENCY_MHZ: u32 = 5240;

/// The application's fake-network callback.
pub type FakeNetworkProvider = Arc<dyn Fn() -> Vec<FakeNetwork> + Send + Sync>;

/// Interface over the application's fake networks.
pub struct FakeNetworksInterface {
    provider: FakeNetworkProvider,
}

impl FakeNetworksInterface {
    /// Wraps the application's callback.
    pub fn new(provider: FakeNetworkProvider) -> Self {
        Self { provider }
    }

    /// The networks listed now; invalid SSIDs skipped; a panicking callback lists none.
    fn networks(&self) -> Vec<(Ssid, Bssid)> {
        let listed = match catch_unwind(AssertUnwindSafe(|| (self.provider)())) {
            Ok(listed) => listed,
            Err(_) => {
                tracing::error!("fake network provider panicked; no fake networks this time");
                return Vec::new();
            }
        };
        listed
            .into_iter()
            .filter_map(|n| match Ssid::new(&n.ssid) {
                Ok(ssid) => Some((ssid, n.bssid)),
                Err(error) => {
                    tracing::warn!(%error, "fake network skipped");
                    None
                }
            })
            .collect()
    }

    fn connected(ssid: Ssid, bssid: Bssid) -> ConnectedNetwork {
        ConnectedNetwork { ssid, bssid, auth: AuthAlgorithm::Wpa2Psk }
    }
}

#[async_trait]
impl WifiInterface for FakeNetworksInterface {
    fn id(&self) -> InterfaceId {
        InterfaceId::FAKE_NETWORKS
    }

    fn name(&self) -> String {
        "fake-networks".into()
    }

    fn backend(&self) -> &'static str {
        "fake-networks"
    }

    fn attach(&self, _events: EventSink) {}

    async fn connection_to(&self, ssid: &Ssid) -> Option<ConnectedNetwork> {
        self.networks().into_iter().find(|(s, _)| s == ssid).map(|(s, b)| Self::connected(s, b))
    }

    async fn scan(&self, _ssid: Option<Ssid>) -> Result<ScanResults, InterfaceError> {
        let bss = self
            .networks()
            .iter()
            .map(|(ssid, bssid)| {
                build_bss_entry(ssid, *bssid, AuthAlgorithm::Wpa2Psk, FAKE_NETWORK_FREQUENCY_MHZ, FAKE_NETWORK_RSSI_DBM)
            })
            .collect();
        Ok(ScanResults { bss, status: ScanStatus::Completed })
    }

    async fn connect(&self, params: &ConnectParams) -> Result<ConnectedNetwork, InterfaceError> {
        self.connection_to(&params.ssid).await.ok_or(InterfaceError::NetworkNotFound(params.ssid))
    }

    async fn disconnect(&self) -> Result<(), InterfaceError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wifi_protocol::{Capabilities, Security, SecurityKind};

    fn provider(list: Vec<(&'static str, [u8; 6])>) -> FakeNetworkProvider {
        Arc::new(move || list.iter().map(|(s, b)| FakeNetwork::new(s.as_bytes(), Bssid(*b))).collect())
    }

    #[tokio::test]
    async fn reports_wpa2_psk_at_5240_and_minus_50_and_skips_long_ssids() {
        let long = "x".repeat(33).leak() as &'static str;
        let fake = FakeNetworksInterface::new(provider(vec![("Corp", [2, 0, 0, 0, 0, 9]), (long, [2, 0, 0, 0, 0, 8])]));
        let results = fake.scan(None).await.unwrap();
        assert_eq!(results.status, ScanStatus::Completed);
        assert_eq!(results.bss.len(), 1);
        let entry = &results.bss[0];
        assert_eq!(entry.rssi_dbm, -50);
        assert_eq!(entry.frequency_khz, 5_240_000);
        assert_eq!(entry.capabilities, Capabilities::ESS | Capabilities::PRIVACY);
        assert_eq!(Security::from_bss(entry.capabilities, &entry.ies).kind, SecurityKind::Wpa2Psk);
        assert_eq!(entry.ssid().unwrap().as_bytes(), b"Corp");
    }

    #[tokio::test]
    async fn always_connected_to_listed_networks() {
        let fake = FakeNetworksInterface::new(provider(vec![("Corp", [2, 0, 0, 0, 0, 9])]));
        let corp = Ssid::new(b"Corp").unwrap();
        assert_eq!(fake.connection_to(&corp).await.unwrap().bssid, Bssid([2, 0, 0, 0, 0, 9]));
        assert_eq!(fake.connection_to(&Ssid::new(b"Other").unwrap()).await, None);
        assert!(fake.disconnect().await.is_ok());
    }

    #[tokio::test]
    async fn panicking_provider_lists_nothing() {
        let fake = FakeNetworksInterface::new(Arc::new(|| panic!("client bug")));
        assert!(fake.scan(None).await.unwrap().bss.is_empty());
    }
}
