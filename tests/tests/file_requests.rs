//! HTTP semantics of stored files (`/api/files/<key>`, `/uploads/<key>`): HEAD, ranges and
//! conditional requests (RFC 9110).
#![allow(clippy::unwrap_used)]

use e2e_tests::{TestApp, png_bytes, spawn_app};
use reqwest::{Method, StatusCode};

/// Registers a parent with the test PNG and returns the app and both URL forms of the image.
async fn app_with_a_stored_png() -> (TestApp, Vec<String>) {
    let app = spawn_app().await;
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
    let (app, urls) = app_with_a_stored_png().await;
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
    }
}
