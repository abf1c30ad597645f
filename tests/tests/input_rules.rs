//! The rules for what a registration or PATCH may carry, over HTTP: upload size, usernames,
//! passwords, value types and sizes; and who gets 403 or 404 for someone else's id.
#![allow(clippy::unwrap_used)]

use e2e_tests::{Storage, png_data_url, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

fn parent_form(email: &str) -> Value {
    json!({"email": email, "phone": "0151 1", "postalCode": "50667", "password": "passwort-123"})
}

#[tokio::test]
async fn an_upload_over_the_size_limit_gets_400_and_stores_nothing() {
    let app = spawn_app_with(Storage::Local, &[("FILE_UPLOAD_MAX_BYTES", "64")]).await;
    let mut form = parent_form("gross@example.org");
    // The PNG is 70 bytes, the limit 64.
    form["profileImage"] = json!(png_data_url());
    let a = app.post("/api/parents", None, form).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("file_too_large")));
    assert_eq!(a.message(), "Die Datei überschreitet die maximale Größe.");
    let nothing =
        app.post("/api/auth/login", None, json!({"identifier": "gross@example.org", "password": "passwort-123"}));
    assert_eq!(nothing.await.status, StatusCode::UNAUTHORIZED, "the refused registration stored no account");
    let stored: Vec<_> = walk(app.upload_dir.path()).into_iter().filter(|p| !p.contains(".blobstore")).collect();
    assert!(stored.is_empty(), "no file was stored: {stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[tokio::test]
async fn a_parent_logs_in_with_their_own_username_as_well_as_their_email() {
    let app = spawn_app().await;
    let mut form = parent_form("eva@example.org");
    form["username"] = json!("mama-eva");
    let a = app.post("/api/parents", None, form).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(a.body["username"], "mama-eva");
    let by_name =
        app.post("/api/auth/login", None, json!({"identifier": "mama-eva", "password": "passwort-123"})).await;
    assert_eq!(by_name.status, StatusCode::OK, "{:?}", by_name.body);
    assert_eq!(by_name.body["email"], "eva@example.org");
    let by_email =
        app.post("/api/auth/login", None, json!({"identifier": "Eva@Example.org", "password": "passwort-123"})).await;
    assert_eq!(by_email.status, StatusCode::OK);
    assert_eq!(by_email.body["id"], by_name.body["id"]);
}

#[tokio::test]
async fn nobody_can_take_someone_elses_email_as_username_or_register_an_absurd_one() {
    let app = spawn_app().await;
    for username in ["victim@example.org".to_owned(), "u".repeat(1000)] {
        let mut form = parent_form("attacker@example.org");
        form["username"] = json!(username);
        let a = app.post("/api/parents", None, form).await;
        assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_username")));
    }
    // The victim can still register with that email, and the attacker with a proper username.
    let victim = app.post("/api/parents", None, parent_form("victim@example.org")).await;
    assert_eq!(victim.status, StatusCode::CREATED, "{:?}", victim.body);
    let (id, token) = app.register_parent("attacker@example.org", "passwort-123").await;
    let a = app.patch(&format!("/api/parents/{id}"), Some(&token), json!({"username": "VICTIM@example.org"})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_username")));
    let own = app.patch(&format!("/api/parents/{id}"), Some(&token), json!({"username": "Attacker@Example.org"})).await;
    assert_eq!(own.status, StatusCode::OK, "the own email is a fine username: {:?}", own.body);
}

#[tokio::test]
async fn passwords_with_control_characters_are_refused() {
    let app = spawn_app().await;
    let mut form = parent_form("nul@example.org");
    form["password"] = json!("\u{0}".repeat(8));
    let a = app.post("/api/parents", None, form).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("weak_password")));
    let login = app.post("/api/auth/login", None, json!({"identifier": "nul@example.org", "password": "\u{0}"})).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrongly_typed_required_fields_and_oversized_locations_get_400_and_change_nothing() {
    let app = spawn_app().await;
    let (id, token) = app.register_caregiver("typ@example.org", "passwort-123", "Köln", "Typen").await;
    let path = format!("/api/caregivers/{id}");
    for body in
        [json!({"phone": false, "bio": "x"}), json!({"email": [], "bio": "x"}), json!({"address": {}, "bio": "x"})]
    {
        let a = app.patch(&path, Some(&token), body.clone()).await;
        assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_field")), "{body}");
    }
    let huge: Map<String, Value> = (0..17_000).map(|i| (format!("k{i}"), json!("v".repeat(1000)))).collect();
    let a = app.patch(&path, Some(&token), json!({"location": huge, "bio": "x"})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("field_too_long")));
    let wide: Map<String, Value> = (0..5_000).map(|i| (format!("k{i}"), json!(i))).collect();
    let a = app.patch(&path, Some(&token), json!({"location": wide, "bio": "x"})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("field_too_long")));
    let me = app.get("/api/auth/me", Some(&token)).await;
    assert_eq!((me.body["phone"].as_str(), me.body["bio"].as_str()), (Some("0221 1"), None));
    assert!(me.body["location"].is_null());
    // Sent as JSON text, the same shapes meet the same limits (deep nesting once overflowed the
    // stack of a worker and took the process down).
    let deep = format!("{}1{}", "{\"a\":".repeat(120), "}".repeat(120));
    let a = app.patch(&path, Some(&token), json!({"location": deep})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("field_too_long")));
    let days = Value::Array((0..500).map(|_| json!("Mo")).collect()).to_string();
    let a = app.patch(&path, Some(&token), json!({"closedDays": days})).await;
    assert_eq!((a.status, a.body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("too_many_items")));
    let deep_anonymous = json!({"email": "tief@example.org", "phone": "1", "address": "a", "postalCode": "50667",
                                "password": "passwort-123", "location": format!("{}1{}", "[".repeat(127), "]".repeat(127))});
    let a = app.post("/api/caregivers", None, deep_anonymous).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK, "the process is still serving");
    // Numbers are fine where text is expected.
    let a = app.patch(&path, Some(&token), json!({"postalCode": 50823, "location": "{\"latitude\": 50.9}"})).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!((a.body["postalCode"].as_str(), a.body["location"]["latitude"].as_f64()), (Some("50823"), Some(50.9)));
}

#[tokio::test]
async fn changing_someone_elses_account_is_forbidden_and_a_missing_one_is_not_found() {
    let app = spawn_app().await;
    let (parent, parent_token) = app.register_parent("p@example.org", "passwort-123").await;
    let (caregiver, caregiver_token) = app.register_caregiver("c@example.org", "passwort-123", "Bonn", "Eule").await;
    let missing = "65a1b2c3d4e5f60718293fff";
    for (resource, other, token) in [("parents", &parent, &caregiver_token), ("caregivers", &caregiver, &parent_token)]
    {
        let a = app.delete(&format!("/api/{resource}/{other}"), Some(token)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{resource}");
        let a = app.patch(&format!("/api/{resource}/{other}"), Some(token), json!({"notes": "x"})).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{resource}");
        let a = app.delete(&format!("/api/{resource}/{missing}"), Some(token)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{resource}");
        let a = app.patch(&format!("/api/{resource}/{missing}"), Some(token), json!({"notes": "x"})).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{resource}");
    }
    let a = app.delete(&format!("/api/parents/{missing}"), Some(&parent_token)).await;
    assert_eq!(a.message(), "Elternprofil wurde nicht gefunden.");
    let a = app.delete(&format!("/api/caregivers/{missing}"), Some(&parent_token)).await;
    assert_eq!(a.message(), "Tagespflegeperson wurde nicht gefunden.");
}

#[tokio::test]
async fn deleting_a_caregiver_removes_their_matches_and_keeps_other_peoples() {
    let app = spawn_app().await;
    let (parent, _) = app.register_parent("p@example.org", "passwort-123").await;
    let (gone, gone_token) = app.register_caregiver("weg@example.org", "passwort-123", "Bonn", "Weg").await;
    let (stays, _) = app.register_caregiver("bleibt@example.org", "passwort-123", "Bonn", "Bleibt").await;
    let matches = app.db.collection::<bson::Document>("matches");
    let now = bson::DateTime::now();
    for caregiver in [&gone, &stays] {
        let doc = bson::doc! {"parentId": &parent, "caregiverId": caregiver, "createdAt": now, "updatedAt": now};
        matches.insert_one(doc).await.unwrap();
    }
    let a = app.delete(&format!("/api/caregivers/{gone}"), Some(&gone_token)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(matches.count_documents(bson::doc! {"caregiverId": &gone}).await.unwrap(), 0);
    assert_eq!(matches.count_documents(bson::doc! {"caregiverId": &stays}).await.unwrap(), 1);
}

#[tokio::test]
async fn a_caregiver_sees_their_own_contract_documents_in_a_search_and_others_do_not() {
    let app = spawn_app().await;
    let (id, token) = app.register_caregiver("vertrag@example.org", "passwort-123", "Bonn", "Vertrag").await;
    let pdf = format!("data:application/pdf;base64,{}", e2e_tests::PDF_B64);
    let a = app
        .patch(
            &format!("/api/caregivers/{id}"),
            Some(&token),
            json!({"contractDocuments": [{"name": "Betreuungsvertrag", "dataUrl": pdf, "fileName": "v.pdf"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let own = app.get("/api/caregivers?city=Bonn", Some(&token)).await;
    assert_eq!(own.body[0]["contractDocuments"].as_array().map(Vec::len), Some(1));
    let anonymous = app.get("/api/caregivers?city=Bonn", None).await;
    assert!(anonymous.body[0].get("contractDocuments").is_none());
}

#[tokio::test]
async fn a_page_without_limit_pages_by_twenty_and_no_paging_returns_everything() {
    let app = spawn_app().await;
    let coll = app.db.collection::<bson::Document>("caregivers");
    let docs: Vec<bson::Document> = (0..25)
        .map(|i| {
            bson::doc! {"email": format!("c{i}@example.org"), "username": format!("c{i}@example.org"),
            "postalCode": "12345", "city": "Seite", "createdAt": bson::DateTime::now()}
        })
        .collect();
    coll.insert_many(docs).await.unwrap();
    let all = app.get("/api/caregivers?postalCode=12345", None).await;
    assert_eq!(all.body.as_array().map(Vec::len), Some(25));
    let second = app.get("/api/caregivers?postalCode=12345&page=2", None).await;
    assert_eq!(second.body.as_array().map(Vec::len), Some(5));
    let zero = app.get("/api/caregivers?postalCode=12345&limit=0", None).await;
    assert_eq!(zero.body.as_array().map(Vec::len), Some(25));
}
