//! The disk fills up while a sale is saved: the sale is refused with a
//! clear message and nothing is half written. Runs on a real, small tmpfs
//! (needs root, as the test command and CI run).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use klubkasse::i18n::Language;
use klubkasse::ui::Action;
use klubkasse::ui::screens::result::ResultScreen;
use klubkasse::ui::{Effect, Screen};
use klubkasse_core::domain::Money;
use klubkasse_testkit::kiosk::*;

/// A small tmpfs, unmounted again when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::TempDir::new().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("cannot run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed: this test needs root (run it through ./install.sh --test)"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // Fill the last few bytes too.
        while file.write_all(&[0u8]).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_refuses_the_sale_and_writes_nothing() {
    let disk = SmallDisk::mount(16);
    let data = disk.path().join("data");
    let mut kiosk = Kiosk::open(&data, Language::DA);
    kiosk.tap(FREJA);
    kiosk.keys("1");
    kiosk.send(Action::Confirm);
    assert!(matches!(
        kiosk.app.screen,
        Screen::Result(ResultScreen::Paid { .. })
    ));

    let filler = disk.fill();
    kiosk.tap(FREJA);
    kiosk.keys("3");
    kiosk.send(Action::Confirm);
    match &kiosk.app.screen {
        Screen::Result(ResultScreen::NotSaved(message)) => {
            assert!(message.contains("is the disk full?"), "{message}");
        }
        other => panic!("a sale on a full disk must be refused, got {other:?}"),
    }
    assert!(kiosk.effects.contains(&Effect::Bell));

    // After a failed write the store answers nothing more in this run: the
    // next child hears that the counter cannot sell, rather than a balance
    // that may not be on disk.
    kiosk.tap(FREJA);
    match &kiosk.app.screen {
        Screen::Result(ResultScreen::NotSaved(message)) => {
            assert!(message.contains("restarted"), "{message}")
        }
        other => panic!("expected the counter to stop selling, got {other:?}"),
    }

    // Space comes back and the kiosk is restarted: on disk is exactly the
    // one sale the child saw as paid.
    std::fs::remove_file(filler).unwrap();
    drop(kiosk);
    let store = open_store(&data);
    let sales: Vec<_> = store
        .all_entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.is_sale())
        .collect();
    assert_eq!(sales.len(), 1, "{sales:?}");
    assert_eq!(sales[0].amount, -Money::kroner(12));
    let freja = store.card(&uid(FREJA)).unwrap().unwrap().child;
    assert_eq!(store.balance(freja).unwrap(), Money::kroner(238));
    assert!(store.balance_mismatches().unwrap().is_empty());
}
