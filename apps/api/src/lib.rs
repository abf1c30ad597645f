//! The Wimmelwelt HTTP API: configuration, the HTTP edge and the wiring of adapters into use cases.

pub mod config;
pub mod http;
pub mod startup;
