//! The completion scripts in the shells themselves: bash (`complete -F` called as bash
//! calls it), fish (`complete -C`) and zsh (a pseudo-terminal with compinit, pressing Tab).
//! Each must complete a subcommand (`ctl gu` -> guest), a flag (`serve --request-p`) and a
//! flag's value (`serve --mode ` -> host, simulated). A shell that is not installed is
//! skipped with a notice (CI installs zsh and fish).
#![cfg(unix)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;

/// What is typed, and the candidates the shell must offer.
const CASES: [(&str, &[&str]); 3] = [
    ("proxy-wifi ctl gu", &["guest"]),
    ("proxy-wifi serve --mode ", &["host", "simulated"]),
    ("proxy-wifi serve --request-p", &["--request-port"]),
];

/// Writes `proxy-wifi completions SHELL` into `dir/name`.
fn script(shell: &str, dir: &Path, name: &str) {
    let out = Command::new(cargo_bin("proxy-wifi")).args(["completions", shell]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(dir.join(name), out.stdout).unwrap();
}

/// Whether `shell` runs here; prints a notice when it does not.
fn installed(shell: &str) -> bool {
    let found = Command::new(shell).args(["-c", "exit 0"]).output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED ({shell} completion): {shell} is not installed (apt-get install -y {shell})");
    }
    found
}

/// The candidates of one output: one per line, the text before a tab (fish's description).
fn candidates(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split('\t').next().unwrap_or_default().trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn check(shell: &str, typed: &str, expected: &[&str], got: BTreeSet<String>) {
    let expected: BTreeSet<String> = expected.iter().map(|e| e.to_string()).collect();
    assert_eq!(got, expected, "{shell}: `{typed}<TAB>`");
}

/// bash: the function that `complete -p proxy-wifi` names, with COMP_WORDS set as bash
/// sets them for the line typed.
const BASH_DRIVER: &str = r#"
source "$1"
func=$(complete -p proxy-wifi | sed -n 's/.*-F \([^ ]*\).*/\1/p')
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
"$func" proxy-wifi "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;

#[test]
fn bash_completes_subcommands_flags_and_values() {
    if !installed("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    script("bash", dir.path(), "proxy-wifi.bash");
    for (typed, expected) in CASES {
        let out = Command::new("bash")
            .args(["--norc", "-c", BASH_DRIVER, "driver"])
            .arg(dir.path().join("proxy-wifi.bash"))
            .arg(typed)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        check("bash", typed, expected, candidates(&String::from_utf8_lossy(&out.stdout)));
    }
}

#[test]
fn fish_completes_subcommands_flags_and_values() {
    if !installed("fish") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    script("fish", dir.path(), "proxy-wifi.fish");
    for (typed, expected) in CASES {
        let out = Command::new("fish")
            .args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
            .arg(dir.path().join("proxy-wifi.fish"))
            .arg(typed)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        check("fish", typed, expected, candidates(&String::from_utf8_lossy(&out.stdout)));
    }
}

/// zsh: an interactive `zsh -f` in a pseudo-terminal (zsh/zpty) loads the script with
/// compinit and gets the line and a Tab; a `compadd` wrapper writes the matches it adds
/// (already filtered by what is typed) to a file. Waits up to 15 s for the first ones.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || exit 3
dir=$1 out=$2 typed=$3
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=($dir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "compadd() { local -a __hits; builtin compadd -A __hits \"\$@\"; print -rl -- \$__hits >> $out; builtin compadd \"\$@\" }"
zpty -w z "print -r -- READY > $out.ready"
for i in {1..150}; do [[ -e $out.ready ]] && break; sleep 0.1; done
zpty -w -n z "$typed"$'\t'
for i in {1..150}; do [[ -s $out ]] && break; sleep 0.1; done
sleep 0.5
zpty -d z
"#;

#[test]
fn zsh_completes_subcommands_flags_and_values() {
    if !installed("zsh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    script("zsh", dir.path(), "_proxy-wifi");
    for (n, (typed, expected)) in CASES.into_iter().enumerate() {
        let out_file = dir.path().join(format!("candidates-{n}"));
        let out = Command::new("zsh")
            .args(["-f", "-c", ZSH_DRIVER, "driver"])
            .arg(dir.path())
            .arg(&out_file)
            .arg(typed)
            .output()
            .unwrap();
        if out.status.code() == Some(3) {
            eprintln!("SKIPPED (zsh completion): this zsh has no zsh/zpty module");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
        let text = std::fs::read_to_string(&out_file).unwrap_or_default();
        check("zsh", typed, expected, candidates(&text));
    }
}
