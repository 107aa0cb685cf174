//! `klubkasse readers`: like `pcsc_scan`, in our terms, for staff setting
//! up a counter.

use std::io::Write;

use crate::reader::{CardEvent, PcscSource, ReaderStatus};

/// Watches the card readers and writes a line for each event to `out`
/// until the watch ends (Ctrl-C ends the process).
pub fn watch(reader_name: Option<String>, mut out: impl Write) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _watch = PcscSource { reader_name }.spawn(move |event| {
        let _ = tx.send(event);
    })?;
    writeln!(out, "Watching card readers (Ctrl-C to stop) …")?;
    for event in rx {
        let time = chrono::Local::now().format("%H:%M:%S");
        match event {
            CardEvent::Status(ReaderStatus::Ready { name }) => {
                writeln!(out, "{time}  reader ready: {name}")?
            }
            CardEvent::Status(ReaderStatus::Missing) => writeln!(
                out,
                "{time}  no card reader (is one plugged in, and is pcscd running?)"
            )?,
            CardEvent::Status(ReaderStatus::Demo) => {}
            CardEvent::Tapped { uid, reader } => writeln!(out, "{time}  {reader}: card {uid}")?,
            CardEvent::Removed { reader } => writeln!(out, "{time}  {reader}: card removed")?,
            CardEvent::Unreadable { reader, why } => {
                writeln!(out, "{time}  {reader}: card could not be read ({why})")?
            }
        }
        out.flush()?;
    }
    Ok(())
}
