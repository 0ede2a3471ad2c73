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
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut script);
    if shell == Shell::Bash {
        script = fix_bash_names(&String::from_utf8_lossy(&script), BIN).into_bytes();
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the completion script: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// clap_complete's bash script names a hyphenated program `proxy__wifi` where it sets
/// `cmd`, but `proxy__subcmd__wifi` in the `case` arms that complete each subcommand, so
/// only the first word ever completed; this spells the arms as `cmd` is set.
fn fix_bash_names(script: &str, bin: &str) -> String {
    script.replace(&bin.replace('-', "__subcmd__"), &bin.replace('-', "__"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bash_case_arms_use_the_name_cmd_is_set_to() {
        let script = "cmd=\"proxy__wifi__subcmd__ctl\"\n        proxy__subcmd__wifi__subcmd__ctl)\n";
        let fixed = fix_bash_names(script, "proxy-wifi");
        assert_eq!(fixed, "cmd=\"proxy__wifi__subcmd__ctl\"\n        proxy__wifi__subcmd__ctl)\n");
    }
}
