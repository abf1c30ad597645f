//! Driver errors → repository errors.

use mongodb::error::{Error, ErrorKind, WriteFailure};
use ports::RepoError;

/// Duplicate-key error codes (`E11000`, and `E11001` of old servers).
const DUPLICATE_CODES: [i32; 2] = [11000, 11001];

/// Maps a driver error: duplicate key → `Duplicate`, unreachable server → `Unavailable`,
/// everything else → `Other` with `context`.
pub(crate) fn repo_error(e: Error, context: &'static str) -> RepoError {
    if let Some(message) = duplicate_message(&e) {
        let field = duplicate_field(&message);
        return RepoError::Duplicate { field };
    }
    if is_unavailable(&e) {
        return RepoError::Unavailable(anyhow::Error::new(e).context(context));
    }
    // Logged with a 500: the driver's message text may quote stored values (user data), so only
    // its kind and code go on.
    RepoError::Other(anyhow::anyhow!(describe(&e)).context(context))
}

/// The closure form of [`repo_error`], for `map_err`.
pub(crate) fn ctx(context: &'static str) -> impl FnOnce(Error) -> RepoError {
    move |e| repo_error(e, context)
}

/// `true` for server-selection, network and pool errors: the database is (currently) unreachable.
pub(crate) fn is_unavailable(e: &Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Shutdown
    ) || e.contains_label("NetworkError")
}

/// A description of `e` that is safe to log: the error kind and server code, never the server's
/// message text for command and write errors (a duplicate-key message quotes the duplicate value,
/// e.g. an email; a validation message quotes the document). Network and DNS errors keep their
/// text: it names servers, not users.
pub(crate) fn describe(e: &Error) -> String {
    fn coded(what: &str, code: i32, name: &str) -> String {
        if name.is_empty() { format!("{what} {code}") } else { format!("{what} {code} ({name})") }
    }
    let labels = if e.labels().is_empty() {
        String::new()
    } else {
        let mut labels: Vec<&str> = e.labels().iter().map(String::as_str).collect();
        labels.sort_unstable();
        format!(" [{}]", labels.join(", "))
    };
    let kind = match e.kind.as_ref() {
        ErrorKind::Command(c) => coded("command error", c.code, &c.code_name),
        ErrorKind::Write(WriteFailure::WriteError(w)) => {
            coded("write error", w.code, w.code_name.as_deref().unwrap_or(""))
        }
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => coded("write concern error", w.code, &w.code_name),
        ErrorKind::InsertMany(m) => {
            let codes: Vec<String> = m.write_errors.iter().flatten().map(|w| w.code.to_string()).collect::<Vec<_>>();
            format!("insert error (codes {})", codes.join(", "))
        }
        ErrorKind::BulkWrite(_) => "bulk write error".to_owned(),
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown
        | ErrorKind::InvalidArgument { .. }
        | ErrorKind::Authentication { .. } => e.kind.to_string(),
        other => {
            // The variant name only, never its payload.
            let debug = format!("{other:?}");
            debug.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("unknown").to_owned()
        }
    };
    format!("{kind}{labels}")
}

/// A chain of errors (`anyhow` contexts around a driver error) as text that is safe to log: the
/// contexts as they are, the driver error as [`describe`] puts it.
pub fn describe_chain(e: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in e.chain() {
        if let Some(driver) = cause.downcast_ref::<Error>() {
            parts.push(describe(driver));
            break;
        }
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// `true` if `e` (or an error it wraps) says the database is unreachable.
pub fn is_unavailable_chain(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<RepoError>().is_some_and(|r| matches!(r, RepoError::Unavailable(_)))
            || cause.downcast_ref::<Error>().is_some_and(is_unavailable)
    })
}

/// `true` if `e` is a duplicate-key error.
pub(crate) fn is_duplicate(e: &Error) -> bool {
    duplicate_message(e).is_some()
}

/// The server's message if `e` is a duplicate-key error.
fn duplicate_message(e: &Error) -> Option<String> {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) if DUPLICATE_CODES.contains(&w.code) => Some(w.message.clone()),
        ErrorKind::Command(c) if DUPLICATE_CODES.contains(&c.code) => Some(c.message.clone()),
        ErrorKind::InsertMany(m) => {
            m.write_errors.as_ref()?.iter().find(|w| DUPLICATE_CODES.contains(&w.code)).map(|w| w.message.clone())
        }
        _ => None,
    }
}

/// The field of a duplicate-key message such as
/// `E11000 duplicate key error collection: db.caregivers index: email_unique dup key: { email: "x" }`:
/// the first key of `dup key: {…}`, else the index name without its `_unique` / `_1` suffix.
pub(crate) fn duplicate_field(message: &str) -> Option<String> {
    if let Some((_, rest)) = message.split_once("dup key:") {
        let rest = rest.trim_start().trim_start_matches('{').trim_start();
        let field: String =
            rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect::<String>();
        if !field.is_empty() {
            return Some(field);
        }
    }
    let (_, rest) = message.split_once("index:")?;
    let index = rest.split_whitespace().next()?;
    let field = index.strip_suffix("_unique").or_else(|| index.strip_suffix("_1")).unwrap_or(index);
    let field = field.split('_').next().unwrap_or(field);
    (!field.is_empty()).then(|| field.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_taken_from_the_dup_key_part() {
        let m =
            r#"E11000 duplicate key error collection: t.caregivers index: email_unique dup key: { email: "a@b.de" }"#;
        assert_eq!(duplicate_field(m).as_deref(), Some("email"));
    }

    #[test]
    fn the_field_falls_back_to_the_index_name() {
        let m = "E11000 duplicate key error collection: t.caregivers index: profilePath_unique";
        assert_eq!(duplicate_field(m).as_deref(), Some("profilePath"));
        assert_eq!(duplicate_field("something else"), None);
    }
}
