//! The real `pcscd` with the `vsmartcard-vpcd` virtual readers, and the
//! project's virtual card (`klubkasse-vcard`) to put cards on them.
//!
//! Only one pcscd can run on a machine (its socket is fixed), and tests
//! stop and restart it, so tests that use it must not overlap:
//!
//! - within one test binary, each such test holds [`lock()`] throughout;
//! - `cargo test` runs the test binaries one after another, so ALL tests
//!   that use pcscd live in one file, `tests/pcsc.rs`. A second file using
//!   this module would still be serialised against other files only by
//!   luck.
//!
//! `./install.sh --test` starts pcscd before the tests and stops it after
//! (it also exports `KLUBKASSE_PCSCD=1`); run alone, [`ensure_running`]
//! starts one. Without pcscd or vpcd installed these tests fail with a
//! message saying so; they do not skip.

// Shared by test crates; each uses only part of it.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pcsc::{Context, Scope};

use crate::bin::VCARD;
/// Where a pcscd started by the tests logs.
pub const LOG: &str = "/tmp/klubkasse-test-pcscd.log";
/// pcscd's socket; it removes it when it stops.
const SOCKET: &str = "/run/pcscd/pcscd.comm";
/// vsmartcard-vpcd's reader config on Debian: pcscd loads the driver from it.
const VPCD_CONF: &str = "/etc/reader.conf.d/vpcd";
/// How long pcscd gets to start, to stop, or to show its readers.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// One of vpcd's two virtual readers: the TCP port a card connects to and
/// the reader name PC/SC shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub port: u16,
    pub reader: &'static str,
}

pub const SLOT_0: Slot = Slot {
    port: 35963,
    reader: "Virtual PCD 00 00",
};
pub const SLOT_1: Slot = Slot {
    port: 35964,
    reader: "Virtual PCD 00 01",
};

static PCSCD: Mutex<()> = Mutex::new(());
/// The pcscd this process started, reaped once it ends: an unreaped one
/// would linger as a zombie.
static STARTED: Mutex<Option<Child>> = Mutex::new(None);

/// Held by every test that uses pcscd, for the whole test. A test that
/// failed while holding it does not stop the others.
pub fn lock() -> MutexGuard<'static, ()> {
    PCSCD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The live pcscd processes on this machine (zombies left out).
pub fn pids() -> Vec<u32> {
    reap();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "PID (COMM) STATE …"; COMM may itself hold parentheses.
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            let comm = &stat[open + 1..close];
            let state = stat[close + 1..].trim_start().chars().next()?;
            (comm == "pcscd" && !matches!(state, 'Z' | 'X')).then_some(pid)
        })
        .collect()
}

pub fn running() -> bool {
    !pids().is_empty()
}

/// Starts pcscd unless one runs, then waits until the virtual readers
/// are listed.
pub fn ensure_running() {
    if !running() {
        start();
    }
    wait_for_readers();
}

/// Stops pcscd, waits until it is gone and its socket is free, starts it
/// again and waits for the readers: every PC/SC client loses its service
/// meanwhile, as when a counter's pcscd is restarted.
pub fn restart() {
    stop();
    start();
    wait_for_readers();
}

/// Stops every pcscd (`pkill -x pcscd`) and waits until it is gone and
/// has removed its socket.
pub fn stop() {
    if !running() {
        return;
    }
    let status = Command::new("pkill")
        .args(["-x", "pcscd"])
        .status()
        .expect("run pkill (procps)");
    assert!(
        status.success() || !running(),
        "pkill -x pcscd failed: {status}"
    );
    let gone = poll(TIMEOUT, || !running());
    assert!(gone, "pcscd did not stop within {TIMEOUT:?}: {:?}", pids());
    let freed = poll(TIMEOUT, || !Path::new(SOCKET).exists());
    assert!(
        freed,
        "pcscd stopped but left {SOCKET} behind\n{}",
        log_tail()
    );
}

/// Waits until PC/SC lists both virtual readers; panics with pcscd's log
/// if it never does. Returns the readers listed.
pub fn wait_for_readers() -> Vec<String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let last = match list_readers() {
            Ok(readers)
                if readers.iter().any(|r| r == SLOT_0.reader)
                    && readers.iter().any(|r| r == SLOT_1.reader) =>
            {
                return readers;
            }
            Ok(readers) => format!("readers listed: {readers:?}"),
            Err(err) => format!("PC/SC: {err}"),
        };
        if Instant::now() >= deadline {
            panic!(
                "the virtual readers «{}» and «{}» did not appear within {TIMEOUT:?} \
                 ({last}; pcscd running: {:?}). Is vsmartcard-vpcd installed? \
                 Run ./install.sh --test.\n{}",
                SLOT_0.reader,
                SLOT_1.reader,
                pids(),
                log_tail()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// The readers PC/SC lists now, on a fresh context.
pub fn list_readers() -> Result<Vec<String>, pcsc::Error> {
    let ctx = Context::establish(Scope::User)?;
    Ok(ctx
        .list_readers_owned()?
        .into_iter()
        .map(|name| name.to_string_lossy().into_owned())
        .collect())
}

fn start() {
    assert!(
        Path::new(VPCD_CONF).exists(),
        "vsmartcard-vpcd is not installed (no {VPCD_CONF}): run ./install.sh --test"
    );
    let log = File::create(LOG).unwrap_or_else(|e| panic!("create {LOG}: {e}"));
    let log_err = log.try_clone().expect("clone the log file handle");
    let child = Command::new("pcscd")
        .arg("--foreground")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: no signal meant for the tests reaches it.
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start pcscd ({e}): is it installed? Run ./install.sh --test")
        });
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(mut old) = started.replace(child) {
        let _ = old.wait(); // stopped already: stop() waited for it to go
    }
}

/// Reaps the pcscd this process started once it has ended.
fn reap() {
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(child) = started.as_mut()
        && !matches!(child.try_wait(), Ok(None))
    {
        *started = None;
    }
}

/// The end of pcscd's log, for failure messages.
pub fn log_tail() -> String {
    match std::fs::read_to_string(LOG) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            format!("--- {LOG} (last lines)\n{tail}")
        }
        Err(_) => format!("(no log at {LOG}: pcscd was not started by the tests)"),
    }
}

/// Polls `done` until it holds or `timeout` passes; whether it held.
pub fn poll(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// A card for `klubkasse-vcard tap`: which UID, on which slot, how long
/// it stays, how it answers.
#[derive(Debug, Clone)]
pub struct VirtualCard {
    uid: String,
    slot: Slot,
    hold: Option<Duration>,
    status: Option<String>,
    timeout: Option<Duration>,
}

impl VirtualCard {
    /// A card with this UID (hex) on the first slot, with the binary's
    /// defaults (hold 0.2 s, status 9000, timeout 10 s).
    pub fn new(uid: &str) -> VirtualCard {
        VirtualCard {
            uid: uid.to_string(),
            slot: SLOT_0,
            hold: None,
            status: None,
            timeout: None,
        }
    }

    pub fn slot(mut self, slot: Slot) -> VirtualCard {
        self.slot = slot;
        self
    }

    /// How long the card stays after its UID was read.
    pub fn hold(mut self, hold: Duration) -> VirtualCard {
        self.hold = Some(hold);
        self
    }

    /// The status word it answers the UID command with (e.g. "6A81").
    pub fn status(mut self, status: &str) -> VirtualCard {
        self.status = Some(status.to_string());
        self
    }

    /// How long it waits for the UID command before giving up.
    pub fn timeout(mut self, timeout: Duration) -> VirtualCard {
        self.timeout = Some(timeout);
        self
    }

    /// The command line after `klubkasse-vcard`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "tap".to_string(),
            self.uid.clone(),
            "--port".to_string(),
            self.slot.port.to_string(),
        ];
        if let Some(hold) = self.hold {
            args.extend(["--hold".to_string(), hold.as_secs_f64().to_string()]);
        }
        if let Some(status) = &self.status {
            args.extend(["--status".to_string(), status.clone()]);
        }
        if let Some(timeout) = self.timeout {
            args.extend(["--timeout".to_string(), timeout.as_secs_f64().to_string()]);
        }
        args
    }

    /// Puts the card on the reader: starts `klubkasse-vcard tap …`.
    pub fn tap(&self) -> Tap {
        let args = self.args();
        let child = Command::new(&*VCARD)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", VCARD.display()));
        Tap {
            args: args.join(" "),
            child: Some(child),
        }
    }
}

/// A running `klubkasse-vcard tap`. Dropping it before [`Tap::wait`]
/// kills it, which takes the card off the reader.
pub struct Tap {
    args: String,
    child: Option<Child>,
}

impl Tap {
    /// Waits for the card to leave (the binary to exit); it does so by
    /// itself after its hold, or after its timeout.
    pub fn wait(mut self) -> TapOutput {
        let child = self.child.take().expect("waited once");
        let out = child.wait_with_output().expect("wait for klubkasse-vcard");
        TapOutput {
            args: self.args.clone(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What one `klubkasse-vcard` run did.
#[derive(Debug)]
pub struct TapOutput {
    pub args: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl TapOutput {
    /// Panics with the whole run unless it exited 0; returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success:\n{self}");
        &self.stdout
    }
}

impl std::fmt::Display for TapOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ klubkasse-vcard {}\nexit: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}
