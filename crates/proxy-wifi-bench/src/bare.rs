//! The bare server: a tokio server of the service's own shape with no work to do, which
//! tells what the runtime itself costs (the real limit is [`crate::minimal`]).
//!
//! It accepts a connection, reads the whole request using the header's size, writes a
//! precomputed answer chosen by the request's operation code, and closes. It runs on
//! its own thread with a multi-thread tokio runtime of the same flavour and worker count
//! as the service's (2 workers), and listens with the same backlog (1024) and
//! `TCP_NODELAY` on accepted sockets, so the only difference left is the service's work.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread;

use proxy_wifi::protocol::{HEADER_LEN, MAX_REQUEST_BODY_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::wire::{INVALID, OP_CONNECT_REQUEST, OP_DISCONNECT_REQUEST, OP_SCAN_REQUEST};

/// Thread names of the bare server's runtime (for CPU accounting).
pub const THREAD_NAME: &str = "bare-worker";

/// The precomputed answers of a bare server, by request operation.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// Answer to a scan request (header + body).
    pub scan: Vec<u8>,
    /// Answer to a connect request.
    pub connect: Vec<u8>,
    /// Answer to a disconnect request.
    pub disconnect: Vec<u8>,
}

/// A running bare server; stops when dropped.
pub struct BareServer {
    addr: SocketAddr,
    stop: CancellationToken,
    thread: Option<thread::JoinHandle<()>>,
}

impl BareServer {
    /// Starts a bare server on 127.0.0.1 (free port) with `worker_threads` workers.
    pub fn start(answers: Answers, worker_threads: usize) -> io::Result<BareServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()?;
        let listener = {
            // Registers with this runtime's reactor; works from inside another runtime.
            let _context = runtime.enter();
            let socket = TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
            socket.listen(1024)?
        };
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let token = stop.clone();
        let answers = std::sync::Arc::new(answers);
        let thread = thread::Builder::new().name("bare-server".into()).spawn(move || {
            // Like the service: the accept loop is a task on the workers, not the
            // `block_on` thread.
            runtime.block_on(async move {
                let _ = tokio::spawn(accept_loop(listener, answers, token)).await;
            });
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        })?;
        Ok(BareServer { addr, stop, thread: Some(thread) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, answers: std::sync::Arc<Answers>, token: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = token.cancelled() => break,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let answers = answers.clone();
        tokio::spawn(async move {
            let _ = serve(stream, &answers).await;
        });
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One connection: header, body of the declared size (capped), the precomputed answer, close.
async fn serve(mut stream: TcpStream, answers: &Answers) -> io::Result<()> {
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header).await?;
    let size = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    if size > MAX_REQUEST_BODY_LEN {
        return stream.write_all(&INVALID).await;
    }
    let mut body = [0u8; MAX_REQUEST_BODY_LEN as usize];
    stream.read_exact(&mut body[..size as usize]).await?;
    stream.write_all(answer_for(header[0], answers)).await
}

fn answer_for(operation: u8, answers: &Answers) -> &[u8] {
    match operation {
        OP_SCAN_REQUEST => &answers.scan,
        OP_CONNECT_REQUEST => &answers.connect,
        OP_DISCONNECT_REQUEST => &answers.disconnect,
        _ => &INVALID,
    }
}
