//! The kiosk's event loop: keys, card taps, ticks and finished effects in;
//! `update()` and `view()` in between; effects out to a worker thread.
//!
//! Two front ends share the loop's core: the terminal, and a headless one
//! that reads taps and keys as lines and writes what the screen would show
//! as JSON lines, so another program can drive a real kiosk (the crash
//! test does).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use ratatui::crossterm::event::{Event, EventStream, KeyEvent, KeyEventKind};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use crate::action::{StaffFailure, StaffOutcome};
use crate::ui::effect::{Effect, EffectContext, INTERNAL_ERROR};
use crate::ui::headless::{self, Command};
use crate::ui::{Action, App, update, view};

/// How often the clock and the timeouts are looked at.
const TICK: Duration = Duration::from_millis(250);

/// How long a stopping kiosk waits for effects under way (a sale being
/// saved) before it lets go of the terminal.
const FINISH: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// (The cause follows in the error's chain, as the binary prints it.)
    #[error("the terminal failed")]
    Terminal(#[from] std::io::Error),
}

/// What every front end shares: the effect worker, its answers, the clock
/// and the sync task's nudge.
struct Core {
    effects: std::sync::mpsc::Sender<Effect>,
    /// One message per effect run, with the action it ended in, if any.
    done: mpsc::UnboundedReceiver<Option<Action>>,
    /// Effects sent and not yet done.
    in_flight: usize,
    ticker: tokio::time::Interval,
    nudge: Option<mpsc::UnboundedSender<()>>,
}

impl Core {
    fn new(ctx: EffectContext, nudge: Option<mpsc::UnboundedSender<()>>) -> Core {
        let (done_tx, done) = mpsc::unbounded_channel();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Core {
            effects: spawn_effect_worker(Arc::new(ctx), done_tx),
            done,
            in_flight: 0,
            ticker,
            nudge,
        }
    }

    /// Updates the app and sends the effects on their way; `bell` rings
    /// (or not) as the front end can.
    fn apply(&mut self, app: &mut App, action: Action, bell: impl Fn()) {
        app.now = Utc::now();
        for effect in update(app, action) {
            match effect {
                Effect::NudgeSync => {
                    if let Some(nudge) = &self.nudge {
                        let _ = nudge.send(());
                    }
                }
                Effect::Bell => bell(),
                other => {
                    if self.effects.send(other).is_ok() {
                        self.in_flight += 1;
                    }
                }
            }
        }
    }

    /// What comes by itself: the clock, a finished effect, or news from
    /// the card reader and the sync task (`taps`).
    async fn next(&mut self, taps: &mut mpsc::UnboundedReceiver<Action>) -> Option<Action> {
        tokio::select! {
            _ = self.ticker.tick() => Some(Action::Tick),
            Some(done) = self.done.recv() => {
                self.in_flight = self.in_flight.saturating_sub(1);
                done
            }
            Some(action) = taps.recv() => Some(action),
        }
    }

    /// Lets the effects under way end (a sale half saved stays saved or
    /// is taken back, never left to the exit), for at most [`FINISH`].
    async fn finish(&mut self) {
        let waited = tokio::time::timeout(FINISH, async {
            while self.in_flight > 0 && self.done.recv().await.is_some() {
                self.in_flight -= 1;
            }
        });
        if waited.await.is_err() {
            tracing::warn!(effects = self.in_flight, "stopped with effects unfinished");
        }
    }
}

/// The signals that stop a kiosk as if staff had quit: the system shutting
/// down (SIGTERM), the terminal gone (SIGHUP), `kill -INT`. Without them
/// the process would die with the terminal still in raw mode.
struct StopSignals {
    term: Signal,
    hup: Signal,
    int: Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The next stop signal's name.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Runs the kiosk on the terminal until staff choose "quit". `taps`
/// carries the card source's and the sync task's news, already made
/// actions; `nudge`, in connected mode, asks the sync task to push now.
pub async fn run(
    mut app: App,
    ctx: EffectContext,
    mut taps: mpsc::UnboundedReceiver<Action>,
    nudge: Option<mpsc::UnboundedSender<()>>,
) -> Result<(), RuntimeError> {
    let mut core = Core::new(ctx, nudge);
    let mut signals = StopSignals::new()?;
    // An error, not ratatui::init's panic, where there is no terminal to
    // take (no controlling terminal, `setsid`).
    let mut terminal = ratatui::try_init()?;
    let mut events = EventStream::new();
    app.size = terminal.size().ok();
    let result = loop {
        if let Err(e) = terminal.draw(|frame| view(&app, frame)) {
            break Err(e.into());
        }
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => app.key_to_action(key),
                Some(Ok(Event::Resize(width, height))) => Some(Action::Resize(width, height)),
                Some(Ok(_)) => None,
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            action = core.next(&mut taps) => action,
            name = signals.recv() => {
                tracing::info!(signal = name, "stopping on a signal");
                break Ok(());
            }
        };
        let Some(action) = action else { continue };
        core.apply(&mut app, action, ring_terminal_bell);
        if app.quit {
            break Ok(());
        }
    };
    core.finish().await;
    // Not ratatui::restore, nor the terminal's drop where the cursor cannot
    // be shown: they eprintln!, which panics where the terminal is gone (a
    // closed window), and the kiosk would end without a word in the log.
    let restored = ratatui::try_restore().and_then(|()| terminal.show_cursor());
    if let Err(e) = restored {
        tracing::warn!(error = %e, "the terminal could not be restored");
        std::mem::forget(terminal);
    }
    result
}

fn ring_terminal_bell() {
    let _ = std::io::stdout()
        .write_all(b"\x07")
        .and_then(|()| std::io::stdout().flush());
}

/// Runs the kiosk without a terminal: commands from stdin (see
/// [`headless`]), events to stdout, until stdin ends or staff quit. Each
/// command is carried through to its end (the card looked up, the sale
/// saved) before the next is read, so a script needs no waits.
pub async fn run_headless(
    mut app: App,
    ctx: EffectContext,
    mut taps: mpsc::UnboundedReceiver<Action>,
    nudge: Option<mpsc::UnboundedSender<()>>,
) -> Result<(), RuntimeError> {
    let mut core = Core::new(ctx, nudge);
    let mut signals = StopSignals::new()?;
    let mut lines = headless::spawn_stdin_reader();
    let mut out = std::io::stdout().lock();
    headless::write_event(&mut out, &headless::Event::Ready)?;
    loop {
        let action = tokio::select! {
            line = lines.recv(), if core.in_flight == 0 => match line {
                None => break, // stdin ended: the driver is done
                Some((number, text)) => match headless::parse_command(&text) {
                    Ok(Command::Tap(uid)) => Some(Action::CardTapped(uid)),
                    Ok(Command::Key(key)) => app.key_to_action(KeyEvent::new(key.code, key.modifiers)),
                    Ok(Command::Quit) => break,
                    Ok(Command::Nothing) => None,
                    Err(message) => {
                        headless::write_event(&mut out, &headless::bad_line(number, &message))?;
                        None
                    }
                },
            },
            action = core.next(&mut taps) => action,
            name = signals.recv() => {
                tracing::info!(signal = name, "stopping on a signal");
                break;
            }
        };
        let Some(action) = action else { continue };
        let before = headless::Seen::of(&app, &action);
        core.apply(&mut app, action, || {});
        if let Some(event) = before.outcome(&app) {
            headless::write_event(&mut out, &event)?;
        }
        if app.quit {
            break;
        }
    }
    core.finish().await;
    Ok(())
}

/// One worker runs effects in the order they were asked for: a sale is
/// saved before anything that follows it is looked up.
fn spawn_effect_worker(
    ctx: Arc<EffectContext>,
    done: mpsc::UnboundedSender<Option<Action>>,
) -> std::sync::mpsc::Sender<Effect> {
    let (tx, rx) = std::sync::mpsc::channel::<Effect>();
    std::thread::Builder::new()
        .name("effects".into())
        .spawn(move || {
            for effect in rx {
                if done.send(execute_guarded(&ctx, effect)).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| tracing::error!(error = %e, "could not start the effect worker"))
        .ok();
    tx
}

/// Runs an effect; should it panic, the screen hears of a failure instead
/// of waiting forever on "Gemmer …".
fn execute_guarded(ctx: &EffectContext, effect: Effect) -> Option<Action> {
    let is_sale = matches!(
        effect,
        Effect::RecordSale { .. } | Effect::LookupCard { .. }
    );
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.execute(effect))).unwrap_or_else(
        |_| {
            tracing::error!("an effect panicked");
            Some(if is_sale {
                Action::SaleFailed(INTERNAL_ERROR.to_string())
            } else {
                Action::StaffDone(StaffOutcome::Failed(StaffFailure::Internal))
            })
        },
    )
}
