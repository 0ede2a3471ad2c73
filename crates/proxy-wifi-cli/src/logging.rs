//! Log setup: tracing-subscriber on stderr, text or JSON, optional ETW on Windows.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::cli::LogFormat;

/// A log sink.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the global subscriber. `RUST_LOG` overrides the level chosen by -v / -q.
pub fn init(verbose: u8, quiet: bool, format: LogFormat, etw: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let mut layers: Vec<BoxedLayer> = vec![match format {
        LogFormat::Text => fmt.with_filter(filter()).boxed(),
        LogFormat::Json => fmt.json().with_filter(filter()).boxed(),
    }];
    if etw {
        match etw_layer() {
            Some(layer) => layers.push(layer.with_filter(filter()).boxed()),
            None => eprintln!("warning: --etw needs a Windows build with the `etw` feature; ETW logging is off"),
        }
    }
    tracing_subscriber::registry().with(layers).init();
}

#[cfg(not(all(windows, feature = "etw")))]
fn etw_layer() -> Option<BoxedLayer> {
    None
}

#[cfg(all(windows, feature = "etw"))]
fn etw_layer() -> Option<BoxedLayer> {
    match proxy_wifi::etw_layer::<Registry>() {
        Ok(layer) => Some(layer.boxed()),
        Err(error) => {
            eprintln!("warning: cannot register the ETW provider: {error}");
            None
        }
    }
}
