//! The workspace's binaries, for the tests and benchmarks that run them.
//!
//! Cargo tells a test only where its own package's binaries are
//! (`CARGO_BIN_EXE_…`), and builds no other package's; so the tests look
//! for them beside their own executable, and `./install.sh --test` builds
//! them all first (`cargo build --workspace --bins`).

use std::path::PathBuf;
use std::sync::LazyLock;

/// The counter.
pub static KIOSK: LazyLock<PathBuf> = LazyLock::new(|| built("klubkasse"));
/// The ledger.
pub static LEDGER: LazyLock<PathBuf> = LazyLock::new(|| built("klubkasse-ledger"));
/// The virtual card.
pub static VCARD: LazyLock<PathBuf> = LazyLock::new(|| built("klubkasse-vcard"));

/// `target/PROFILE/NAME` of the running test's profile.
pub fn built(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it runs");
    // Tests and benchmarks run from target/PROFILE/deps/.
    let mut dir = exe
        .parent()
        .expect("the test runs from a folder")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace --bins` (for a benchmark: `cargo build --release --workspace --bins`) first; ./install.sh --test does",
        path.display()
    );
    path
}
