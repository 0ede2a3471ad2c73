//! What the TOML files of the command line share: reading, syntax errors, and errors
//! that name the file, the line, the entry, the field and the value.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why a TOML file (networks file, config file) was rejected.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("cannot read {kind} {path}: {source}")]
    Read {
        /// "networks file", "config file".
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML, or an unknown or missing field.
    #[error("{kind} {path}: {message}")]
    Syntax {
        /// "networks file", "config file".
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// toml's message (with line and column).
        message: String,
    },
    /// A field has a value that is not valid.
    #[error("{0}")]
    Invalid(Box<InvalidValue>),
    /// The file lacks something it needs.
    #[error("{kind} {path}: {message}")]
    Incomplete {
        /// "networks file", "config file".
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// What is missing and how to add it.
        message: String,
    },
}

/// A field with a value that is not valid, where it is, and what would be valid.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {path}, line {line}: {entry}{field} = {value} is not valid: {expected}")]
pub struct InvalidValue {
    /// "networks file", "config file".
    pub kind: &'static str,
    /// The file.
    pub path: PathBuf,
    /// 1-based line of the value.
    pub line: usize,
    /// The entry holding the field followed by ": " (`network 2: `), or nothing.
    pub entry: String,
    /// The field.
    pub field: &'static str,
    /// The value as written.
    pub value: String,
    /// What would be valid.
    pub expected: String,
}

/// A TOML file read into memory, for parsing and for locating values in errors.
pub struct TomlFile<'a> {
    kind: &'static str,
    path: &'a Path,
    text: &'a str,
}

impl<'a> TomlFile<'a> {
    /// The text of a `kind` file (`path` is for messages).
    pub fn new(kind: &'static str, path: &'a Path, text: &'a str) -> Self {
        Self { kind, path, text }
    }

    /// Reads `path`.
    pub fn read(kind: &'static str, path: &Path) -> Result<String, FileError> {
        std::fs::read_to_string(path).map_err(|source| FileError::Read { kind, path: path.to_owned(), source })
    }

    /// Deserializes the whole file; unknown fields and bad types are syntax errors with
    /// toml's line and column.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, FileError> {
        toml::from_str(self.text).map_err(|e| FileError::Syntax {
            kind: self.kind,
            path: self.path.to_owned(),
            message: e.to_string().trim().to_owned(),
        })
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    /// The error for `field = value` at `span` (of the entry `entry`, e.g. "network 2",
    /// or "" for a top-level field), saying what would be valid.
    pub fn invalid(
        &self,
        entry: &str,
        field: &'static str,
        span: Range<usize>,
        value: String,
        expected: impl Into<String>,
    ) -> FileError {
        FileError::Invalid(Box::new(InvalidValue {
            kind: self.kind,
            path: self.path.to_owned(),
            line: self.line_of(span.start),
            entry: if entry.is_empty() { String::new() } else { format!("{entry}: ") },
            field,
            value,
            expected: expected.into(),
        }))
    }

    /// The error for a file that lacks something.
    pub fn incomplete(&self, message: impl Into<String>) -> FileError {
        FileError::Incomplete { kind: self.kind, path: self.path.to_owned(), message: message.into() }
    }
}
