//! ETW output for the service's logs (feature `etw`, Windows only).
//!
//! [`layer`] gives a `tracing` layer that writes every event as a TraceLogging ETW event
//! of the provider **`proxy-wifi`**. TraceLogging derives the provider GUID from the name,
//! so collectors can name it directly, e.g.
//!
//! ```text
//! wpr -start <profile with provider "*proxy-wifi">      (or)
//! tracelog -start proxywifi -f proxywifi.etl -guid *proxy-wifi
//! ```
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let etw = proxy_wifi::etw_layer().expect("ETW provider");
//! tracing_subscriber::registry().with(etw).init();
//! ```

use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The ETW provider name of the service.
pub const PROVIDER_NAME: &str = "proxy-wifi";

/// Why the ETW layer could not be built.
pub type EtwError = tracing_etw::error::EtwError;

/// A `tracing` layer writing events to the ETW provider [`PROVIDER_NAME`].
pub fn layer<S>() -> Result<impl Layer<S> + Send + Sync + 'static, EtwError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
{
    tracing_etw::LayerBuilder::new(PROVIDER_NAME).build()
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::prelude::*;

    /// The provider registers (`EventRegister`, `EventSetInformation`) and events and spans
    /// go through `EventWriteTransfer`: this links and runs with both toolchains (under Wine
    /// ETW is a stub, so nothing is collected there; a real session is for real Windows).
    #[test]
    fn the_layer_registers_the_provider_and_writes_events() {
        let layer = super::layer().expect("the ETW provider registers");
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("guest request", guest = "tcp:127.0.0.1");
            let _entered = span.enter();
            tracing::info!(ssid = "LabNet", signal_dbm = -60, "an event for ETW");
            tracing::warn!("a warning inside a span");
        });
    }
}
