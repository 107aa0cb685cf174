//! Errors in files that people edit, pointing at file, line and column.

use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot read it: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl FileError {
    /// An error at byte range `span` of `text`, the content of `path`.
    pub fn at(
        path: &Path,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> FileError {
        let offset = span.map_or(0, |s| s.start.min(text.len()));
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A TOML syntax or type error, with the position toml found.
    pub fn from_toml(path: &Path, text: &str, err: toml::de::Error) -> FileError {
        FileError::at(path, text, err.span(), err.message().trim().to_string())
    }

    pub fn read(path: &Path) -> Result<String, FileError> {
        std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nnavn = \"Søren\"\nx = ?";
        let at = text.find('?').unwrap();
        let err = FileError::at(Path::new("k.toml"), text, Some(at..at + 1), "bad");
        assert_eq!(err.to_string(), "k.toml:3:5: bad");
        let at = text.find("\"S").unwrap();
        let err = FileError::at(Path::new("k.toml"), text, Some(at..at + 1), "bad");
        assert_eq!(err.to_string(), "k.toml:2:8: bad");
    }
}
