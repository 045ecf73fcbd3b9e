//! The one lock-poisoning policy: a lock whose holder panicked is used as it is.
//!
//! Every value guarded here is kept consistent by the code holding the lock at each step
//! (no multi-step invariant is left half-done across a panic point), and a panic in one
//! task must not take every later request down with it. So a poisoned lock is recovered
//! with [`PoisonError::into_inner`], never unwrapped, skipped or turned into an error.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Lock `mutex`, recovering it if a holder panicked.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-lock `rwlock`, recovering it if a writer panicked.
pub fn read<T: ?Sized>(rwlock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    rwlock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-lock `rwlock`, recovering it if a writer panicked.
pub fn write<T: ?Sized>(rwlock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    rwlock.write().unwrap_or_else(PoisonError::into_inner)
}
