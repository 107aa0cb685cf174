//! Runs the real `klubkasse` binary and keeps what it said.

// Shared by several test crates; each uses only part of it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::bin::KIOSK;

/// What one run of the binary did.
pub struct Run {
    pub args: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole run unless it exited 0; returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success:\n{self}");
        &self.stdout
    }

    /// Panics with the whole run unless it exited non-zero; returns stderr.
    pub fn failed(&self) -> &str {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected failure:\n{self}"
        );
        &self.stderr
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ klubkasse {}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `klubkasse ARGS`, with `stdin` piped in (empty if `None`).
pub fn klubkasse<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<&str>) -> Run {
    let mut child = Command::new(&*KIOSK)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start klubkasse");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    pipe.write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(pipe);
    let out = child.wait_with_output().expect("wait for klubkasse");
    Run {
        args: args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `klubkasse report [--csv] --data-dir DIR`.
pub fn report(dir: &Path, csv: bool) -> Run {
    let dir = dir.to_str().expect("UTF-8 temp path");
    let mut args = vec!["report", "--data-dir", dir];
    if csv {
        args.insert(1, "--csv");
    }
    klubkasse(&args, None)
}
