//! Free space: a sale is refused while there is still room, not when a
//! write fails half-way, and a reserve file can be let go for recovery.
//!
//! sled appends to a log in 512 KiB segments and can need a fresh segment
//! at any flush; a write that fails mid-flush leaves the store closed for
//! the run (see [`super::sale`]). So before a sale or a top-up the kiosk
//! asks the file system how much is free and refuses below a margin that
//! holds many sales and segments. It also keeps a reserve file of
//! `disk_reserve_mb` (the ballast some databases keep): once the disk is
//! that full, the file is removed, so that the restart, the closing flush
//! and a backup still have room; its size does not count as free for
//! sales until someone has made room and the file can be laid down again.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The reserve file, in the data folder.
pub const RESERVE_FILE: &str = "reserve";
const MB: u64 = 1024 * 1024;

/// What free space allows; the figures are bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Space {
    #[default]
    Ok,
    /// Sales go on; staff should make room soon ("Disken er næsten fuld").
    Low { free: u64 },
    /// No sale is written until `need` more bytes are free.
    Full { free: u64, need: u64 },
}

/// When [`judge`] warns and refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The reserve file's size.
    pub reserve: u64,
    /// Below this much free space for sales, no sale is written.
    pub refuse_below: u64,
    /// Below this, the status bar warns.
    pub warn_below: u64,
}

impl Limits {
    /// The kiosk's limits for a reserve of `reserve_mb`.
    pub fn with_reserve_mb(reserve_mb: u64) -> Limits {
        Limits {
            reserve: reserve_mb * MB,
            refuse_below: 4 * MB,
            warn_below: 32 * MB,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::with_reserve_mb(8)
    }
}

/// `free`: what the file system has free; `reserve_in_place`: whether the
/// reserve file is there. Without it, its size is kept free for recovery
/// and does not count for sales.
pub fn judge(free: u64, reserve_in_place: bool, limits: Limits) -> Space {
    let usable = if reserve_in_place {
        free
    } else {
        free.saturating_sub(limits.reserve)
    };
    if usable < limits.refuse_below {
        Space::Full {
            free: usable,
            need: limits.refuse_below - usable,
        }
    } else if usable < limits.warn_below {
        Space::Low { free: usable }
    } else {
        Space::Ok
    }
}

/// Whole megabytes, rounded up: what a person is told to free.
pub fn megabytes(bytes: u64) -> u64 {
    bytes.div_ceil(MB)
}

/// Whole megabytes, rounded down: what a person is told is free.
pub fn whole_megabytes(bytes: u64) -> u64 {
    bytes / MB
}

/// The reserve file of a data folder and the limits around it.
#[derive(Debug, Clone)]
pub struct Reserve {
    path: PathBuf,
    limits: Limits,
}

impl Reserve {
    pub fn new(data_dir: &Path, limits: Limits) -> Reserve {
        Reserve {
            path: data_dir.join(RESERVE_FILE),
            limits,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn in_place(&self) -> bool {
        fs::metadata(&self.path).is_ok_and(|m| m.len() >= self.limits.reserve)
    }

    /// What free space allows now. A folder whose free space cannot be
    /// asked is not held against a sale: the write itself would then say.
    pub fn space(&self) -> Space {
        let folder = self.path.parent().unwrap_or(Path::new("."));
        match fs2::available_space(folder) {
            Ok(free) => judge(free, self.in_place(), self.limits),
            Err(e) => {
                tracing::warn!(error = %e, "cannot ask how much disk space is free");
                Space::Ok
            }
        }
    }

    /// Lays the reserve file down when there is room for it and sales
    /// beside it; lets it go when the disk is full. Returns what free
    /// space allows afterwards.
    pub fn keep(&self) -> Space {
        let space = self.space();
        let in_place = self.in_place();
        match space {
            Space::Full { .. } if in_place => {
                match fs::remove_file(&self.path) {
                    Ok(()) => {
                        tracing::warn!(path = %self.path.display(), "the disk is full: let the reserve file go to make room for recovery")
                    }
                    Err(e) => tracing::error!(error = %e, "could not let the reserve file go"),
                }
                self.space()
            }
            // Only with room for sales beside it: laying it down must not
            // be what fills the disk.
            Space::Ok | Space::Low { .. } if !in_place && self.limits.reserve > 0 => {
                if let Err(e) = write_reserve(&self.path, self.limits.reserve) {
                    tracing::warn!(error = %e, "could not lay down the reserve file");
                    let _ = fs::remove_file(&self.path);
                }
                self.space()
            }
            other => other,
        }
    }
}

/// Real blocks, not a sparse file: zeros written and synced.
fn write_reserve(path: &Path, bytes: u64) -> std::io::Result<()> {
    if let Some(folder) = path.parent() {
        fs::create_dir_all(folder)?;
    }
    let mut file = fs::File::create(path)?;
    let block = vec![0u8; 64 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        reserve: 8 * MB,
        refuse_below: 4 * MB,
        warn_below: 32 * MB,
    };

    #[test]
    fn plenty_of_room_is_ok() {
        assert_eq!(judge(1024 * MB, true, LIMITS), Space::Ok);
        assert_eq!(judge(40 * MB, false, LIMITS), Space::Ok);
    }

    #[test]
    fn little_room_warns_before_it_refuses() {
        assert_eq!(judge(20 * MB, true, LIMITS), Space::Low { free: 20 * MB });
        assert_eq!(judge(4 * MB, true, LIMITS), Space::Low { free: 4 * MB });
        assert_eq!(
            judge(4 * MB - 1, true, LIMITS),
            Space::Full {
                free: 4 * MB - 1,
                need: 1
            }
        );
    }

    #[test]
    fn a_released_reserve_does_not_count_for_sales() {
        // The 8 MB the reserve file gave back are for recovery only.
        assert_eq!(
            judge(10 * MB, false, LIMITS),
            Space::Full {
                free: 2 * MB,
                need: 2 * MB
            }
        );
        assert_eq!(
            judge(MB, false, LIMITS),
            Space::Full {
                free: 0,
                need: 4 * MB
            }
        );
        assert_eq!(judge(10 * MB, true, LIMITS), Space::Low { free: 10 * MB });
    }

    #[test]
    fn what_to_free_is_rounded_up_to_whole_megabytes() {
        assert_eq!(megabytes(1), 1);
        assert_eq!(megabytes(MB), 1);
        assert_eq!(megabytes(MB + 1), 2);
        assert_eq!(whole_megabytes(2 * MB - 1), 1);
    }

    #[test]
    fn the_reserve_file_is_laid_down_and_let_go() {
        let dir = tempfile::TempDir::new().unwrap();
        let limits = Limits {
            reserve: MB,
            refuse_below: 0,
            warn_below: 0,
        };
        let reserve = Reserve::new(dir.path(), limits);
        assert_eq!(reserve.keep(), Space::Ok);
        assert_eq!(
            fs::metadata(dir.path().join(RESERVE_FILE)).unwrap().len(),
            MB
        );
        // Refusing below more than any disk has: the file goes.
        let full = Reserve::new(
            dir.path(),
            Limits {
                refuse_below: u64::MAX,
                ..limits
            },
        );
        assert!(matches!(full.keep(), Space::Full { .. }));
        assert!(!dir.path().join(RESERVE_FILE).exists());
    }
}
