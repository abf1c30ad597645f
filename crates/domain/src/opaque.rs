//! A value the service stores and returns without interpreting it (e.g. a caregiver's `location`).

use std::collections::BTreeMap;

/// A JSON-like value kept as the client sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Opaque {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Array(Vec<Opaque>),
    Object(BTreeMap<String, Opaque>),
}
