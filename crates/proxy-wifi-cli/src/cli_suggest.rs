//! Suggestions for an unknown flag that clap's spelling check misses: `serve --port` is
//! answered with the flags whose name ends in `-port` (`--request-port`,
//! `--notification-port`), where clap would only say "unexpected argument".

use std::ffi::OsString;

use clap::Command;
use clap::error::{ContextKind, ContextValue, Error, ErrorKind};

/// Adds a tip naming the flags that end in `-NAME` to an "unexpected argument '--NAME'"
/// error of `command` parsed from `args`, when clap found no similar flag itself.
pub fn add_tip(mut error: Error, command: &Command, args: &[OsString]) -> Error {
    if error.kind() != ErrorKind::UnknownArgument || error.get(ContextKind::SuggestedArg).is_some() {
        return error;
    }
    let Some(ContextValue::String(invalid)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    let Some(name) = invalid.strip_prefix("--").map(|n| n.split('=').next().unwrap_or(n).to_string()) else {
        return error;
    };
    let candidates = flags_ending_in(subcommand_of(command, args, invalid), &name);
    if !candidates.is_empty() {
        let tip = format!("did you mean {}?", candidates.join(" or "));
        error.insert(ContextKind::Suggested, ContextValue::StyledStrs(vec![tip.into()]));
    }
    error
}

/// The deepest subcommand of `command` that `args` (after the program name) name before
/// the `invalid` one: the subcommand it was given to.
fn subcommand_of<'a>(command: &'a Command, args: &[OsString], invalid: &str) -> &'a Command {
    let mut current = command;
    let before = args.iter().skip(1).filter_map(|a| a.to_str()).take_while(|a| !a.starts_with(invalid));
    for arg in before {
        if let Some(sub) = current.find_subcommand(arg) {
            current = sub;
        }
    }
    current
}

/// `--LONG` for each flag of `command` whose long name ends in `-name` or starts with `name-`.
fn flags_ending_in(command: &Command, name: &str) -> Vec<String> {
    command
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .filter_map(|arg| arg.get_long())
        .filter(|long| long.ends_with(&format!("-{name}")) || long.starts_with(&format!("{name}-")))
        .map(|long| format!("'--{long}'"))
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn error_text(args: &[&str]) -> String {
        let command = crate::cli::Cli::command();
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let error = command.clone().try_get_matches_from(&args).expect_err("a bad command line");
        add_tip(error, &command, &args).render().to_string()
    }

    #[test]
    fn port_is_answered_with_the_port_flags_of_that_subcommand() {
        let text = error_text(&["proxy-wifi", "serve", "--port", "31345"]);
        assert!(text.contains("'--request-port' or '--notification-port'"), "{text}");
        let guest = error_text(&["proxy-wifi", "guest", "--port=1", "scan"]);
        assert!(guest.contains("'--request-port'"), "{guest}");
        let unrelated = error_text(&["proxy-wifi", "serve", "--zzz"]);
        assert!(!unrelated.contains("did you mean"), "{unrelated}");
    }
}
