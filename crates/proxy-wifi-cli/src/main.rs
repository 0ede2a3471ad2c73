//! `proxy-wifi`: serve a VM the host's Wi-Fi, act as a test guest, control a service.

mod cli;
mod cli_suggest;
mod config_file;
mod config_override;
mod control;
#[cfg(unix)]
mod control_dir;
mod control_guests;
mod doctor;
mod fd_limit;
mod generate;
mod guest_cmd;
mod guest_hints;
mod guest_session;
mod host_backend;
mod libvirt_hook;
mod logging;
mod man_extra;
mod metrics_server;
mod networks_file;
mod no_dump;
mod output;
mod port_holder;
mod readiness;
mod secret_input;
mod serve;
mod serve_messages;
mod serve_rules;
#[cfg(unix)]
mod socket_activation;
mod status_view;
mod toml_file;

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, given) = cli::Cli::parse_with_given_flags(std::env::args_os());
    logging::init(cli.verbose, cli.quiet, cli.log_format, cli.etw);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            cli::Command::Serve(args) => {
                fd_limit::raise_to_hard_limit();
                // The service holds guests' keys for as long as it runs.
                no_dump::forbid("service");
                serve::run(args, given).await
            }
            cli::Command::Guest(args) => guest_cmd::run(args).await,
            cli::Command::Ctl(args) => control::run_ctl(args).await,
            cli::Command::Completions { shell } => generate::completions(shell),
            cli::Command::Man { dir } => generate::man(dir.as_deref()),
            cli::Command::LibvirtHook(args) => libvirt_hook::run(args).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
