//! Codec for the `proxy_wifi` wire protocol, version 0.1.
//!
//! The Linux `proxy_wifi` guest driver forwards Wi-Fi control operations to a host
//! service over two stream channels. This crate turns the untrusted bytes of that
//! protocol into typed messages and typed messages into the exact bytes the driver
//! accepts. It performs no I/O: transports feed it bytes through
//! [`HostBound::decode_frame`] (or [`HostBound::decode_header`] +
//! [`HostBound::decode_body`]) and write what [`GuestBound::encode`] produces; a guest
//! does the same with the two types swapped.
//!
//! The direction is in the types: [`HostBound`] holds the requests a guest sends,
//! [`GuestBound`] the answers and notifications the host sends. Decoding one can never
//! yield the other.
//!
//! Every length and count is checked before use, and the body size a header declares
//! is capped (per operation and per direction) before anything is allocated.
//!
//! ```
//! use proxy_wifi_protocol::{Decoded, GuestBound, HostBound, ScanRequest, Ssid};
//!
//! let request = HostBound::Scan(ScanRequest { ssid: Some(Ssid::new(b"HiddenNet").unwrap()) });
//! let bytes = request.to_bytes();
//! assert!(GuestBound::decode_frame(&bytes).is_err(), "a request is never host-sent");
//! match HostBound::decode_frame(&bytes).unwrap() {
//!     Decoded::Complete { message, consumed } => {
//!         assert_eq!(message, request);
//!         assert_eq!(consumed, bytes.len());
//!     }
//!     Decoded::Incomplete { .. } => unreachable!(),
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod abi;
mod channel;
mod connect;
mod disconnect;
mod error;
mod framing;
mod he;
mod header;
mod ie;
mod key;
mod message;
mod notification;
mod reader;
mod scan;
mod suites;
mod types;

pub use abi::{GuestAbi, UnknownGuestAbi};
pub use channel::{channel_from_frequency_mhz, is_frequency_supported_by_guest};
pub use connect::{ConnectRequest, ConnectResponse, MAX_AKM_SUITES, MAX_PAIRWISE_CIPHER_SUITES, StatusCode};
pub use disconnect::DisconnectRequest;
pub use error::DecodeError;
pub use framing::Decoded;
pub use he::{
    ElementIdExtension, REGULATORY_INFO_INDOOR_AP, REGULATORY_INFO_STANDARD_POWER_AP, SixGhzChannelWidth,
    SixGhzOperation, push_he_capabilities_element, push_he_operation_element, six_ghz_primary_channel,
};
pub use header::{
    DEFAULT_NOTIFICATION_PORT, DEFAULT_REQUEST_PORT, HEADER_LEN, Header, MAX_REQUEST_BODY_LEN,
    MAX_SCAN_RESPONSE_BODY_LEN, Operation, PROTOCOL_VERSION,
};
pub use ie::{ElementId, InformationElements, RsnElement, Security, SecurityKind, push_rsn_element, push_ssid_element};
pub use key::{InvalidPmkHex, Key, KeyTooLong, MAX_KEY_LEN, Pmk};
pub use message::{Frame, GuestBound, HostBound};
pub use notification::{DisconnectedNotification, SignalQualityNotification, dbm_to_link_quality, link_quality_to_dbm};
pub use scan::{
    BSS_ENTRY_LEN, BssEntry, Capabilities, LEGACY_SCAN_RESPONSE_FIXED_LEN, SCAN_RESPONSE_FIXED_LEN, ScanRequest,
    ScanResponse, ScanResponseBuilder,
};
pub use suites::{AkmSuite, CipherSuite};
pub use types::{AuthType, Bssid, InvalidBssid, MAX_SSID_LEN, SessionId, Ssid, SsidTooLong, WpaVersions};
