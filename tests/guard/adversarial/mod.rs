//! Hostile input over TCP.

/// Hostile clients over real TCP.
mod tcp;
