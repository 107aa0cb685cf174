//! Fresh files for a grown store, and a compaction cut short.

use super::*;

#[test]
fn a_grown_store_gets_fresh_files_with_everything_in_them() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 5000);
    sell_at(&store, &c, noon(1), Connection::Standalone);
    close_all(&store, local_day(Utc::now()));
    for _ in 0..200 {
        sell_at(&store, &c, Utc::now(), Connection::Online);
    }
    // Closing a day marks the store for fresh files at the next start…
    assert!(store.meta.contains_key(compact::DAYS_LEFT_KEY).unwrap());
    let before = contents(&store, &c);
    store.compact().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(contents(&store, &c), before);
    // …and the fresh files are not marked again.
    assert!(!store.meta.contains_key(compact::DAYS_LEFT_KEY).unwrap());
    // Recorded, so the next start does not compact again.
    assert!(store.meta.get(compact::SIZE_KEY).unwrap().is_some());
    assert!(!tmp.path().join("store.compact").exists());
    assert!(!tmp.path().join("store.before-compaction").exists());
}

#[test]
fn a_compaction_cut_short_is_finished_or_undone_at_the_next_start() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    sell_at(&store, &c, Utc::now(), Connection::Standalone);
    let before = contents(&store, &c);
    drop(store);
    let (live, fresh, old) = (
        tmp.path().join("store"),
        tmp.path().join("store.compact"),
        tmp.path().join("store.before-compaction"),
    );
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for file in std::fs::read_dir(from).unwrap() {
            let file = file.unwrap();
            if file.file_type().unwrap().is_file() {
                std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
            }
        }
    };
    // Killed while writing the copy: the copy goes, the store stays.
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("db"), b"half").unwrap();
    assert_eq!(contents(&Store::open(tmp.path()).unwrap(), &c), before);
    assert!(!fresh.exists());
    // Killed between the two renames: the whole copy becomes the store.
    copy(&live, &fresh);
    std::fs::rename(&live, &old).unwrap();
    assert_eq!(contents(&Store::open(tmp.path()).unwrap(), &c), before);
    assert!(!old.exists() && !fresh.exists());
    // Killed before the old folder was removed.
    copy(&live, &old);
    assert_eq!(contents(&Store::open(tmp.path()).unwrap(), &c), before);
    assert!(!old.exists());
}
