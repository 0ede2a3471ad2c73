//! Serves a guest with the host's real Wi-Fi through a Linux backend.
//!
//! ```text
//! linux_host [--transport vsock|tcp] [--guest-cid N] [--backend auto|wpa-supplicant|networkmanager]
//!            [--wpa-ctrl-dir DIR] [--duration SECONDS]
//! ```
//!
//! Prints `serving host <backend>` once listening, then serves until `--duration`
//! seconds have passed (default: a day) or the process is killed. The guest side is `proxy-wifi guest ...` (or [`proxy_wifi_guest::GuestClient`]).
//! Logs go to stderr; `RUST_LOG` filters them (default `info`).

#[cfg(target_os = "linux")]
mod linux {
    use std::path::PathBuf;
    use std::time::Duration;

    use proxy_wifi::{BackendChoice, select_backend};
    use proxy_wifi::{OperationMode, Service, TransportSettings};

    struct Args {
        tcp: bool,
        guest_cid: u32,
        backend: String,
        ctrl_dir: Option<PathBuf>,
        duration: Duration,
    }

    fn parse_args() -> Result<Args, String> {
        let mut args = Args {
            tcp: false,
            guest_cid: 3,
            backend: "auto".into(),
            ctrl_dir: None,
            duration: Duration::from_secs(86_400),
        };
        let mut words = std::env::args().skip(1);
        while let Some(word) = words.next() {
            let mut value = || words.next().ok_or_else(|| format!("{word} needs a value"));
            match word.as_str() {
                "--transport" => args.tcp = value()? == "tcp",
                "--guest-cid" => args.guest_cid = value()?.parse().map_err(|e| format!("--guest-cid: {e}"))?,
                "--backend" => args.backend = value()?,
                "--wpa-ctrl-dir" => args.ctrl_dir = Some(value()?.into()),
                "--duration" => {
                    args.duration = Duration::from_secs(value()?.parse().map_err(|e| format!("--duration: {e}"))?)
                }
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(args)
    }

    pub fn main() {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .with_writer(std::io::stderr)
            .init();
        let args = match parse_args() {
            Ok(args) => args,
            Err(error) => {
                eprintln!("linux_host: {error}");
                std::process::exit(2);
            }
        };
        let choice = match args.backend.as_str() {
            "auto" => BackendChoice::Auto,
            "wpa-supplicant" => BackendChoice::WpaSupplicant { ctrl_dir: args.ctrl_dir.clone() },
            "networkmanager" => BackendChoice::NetworkManager,
            other => {
                eprintln!("linux_host: unknown backend {other}");
                std::process::exit(2);
            }
        };
        let transport =
            if args.tcp { TransportSettings::tcp_loopback() } else { TransportSettings::vsock(args.guest_cid) };
        // --tcp is for tests on one machine: loopback, and an explicit opt-in (vsock needs none).
        let mut builder = Service::builder(transport).mode(OperationMode::Host).allow_tcp_host_mode(args.tcp);
        let name = match select_backend(choice) {
            Ok(backend) => {
                let name = backend.name().to_owned();
                builder = builder.host_backend(backend);
                name
            }
            Err(error) => {
                tracing::error!(%error, "no host backend; serving without host Wi-Fi");
                "none".to_owned()
            }
        };
        let service = match builder.start() {
            Ok(service) => service,
            Err(error) => {
                eprintln!("linux_host: {error}");
                std::process::exit(1);
            }
        };
        println!("serving host {name} on {}", service.request_address());
        std::thread::sleep(args.duration);
        service.stop();
    }
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the Linux host backends exist on Linux only");
}
