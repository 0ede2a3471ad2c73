//! The minimal server: the real limit of this protocol on this machine.
//!
//! A small pool of plain threads, each blocking in `accept`, then reading the request with
//! the protocol crate's codec (header check, then exactly the declared body), encoding the
//! answer with the codec into a reused buffer, writing it and closing: no runtime, no task,
//! no queue, no allocation per request. Its answers are the service's own messages (decoded
//! from what the service answered before the rounds and checked to re-encode to the very
//! same bytes), so both servers put the same bytes on the wire.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use proxy_wifi::protocol::{Decoded, GuestBound, HEADER_LEN, HostBound, MAX_REQUEST_BODY_LEN};

use crate::bare::Answers;

/// Thread names of the minimal server (for CPU accounting).
pub const THREAD_PREFIX: &str = "minimal-";

/// What the minimal server answers, as messages of the codec.
#[derive(Debug, Clone)]
pub struct Replies {
    scan: GuestBound,
    connect: GuestBound,
    disconnect: GuestBound,
}

impl Replies {
    /// Decodes the service's captured answers; fails unless each re-encodes to the same bytes.
    pub fn from_answers(answers: &Answers) -> Result<Replies, String> {
        let decode = |name: &str, bytes: &[u8]| match GuestBound::decode_frame(bytes) {
            Ok(Decoded::Complete { message, consumed }) if consumed == bytes.len() => {
                if message.to_bytes() == bytes {
                    Ok(message)
                } else {
                    Err(format!("the {name} answer does not re-encode to the service's bytes"))
                }
            }
            Ok(_) => Err(format!("the {name} answer of {} bytes is not one whole message", bytes.len())),
            Err(error) => Err(format!("the {name} answer does not decode: {error}")),
        };
        Ok(Replies {
            scan: decode("scan", &answers.scan)?,
            connect: decode("connect", &answers.connect)?,
            disconnect: decode("disconnect", &answers.disconnect)?,
        })
    }

    fn to(&self, request: &HostBound) -> &GuestBound {
        match request {
            HostBound::Scan(_) => &self.scan,
            HostBound::Connect(_) => &self.connect,
            HostBound::Disconnect(_) => &self.disconnect,
        }
    }
}

/// A running minimal server; stops when dropped.
pub struct MinimalServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl MinimalServer {
    /// Starts a minimal server on 127.0.0.1 (free port) with `threads` threads.
    pub fn start(replies: Replies, threads: usize) -> io::Result<MinimalServer> {
        // std's listen backlog (128) is ample for the bench's 16 clients.
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let replies = Arc::new(replies);
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let listener = listener.try_clone()?;
            let (replies, stop) = (replies.clone(), stop.clone());
            handles.push(thread::Builder::new().name(format!("{THREAD_PREFIX}{i}")).spawn(move || {
                let mut out = Vec::with_capacity(64 * 1024);
                while !stop.load(Ordering::Relaxed) {
                    if let Ok((stream, _)) = listener.accept() {
                        let _ = serve(stream, &replies, &mut out);
                    }
                }
            })?);
        }
        Ok(MinimalServer { addr, stop, threads: handles })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MinimalServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake every thread blocked in accept.
        for _ in &self.threads {
            let _ = TcpStream::connect(self.addr);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One connection: the request through the codec, the answer encoded into `out`, close.
fn serve(mut stream: TcpStream, replies: &Replies, out: &mut Vec<u8>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header)?;
    out.clear();
    match HostBound::decode_header(&header) {
        Ok(header) => {
            let mut body = [0u8; MAX_REQUEST_BODY_LEN as usize];
            let body = &mut body[..header.body_len()];
            stream.read_exact(body)?;
            match HostBound::decode_body(header, body) {
                Ok(request) => replies.to(&request).encode(out),
                Err(_) => GuestBound::Invalid.encode(out),
            }
        }
        Err(_) => GuestBound::Invalid.encode(out),
    }
    stream.write_all(out)
}
