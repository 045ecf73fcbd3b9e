//! Upstreams that speak garbage.
