//! Streams of the guest side (TCP or vsock) and reading one whole message from them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use proxy_wifi_protocol::{GuestAbi, GuestBound, HEADER_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{Endpoint, GuestError};

/// A connected stream of one of the guest's transports.
#[derive(Debug)]
pub(crate) enum GuestStream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A vsock connection.
    #[cfg(target_os = "linux")]
    Vsock(tokio_vsock::VsockStream),
}

impl GuestStream {
    /// Connects to `endpoint`, giving up after `timeout`.
    pub(crate) async fn connect(endpoint: Endpoint, timeout: Duration) -> Result<GuestStream, GuestError> {
        let connecting = async {
            match endpoint {
                Endpoint::Tcp(addr) => TcpStream::connect(addr).await.map(GuestStream::Tcp),
                #[cfg(target_os = "linux")]
                Endpoint::Vsock { cid, port } => {
                    tokio_vsock::VsockStream::connect(tokio_vsock::VsockAddr::new(cid, port))
                        .await
                        .map(GuestStream::Vsock)
                }
            }
        };
        match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(source)) => Err(GuestError::Connect { endpoint, source }),
            Err(_) => Err(GuestError::ConnectTimeout { endpoint, timeout }),
        }
    }
}

impl AsyncRead for GuestStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GuestStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(target_os = "linux")]
            GuestStream::Vsock(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for GuestStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            GuestStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(target_os = "linux")]
            GuestStream::Vsock(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GuestStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(target_os = "linux")]
            GuestStream::Vsock(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            GuestStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(target_os = "linux")]
            GuestStream::Vsock(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Reads exactly one host-to-guest message from `stream`, with `timeout` on the whole read.
///
/// The header is read and checked by [`Header::decode_as`] (which caps the body size) before
/// the body buffer is allocated; an invalid header fails at once, without waiting for a
/// body. The message is read in the layout `abi`. Bytes after the message are left unread.
pub(crate) async fn read_message_within<R>(
    stream: &mut R,
    timeout: Duration,
    abi: GuestAbi,
    endpoint: Endpoint,
    action: &'static str,
) -> Result<GuestBound, GuestError>
where
    R: AsyncRead + Unpin,
{
    match tokio::time::timeout(timeout, read_message(stream, abi, endpoint, action)).await {
        Ok(result) => result,
        Err(_) => Err(GuestError::Timeout { action, endpoint, timeout }),
    }
}

async fn read_message<R>(
    stream: &mut R,
    abi: GuestAbi,
    endpoint: Endpoint,
    action: &'static str,
) -> Result<GuestBound, GuestError>
where
    R: AsyncRead + Unpin,
{
    let mut header_bytes = [0u8; HEADER_LEN];
    read_part(stream, &mut header_bytes, endpoint, action, "header").await?;
    let header = GuestBound::decode_header_as(&header_bytes, abi).map_err(|source| GuestError::Decode {
        action,
        endpoint,
        source,
    })?;
    let mut body = vec![0u8; header.body_len()];
    read_part(stream, &mut body, endpoint, action, "body").await?;
    GuestBound::decode_body_as(header, &body, abi).map_err(|source| GuestError::Decode { action, endpoint, source })
}

/// Fills `buf`, telling how much arrived if the peer closes first.
async fn read_part<R>(
    stream: &mut R,
    buf: &mut [u8],
    endpoint: Endpoint,
    action: &'static str,
    part: &'static str,
) -> Result<(), GuestError>
where
    R: AsyncRead + Unpin,
{
    let mut received = 0;
    while received < buf.len() {
        match stream.read(&mut buf[received..]).await {
            Ok(0) => return Err(GuestError::Closed { action, endpoint, part, received, expected: buf.len() }),
            Ok(n) => received += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(GuestError::Io { action, endpoint, source }),
        }
    }
    Ok(())
}
