//! Injected i/o failures. Disk-full and fsync-failure handling cannot be
//! exercised with a real disk in a unit test, so the few file operations that
//! matter (WAL write, WAL fsync, WAL segment creation, block write) ask this
//! first; production code never sets a fault and pays one atomic load.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// `write(2)` of framed records to the current WAL segment.
    WalWrite,
    /// fsync of the current WAL segment.
    WalFsync,
    /// Writing the header of a new WAL segment (the file exists by then).
    WalCreate,
    /// Writing the files of a new block (the temporary directory exists by then).
    BlockWrite,
}

const POINTS: usize = 4;

/// Shared by every clone, so a test keeps one and flips faults on a live store.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<[AtomicI32; POINTS]>);

/// `errno` for "no space left on device" (Linux), for tests.
pub const ENOSPC: i32 = 28;
/// `errno` for an i/o error (Linux), for tests.
pub const EIO: i32 = 5;

impl Faults {
    /// Makes every later operation at `point` fail with `errno` until cleared.
    pub fn fail(&self, point: FaultPoint, errno: i32) {
        self.0[point as usize].store(errno, Ordering::SeqCst);
    }

    pub fn clear(&self, point: FaultPoint) {
        self.0[point as usize].store(0, Ordering::SeqCst);
    }

    pub(crate) fn check(&self, point: FaultPoint) -> io::Result<()> {
        match self.0[point as usize].load(Ordering::SeqCst) {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

/// Out of space or quota: the condition that may clear when space is freed,
/// unlike an fsync or device error.
pub(crate) fn is_out_of_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fails_until_cleared_and_enospc_counts_as_out_of_space() {
        let f = Faults::default();
        let shared = f.clone();
        assert!(f.check(FaultPoint::WalFsync).is_ok());
        shared.fail(FaultPoint::WalFsync, EIO);
        let e = f.check(FaultPoint::WalFsync).unwrap_err();
        assert!(!is_out_of_space(&e));
        assert!(f.check(FaultPoint::WalWrite).is_ok());
        shared.fail(FaultPoint::WalWrite, ENOSPC);
        assert!(is_out_of_space(&f.check(FaultPoint::WalWrite).unwrap_err()));
        shared.clear(FaultPoint::WalFsync);
        assert!(f.check(FaultPoint::WalFsync).is_ok());
    }
}
