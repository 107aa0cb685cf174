//! The kiosk's log: a daily file in the data folder, and panics logged too.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why there is no log file: the kiosk runs on without one.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the log in {}: {source}", .folder.display())]
pub struct LogError {
    pub folder: PathBuf,
    source: std::io::Error,
}

/// Logs go to a file in the data folder, never to the kiosk's screen.
/// A folder that cannot be written is an error to show, not a panic (as
/// `tracing_appender::rolling::daily` would): the caller runs on without a
/// log and says where it could not write.
pub fn init(data_dir: &Path) -> Result<tracing_appender::non_blocking::WorkerGuard, LogError> {
    let folder = data_dir.join("logs");
    let cannot = |source| LogError {
        folder: folder.clone(),
        source,
    };
    std::fs::create_dir_all(&folder).map_err(cannot)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("klubkasse.log")
        .build(&folder)
        .map_err(|e| cannot(std::io::Error::other(e)))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KLUBKASSE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let shown = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "panic");
        shown(info);
    }));
    Ok(guard)
}

/// Says a panic in one plain line, never with a backtrace (whatever
/// `RUST_BACKTRACE` says): the people reading it run a club. The log, when
/// there is one, has it too. A `println!` into a closed pipe
/// (`klubkasse … | head -1`) is no mistake: the reader has what it wanted,
/// and the command ends quietly, as with the usual SIGPIPE.
pub fn plain_panics() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if what.starts_with("failed printing to stdout") && what.contains("Broken pipe") {
            std::process::exit(0);
        }
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        // Not eprintln!: a closed stderr would panic again, and abort.
        let _ = writeln!(
            std::io::stderr(),
            "klubkasse: internal error: {what}{place}"
        );
    }));
}
