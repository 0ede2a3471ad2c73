//! The request channel: one request, one answer per connection.

use proxy_wifi_protocol::{
    ConnectRequest, ConnectResponse, DisconnectRequest, GuestBound, HostBound, Operation, ScanRequest, ScanResponse,
    SessionId, Ssid,
};
use tokio::io::AsyncWriteExt;

use super::transport::{GuestStream, read_message_within};
use super::{Endpoint, GuestConfig, GuestError};

/// Sends requests to the host the way the `proxy_wifi` driver does.
///
/// Every request opens its own connection (within [`GuestConfig::connect_timeout`]),
/// writes the whole message (within [`GuestConfig::io_timeout`]), reads exactly one
/// answer (the whole read within [`GuestConfig::io_timeout`]) and closes the connection.
/// The client holds no socket between requests; it can be shared.
#[derive(Debug, Clone)]
pub struct GuestClient {
    config: GuestConfig,
}

impl GuestClient {
    /// A client with these settings. Nothing is connected until a request is sent.
    pub fn new(config: GuestConfig) -> Self {
        GuestClient { config }
    }

    /// The client's settings.
    pub fn config(&self) -> &GuestConfig {
        &self.config
    }

    /// Where requests are sent.
    pub fn endpoint(&self) -> Endpoint {
        self.config.request_endpoint()
    }

    /// Sends `message` on a new connection and returns the host's answer as is (including
    /// [`GuestBound::Invalid`]).
    pub async fn request(&self, message: &HostBound) -> Result<GuestBound, GuestError> {
        tracing::debug!(endpoint = %self.endpoint(), operation = %message.operation(), "sending request");
        self.exchange(&message.to_bytes()).await
    }

    /// Sends `bytes` as they are (possibly malformed, to test a host) on a new connection and
    /// returns the host's one answer.
    pub async fn request_raw(&self, bytes: &[u8]) -> Result<GuestBound, GuestError> {
        tracing::debug!(endpoint = %self.endpoint(), len = bytes.len(), "sending raw request");
        self.exchange(bytes).await
    }

    async fn exchange(&self, bytes: &[u8]) -> Result<GuestBound, GuestError> {
        let endpoint = self.endpoint();
        let mut stream = GuestStream::connect(endpoint, self.config.connect_timeout).await?;
        let timeout = self.config.io_timeout;
        let action = "sending the request";
        let sending = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(timeout, sending).await {
            Ok(Ok(())) => {}
            Ok(Err(source)) => return Err(GuestError::Io { action, endpoint, source }),
            Err(_) => return Err(GuestError::Timeout { action, endpoint, timeout }),
        }
        let answer = read_message_within(&mut stream, timeout, self.config.abi, endpoint, "reading the answer").await?;
        tracing::debug!(%endpoint, operation = %answer.operation(), "received answer");
        // Dropping the stream closes the connection: one request per connection.
        drop(stream);
        Ok(answer)
    }

    /// Scans for every network (`ssid = None`) or for one network (needed for hidden
    /// networks), and returns the host's answer; see [`super::scan_until_complete`] to wait
    /// for the rest of the results when `scan_complete` is false.
    pub async fn scan(&self, ssid: Option<Ssid>) -> Result<ScanResponse, GuestError> {
        match self.request(&HostBound::Scan(ScanRequest { ssid })).await? {
            GuestBound::ScanResponse(response) => Ok(response),
            other => Err(unexpected(Operation::ScanResponse, &other)),
        }
    }

    /// Asks the host to connect and returns its answer; a refusal is a [`ConnectResponse`]
    /// whose `result_code` is not success, not an error.
    pub async fn connect(&self, request: ConnectRequest) -> Result<ConnectResponse, GuestError> {
        match self.request(&HostBound::Connect(request)).await? {
            GuestBound::ConnectResponse(response) => Ok(response),
            other => Err(unexpected(Operation::ConnectResponse, &other)),
        }
    }

    /// Asks the host to end the connection of `session_id`.
    pub async fn disconnect(&self, session_id: SessionId) -> Result<(), GuestError> {
        match self.request(&HostBound::Disconnect(DisconnectRequest { session_id })).await? {
            GuestBound::DisconnectResponse => Ok(()),
            other => Err(unexpected(Operation::DisconnectResponse, &other)),
        }
    }
}

/// The error for an answer that is not the `expected` one.
fn unexpected(expected: Operation, got: &GuestBound) -> GuestError {
    match got {
        GuestBound::Invalid => GuestError::Invalid,
        other => GuestError::UnexpectedAnswer { expected, got: other.operation() },
    }
}
