//! Inputs from sloppy clients and attackers: every one gets a clear JSON answer, never a 500, and
//! changes nothing it should not.
#![allow(clippy::unwrap_used)]

use e2e_tests::{PDF_B64, png_bytes, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_emails_and_weak_passwords_are_refused_at_registration_and_update() {
    let app = spawn_app().await;
    let form = |email: &str, pw: &str| json!({"email": email, "phone": "1", "postalCode": "50667", "password": pw});
    for email in ["12345", "a@b", "nul\u{0}@example.org", "zero\u{200b}width@example.org", "two@@example.org"] {
        let a = app.post("/api/parents", None, form(email, "passwort-123")).await;
        assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_email")), "{email:?}");
        assert_eq!(a.message(), "Bitte gib eine gültige E-Mail-Adresse ein.");
    }
    for pw in ["kurz", "        ", &"p".repeat(73)] {
        let a = app.post("/api/parents", None, form("ok@example.org", pw)).await;
        assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("weak_password")), "{pw:?}");
    }
    let (id, token) = app.register_parent("ok@example.org", "passwort-123").await;
    let a = app.patch(&format!("/api/parents/{id}"), Some(&token), json!({"email": "kaputt", "notes": "n"})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_email")));
    let a = app.patch(&format!("/api/parents/{id}"), Some(&token), json!({"password": "kurz"})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("weak_password")));
    let me = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!(me.body["email"], "ok@example.org");
    assert!(me.body["notes"].is_null(), "a refused PATCH changes nothing");
    app.login("ok@example.org", "passwort-123").await;
}

#[tokio::test]
async fn absurdly_long_texts_and_lists_get_400_not_500() {
    let app = spawn_app().await;
    let (id, token) = app.register_caregiver("c@example.org", "passwort-123", "Köln", "Sonne").await;
    let a = app.patch(&format!("/api/caregivers/{id}"), Some(&token), json!({"bio": "x".repeat(20_000)})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("field_too_long")));
    assert_eq!(a.body["details"]["field"], "bio");
    let many: Vec<Value> = (0..31).map(|_| json!({"dataUrl": e2e_tests::png_data_url()})).collect();
    let a = app.patch(&format!("/api/caregivers/{id}"), Some(&token), json!({"roomImages": many})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("too_many_items")));
    let stored = std::fs::read_dir(app.upload_dir.path().join("caregivers")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "nothing stored for a refused request");
    let long_identifier = "a".repeat(40_000);
    let a = app.post("/api/auth/login", None, json!({"identifier": long_identifier, "password": "x"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = app.post("/api/auth/login", None, json!({"identifier": "a".repeat(2_000), "password": "x"})).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn search_survives_long_texts_huge_pages_and_repeated_parameters() {
    let app = spawn_app().await;
    app.register_caregiver("c1@example.org", "passwort-123", "Köln", "Sonne").await;
    let long = "a".repeat(2_000);
    for path in [
        format!("/api/caregivers?search={long}"),
        format!("/api/caregivers?city={long}"),
        format!("/api/caregivers/locations?q={long}"),
        "/api/caregivers?page=18446744073709551615&limit=1".to_owned(),
        "/api/caregivers?page=99999999999999999&limit=500".to_owned(),
        "/api/caregivers?limit=-1&page=-3".to_owned(),
        "/api/caregivers?search%5B%24ne%5D=x".to_owned(),
    ] {
        let a = app.get(&path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", &path[..path.len().min(80)]);
        assert!(a.body.is_array());
    }
    let a = app.get("/api/caregivers?page=18446744073709551615&limit=1", None).await;
    assert_eq!(a.body, json!([]));
    let twice = app.get("/api/caregivers?postalCode=50667&postalCode=1", None).await;
    assert_eq!(twice.body.as_array().unwrap().len(), 1, "the first value filters");
    let other = app.get("/api/caregivers?postalCode=1&postalCode=50667", None).await;
    assert_eq!(other.body, json!([]));
}

#[tokio::test]
async fn impossible_dates_and_negative_counts_count_as_not_set() {
    let app = spawn_app().await;
    let (id, token) = app.register_caregiver("d@example.org", "passwort-123", "Köln", "Sonne").await;
    let a = app
        .patch(
            &format!("/api/caregivers/{id}"),
            Some(&token),
            json!({"birthDate": "0000-01-01", "caregiverSince": "1000-01-01", "childrenCount": -5, "maxChildAge": "3"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert!(a.body["birthDate"].is_null() && a.body["age"].is_null());
    assert!(a.body["yearsOfExperience"].is_null());
    assert!(a.body["childrenCount"].is_null());
    assert_eq!(a.body["maxChildAge"], 3);
}

#[tokio::test]
async fn invalid_ranges_are_ignored_and_the_whole_file_is_sent() {
    let app = spawn_app().await;
    let (id, token) = app.register_parent("r@example.org", "passwort-123").await;
    let me = app.get(&format!("/api/parents/{id}"), Some(&token)).await;
    let url = me.body["profileImageUrl"]["url"].as_str().unwrap().to_owned();
    let r = app.request(reqwest::Method::GET, &url).header("Range", "bytes=20-10").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), png_bytes().as_slice());
}

#[tokio::test]
async fn contract_documents_are_shown_to_the_owner_and_parents_but_not_to_other_caregivers() {
    let app = spawn_app().await;
    let c = app
        .post(
            "/api/caregivers",
            None,
            json!({"email": "v@example.org", "phone": "1", "address": "a", "postalCode": "50667", "password": "passwort-1",
                   "contractDocuments": [{"name": "Vertrag", "dataUrl": format!("data:application/pdf;base64,{PDF_B64}")}]}),
        )
        .await;
    let id = c.body["id"].as_str().unwrap().to_owned();
    let owner = app.login("v@example.org", "passwort-1").await;
    let (_, parent) = app.register_parent("p@example.org", "passwort-123").await;
    let (_, rival) = app.register_caregiver("rival@example.org", "passwort-123", "Köln", "Konkurrenz").await;
    let path = format!("/api/caregivers/{id}");
    assert_eq!(app.get(&path, Some(&owner)).await.body["contractDocuments"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(&path, Some(&parent)).await.body["contractDocuments"].as_array().unwrap().len(), 1);
    let seen_by_rival = app.get(&path, Some(&rival)).await;
    assert!(seen_by_rival.body.get("contractDocuments").is_none());
    assert_eq!(seen_by_rival.body["email"], "v@example.org", "contact data is for every logged-in user");
    let list = app.get("/api/caregivers?postalCode=50667", Some(&rival)).await;
    let theirs = list.body.as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert!(theirs.get("contractDocuments").is_none(), "not even in a search");
}
