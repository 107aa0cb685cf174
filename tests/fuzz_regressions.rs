//! Replays the fuzz targets' committed inputs under stable `cargo test`:
//! the seeds (`fuzz/seeds/TARGET/`) and every input a fuzz run found to
//! crash (`fuzz/regressions/TARGET/`), fed to the same functions the
//! targets call. See fuzz/README.md.

#[path = "../fuzz/entry_points.rs"]
mod entry_points;

use std::path::Path;

#[test]
fn every_committed_fuzz_input_is_handled_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for (target, run) in entry_points::TARGETS {
        for kind in ["seeds", "regressions"] {
            let Ok(files) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
                continue;
            };
            for file in files {
                let path = file.expect("directory entry").path();
                let input = std::fs::read(&path).expect("fuzz input");
                // A panic names the file: the test fails there.
                eprintln!("{}", path.display());
                run(&input);
                replayed += 1;
            }
        }
    }
    assert!(replayed >= entry_points::TARGETS.len(), "{replayed} inputs");
}
