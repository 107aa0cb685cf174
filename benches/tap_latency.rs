//! Tap latency on the real PC/SC stack: from putting the virtual card on
//! the reader to (a) the kiosk's card source reporting the tap and (b) the
//! child's name drawn, against a bare `pcsc` wait-connect-read loop on the
//! same pcscd, in the same run.
//!
//!     pcscd --foreground &        # with vsmartcard-vpcd installed
//!     cargo bench --bench tap_latency -- [TAPS]   # default 100 of each
//!
//! The bare loop watches "Virtual PCD 00 00", the kiosk's source only
//! "Virtual PCD 00 01", so neither sees the other's cards. Taps alternate
//! between the two, so both meet the same machine at the same time. The
//! clock starts when the virtual card is started (it connects at once).

use std::ffi::CString;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;
use klubkasse::commands::import;
use klubkasse::config::Menu;
use klubkasse::i18n::Language;
use klubkasse::keymap::Keymap;
use klubkasse::reader::{CardEvent, DemoCards, PcscSource};
use klubkasse::store::Store;
use klubkasse::ui::{Action, App, Effect, EffectContext, Screen, Settings, update, view};
use klubkasse_core::domain::{Connection, PinGuard};
use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use klubkasse_testkit::bench::ms;

const BARE_READER: &str = "Virtual PCD 00 00";
const BARE_PORT: &str = "35963";
const KIOSK_READER: &str = "Virtual PCD 00 01";
const KIOSK_PORT: &str = "35964";
const UID: &str = "04A1B2C3"; // Freja Nielsen in the demo data
const GET_UID: [u8; 5] = [0xFF, 0xCA, 0x00, 0x00, 0x00];

fn vcard(port: &str) -> Child {
    Command::new(&*klubkasse_testkit::bin::VCARD)
        .args(["tap", UID, "--port", port, "--hold", "0.05"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start klubkasse-vcard")
}

/// The baseline: wait for a card, connect, read the UID; once per card.
fn bare_loop(done: mpsc::Sender<Instant>) {
    let ctx = Context::establish(Scope::User).expect("a PC/SC context: is pcscd running?");
    let name = CString::new(BARE_READER).expect("no NUL");
    let mut states = [ReaderState::new(name.clone(), State::UNAWARE)];
    let mut present = false;
    loop {
        if ctx.get_status_change(None, &mut states).is_err() {
            return;
        }
        let now_present = states[0].event_state().contains(State::PRESENT);
        states[0].sync_current_state();
        if now_present && !present {
            let card = ctx
                .connect(&name, ShareMode::Shared, Protocols::ANY)
                .expect("connect");
            let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
            let answer = card.transmit(&GET_UID, &mut buffer).expect("transmit");
            assert!(answer.ends_with(&[0x90, 0x00]), "{answer:02X?}");
            let _ = card.disconnect(Disposition::LeaveCard);
            if done.send(Instant::now()).is_err() {
                return;
            }
        }
        present = now_present;
    }
}

/// 0–500 ms.
fn random_pause() {
    let mut bytes = [0u8; 2];
    getrandom::fill(&mut bytes).expect("random bytes");
    std::thread::sleep(Duration::from_millis(u64::from(
        u16::from_le_bytes(bytes) % 500,
    )));
}

struct Figures {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Figures {
    fn percentile(&self, p: f64) -> Duration {
        klubkasse_testkit::bench::percentile(&self.samples, p)
    }
}

fn main() {
    let taps: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);

    // The kiosk as it runs: demo data in a real store, the real source.
    let dir = tempfile::TempDir::new().expect("a temp dir");
    let store = Store::open(dir.path()).expect("a store");
    import::seed_demo(&store, Utc::now()).expect("demo children");
    let keymap = Keymap::load(None).expect("keymap");
    let menu = Menu::sample(&keymap).expect("menu");
    let settings = Settings {
        counter: "bench".into(),
        language: Language::Da,
        connection: Connection::Standalone,
        offline_allowance: klubkasse_core::domain::Money::ZERO,
        sale_timeout: Duration::from_secs(60),
        result_time: Duration::from_secs(4),
        has_pin: false,
    };
    let mut app = App::new(
        settings,
        menu,
        keymap,
        DemoCards::default(),
        PinGuard::default(),
        Utc::now(),
    );
    let ctx = EffectContext {
        store: std::sync::Arc::new(store),
        counter: "bench".into(),
        connected: false,
        pin_hash: None,
        undo_window: Duration::from_secs(300),
        export_dir: dir.path().join("reports"),
        data_dir: dir.path().to_path_buf(),
    };
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("a test terminal");

    let (tap_tx, tap_rx) = mpsc::channel();
    let _source = PcscSource {
        reader_name: Some(KIOSK_READER.into()),
    }
    .spawn(move |event| {
        if let CardEvent::Tapped { uid, .. } = event {
            let _ = tap_tx.send((Instant::now(), uid));
        }
    })
    .expect("start the card source");
    let (bare_tx, bare_rx) = mpsc::channel();
    std::thread::spawn(move || bare_loop(bare_tx));
    std::thread::sleep(Duration::from_secs(1)); // both see their readers

    let mut bare = Figures {
        name: "bare pcsc loop: card → UID read",
        samples: vec![],
    };
    let mut event = Figures {
        name: "kiosk source: card → tap event",
        samples: vec![],
    };
    let mut drawn = Figures {
        name: "kiosk: card → name drawn",
        samples: vec![],
    };
    let timeout = Duration::from_secs(5);
    for i in 0..taps {
        // pcscd looks at a reader about every 400 ms: start each tap at a
        // random point of that cycle, so that neither side is phase-locked.
        random_pause();
        let started = Instant::now();
        let mut card = vcard(BARE_PORT);
        let read = bare_rx
            .recv_timeout(timeout)
            .expect("the bare loop read the card");
        bare.samples.push(read - started);
        let _ = card.wait();

        random_pause();
        let started = Instant::now();
        let mut card = vcard(KIOSK_PORT);
        let (at, uid) = tap_rx
            .recv_timeout(timeout)
            .expect("the kiosk's source reported the tap");
        event.samples.push(at - started);
        // What the kiosk does with it: update, look the card up, draw.
        let mut pending = vec![Action::CardTapped(uid)];
        while let Some(action) = pending.pop() {
            for effect in update(&mut app, action) {
                if let Some(outcome) = ctx.execute(effect.clone()) {
                    pending.push(outcome);
                }
                assert!(!matches!(effect, Effect::Bell), "the demo card was refused");
            }
        }
        terminal.draw(|frame| view(&app, frame)).expect("draw");
        assert!(
            matches!(app.screen, Screen::Sale(_)),
            "no sale screen after the tap"
        );
        drawn.samples.push(started.elapsed());
        update(&mut app, Action::Cancel);
        let _ = card.wait();
        if (i + 1) % 10 == 0 {
            eprintln!("{} / {taps} taps of each", i + 1);
        }
        std::thread::sleep(Duration::from_millis(450)); // pcscd notices the removal
    }

    println!("\nTap latency over {taps} taps each (pcscd + vpcd, this machine)\n");
    println!("{:<36} {:>11} {:>11} {:>9}", "", "median", "p99", "× bare");
    let base = bare.percentile(50.0);
    for f in [&bare, &event, &drawn] {
        let median = f.percentile(50.0);
        println!(
            "{:<36} {} {} {:>8.2}×",
            f.name,
            ms(median),
            ms(f.percentile(99.0)),
            median.as_secs_f64() / base.as_secs_f64()
        );
    }
    let p99_ratio = drawn.percentile(99.0).as_secs_f64() / bare.percentile(99.0).as_secs_f64();
    println!("\np99 ratio, name drawn / bare: {p99_ratio:.2}×");
}
