//! Docker isolation (in progress).
