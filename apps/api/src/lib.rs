//! The Wimmelwelt HTTP API.

pub mod config;
