//! The kiosk's event loop: keys, card taps, ticks and finished effects in;
//! `update()` and `view()` in between; effects out to a worker thread.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use ratatui::crossterm::event::{Event, EventStream, KeyEventKind};
use tokio::sync::mpsc;

use crate::ui::effect::{Effect, EffectContext};
use crate::ui::{Action, App, update, view};

/// How often the clock and the timeouts are looked at.
const TICK: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the terminal failed: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Runs the kiosk until staff choose "quit". `taps` carries the card
/// source's and the sync task's news, already made actions; `nudge`, in
/// connected mode, asks the sync task to push now.
pub async fn run(
    mut app: App,
    ctx: EffectContext,
    mut taps: mpsc::UnboundedReceiver<Action>,
    nudge: Option<mpsc::UnboundedSender<()>>,
) -> Result<(), RuntimeError> {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Action>();
    let effects = spawn_effect_worker(Arc::new(ctx), done_tx);
    let mut terminal = ratatui::init();
    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let result = loop {
        if let Err(e) = terminal.draw(|frame| view(&app, frame)) {
            break Err(e.into());
        }
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => app.key_to_action(key),
                Some(Ok(_)) => None, // a resize: the loop redraws
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            _ = ticker.tick() => Some(Action::Tick),
            Some(action) = done_rx.recv() => Some(action),
            Some(action) = taps.recv() => Some(action),
        };
        let Some(action) = action else { continue };
        app.now = Utc::now();
        for effect in update(&mut app, action) {
            match effect {
                Effect::NudgeSync => {
                    if let Some(nudge) = &nudge {
                        let _ = nudge.send(());
                    }
                }
                Effect::Bell => {
                    let _ = std::io::stdout()
                        .write_all(b"\x07")
                        .and_then(|()| std::io::stdout().flush());
                }
                other => {
                    let _ = effects.send(other);
                }
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    ratatui::restore();
    drop(effects);
    result
}

/// One worker runs effects in the order they were asked for: a sale is
/// saved before anything that follows it is looked up.
fn spawn_effect_worker(
    ctx: Arc<EffectContext>,
    done: mpsc::UnboundedSender<Action>,
) -> std::sync::mpsc::Sender<Effect> {
    let (tx, rx) = std::sync::mpsc::channel::<Effect>();
    std::thread::Builder::new()
        .name("effects".into())
        .spawn(move || {
            for effect in rx {
                if let Some(action) = execute_guarded(&ctx, effect) {
                    let _ = done.send(action);
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
            let message = "internal error (see the log)".to_string();
            Some(if is_sale {
                Action::SaleFailed(message)
            } else {
                Action::StaffDone(Err(message))
            })
        },
    )
}
