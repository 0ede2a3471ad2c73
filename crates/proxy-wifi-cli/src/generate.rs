//! `proxy-wifi completions SHELL` and `proxy-wifi man`: generated from the same clap
//! definitions as the parser, so they cannot drift from it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::man_extra;

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

/// Writes `proxy-wifi.1`, one page per subcommand (`proxy-wifi-serve.1`,
/// `proxy-wifi-guest-scan.1`, ...) and `proxy-wifi.toml.5` into `dir`, or prints
/// `proxy-wifi.1` when `dir` is `None`.
pub fn man(dir: Option<&Path>) -> Result<ExitCode, String> {
    let command = Cli::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page).map_err(|e| format!("cannot render the man page: {e}"))?;
            page.extend_from_slice(man_extra::main_sections().as_bytes());
            let mut out = std::io::stdout().lock();
            out.write_all(&page).and_then(|()| out.flush()).map_err(|e| format!("cannot write the man page: {e}"))?;
        }
        Some(dir) => {
            let cannot = |e: std::io::Error| format!("cannot write the man pages into {}: {e}", dir.display());
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(command.clone(), dir).map_err(cannot)?;
            append(&dir.join("proxy-wifi.1"), &man_extra::main_sections()).map_err(cannot)?;
            append(&dir.join("proxy-wifi-serve.1"), &man_extra::serve_sections()).map_err(cannot)?;
            let mut built = command;
            built.build();
            let serve = built.find_subcommand("serve").expect("serve is a subcommand");
            let version = env!("CARGO_PKG_VERSION");
            std::fs::write(dir.join("proxy-wifi.toml.5"), man_extra::config_page(serve, version)).map_err(cannot)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Appends roff sections to a page written by clap_mangen.
fn append(page: &Path, roff: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().append(true).open(page)?;
    file.write_all(roff.as_bytes())
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
