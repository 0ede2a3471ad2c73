//! Networks, interfaces and fakes shared by the backend and whole-service tests.

use proxy_wifi_protocol::{Bssid, ConnectRequest, Pmk, Ssid};
use uuid::Uuid;

use super::fake::{FakeBss, FakeWlanApi};

pub(super) const IF1: Uuid = Uuid::from_u128(0x5d2f_8a10_33c4_4b7e_9f21_6c0a_d1e4_7b01);
pub(super) const IF2: Uuid = Uuid::from_u128(0x5d2f_8a10_33c4_4b7e_9f21_6c0a_d1e4_7b02);
pub(super) const IF3: Uuid = Uuid::from_u128(0x5d2f_8a10_33c4_4b7e_9f21_6c0a_d1e4_7b03);

pub(super) const HOME_PASSPHRASE: &str = "correct horse battery";
pub(super) const LAB_PASSWORD: &str = "sae <&> password";

pub(super) fn bssid(last: u8) -> Bssid {
    Bssid([0x02, 0x1a, 0x11, 0, 0, last])
}

pub(super) fn ssid(s: &str) -> Ssid {
    Ssid::new(s.as_bytes()).unwrap()
}

pub(super) fn home() -> FakeBss {
    FakeBss::wpa2_psk("home", bssid(1), HOME_PASSPHRASE).at(2437, -48)
}

pub(super) fn cafe() -> FakeBss {
    FakeBss::open("cafe", bssid(2)).at(5745, -71)
}

pub(super) fn corp() -> FakeBss {
    FakeBss::enterprise("corp", bssid(3)).at(5180, -60)
}

pub(super) fn lab() -> FakeBss {
    FakeBss::wpa3_sae("lab", bssid(4), LAB_PASSWORD).at(5955, -66)
}

pub(super) fn hidden() -> FakeBss {
    FakeBss::wpa2_psk("hidden", bssid(5), "hidden passphrase").hidden()
}

pub(super) fn psk_request(name: &str, passphrase: &str) -> ConnectRequest {
    let ssid = ssid(name);
    ConnectRequest::wpa2_psk(ssid, Pmk::derive(passphrase.as_bytes(), &ssid))
}

pub(super) fn fake_with(interfaces: &[Uuid], known: Vec<FakeBss>, in_range: Vec<FakeBss>) -> FakeWlanApi {
    let fake = FakeWlanApi::new();
    for &guid in interfaces {
        fake.insert_interface(guid);
    }
    for bss in known {
        fake.add_known_network(bss);
    }
    for bss in in_range {
        fake.add_network(bss);
    }
    fake
}
