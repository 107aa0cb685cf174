//! The real PC/SC stack: pcscd with the vsmartcard-vpcd virtual readers,
//! and the project's virtual card (`klubkasse-vcard`) read through them
//! with the `pcsc` crate, as the kiosk reads a card.
//!
//! EVERY test that uses pcscd lives in this file and holds
//! `pcscd::lock()`: there is one pcscd per machine, and tests restart it.
//! See tests/support/pcscd.rs. Needs pcscd and vsmartcard-vpcd
//! (`./install.sh --test` installs them); without them these tests fail,
//! they do not skip.

#[path = "support/pcscd.rs"]
mod pcscd;

use std::ffi::CString;
use std::time::{Duration, Instant};

use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};
use pcscd::{SLOT_0, SLOT_1, Slot, VirtualCard};

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
    pcscd::ensure_running();
    let ctx = Context::establish(Scope::User).expect("establish a PC/SC context");
    wait_for(&ctx, slot, State::EMPTY, 3 * EVENT);
    ctx
}

#[test]
fn vcard_is_read_through_pcscd_and_held_then_removed() {
    let _pcscd = pcscd::lock();
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
    let _pcscd = pcscd::lock();
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
    let _pcscd = pcscd::lock();
    let ctx = ready(SLOT_0);

    let tap = VirtualCard::new("04B2C3D4").status("6A81").tap();
    assert_eq!(read_uid(&ctx, SLOT_0), [0x6A, 0x81]);
    let out = tap.wait();
    assert_eq!(out.ok(), "refused UID read with 6A81\n", "{out}");
}

#[test]
fn vcard_gives_up_when_nobody_reads_it() {
    let _pcscd = pcscd::lock();
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
    let _pcscd = pcscd::lock();
    pcscd::stop();

    let out = VirtualCard::new("04D4E5F6").tap().wait();
    pcscd::ensure_running(); // before asserting: the other tests need it
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr
            .contains("pcscd with vsmartcard-vpcd must be running"),
        "{out}"
    );
}

#[test]
fn restart_brings_the_readers_back_and_cards_read_again() {
    let _pcscd = pcscd::lock();
    pcscd::ensure_running();
    let before = pcscd::pids();

    pcscd::restart();
    let after = pcscd::pids();
    assert_eq!(after.len(), 1, "one pcscd after the restart: {after:?}");
    assert!(
        !before.contains(&after[0]),
        "a new pcscd: {before:?} → {after:?}"
    );
    let readers = pcscd::list_readers().expect("list readers after the restart");
    assert!(readers.iter().any(|r| r == SLOT_0.reader), "{readers:?}");
    assert!(readers.iter().any(|r| r == SLOT_1.reader), "{readers:?}");

    // A context from after the restart reads a card as before.
    let ctx = ready(SLOT_0);
    let tap = VirtualCard::new("04E5F6A7").tap();
    assert_eq!(read_uid(&ctx, SLOT_0), [0x04, 0xE5, 0xF6, 0xA7, 0x90, 0x00]);
    tap.wait().ok();
}
