//! The real PC/SC stack: pcscd with the vsmartcard-vpcd virtual readers,
//! and the project's virtual card (`klubkasse-vcard`) read through them
//! with the `pcsc` crate, as the kiosk reads a card.
//!
//! EVERY test that uses pcscd lives in this file and holds
//! `klubkasse_testkit::pcscd::lock()`: there is one pcscd per machine, and tests restart it.
//! See crates/testkit/src/pcscd.rs. Needs pcscd and vsmartcard-vpcd
//! (`./install.sh --test` installs them); without them these tests fail,
//! they do not skip.
//!
//! Over 400 lines on purpose: see EVERY above; the card source's tests and
//! the kiosk's are its two modules.

use std::ffi::CString;
use std::time::{Duration, Instant};

use klubkasse_testkit::pcscd::{SLOT_0, SLOT_1, Slot, VirtualCard};
use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};

/// pcscd polls a reader about every 400 ms; a second per event is plenty.
const EVENT: Duration = Duration::from_secs(1);
const GET_UID: [u8; 5] = [0xFF, 0xCA, 0x00, 0x00, 0x00];

/// Waits until the reader's state has `wanted` (PRESENT or EMPTY); the
/// moment it was seen.
fn wait_for(ctx: &Context, slot: Slot, wanted: State, timeout: Duration) -> Instant {
    let deadline = Instant::now() + timeout;
    let name = CString::new(slot.reader).expect("no NUL in a reader name");
    let mut states = [ReaderState::new(name, State::UNAWARE)];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(left, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => panic!(
                "«{}» did not become {wanted:?} within {timeout:?} (state {:?})",
                slot.reader,
                states[0].event_state()
            ),
            Err(err) => panic!("get_status_change on «{}»: {err}", slot.reader),
        }
        if states[0].event_state().contains(wanted) {
            return Instant::now();
        }
        states[0].sync_current_state();
    }
}

/// Waits for a card on the slot, connects and sends the UID command, as
/// the kiosk does; returns the whole answer (data and status word).
fn read_uid(ctx: &Context, slot: Slot) -> Vec<u8> {
    wait_for(ctx, slot, State::PRESENT, 3 * EVENT);
    let name = CString::new(slot.reader).expect("no NUL in a reader name");
    let card = ctx
        .connect(&name, ShareMode::Shared, Protocols::ANY)
        .unwrap_or_else(|e| panic!("connect to the card on «{}»: {e}", slot.reader));
    let mut buffer = [0u8; 258];
    card.transmit(&GET_UID, &mut buffer)
        .unwrap_or_else(|e| panic!("transmit FF CA 00 00 00: {e}"))
        .to_vec()
}

/// pcscd running, a context, and no card left on the slot by an earlier
/// test.
fn ready(slot: Slot) -> Context {
    klubkasse_testkit::pcscd::ensure_running();
    let ctx = Context::establish(Scope::User).expect("establish a PC/SC context");
    wait_for(&ctx, slot, State::EMPTY, 3 * EVENT);
    ctx
}

#[test]
fn vcard_is_read_through_pcscd_and_held_then_removed() {
    let _pcscd = klubkasse_testkit::pcscd::lock();
    let ctx = ready(SLOT_0);

    let hold = Duration::from_secs(1);
    let tap = VirtualCard::new("04A1B2C3").hold(hold).tap();
    let answer = read_uid(&ctx, SLOT_0);
    let read_at = Instant::now();
    assert_eq!(answer, [0x04, 0xA1, 0xB2, 0xC3, 0x90, 0x00]);

    // The card stays for its hold, then leaving the reader is removal.
    let removed_at = wait_for(&ctx, SLOT_0, State::EMPTY, hold + 3 * EVENT);
    assert!(
        removed_at - read_at >= hold - Duration::from_millis(100),
        "the card left after {:?}, before its hold of {hold:?}",
        removed_at - read_at
    );
    let out = tap.wait();
    assert_eq!(out.ok(), "read 04A1B2C3\n", "{out}");
}

#[test]
fn vcard_on_the_second_slot_with_a_seven_byte_uid() {
    let _pcscd = klubkasse_testkit::pcscd::lock();
    let ctx = ready(SLOT_1);

    let tap = VirtualCard::new("04112233445566").slot(SLOT_1).tap();
    let answer = read_uid(&ctx, SLOT_1);
    assert_eq!(
        answer,
        [0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x90, 0x00]
    );
    let out = tap.wait();
    assert_eq!(out.ok(), "read 04112233445566\n", "{out}");
    wait_for(&ctx, SLOT_1, State::EMPTY, 3 * EVENT);
}

#[test]
fn vcard_with_another_status_word_answers_it_alone() {
    let _pcscd = klubkasse_testkit::pcscd::lock();
    let ctx = ready(SLOT_0);

    let tap = VirtualCard::new("04B2C3D4").status("6A81").tap();
    assert_eq!(read_uid(&ctx, SLOT_0), [0x6A, 0x81]);
    let out = tap.wait();
    assert_eq!(out.ok(), "refused UID read with 6A81\n", "{out}");
}

#[test]
fn vcard_gives_up_when_nobody_reads_it() {
    let _pcscd = klubkasse_testkit::pcscd::lock();
    ready(SLOT_0);

    // pcscd powers the card and asks its ATR, but no client sends FF CA.
    let out = VirtualCard::new("04C3D4E5")
        .timeout(Duration::from_millis(1500))
        .tap()
        .wait();
    assert_eq!(out.code, Some(1), "{out}");
    assert!(out.stderr.contains("was not read within"), "{out}");
    assert_eq!(out.stdout, "", "{out}");
}

#[test]
fn vcard_without_pcscd_says_what_is_missing() {
    let _pcscd = klubkasse_testkit::pcscd::lock();
    klubkasse_testkit::pcscd::stop();

    let out = VirtualCard::new("04D4E5F6").tap().wait();
    klubkasse_testkit::pcscd::ensure_running(); // before asserting: the other tests need it
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr
            .contains("pcscd with vsmartcard-vpcd must be running"),
        "{out}"
    );
}

#[test]
fn restart_brings_the_readers_back_and_cards_read_again() {
    let _pcscd = klubkasse_testkit::pcscd::lock();
    klubkasse_testkit::pcscd::ensure_running();
    let before = klubkasse_testkit::pcscd::pids();

    klubkasse_testkit::pcscd::restart();
    let after = klubkasse_testkit::pcscd::pids();
    assert_eq!(after.len(), 1, "one pcscd after the restart: {after:?}");
    assert!(
        !before.contains(&after[0]),
        "a new pcscd: {before:?} → {after:?}"
    );
    let readers = klubkasse_testkit::pcscd::list_readers().expect("list readers after the restart");
    assert!(readers.iter().any(|r| r == SLOT_0.reader), "{readers:?}");
    assert!(readers.iter().any(|r| r == SLOT_1.reader), "{readers:?}");

    // A context from after the restart reads a card as before.
    let ctx = ready(SLOT_0);
    let tap = VirtualCard::new("04E5F6A7").tap();
    assert_eq!(read_uid(&ctx, SLOT_0), [0x04, 0xE5, 0xF6, 0xA7, 0x90, 0x00]);
    tap.wait().ok();
}

// ---- The kiosk's own card source (klubkasse::reader::PcscSource) ----------

mod source {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use klubkasse::reader::{CardEvent, PcscSource, ReaderHandle, ReaderStatus};

    use super::EVENT;
    use klubkasse_testkit::pcscd::{SLOT_0, SLOT_1, VirtualCard};

    /// The kiosk's card source, running, its events in a channel.
    pub struct Source {
        events: mpsc::Receiver<CardEvent>,
        handle: Option<ReaderHandle>,
    }

    impl Source {
        /// Started on a running pcscd, and waited for until it reports a reader.
        pub fn start() -> Source {
            // No card left from an earlier test: pcscd notices a removal only
            // at its next poll, and a card that never left is no new tap.
            super::ready(SLOT_0);
            super::ready(SLOT_1);
            let (tx, events) = mpsc::channel();
            let handle = PcscSource::default()
                .spawn(move |event| {
                    let _ = tx.send(event);
                })
                .expect("start the reader thread");
            let source = Source {
                events,
                handle: Some(handle),
            };
            source.expect(
                |e| matches!(e, CardEvent::Status(ReaderStatus::Ready { .. })),
                3 * EVENT,
            );
            source
        }

        /// The next event within `timeout`, if any.
        pub fn next(&self, timeout: Duration) -> Option<CardEvent> {
            self.events.recv_timeout(timeout).ok()
        }

        /// Waits for an event that `wanted` accepts; the events before it.
        pub fn expect(
            &self,
            wanted: impl Fn(&CardEvent) -> bool,
            timeout: Duration,
        ) -> Vec<CardEvent> {
            let deadline = Instant::now() + timeout;
            let mut seen = Vec::new();
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.next(left) {
                    Some(event) if wanted(&event) => return seen,
                    Some(event) => seen.push(event),
                    None => {
                        panic!("the wanted event did not come within {timeout:?}; saw {seen:?}")
                    }
                }
            }
        }

        /// Every event for `quiet`, for "nothing more happened" checks.
        pub fn drain(&self, quiet: Duration) -> Vec<CardEvent> {
            let until = Instant::now() + quiet;
            let mut seen = Vec::new();
            while let Some(event) = self.next(until.saturating_duration_since(Instant::now())) {
                seen.push(event);
            }
            seen
        }

        pub fn stop(mut self) -> Duration {
            let started = Instant::now();
            if let Some(handle) = self.handle.take() {
                handle.stop();
            }
            started.elapsed()
        }
    }

    fn tapped(uid: &str) -> impl Fn(&CardEvent) -> bool + '_ {
        move |e| matches!(e, CardEvent::Tapped { uid: u, .. } if u.as_str() == uid)
    }

    fn is_tap(e: &CardEvent) -> bool {
        matches!(e, CardEvent::Tapped { .. })
    }

    #[test]
    fn a_tap_is_one_event_even_when_the_card_is_held() {
        let _pcscd = klubkasse_testkit::pcscd::lock();
        let source = Source::start();
        let card = VirtualCard::new("04A1B2C3")
            .hold(Duration::from_secs(3))
            .tap();
        source.expect(tapped("04A1B2C3"), 3 * EVENT);
        card.wait().ok();
        let after: Vec<_> = source.drain(2 * EVENT);
        assert!(
            !after.iter().any(is_tap),
            "a held card tapped again: {after:?}"
        );
        assert!(
            after.iter().any(|e| matches!(e, CardEvent::Removed { .. })),
            "{after:?}"
        );
        // Off and on again: a new tap.
        let again = VirtualCard::new("04A1B2C3").tap();
        source.expect(tapped("04A1B2C3"), 3 * EVENT);
        again.wait().ok();
        assert!(
            source.stop() < Duration::from_secs(2),
            "the reader thread did not stop promptly"
        );
    }

    #[test]
    fn two_cards_one_after_another_and_the_second_slot() {
        let _pcscd = klubkasse_testkit::pcscd::lock();
        let source = Source::start();
        for (uid, slot) in [
            ("04A1B2C3", SLOT_0),
            ("04B2C3D4", SLOT_0),
            ("04112233445566", SLOT_1),
        ] {
            let card = VirtualCard::new(uid).slot(slot).tap();
            let before = source.expect(
                |e| matches!(e, CardEvent::Tapped { uid: u, reader } if u.as_str() == uid && reader == slot.reader),
                3 * EVENT,
            );
            assert!(
                !before.iter().any(is_tap),
                "{uid}: other taps first: {before:?}"
            );
            card.wait().ok();
            source.expect(|e| matches!(e, CardEvent::Removed { .. }), 3 * EVENT);
        }
        source.stop();
    }

    #[test]
    fn a_card_that_does_not_answer_is_unreadable_not_a_tap() {
        let _pcscd = klubkasse_testkit::pcscd::lock();
        let source = Source::start();
        let card = VirtualCard::new("04A1B2C3").status("6A81").tap();
        let before = source.expect(
            |e| matches!(e, CardEvent::Unreadable { why, .. } if why.contains("6A 81")),
            3 * EVENT,
        );
        assert!(!before.iter().any(is_tap), "{before:?}");
        let _ = card.wait();
        let after = source.drain(EVENT);
        assert!(!after.iter().any(is_tap), "{after:?}");
        source.stop();
    }

    #[test]
    fn pcscd_restarted_under_the_source_and_the_next_tap_works() {
        let _pcscd = klubkasse_testkit::pcscd::lock();
        let source = Source::start();
        klubkasse_testkit::pcscd::stop();
        source.expect(
            |e| matches!(e, CardEvent::Status(ReaderStatus::Missing)),
            3 * EVENT,
        );
        klubkasse_testkit::pcscd::restart();
        // The source finds the new pcscd by itself (its retries grow to 5 s).
        source.expect(
            |e| matches!(e, CardEvent::Status(ReaderStatus::Ready { .. })),
            10 * EVENT,
        );
        let card = VirtualCard::new("04C3D4E5").tap();
        source.expect(tapped("04C3D4E5"), 3 * EVENT);
        card.wait().ok();
        source.stop();
    }
}

// ---- The kiosk end to end with the real reader ----------------------------

mod kiosk {
    use std::ffi::OsStr;
    use std::path::Path;

    use klubkasse_testkit::pcscd::VirtualCard;
    use klubkasse_testkit::tmux::Tmux;

    /// The idle screen with a reader found: the status bar says so.
    const READY: &str = "Kortlæser klar";

    fn tap(uid: &str) {
        VirtualCard::new(uid).tap().wait().ok();
    }

    /// Ends the kiosk and waits until it is gone: a kiosk still reading
    /// cards would read the next test's cards too.
    fn stop(kiosk: Tmux) {
        let pid = kiosk.pid().to_string();
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .expect("kill the kiosk");
        kiosk.wait_exit();
    }

    fn sell_with_the_reader(kiosk: &Tmux) {
        kiosk.wait_for(READY);
        tap("04A1B2C3"); // Freja Nielsen, 250 kr.
        kiosk.wait_for("Saldo: 250,00 kr.");
        kiosk.send_keys(&["1", "Enter"]);
        kiosk.wait_for("Du har nu 238,00 kr.");
        tap("DEADBEEF");
        kiosk.wait_for("Kortet kendes ikke");
        // Staff need the UID; it is drawn below the refusal.
        kiosk.wait_for("DEADBEEF");
    }

    #[test]
    fn demo_with_the_pcsc_reader_sells_and_refuses_unknown_cards() {
        let _pcscd = klubkasse_testkit::pcscd::lock();
        klubkasse_testkit::pcscd::ensure_running();
        let dir = tempfile::TempDir::new().unwrap();
        let data = dir.path().to_str().unwrap();
        let kiosk = Tmux::start(
            &klubkasse_testkit::bin::KIOSK,
            &["demo", "--reader", "pcsc", "--data-dir", data],
        );
        sell_with_the_reader(&kiosk);
        stop(kiosk);
    }

    #[test]
    fn a_card_held_through_a_sale_does_not_start_another() {
        let _pcscd = klubkasse_testkit::pcscd::lock();
        klubkasse_testkit::pcscd::ensure_running();
        let dir = tempfile::TempDir::new().unwrap();
        let data = dir.path().to_str().unwrap();
        let kiosk = Tmux::start(
            &klubkasse_testkit::bin::KIOSK,
            &["demo", "--reader", "pcsc", "--data-dir", data],
        );
        kiosk.wait_for(READY);
        // Held long past the sale and its 4 s result screen.
        let hold = std::time::Duration::from_secs(10);
        let held = VirtualCard::new("04A1B2C3").hold(hold).tap();
        let tapped = std::time::Instant::now();
        kiosk.wait_for("Saldo: 250,00 kr.");
        kiosk.send_keys(&["1", "Enter"]);
        kiosk.wait_for("Du har nu 238,00 kr.");
        // Back to idle with the card still on the reader, and it stays so.
        assert!(klubkasse_testkit::pcscd::poll(hold, || !kiosk
            .screen()
            .contains("Du har nu")));
        while tapped.elapsed() < hold {
            let screen = kiosk.screen();
            assert!(
                !screen.contains("Saldo:"),
                "the held card started another sale:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        held.wait().ok();
        // Lifted and laid down again, it is a new tap.
        tap("04A1B2C3");
        kiosk.wait_for("Saldo: 238,00 kr.");
        stop(kiosk);
        let report = klubkasse_testkit::run::report(dir.path(), true);
        assert!(
            report.ok().contains(";Salg i alt (før retur);1;;12,00"),
            "{report}"
        );
    }

    #[test]
    fn run_with_reader_pcsc_from_the_config() {
        let _pcscd = klubkasse_testkit::pcscd::lock();
        klubkasse_testkit::pcscd::ensure_running();
        let dir = tempfile::TempDir::new().unwrap();
        let data = dir.path().join("data");
        // The store as the kiosk's first start makes it (a tool never
        // creates one), then the demo children, imported as an office would.
        klubkasse::store::Store::open(&data).unwrap();
        let csv = dir.path().join("children.csv");
        std::fs::write(&csv, include_str!("../assets/demo-children.csv")).unwrap();
        let import = [
            OsStr::new("import-children"),
            csv.as_os_str(),
            OsStr::new("--data-dir"),
            data.as_os_str(),
        ];
        klubkasse_testkit::run::klubkasse(&import, None).ok();
        let menu = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/menu.toml");
        let config = dir.path().join("kiosk.toml");
        std::fs::write(
            &config,
            format!(
                "counter = \"Caféen\"\ndata_dir = {:?}\nreader = \"pcsc\"\nreader_name = \"Virtual PCD\"\nmenu = {:?}\n",
                data, menu
            ),
        )
        .unwrap();
        let kiosk = Tmux::start(
            &klubkasse_testkit::bin::KIOSK,
            &["run", "--config", config.to_str().unwrap()],
        );
        sell_with_the_reader(&kiosk);
        stop(kiosk);
    }
}
