//! The kiosk in a real terminal: a tmux session of its own, read back with
//! `capture-pane`.
//!
//! Every session runs on its own tmux server (`-L SOCKET`, no user config),
//! so tests can run in parallel and never touch anyone's tmux. The program
//! runs under a small `sh` that writes its exit status to a file: tmux 3.3
//! does not always reap a pane's process (`pane_dead_status` then stays
//! empty), so its own exit status cannot be relied on. Drop kills the
//! server and with it the program.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a test waits for a screen before it gives up.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);
pub const WIDTH: u16 = 110;
pub const HEIGHT: u16 = 32;

/// How the program in the pane ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Status(i32),
    Signal(i32),
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct Tmux {
    /// Socket and session name both: unique per process and session.
    name: String,
    /// Holds `status`, the program's exit status once it has ended.
    dir: tempfile::TempDir,
    /// The server's socket, which `kill-server` leaves behind.
    socket: Option<std::path::PathBuf>,
}

impl Tmux {
    /// Starts `program args…` in a new 110×32 session.
    pub fn start(program: &std::path::Path, args: &[&str]) -> Tmux {
        let program = program.to_str().expect("UTF-8 program path");
        let name = format!(
            "klubkasse-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut tmux = Tmux {
            name,
            dir: tempfile::TempDir::new().expect("temp dir"),
            socket: None,
        };
        let status = tmux.status_file();
        let status = status.to_str().expect("UTF-8 temp path");
        let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
        let mut cmd = vec![
            "start-server",
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
            ";",
            "set-option",
            "-g",
            "default-terminal",
            "xterm-256color",
            ";",
            "new-session",
            "-d",
            "-s",
            &tmux.name,
            "-x",
            &w,
            "-y",
            &h,
            "--",
            "sh",
            "-c",
            r#""$@"; echo $? >"$0""#,
            status,
            program,
        ];
        cmd.extend_from_slice(args);
        tmux.run(&cmd);
        tmux.socket = Some(tmux.pane("#{socket_path}").into());
        tmux
    }

    /// Runs a tmux command on this session's server; panics if it fails.
    fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "tmux {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn try_run(&self, args: &[&str]) -> Output {
        match self.command().args(args).output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "tmux is not installed, and the terminal tests need it: \
                 run ./install.sh --test (or apt-get install tmux)"
            ),
            Err(e) => panic!("cannot run tmux: {e}"),
        }
    }

    /// tmux on this session's own server, without the user's config.
    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-u", "-f", "/dev/null", "-L", &self.name])
            .env("TERM", "xterm-256color");
        cmd
    }

    /// Sends keys in tmux's names: "F1", "Enter", "Escape", "Down", or
    /// literal text such as "1234".
    pub fn send_keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The visible screen as plain text, one line per row.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", &self.name])
    }

    /// Everything the pane showed, the lines scrolled off the top too.
    pub fn history(&self) -> String {
        self.run(&["capture-pane", "-p", "-S", "-", "-t", &self.name])
    }

    fn pane(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", &self.name, format])
            .trim()
            .to_string()
    }

    /// Waits until the screen shows `text`; returns that screen. Panics
    /// after `timeout` with the last screen (and exit status, if the
    /// program ended) in the message.
    pub fn wait_for_within(&self, text: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!(
                    "waited {timeout:?} for «{text}»; {}; last screen:\n{screen}",
                    self.describe_pane()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen no longer shows `text` (a question that a
    /// key closed, while the rest of the screen stays); returns that screen.
    pub fn wait_for_gone(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if !screen.contains(text) {
                return screen;
            }
            if start.elapsed() > TIMEOUT {
                panic!(
                    "waited {TIMEOUT:?} for «{text}» to go; {}; last screen:\n{screen}",
                    self.describe_pane()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait_for_within(text, TIMEOUT)
    }

    fn describe_pane(&self) -> String {
        match std::fs::read_to_string(self.status_file()) {
            Ok(status) => format!("the program exited with status {}", status.trim()),
            Err(_) => "the program is running".to_string(),
        }
    }

    fn status_file(&self) -> std::path::PathBuf {
        self.dir.path().join("status")
    }

    /// The program's process id (the child of the pane's `sh`).
    pub fn pid(&self) -> u32 {
        let sh = self.pane("#{pane_pid}");
        let children = format!("/proc/{sh}/task/{sh}/children");
        let list = std::fs::read_to_string(&children)
            .unwrap_or_else(|e| panic!("cannot read {children}: {e}"));
        match list.split_whitespace().collect::<Vec<_>>()[..] {
            [pid] => pid.parse().expect("a process id"),
            _ => panic!("expected one program under the pane's sh, found «{list}»"),
        }
    }

    /// Whether the terminal is as a shell wants it: the main screen (not
    /// the kiosk's alternate one) and a visible cursor.
    pub fn terminal_is_normal(&self) -> bool {
        self.pane("#{alternate_on} #{cursor_flag}") == "0 1"
    }

    /// Waits until the program has ended, and says how.
    pub fn wait_exit(&self) -> Ended {
        let start = Instant::now();
        loop {
            let status = std::fs::read_to_string(self.status_file()).unwrap_or_default();
            if status.ends_with('\n') {
                let code: i32 = status.trim().parse().expect("exit status");
                // sh reports death by signal N as 128 + N.
                return match code {
                    129.. => Ended::Signal(code - 128),
                    _ => Ended::Status(code),
                };
            }
            if start.elapsed() > TIMEOUT {
                panic!(
                    "the program did not end within {TIMEOUT:?}; last screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Resizes the terminal, as a person dragging the window would.
    pub fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.run(&["resize-window", "-t", &self.name, "-x", &w, "-y", &h]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The server may be gone already (or tmux missing): nothing to do then.
        let _ = self.command().arg("kill-server").output();
        if let Some(socket) = &self.socket {
            let _ = std::fs::remove_file(socket);
        }
    }
}
