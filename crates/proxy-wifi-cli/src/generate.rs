//! `proxy-wifi completions SHELL` and `proxy-wifi man`: generated from the same clap
//! definitions as the parser, so they cannot drift from it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The command's name, as installed.
const BIN: &str = "proxy-wifi";

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: Shell) -> Result<ExitCode, String> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, BIN, &mut out);
    out.flush().map_err(|e| format!("cannot write the completion script: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `proxy-wifi.1` and one page per subcommand (`proxy-wifi-serve.1`,
/// `proxy-wifi-guest-scan.1`, ...) into `dir`, or prints `proxy-wifi.1` when `dir` is
/// `None`.
pub fn man(dir: Option<&Path>) -> Result<ExitCode, String> {
    let command = Cli::command();
    match dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write the man page: {e}"))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .map_err(|e| format!("cannot write the man pages into {}: {e}", dir.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
