//! Card taps from USB readers through `pcscd`, on a thread of their own.
//!
//! `get_status_change` blocks, so the watch runs on a dedicated thread and
//! is woken with `Context::cancel()` to stop. When the card service goes
//! away (pcscd stopped or restarted), the context is useless forever, so
//! the thread establishes a new one, with growing pauses, and carries on.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pcsc::{
    Context, Disposition, Error, PNP_NOTIFICATION, Protocols, ReaderState, Scope, ShareMode, State,
};

use super::apdu::{GET_UID, parse_uid_answer};
use super::tracker::{Step, Tracker};
use super::{CardEvent, ReaderStatus};

/// How long one wait for a status change lasts before the loop looks
/// around again (readers listed, stop asked for).
const WAIT: Duration = Duration::from_secs(1);
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LONGEST_RETRY: Duration = Duration::from_secs(5);
/// Tries at reading a card that has just arrived, and the pause between.
const READ_ATTEMPTS: u32 = 3;
const READ_RETRY: Duration = Duration::from_millis(30);

/// Watches every reader, or those whose name contains `reader_name`.
#[derive(Debug, Clone, Default)]
pub struct PcscSource {
    pub reader_name: Option<String>,
}

/// The running watch; stopping (or dropping) it ends the thread.
pub struct ReaderHandle {
    stop: Arc<AtomicBool>,
    context: Arc<Mutex<Option<Context>>>,
    thread: Option<JoinHandle<()>>,
}

impl PcscSource {
    /// Starts the watch; every event goes to `emit`, on the reader thread.
    pub fn spawn(
        self,
        emit: impl FnMut(CardEvent) + Send + 'static,
    ) -> std::io::Result<ReaderHandle> {
        let stop = Arc::new(AtomicBool::new(false));
        let context = Arc::new(Mutex::new(None));
        let (thread_stop, thread_context) = (stop.clone(), context.clone());
        let thread = std::thread::Builder::new()
            .name("pcsc".into())
            .spawn(move || Watch::new(self, thread_stop, thread_context, emit).run())?;
        Ok(ReaderHandle {
            stop,
            context,
            thread: Some(thread),
        })
    }
}

impl ReaderHandle {
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(context) = lock(&self.context).as_ref() {
            let _ = context.cancel();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ReaderHandle {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Watch<F> {
    source: PcscSource,
    stop: Arc<AtomicBool>,
    shared_context: Arc<Mutex<Option<Context>>>,
    emit: F,
    tracker: Tracker,
    status: Option<ReaderStatus>,
}

impl<F: FnMut(CardEvent)> Watch<F> {
    fn new(
        source: PcscSource,
        stop: Arc<AtomicBool>,
        shared_context: Arc<Mutex<Option<Context>>>,
        emit: F,
    ) -> Self {
        Watch {
            source,
            stop,
            shared_context,
            emit,
            tracker: Tracker::default(),
            status: None,
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Establish a context, watch until it fails, and again, until stopped.
    fn run(mut self) {
        let mut retry = FIRST_RETRY;
        while !self.stopping() {
            match Context::establish(Scope::User) {
                Ok(context) => {
                    *lock(&self.shared_context) = Some(context.clone());
                    // A stop asked for before the context was shared.
                    if self.stopping() {
                        break;
                    }
                    match self.watch(&context) {
                        Ok(()) => break,
                        Err(e) => tracing::warn!(error = %e, "card service lost; reconnecting"),
                    }
                    *lock(&self.shared_context) = None;
                    retry = FIRST_RETRY;
                }
                Err(e) => tracing::debug!(error = %e, "no card service yet"),
            }
            self.tracker.reset();
            self.set_status(ReaderStatus::Missing);
            self.pause(retry);
            retry = (retry * 2).min(LONGEST_RETRY);
        }
    }

    /// Sleeps, but wakes at once when asked to stop.
    fn pause(&self, total: Duration) {
        let until = Instant::now() + total;
        while !self.stopping() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn set_status(&mut self, status: ReaderStatus) {
        if self.status.as_ref() != Some(&status) {
            self.status = Some(status.clone());
            (self.emit)(CardEvent::Status(status));
        }
    }

    /// Watches readers and cards with one context. `Ok` only when stopped.
    fn watch(&mut self, context: &Context) -> Result<(), Error> {
        let mut states = vec![ReaderState::new(
            PNP_NOTIFICATION().to_owned(),
            State::UNAWARE,
        )];
        loop {
            if self.stopping() {
                return Ok(());
            }
            self.sync_readers(context, &mut states)?;
            match context.get_status_change(WAIT, &mut states) {
                Ok(()) => {}
                Err(Error::Timeout | Error::UnknownReader) => continue,
                Err(Error::Cancelled) if self.stopping() => return Ok(()),
                Err(Error::Cancelled) => continue,
                Err(e) => return Err(e),
            }
            for state in states.iter_mut().skip(1) {
                let event = state.event_state();
                if event.contains(State::CHANGED) {
                    let name = state.name().to_string_lossy().into_owned();
                    let present = event.contains(State::PRESENT) && !event.contains(State::MUTE);
                    self.card_changed(context, &name, present);
                }
                state.sync_current_state();
            }
            states[0].sync_current_state();
        }
    }

    /// Lists the readers, keeps one status slot per reader we watch.
    fn sync_readers(
        &mut self,
        context: &Context,
        states: &mut Vec<ReaderState>,
    ) -> Result<(), Error> {
        let names: Vec<CString> = match context.list_readers_owned() {
            Ok(names) => names,
            Err(Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(e),
        };
        let wanted: Vec<CString> = names
            .into_iter()
            .filter(|n| {
                self.source
                    .reader_name
                    .as_deref()
                    .is_none_or(|part| n.to_string_lossy().contains(part))
            })
            .collect();
        // Keep the slots of readers still there: their current state is
        // what makes the next wait block until something changes.
        let pnp = states.remove(0);
        states.retain(|s| wanted.iter().any(|n| n.as_c_str() == s.name()));
        for name in &wanted {
            if !states.iter().any(|s| s.name() == name.as_c_str()) {
                states.push(ReaderState::new(name.clone(), State::UNAWARE));
            }
        }
        states.insert(0, pnp);
        let text: Vec<String> = wanted
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        if self.tracker.set_readers(&text) {
            tracing::info!(readers = ?text, "card readers");
        }
        let status = match text.as_slice() {
            [] => ReaderStatus::Missing,
            [one] => ReaderStatus::Ready { name: one.clone() },
            [first, rest @ ..] => ReaderStatus::Ready {
                name: format!("{first} +{}", rest.len()),
            },
        };
        self.set_status(status);
        Ok(())
    }

    fn card_changed(&mut self, context: &Context, reader: &str, present: bool) {
        match self.tracker.observe(reader, present, Instant::now()) {
            Some(Step::ReadCard) => match read_uid(context, reader) {
                Ok(uid) => {
                    if self.tracker.card_read(reader, &uid, Instant::now()) {
                        tracing::info!(reader, card = %uid, "tap");
                        (self.emit)(CardEvent::Tapped {
                            uid,
                            reader: reader.to_string(),
                        });
                    }
                }
                Err(why) => {
                    tracing::warn!(reader, why, "card could not be read");
                    (self.emit)(CardEvent::Unreadable {
                        reader: reader.to_string(),
                        why,
                    });
                }
            },
            Some(Step::Removed) => (self.emit)(CardEvent::Removed {
                reader: reader.to_string(),
            }),
            None => {}
        }
    }
}

/// Connects to the card on `reader` and asks for its UID. A card that has
/// only just arrived, or is half taken away, can fail to talk for a moment;
/// such a failure is tried again briefly. An answer from the card, even a
/// refusal, is final.
fn read_uid(context: &Context, reader: &str) -> Result<klubkasse_core::domain::CardUid, String> {
    let name = CString::new(reader).map_err(|e| e.to_string())?;
    let mut last = String::new();
    for attempt in 0..READ_ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(READ_RETRY);
        }
        let card = match context.connect(&name, ShareMode::Shared, Protocols::ANY) {
            Ok(card) => card,
            Err(Error::NoSmartcard | Error::RemovedCard) => {
                return Err("the card was taken away".into());
            }
            Err(e) => {
                last = format!("connect: {e}");
                continue;
            }
        };
        // pcsc-lite wants room for the longest answer (256 bytes and a status word).
        let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
        let answer = card
            .transmit(&GET_UID, &mut buffer)
            .map(|a| parse_uid_answer(a).map_err(|e| e.to_string()));
        let _ = card.disconnect(Disposition::LeaveCard);
        match answer {
            Ok(uid) => return uid,
            Err(Error::NoSmartcard | Error::RemovedCard) => {
                return Err("the card was taken away".into());
            }
            Err(e) => last = format!("transmit: {e}"),
        }
    }
    Err(last)
}
