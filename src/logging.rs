//! The kiosk's log: a daily file in the data folder, and panics logged too.

use std::path::Path;

/// Logs go to a file in the data folder, never to the kiosk's screen.
pub fn init(data_dir: &Path) -> std::io::Result<tracing_appender::non_blocking::WorkerGuard> {
    let logs = data_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot create {}: {e}", logs.display()))
    })?;
    let (writer, guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::daily(&logs, "klubkasse.log"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KLUBKASSE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "panic");
        default_hook(info);
    }));
    Ok(guard)
}
