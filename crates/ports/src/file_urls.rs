//! The URL forms under which stored files are served, shared by everything that reads or writes
//! file references (the use cases and the MongoDB adapter, which meets legacy URL strings).

use domain::FileKey;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Characters kept unencoded in `/api/files/<key>` URLs: everything else, `/` included, is encoded
/// like JavaScript's `encodeURIComponent`, as the legacy backend did.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `/api/files/<url-encoded key>` (how S3-mode files are served).
pub fn api_files_url(key: &str) -> String {
    format!("/api/files/{}", utf8_percent_encode(key, URI_COMPONENT))
}

/// `/uploads/<key>` (how local-mode files are served).
pub fn uploads_url(key: &str) -> String {
    format!("/uploads/{key}")
}

/// The storage key behind a served URL (`/uploads/<key>` or `/api/files/<encoded key>`, also as
/// absolute URLs, query and fragment ignored); `None` for anything else or an unsafe key.
pub fn key_from_url(url: &str) -> Option<String> {
    let mut path = url.trim();
    if let Some((_, rest)) = path.split_once("://") {
        path = rest.find('/').map_or("", |i| &rest[i..]);
    }
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let encoded = path.strip_prefix("/uploads/").or_else(|| path.strip_prefix("/api/files/"))?;
    let key = percent_decode_str(encoded).decode_utf8().ok()?.into_owned();
    FileKey::parse(&key).ok().map(|k| k.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_recovered_from_both_url_forms() {
        assert_eq!(
            key_from_url("/uploads/parents/profile-images/a.jpg").as_deref(),
            Some("parents/profile-images/a.jpg")
        );
        assert_eq!(
            key_from_url("/api/files/caregivers%2Fconcepts%2Fkonzept-alt.pdf").as_deref(),
            Some("caregivers/concepts/konzept-alt.pdf")
        );
        assert_eq!(key_from_url("https://api.wimmelwelt.de/api/files/a%2Fb.png?x=1").as_deref(), Some("a/b.png"));
        assert_eq!(key_from_url("/api/files/..%2F..%2Fetc%2Fpasswd"), None);
        assert_eq!(key_from_url("https://example.org/other.png"), None);
    }

    #[test]
    fn urls_round_trip_to_their_keys() {
        let key = "caregivers/room-gallery/1a2b (1).png";
        assert_eq!(api_files_url(key), "/api/files/caregivers%2Froom-gallery%2F1a2b%20(1).png");
        assert_eq!(key_from_url(&api_files_url(key)).as_deref(), Some(key));
        assert_eq!(key_from_url(&uploads_url("a/b.png")).as_deref(), Some("a/b.png"));
    }
}
