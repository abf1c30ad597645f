//! HTTP semantics of stored files (`/api/files/<key>`, `/uploads/<key>`): HEAD, ranges and
//! conditional requests (RFC 9110).
#![allow(clippy::unwrap_used)]

use e2e_tests::{Storage, TestApp, png_bytes, spawn_app_with};
use reqwest::{Method, StatusCode};

/// Registers a parent with the test PNG and returns the app and both URL forms of the image.
async fn app_with_a_stored_png(storage: Storage) -> (TestApp, Vec<String>) {
    let app = spawn_app_with(storage, &[]).await;
    let (id, token) = app.register_parent("bild@example.org", "passwort-123").await;
    let me = app.get(&format!("/api/parents/{id}"), Some(&token)).await;
    let key = me.body["profileImageUrl"]["key"].as_str().unwrap().to_owned();
    let urls = vec![format!("/uploads/{key}"), format!("/api/files/{}", key.replace('/', "%2F"))];
    (app, urls)
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers().get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn head_of_a_file_answers_the_real_length_and_the_headers_of_get_without_a_body() {
    for storage in [Storage::Local, Storage::S3] {
        let (app, urls) = app_with_a_stored_png(storage).await;
        let size = png_bytes().len().to_string();
        for url in &urls {
            let get = app.request(Method::GET, url).send().await.unwrap();
            // Twice on the same connection: a wrongly framed HEAD answer would garble the second.
            for _ in 0..2 {
                let head = app.request(Method::HEAD, url).send().await.unwrap();
                assert_eq!(head.status(), StatusCode::OK, "{url}");
                assert_eq!(header(&head, "content-length"), size, "{url}");
                for name in ["content-type", "etag", "last-modified", "accept-ranges", "cache-control"] {
                    assert!(!header(&get, name).is_empty(), "{url}: GET has {name}");
                    assert_eq!(header(&head, name), header(&get, name), "{url}: {name}");
                }
                assert!(head.bytes().await.unwrap().is_empty(), "{url}");
            }
            let part = app.request(Method::HEAD, url).header("Range", "bytes=0-3").send().await.unwrap();
            assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{url}");
            assert_eq!(header(&part, "content-length"), "4", "{url}");
            assert_eq!(header(&part, "content-range"), format!("bytes 0-3/{size}"), "{url}");
            let etag = header(&get, "etag").to_owned();
            let cached = app.request(Method::HEAD, url).header("If-None-Match", &etag).send().await.unwrap();
            assert_eq!(cached.status(), StatusCode::NOT_MODIFIED, "{url}");
            assert!(cached.headers().get("content-length").is_none_or(|v| v == size.as_str()), "{url}: 304 length");
        }
    }
}

/// Sends a GET of `url` with the given headers.
async fn get(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    headers.iter().fold(app.request(Method::GET, url), |r, &(k, v)| r.header(k, v)).send().await.unwrap()
}

#[tokio::test]
async fn if_range_sends_the_part_only_for_the_current_etag_or_date_and_otherwise_the_whole_file() {
    for storage in [Storage::Local, Storage::S3] {
        let (app, urls) = app_with_a_stored_png(storage).await;
        for url in &urls {
            let full = get(&app, url, &[]).await;
            let (etag, date) = (header(&full, "etag").to_owned(), header(&full, "last-modified").to_owned());
            for current in [etag.as_str(), date.as_str()] {
                let part = get(&app, url, &[("Range", "bytes=0-3"), ("If-Range", current)]).await;
                assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{storage:?} {url} If-Range {current}");
                assert_eq!(part.bytes().await.unwrap().as_ref(), &png_bytes()[..4]);
            }
            let weak = format!("W/{etag}");
            for stale in ["\"not-the-etag\"", weak.as_str(), "Sat, 01 Jan 2000 00:00:00 GMT", "nonsense"] {
                let whole = get(&app, url, &[("Range", "bytes=0-3"), ("If-Range", stale)]).await;
                assert_eq!(whole.status(), StatusCode::OK, "{storage:?} {url} If-Range {stale}");
                assert!(whole.headers().get("content-range").is_none());
                assert_eq!(whole.bytes().await.unwrap().as_ref(), png_bytes().as_slice());
            }
            // A stale If-Range also overrides a range that could not be served.
            let whole = get(&app, url, &[("Range", "bytes=9999-"), ("If-Range", "\"not-the-etag\"")]).await;
            assert_eq!(whole.status(), StatusCode::OK, "{storage:?} {url}");
            let outside = get(&app, url, &[("Range", "bytes=9999-"), ("If-Range", &etag)]).await;
            assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{storage:?} {url}");
        }
    }
}

#[tokio::test]
async fn if_none_match_compares_weakly_accepts_lists_and_a_star_and_wins_over_a_range() {
    for storage in [Storage::Local, Storage::S3] {
        let (app, urls) = app_with_a_stored_png(storage).await;
        for url in &urls {
            let etag = header(&get(&app, url, &[]).await, "etag").to_owned();
            let (weak, list) = (format!("W/{etag}"), format!("\"other\", W/\"x\", {etag}"));
            for tags in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
                let cached = get(&app, url, &[("If-None-Match", tags)]).await;
                assert_eq!(cached.status(), StatusCode::NOT_MODIFIED, "{storage:?} {url} If-None-Match {tags}");
                assert_eq!(header(&cached, "etag"), etag);
                assert!(cached.bytes().await.unwrap().is_empty());
            }
            let changed = get(&app, url, &[("If-None-Match", "\"other\", W/\"x\"")]).await;
            assert_eq!(changed.status(), StatusCode::OK, "{storage:?} {url}");
            for range in ["bytes=0-3", "bytes=9999-"] {
                let cached = get(&app, url, &[("If-None-Match", &weak), ("Range", range)]).await;
                assert_eq!(cached.status(), StatusCode::NOT_MODIFIED, "{storage:?} {url} {range}");
            }
        }
    }
}

#[tokio::test]
async fn a_range_ending_beyond_u64_is_cut_to_the_file_and_one_starting_beyond_it_gets_416() {
    let size = png_bytes().len();
    for storage in [Storage::Local, Storage::S3] {
        let (app, urls) = app_with_a_stored_png(storage).await;
        for url in &urls {
            for (range, first) in
                [("bytes=0-99999999999999999999", 0), ("bytes=-99999999999999999999", 0), ("bytes=2-", 2)]
            {
                let part = get(&app, url, &[("Range", range)]).await;
                assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{storage:?} {url} {range}");
                assert_eq!(header(&part, "content-range"), format!("bytes {first}-{}/{size}", size - 1), "{range}");
                assert_eq!(header(&part, "content-length"), (size - first).to_string(), "{range}");
                assert_eq!(part.bytes().await.unwrap().as_ref(), &png_bytes()[first..], "{range}");
            }
            let at_end = format!("bytes={size}-");
            for range in [
                at_end.as_str(),
                "bytes=99999999999999999999-",
                "bytes=99999999999999999999-99999999999999999999",
                "bytes=-0",
            ] {
                let outside = get(&app, url, &[("Range", range)]).await;
                assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{storage:?} {url} {range}");
                assert_eq!(header(&outside, "content-range"), format!("bytes */{size}"), "{range}");
                let body: serde_json::Value = outside.json().await.unwrap();
                assert!(body["message"].is_string());
            }
        }
    }
}
