//! Update check (in progress).
