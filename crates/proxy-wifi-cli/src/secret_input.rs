//! Secrets for `guest connect` that stay off the command line (issue 25 item 9):
//! `--passphrase-file PATH` and `--sae-password-file PATH` read the secret from a file, or
//! from standard input with `-` (a prompt without echo when it is a terminal). One trailing
//! newline is dropped; an empty secret is refused. `--passphrase` and `--sae-password`
//! still work, but other local users can read them in `/proc/PID/cmdline`, and shells keep
//! them in their history.

use std::io::{IsTerminal, Read};
use std::path::Path;

use zeroize::Zeroizing;

/// The longest secret file read: a passphrase has at most 63 characters and an SAE
/// password at most 255 bytes, so a longer file holds something else.
const MAX_BYTES: usize = 4096;

/// A secret and where it came from (for messages: `--passphrase-file /etc/wifi-key`).
pub struct Secret {
    /// The secret, wiped from memory when dropped.
    pub text: Zeroizing<String>,
    /// The flag (and file) that gave it.
    pub origin: String,
}

/// The secret given with `flag` (`given`) or with `file_flag` (`file`), if any: clap lets
/// at most one of them through. `what` names it in the terminal's prompt.
pub fn choose(
    flag: &str,
    given: Option<String>,
    file_flag: &str,
    file: Option<&Path>,
    what: &str,
) -> Result<Option<Secret>, String> {
    match (given, file) {
        (Some(text), _) => Ok(Some(Secret { text: Zeroizing::new(text), origin: flag.to_owned() })),
        (None, Some(path)) => read(file_flag, path, what).map(Some),
        (None, None) => Ok(None),
    }
}

/// Reads the secret of `file_flag PATH`: the file at PATH, or standard input for `-`.
pub fn read(file_flag: &str, path: &Path, what: &str) -> Result<Secret, String> {
    let from_stdin = path.as_os_str() == "-";
    let origin =
        if from_stdin { format!("{file_flag} - (standard input)") } else { format!("{file_flag} {}", path.display()) };
    let text = if from_stdin && std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password(format!("{what}: "))
            .map_err(|e| format!("{origin}: cannot read from the terminal: {e}"))?;
        Zeroizing::new(typed)
    } else {
        let bytes = if from_stdin {
            read_limited(std::io::stdin().lock(), &origin)?
        } else {
            let file = std::fs::File::open(path).map_err(|e| format!("{origin}: cannot open it: {e}"))?;
            read_limited(file, &origin)?
        };
        from_bytes(bytes, &origin)?
    };
    if text.is_empty() {
        return Err(format!("{origin}: the secret is empty; it must hold the secret itself (one line)"));
    }
    Ok(Secret { text, origin })
}

/// Reads at most [`MAX_BYTES`] of `source`; more is refused.
fn read_limited(source: impl Read, origin: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(128));
    source.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|e| format!("{origin}: cannot read it: {e}"))?;
    if bytes.len() > MAX_BYTES {
        return Err(format!("{origin}: more than {MAX_BYTES} bytes; it must hold only the secret (one line)"));
    }
    Ok(bytes)
}

/// The text of `bytes` without one trailing newline (`\n` or `\r\n`).
fn from_bytes(mut bytes: Zeroizing<Vec<u8>>, origin: &str) -> Result<Zeroizing<String>, String> {
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{origin}: the secret is not UTF-8 text"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(bytes: &[u8]) -> Result<String, String> {
        from_bytes(Zeroizing::new(bytes.to_vec()), "--passphrase-file f").map(|t| t.as_str().to_owned())
    }

    #[test]
    fn one_trailing_newline_is_dropped_and_no_more() {
        assert_eq!(text_of(b"secretsecret\n").unwrap(), "secretsecret");
        assert_eq!(text_of(b"secretsecret\r\n").unwrap(), "secretsecret");
        assert_eq!(text_of(b"secretsecret").unwrap(), "secretsecret");
        assert_eq!(text_of(b"secretsecret\n\n").unwrap(), "secretsecret\n");
        assert_eq!(text_of(b" spaced secret \n").unwrap(), " spaced secret ");
        assert!(text_of(b"\xff\xfe\n").unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn a_file_is_read_named_in_errors_and_refused_when_empty_or_too_long() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "secretsecret\n").unwrap();
        let secret = read("--passphrase-file", &file, "passphrase").unwrap();
        assert_eq!(
            (secret.text.as_str(), secret.origin.clone()),
            ("secretsecret", format!("--passphrase-file {}", file.display()))
        );

        std::fs::write(&file, "\n").unwrap();
        let error = read("--passphrase-file", &file, "passphrase").err().unwrap();
        assert!(
            error.starts_with(&format!("--passphrase-file {}: ", file.display())) && error.contains("empty"),
            "{error}"
        );
        std::fs::write(&file, vec![b'a'; MAX_BYTES + 1]).unwrap();
        let error = read("--passphrase-file", &file, "passphrase").err().unwrap();
        assert!(error.contains(&file.display().to_string()) && error.contains("more than 4096 bytes"), "{error}");
        let missing = dir.path().join("missing");
        let error = read("--sae-password-file", &missing, "SAE password").err().unwrap();
        assert!(error.starts_with(&format!("--sae-password-file {}: cannot open it: ", missing.display())), "{error}");
    }
}
