//! Errors in files that people edit, pointing at file, line and column;
//! every one of a file at once, in words for people rather than serde's.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::de::{DeArray, DeTable, DeValue};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot read it: {}", plain_io(.source))]
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

/// The usual reasons a file cannot be read, without "(os error 2)".
fn plain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "there is no such file".into(),
        ErrorKind::PermissionDenied => "no permission to read it".into(),
        ErrorKind::IsADirectory => "it is a folder, not a file".into(),
        ErrorKind::InvalidData => "it is not text (UTF-8)".into(),
        _ => e.to_string(),
    }
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
        FileError::at(path, text, err.span(), humane(err.message().trim(), None))
    }

    /// The file it is about.
    pub fn path(&self) -> &PathBuf {
        match self {
            FileError::Read { path, .. } | FileError::Invalid { path, .. } => path,
        }
    }

    pub fn read(path: &Path) -> Result<String, FileError> {
        let read = if path.is_dir() {
            Err(std::io::Error::from(std::io::ErrorKind::IsADirectory))
        } else {
            std::fs::read_to_string(path)
        };
        read.map_err(|source| FileError::Read {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Every mistake found in one or more files, in the order found: one
/// round of fixing is enough.
#[derive(Debug)]
pub struct FileErrors(pub Vec<FileError>);

impl std::error::Error for FileErrors {}

impl fmt::Display for FileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0[..] {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} mistakes:", many.len())?;
                for e in many {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<FileError> for FileErrors {
    fn from(e: FileError) -> FileErrors {
        FileErrors(vec![e])
    }
}

impl FileErrors {
    /// `value` if nothing was wrong.
    pub fn or<T>(problems: Vec<FileError>, value: T) -> Result<T, FileErrors> {
        if problems.is_empty() {
            Ok(value)
        } else {
            Err(FileErrors(in_file_order(problems)))
        }
    }
}

/// `text` (from `path`) as a `T`, with every entry it refuses: an entry
/// in error is reported and left out, and the rest read again, until it
/// reads or nothing more can be left out. `None` when it does not read
/// (a syntax error, a required entry missing).
pub fn from_toml_all<T: DeserializeOwned>(path: &Path, text: &str) -> (Option<T>, Vec<FileError>) {
    let mut table = match DeTable::parse(text) {
        Ok(table) => table,
        Err(e) => return (None, vec![FileError::from_toml(path, text, e)]),
    };
    let mut problems = Vec::new();
    // What was left out, by name and where.
    let mut left_out: Vec<(String, Vec<Step>)> = Vec::new();
    // Each round leaves out one entry; a file has fewer than this.
    for _ in 0..200 {
        let err = match T::deserialize(toml::de::Deserializer::from(table.clone())) {
            Ok(value) => return (Some(value), in_file_order(problems)),
            Err(err) => err,
        };
        let message = err.message().trim().to_string();
        let missing = missing_field(&message);
        // A required entry left out for its own mistake is not missing
        // too: the table that lacks it goes instead.
        let earlier = missing.and_then(|f| left_out.iter().rev().find(|(k, _)| k == f));
        let found = err
            .span()
            .and_then(|span| find(table.get_ref(), span.start, missing.is_some()))
            .or_else(|| match earlier {
                Some((_, steps)) if steps.len() > 1 => Some(steps[..steps.len() - 1].to_vec()),
                _ => None,
            })
            // The same place twice: leaving it out did not help.
            .filter(|steps| left_out.iter().all(|(_, done)| done != steps));
        if earlier.is_none() {
            let key = found.as_ref().and_then(|steps| match steps.last() {
                Some(Step::Key(key)) => Some(key.as_str()),
                _ => None,
            });
            problems.push(FileError::at(path, text, err.span(), humane(&message, key)));
        }
        let Some(steps) = found else {
            return (None, in_file_order(problems));
        };
        remove(table.get_mut(), &steps);
        let name = steps
            .iter()
            .rev()
            .find_map(|s| match s {
                Step::Key(key) => Some(key.clone()),
                Step::Index(_) => None,
            })
            .unwrap_or_default();
        left_out.push((name, steps));
    }
    (None, in_file_order(problems))
}

/// Mistakes are found in no particular order (serde's, then the checks');
/// people read top to bottom: file by file as first named, by position.
pub fn in_file_order(mut problems: Vec<FileError>) -> Vec<FileError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for p in &problems {
        if !files.contains(p.path()) {
            files.push(p.path().clone());
        }
    }
    problems.sort_by_key(|p| {
        let file = files.iter().position(|f| f == p.path());
        match p {
            FileError::Invalid { line, column, .. } => (file, *line, *column),
            FileError::Read { .. } => (file, 0, 0),
        }
    });
    problems
}

/// One step into a TOML document: a key, or an element of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Where the innermost entry (or element of an array of tables) is whose
/// key or value holds byte `at`. `containers_only`: only a table or an
/// array's element, for an error about what a table lacks.
fn find(table: &DeTable<'_>, at: usize, containers_only: bool) -> Option<Vec<Step>> {
    let holds = |span: Range<usize>| span.contains(&at) || span.start == at;
    // Deeper first: a table's span need not cover its entries.
    for (key, value) in table {
        let within = |mut inner: Vec<Step>, index: Option<usize>| {
            let mut steps = vec![Step::Key(key.get_ref().to_string())];
            steps.extend(index.map(Step::Index));
            steps.append(&mut inner);
            steps
        };
        match value.get_ref() {
            DeValue::Table(inner) => {
                if let Some(steps) = find(inner, at, containers_only) {
                    return Some(within(steps, None));
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(inner) = item.get_ref()
                        && let Some(steps) = find(inner, at, containers_only)
                    {
                        return Some(within(steps, Some(i)));
                    }
                }
            }
            _ => {}
        }
    }
    let (key, value) = table
        .iter()
        .find(|(k, v)| holds(k.span()) || holds(v.span()))?;
    let key = Step::Key(key.get_ref().to_string());
    match value.get_ref() {
        DeValue::Array(items) => {
            let element = items
                .iter()
                .position(|item| item.get_ref().is_table() && holds(item.span()));
            Some(match element {
                Some(i) => vec![key, Step::Index(i)],
                None => vec![key],
            })
        }
        DeValue::Table(_) => Some(vec![key]),
        _ if containers_only => None,
        _ => Some(vec![key]),
    }
}

/// Removes what `steps` lead to.
fn remove(table: &mut DeTable<'_>, steps: &[Step]) {
    let Some(Step::Key(name)) = steps.first() else {
        return;
    };
    let Some(key) = table.keys().find(|k| k.get_ref() == name).cloned() else {
        return;
    };
    match (&steps[1..], table.get_mut(&key).map(|v| v.get_mut())) {
        ([], _) => {
            table.remove(&key);
        }
        ([Step::Index(i), rest @ ..], Some(DeValue::Array(items))) => {
            if rest.is_empty() {
                let all = std::mem::replace(items, DeArray::new());
                for (j, item) in all.into_iter().enumerate() {
                    if j != *i {
                        items.push(item);
                    }
                }
            } else if let Some(DeValue::Table(inner)) =
                items.as_mut().get_mut(*i).map(|item| item.get_mut())
            {
                remove(inner, rest);
            }
        }
        (rest, Some(DeValue::Table(inner))) => remove(inner, rest),
        _ => {}
    }
}

/// serde's "missing field `x`": `x`.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// What `expected …` in serde's words means for a person.
fn expected_in_words(expected: &str) -> String {
    let expected = expected.trim();
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" | "integer" => "a whole number".into(),
        "a string" | "string" => "text in quotes".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a sequence" => "a list in brackets: [\"…\", \"…\"]".into(),
        e if e.starts_with("struct ") || e.starts_with("a map") => "a table of settings".into(),
        e if e.starts_with("one of ") || e.contains(" or ") || e.starts_with('`') => {
            format!(
                "one of {}",
                e.trim_start_matches("one of ").replace('`', "")
            )
        }
        other => other.to_string(),
    }
}

/// serde's and toml's messages in words for the person editing the file;
/// `key`, if known, is the entry they are about. Messages of our own
/// (an amount, a language) pass as they are.
pub fn humane(message: &str, key: Option<&str>) -> String {
    let named = |what: &str| match key {
        Some(key) => format!("«{key}» must be {what}"),
        None => format!("this must be {what}"),
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, known) = rest.split_once('`').unwrap_or((rest, ""));
        let known = known
            .trim_start_matches(", expected one of ")
            .trim_start_matches(", expected ")
            .replace('`', "");
        return if known.is_empty() || known.starts_with("there are no") {
            format!("unknown setting «{field}»")
        } else {
            format!("unknown setting «{field}» (the settings are {known})")
        };
    }
    if let Some(field) = missing_field(message) {
        return format!("«{field}» is missing; it is required");
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(", expected ")
            .replace("one of ", "")
            .replace('`', "");
        return format!("«{value}» is not one of: {expected}");
    }
    if message.starts_with("data did not match any variant") {
        return named("a key or a list of keys");
    }
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((_, expected)) = rest.rsplit_once(", expected ")
        {
            return named(&expected_in_words(expected));
        }
    }
    message.to_string()
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read by serde; the test looks at what it refuses
    struct Settings {
        name: String,
        seconds: Option<u64>,
        mode: Option<Mode>,
        inner: Option<Inner>,
        #[serde(default)]
        item: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        size: u64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow,
    }

    fn all(text: &str) -> (bool, Vec<String>) {
        let (value, problems) = from_toml_all::<Settings>(Path::new("s.toml"), text);
        (
            value.is_some(),
            problems.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn every_entry_in_error_is_reported_in_words() {
        let text = "name = \"x\"\nseconds = \"ten\"\ncolour = 1\nmode = \"quick\"\n\
                    [inner]\nsize = -1\n[[item]]\nsize = 1\n[[item]]\nsize = true\n";
        let (read, problems) = all(text);
        assert!(read, "{problems:#?}");
        assert_eq!(
            problems,
            [
                "s.toml:2:11: «seconds» must be a whole number, 0 or more",
                "s.toml:3:1: unknown setting «colour» (the settings are name, seconds, mode, inner, item)",
                "s.toml:4:8: «quick» is not one of: fast or slow",
                "s.toml:6:8: «size» must be a whole number, 0 or more",
                "s.toml:10:8: «size» must be a whole number, 0 or more",
            ]
        );
        // A required entry that was wrong is not missing as well.
        let (read, problems) = all("name = 5\n");
        assert!(!read);
        assert_eq!(problems, ["s.toml:1:8: «name» must be text in quotes"]);
        let (read, problems) = all("seconds = 5\n");
        assert!(!read);
        assert_eq!(problems, ["s.toml:1:1: «name» is missing; it is required"]);
        let (read, problems) = all("name = = 5\n");
        assert!(!read);
        assert_eq!(problems.len(), 1);
        for problem in problems {
            assert!(!problem.contains("expected u64"), "{problem}");
        }
    }

    #[test]
    fn a_folder_is_not_a_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let err = FileError::read(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("cannot read it: it is a folder, not a file"),
            "{err}"
        );
        let err = FileError::read(&dir.path().join("none"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("cannot read it: there is no such file"),
            "{err}"
        );
    }
}
