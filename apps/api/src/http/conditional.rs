//! Ranges of stored files (RFC 9110 section 14). actix-web's `Range` parser is not used: it
//! drops positions beyond `u64` instead of clamping them.

use actix_web::HttpRequest;
use actix_web::http::header;
use ports::ByteRange;

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

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

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
}
