//! Ranges and conditional requests of stored files (RFC 9110 sections 13 and 14), decided on the
//! metadata storage returns. Header parsing is actix-web's (`IfNoneMatch`, `IfRange`, …) except
//! for `Range`, whose parser drops positions beyond `u64` instead of clamping them.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;
use actix_web::http::header::{self, EntityTag, Header as _, HttpDate, IfModifiedSince, IfNoneMatch, IfRange};
use ports::{BlobMeta, ByteRange};

/// The single range of a `Range: bytes=…` header. `None` (send everything) for an absent or
/// invalid header, another unit or several ranges. Positions beyond `u64` count as `u64::MAX`:
/// such a last position is cut to the end of the file, such a first one is unsatisfiable.
pub fn requested_range(req: &HttpRequest) -> Option<ByteRange> {
    let value = req.headers().get(header::RANGE)?.to_str().ok()?;
    let (unit, spec) = value.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    match (first.trim(), last.trim()) {
        ("", n) => position(n).map(ByteRange::Suffix),
        (a, "") => position(a).map(ByteRange::From),
        // A last position before the first makes the header invalid: ignored (RFC 9110 14.1.1).
        (a, b) => {
            let (a, b) = (position(a)?, position(b)?);
            (a <= b).then_some(ByteRange::FromTo(a, b))
        }
    }
}

fn position(digits: &str) -> Option<u64> {
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().unwrap_or(u64::MAX))
}

/// `true` if the client's copy is current (answer 304): `If-None-Match` is `*` or lists a tag
/// weakly equal to the file's ETag; only without `If-None-Match`, `If-Modified-Since` is not
/// before the file's last modification (RFC 9110 13.1.2, 13.1.3).
pub fn not_modified(req: &HttpRequest, meta: &BlobMeta) -> bool {
    if req.headers().contains_key(header::IF_NONE_MATCH) {
        return match IfNoneMatch::parse(req) {
            Ok(IfNoneMatch::Any) => true,
            Ok(IfNoneMatch::Items(tags)) => etag(meta).is_some_and(|e| tags.iter().any(|t| t.weak_eq(&e))),
            Err(_) => false,
        };
    }
    match (IfModifiedSince::parse(req), meta.last_modified) {
        // A date later than the server's clock is invalid and ignored (RFC 9110 13.1.3).
        (Ok(IfModifiedSince(since)), Some(modified)) => {
            seconds(since).is_some_and(|s| modified.timestamp() <= s && s <= chrono::Utc::now().timestamp())
        }
        _ => false,
    }
}

/// `true` if a requested range may be sent: without `If-Range`, or if it names this very file,
/// by a strongly equal ETag or exactly its `Last-Modified` date. Otherwise the whole file is
/// sent (RFC 9110 13.1.5), so a client never splices parts of two versions.
pub fn range_applies(req: &HttpRequest, meta: &BlobMeta) -> bool {
    if !req.headers().contains_key(header::IF_RANGE) {
        return true;
    }
    match IfRange::parse(req) {
        Ok(IfRange::EntityTag(tag)) => etag(meta).is_some_and(|e| tag.strong_eq(&e)),
        Ok(IfRange::Date(date)) => meta.last_modified.is_some_and(|m| seconds(date) == Some(m.timestamp())),
        Err(_) => false,
    }
}

/// Whether the request carries a validator that can turn a 416 into a 304 or a whole file.
pub fn has_validators(req: &HttpRequest) -> bool {
    [header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE, header::IF_RANGE].iter().any(|h| req.headers().contains_key(h))
}

fn etag(meta: &BlobMeta) -> Option<EntityTag> {
    meta.etag.as_deref()?.parse().ok()
}

fn seconds(date: HttpDate) -> Option<i64> {
    let since_epoch = SystemTime::from(date).duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since_epoch.as_secs()).ok()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use chrono::{DateTime, Utc};

    use super::*;

    const LAST_MODIFIED: &str = "Sun, 01 Mar 2026 10:00:00 GMT";

    fn meta() -> BlobMeta {
        BlobMeta {
            content_type: "image/png".into(),
            size: 70,
            etag: Some("\"abc\"".into()),
            last_modified: DateTime::parse_from_rfc2822("Sun, 01 Mar 2026 10:00:00 +0000")
                .ok()
                .map(|d| d.with_timezone(&Utc)),
        }
    }

    fn req(headers: &[(&str, &str)]) -> HttpRequest {
        headers.iter().fold(TestRequest::default(), |r, &(k, v)| r.insert_header((k, v))).to_http_request()
    }

    fn range(value: &str) -> Option<ByteRange> {
        requested_range(&req(&[("range", value)]))
    }

    #[test]
    fn single_byte_ranges_are_parsed() {
        assert_eq!(range("bytes=0-3"), Some(ByteRange::FromTo(0, 3)));
        assert_eq!(range("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(range("bytes=-4"), Some(ByteRange::Suffix(4)));
        assert_eq!(range("Bytes= 1 - 2 "), Some(ByteRange::FromTo(1, 2)));
        assert_eq!(requested_range(&req(&[])), None);
    }

    #[test]
    fn positions_beyond_u64_are_clamped_not_dropped() {
        assert_eq!(range("bytes=0-99999999999999999999"), Some(ByteRange::FromTo(0, u64::MAX)));
        assert_eq!(range("bytes=-99999999999999999999"), Some(ByteRange::Suffix(u64::MAX)));
        assert_eq!(range("bytes=99999999999999999999-"), Some(ByteRange::From(u64::MAX)));
        assert_eq!(ByteRange::FromTo(0, u64::MAX).resolve(70), Some((0, 69)));
        assert_eq!(ByteRange::From(u64::MAX).resolve(70), None);
    }

    #[test]
    fn invalid_or_multiple_ranges_and_other_units_mean_the_whole_file() {
        for v in ["bytes=3-1", "bytes=0-1,4-5", "items=0-3", "bytes=", "bytes=-", "bytes=a-3", "bytes=+1-3", "0-3"] {
            assert_eq!(range(v), None, "{v}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_a_star() {
        for v in ["\"abc\"", "W/\"abc\"", "\"x\", W/\"abc\"", "*"] {
            assert!(not_modified(&req(&[("if-none-match", v)]), &meta()), "{v}");
        }
        for v in ["\"abd\"", "\"x\", \"y\"", "abc"] {
            assert!(!not_modified(&req(&[("if-none-match", v)]), &meta()), "{v}");
        }
    }

    #[test]
    fn if_modified_since_counts_only_without_if_none_match() {
        assert!(not_modified(&req(&[("if-modified-since", LAST_MODIFIED)]), &meta()));
        assert!(not_modified(&req(&[("if-modified-since", "Mon, 02 Mar 2026 10:00:00 GMT")]), &meta()));
        assert!(!not_modified(&req(&[("if-modified-since", "Sat, 28 Feb 2026 10:00:00 GMT")]), &meta()));
        // A date after the server's clock is invalid: ignored.
        assert!(!not_modified(&req(&[("if-modified-since", "Fri, 04 Dec 2099 00:00:00 GMT")]), &meta()));
        let both = req(&[("if-none-match", "\"other\""), ("if-modified-since", LAST_MODIFIED)]);
        assert!(!not_modified(&both, &meta()));
    }

    #[test]
    fn if_range_allows_the_range_only_for_this_exact_file() {
        assert!(range_applies(&req(&[]), &meta()));
        assert!(range_applies(&req(&[("if-range", "\"abc\"")]), &meta()));
        assert!(range_applies(&req(&[("if-range", LAST_MODIFIED)]), &meta()));
        for v in ["\"not-the-etag\"", "W/\"abc\"", "Sun, 01 Mar 2026 10:00:01 GMT", "garbage"] {
            assert!(!range_applies(&req(&[("if-range", v)]), &meta()), "{v}");
        }
        let no_validators = BlobMeta { etag: None, last_modified: None, ..meta() };
        assert!(!range_applies(&req(&[("if-range", "\"abc\"")]), &no_validators));
    }
}
