//! `serve --metrics ADDR`: Prometheus text at `http://ADDR/metrics`, served with hyper
//! (HTTP/1.1), the metrics encoded by `prometheus-client` from the service's registry.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;
use proxy_wifi::ServiceHandle;
use tokio::net::TcpListener;

/// The content type of Prometheus' text exposition format, as `prometheus-client` writes it.
const CONTENT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Checks `--metrics ADDR`: a loopback address unless `allow_remote`.
pub fn check_address(address: SocketAddr, allow_remote: bool) -> Result<(), String> {
    if address.ip().is_loopback() || allow_remote {
        return Ok(());
    }
    Err(format!(
        "--metrics {address}: not a loopback address; the metrics name guests and networks, so they are served \
         on loopback only (e.g. --metrics 127.0.0.1:9560) unless --metrics-allow-remote is given"
    ))
}

/// A running metrics endpoint; stops when dropped.
pub struct MetricsServer {
    task: tokio::task::JoinHandle<()>,
    /// The bound address (useful with port 0).
    pub address: SocketAddr,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(registry: &Registry, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content: &'static str, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(content));
        response
    };
    if request.uri().path() != "/metrics" {
        return reply(StatusCode::NOT_FOUND, "text/plain", "not found; the metrics are at /metrics\n".into());
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET /metrics\n".into());
    }
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, registry) {
        Ok(()) => reply(StatusCode::OK, CONTENT, text),
        Err(error) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("cannot encode: {error}\n")),
    }
}

/// Starts serving `service`'s metrics on `address` (checked with [`check_address`] before).
pub async fn start(address: SocketAddr, service: &ServiceHandle) -> Result<MetricsServer, String> {
    let listener =
        TcpListener::bind(address).await.map_err(|e| format!("--metrics {address}: cannot listen there: {e}"))?;
    let address = listener.local_addr().map_err(|e| format!("--metrics {address}: {e}"))?;
    let mut registry = Registry::default();
    service.register_metrics(&mut registry);
    let registry = Arc::new(registry);
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "metrics: accept failed");
                    continue;
                }
            };
            let registry = registry.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let response = answer(&registry, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "metrics: connection ended with an error");
                }
            });
        }
    });
    Ok(MetricsServer { task, address })
}

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn only_loopback_unless_allowed() {
        assert!(check_address("127.0.0.1:9560".parse().unwrap(), false).is_ok());
        assert!(check_address("[::1]:9560".parse().unwrap(), false).is_ok());
        let refused = check_address("0.0.0.0:9560".parse().unwrap(), false).unwrap_err();
        assert!(refused.starts_with("--metrics 0.0.0.0:9560: not a loopback address"), "{refused}");
        assert!(refused.contains("--metrics-allow-remote"), "{refused}");
        assert!(check_address("0.0.0.0:9560".parse().unwrap(), true).is_ok());
    }
}
