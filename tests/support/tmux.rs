//! The kiosk in a real terminal: a tmux session of its own, read back with
//! `capture-pane`.
//!
//! Every session runs on its own tmux server (`-L SOCKET`, no user config),
//! so tests can run in parallel and never touch anyone's tmux. Panes stay
//! after their program exits (`remain-on-exit`), so a test can read the exit
//! status. Drop kills the server and with it the kiosk.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a test waits for a screen before it gives up.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);
pub const WIDTH: u16 = 110;
pub const HEIGHT: u16 = 32;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct Tmux {
    /// Socket and session name both: unique per process and session.
    name: String,
}

impl Tmux {
    /// Starts `program args…` in a new 110×32 session.
    pub fn start(program: &str, args: &[&str]) -> Tmux {
        let name = format!(
            "klubkasse-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Tmux { name };
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
            program,
        ];
        cmd.extend_from_slice(args);
        tmux.run(&cmd);
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

    pub fn wait_for(&self, text: &str) -> String {
        self.wait_for_within(text, TIMEOUT)
    }

    fn describe_pane(&self) -> String {
        match self.pane("#{pane_dead} #{pane_dead_status}").as_str() {
            "0" | "0 " => "the program is running".to_string(),
            dead => format!("the program exited ({dead})"),
        }
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        let pid = self.pane("#{pane_pid}");
        pid.parse()
            .unwrap_or_else(|_| panic!("pane_pid is «{pid}»"))
    }

    /// Waits until the program has ended; returns its exit status
    /// (`None` when a signal ended it).
    pub fn wait_exit(&self) -> Option<i32> {
        let start = Instant::now();
        loop {
            let state = self.pane("#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}");
            let mut parts = state.split('|');
            if parts.next() == Some("1") {
                return parts.next().and_then(|s| s.parse().ok());
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
    }
}
