//! The existing production documents (fixtures) are read, logged into and updated without breaking
//! the legacy shapes.
#![allow(clippy::unwrap_used)]

use bson::Bson;
use e2e_tests::{TestApp, spawn_app_on_legacy_data};
use reqwest::StatusCode;
use serde_json::json;

const JANA: &str = "65a1b2c3d4e5f60718293a01";
const TOM: &str = "65a1b2c3d4e5f60718293a02";
const SABINE: &str = "65a1b2c3d4e5f60718293b01";
const GUEL: &str = "65a1b2c3d4e5f60718293b02";

async fn legacy_app() -> TestApp {
    spawn_app_on_legacy_data().await
}

#[tokio::test]
async fn every_legacy_account_logs_in_and_toms_plain_password_becomes_bcrypt() {
    let app = legacy_app().await;
    for (identifier, password, id, role) in [
        ("jana.beispiel@example.org", "Sonnenblume-2024", JANA, "parent"),
        ("tom.altkonto@example.org", "klartext-passwort-1", TOM, "parent"),
        ("sabine.muster@example.org", "Regenbogen!77", SABINE, "caregiver"),
        ("zwergenhoehle", "Regenbogen!77", GUEL, "caregiver"),
    ] {
        let a = app.post("/api/auth/login", None, json!({"identifier": identifier, "password": password})).await;
        assert_eq!(a.status, StatusCode::OK, "{identifier}: {:?}", a.body);
        assert_eq!((a.body["id"].as_str(), a.body["role"].as_str()), (Some(id), Some(role)));
        assert!(a.body["token"].is_string());
    }
    let tom = app.raw("parents", TOM).await.unwrap();
    let stored = tom.get_str("password").unwrap();
    assert!(stored.starts_with("$2") && stored.len() == 60, "upgraded to bcrypt: {stored}");
    // Still works with the same password, now through bcrypt; the old plain value no longer matches as text.
    app.login("tomalt", "klartext-passwort-1").await;
    let wrong = app.post("/api/auth/login", None, json!({"identifier": "tomalt", "password": stored})).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_read_route_answers_legacy_documents_in_the_contracts_shapes() {
    let app = legacy_app().await;
    let jana = app.login("jana.beispiel@example.org", "Sonnenblume-2024").await;

    let list = app.get("/api/caregivers", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    assert_eq!(list.body[0]["id"], SABINE, "newest first");

    let guel = app.get(&format!("/api/caregivers/{GUEL}"), Some(&jana)).await;
    assert_eq!(guel.status, StatusCode::OK);
    assert_eq!(guel.body["availableSpots"], 0);
    assert_eq!(guel.body["childrenCount"], 4);
    assert_eq!(guel.body["hasAvailability"], false);
    assert_eq!(guel.body["careTimes"], json!([]), "incomplete entry dropped");
    assert_eq!(guel.body["availabilityTiming"], "aktuell");
    assert_eq!(guel.body["email"], "guel@example.org");

    let sabine = app.get(&format!("/api/caregivers/{SABINE}"), None).await;
    let s = &sabine.body;
    assert_eq!(
        s["age"].as_u64().unwrap(),
        u64::from(domain::dates::whole_years(
            chrono::NaiveDate::from_ymd_opt(1984, 6, 15).unwrap(),
            chrono::Utc::now().date_naive()
        ))
    );
    assert!(s["yearsOfExperience"].as_u64().unwrap() >= 13);
    assert_eq!(s["roomImages"].as_array().unwrap().len(), 2);
    assert_eq!(s["roomImages"][1]["key"], "caregivers/room-gallery/alt-garten.jpg");
    assert_eq!(s["roomImages"][1]["url"], "/uploads/caregivers/room-gallery/alt-garten.jpg");
    assert_eq!(s["conceptUrl"]["key"], "caregivers/concepts/konzept-alt.pdf");
    assert!(s["logoImageUrl"].is_null());
    assert_eq!(s["birthDate"], "1984-06-15T00:00:00.000Z");
    assert!(s.get("email").is_none(), "anonymous: no contact data");

    // Gül had no slugs: they are backfilled at start.
    let mut found = None;
    for _ in 0..50 {
        let a = app.get("/api/caregivers/profile/koeln/zwergenhoehle", None).await;
        if a.status == StatusCode::OK {
            found = Some(a);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let found = found.expect("backfilled profile path resolves");
    assert_eq!(found.body["id"], GUEL);
    let legacy = app.get("/api/caregivers/profile/koeln/sabine-muster", None).await;
    assert_eq!((legacy.body["id"].as_str(), legacy.body["isLegacyPath"].as_bool()), (Some(SABINE), Some(true)));

    let by_city = app.get("/api/caregivers?city=k%C3%B6ln", None).await;
    assert_eq!(by_city.body.as_array().unwrap().len(), 2, "lower-case legacy city matches too");
    let city = app.get("/api/caregivers/postal-code/50823/city", None).await;
    assert_eq!(city.body["city"], "köln");
    let locations = app.get("/api/caregivers/locations", None).await;
    assert_eq!(locations.body.as_array().unwrap().len(), 2);

    let tom = app.get(&format!("/api/users/{TOM}"), Some(&jana)).await;
    assert_eq!(tom.status, StatusCode::OK);
    assert_eq!(tom.body["profileImageUrl"]["url"], "/uploads/parents/profile-images/legacy-photo.jpg");
    assert!(tom.body.get("email").is_none());
    let me = app.get("/api/auth/me", Some(&jana)).await;
    assert_eq!(me.body["children"][0], json!({"name": "Mia", "age": "3", "gender": "female", "notes": null}));
    assert_eq!(me.body["createdAt"], "2025-11-02T09:15:00.000Z");
    let own = app.get(&format!("/api/parents/{JANA}"), Some(&jana)).await;
    assert_eq!(own.body["profileImageUrl"]["key"], "parents/profile-images/0b6f3c1e-0000-4000-8000-000000000001.png");
}

#[tokio::test]
async fn updates_keep_documents_readable_by_the_legacy_backend() {
    let app = legacy_app().await;
    let sabine = app.login("sabine.muster@example.org", "Regenbogen!77").await;
    let a = app
        .patch(
            &format!("/api/caregivers/{SABINE}"),
            Some(&sabine),
            json!({"bio": "Neu", "availableSpots": "1", "roomImages": ["/uploads/caregivers/room-gallery/alt-garten.jpg"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let raw = app.raw("caregivers", SABINE).await.unwrap();
    assert_eq!(raw.get_str("bio").unwrap(), "Neu");
    assert!(matches!(raw.get("updatedAt"), Some(Bson::DateTime(_))));
    assert!(matches!(raw.get("createdAt"), Some(Bson::DateTime(_))));
    assert!(matches!(raw.get("birthDate"), Some(Bson::DateTime(_))));
    // The legacy backend reads the stored `age`: it is rewritten from the birth date on every write.
    let Some(Bson::DateTime(born)) = raw.get("birthDate") else { panic!("birthDate is not a BSON date") };
    let age = domain::dates::whole_years(born.to_chrono().date_naive(), chrono::Utc::now().date_naive());
    assert_eq!(raw.get("age"), Some(&Bson::Int32(i32::try_from(age).unwrap())), "age derived from birthDate");
    assert_eq!(raw.get_array("roomImages").unwrap().len(), 1);
    assert_eq!(raw.get_str("role").unwrap(), "caregiver");

    let jana = app.login("jana.beispiel@example.org", "Sonnenblume-2024").await;
    let d = app.delete(&format!("/api/parents/{JANA}"), Some(&jana)).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let matches = app.db.collection::<bson::Document>("matches").count_documents(bson::doc! {}).await.unwrap();
    assert_eq!(matches, 0, "the deleted parent's matches are gone");
    assert!(app.raw("parents", JANA).await.is_none());
    let remaining = app.db.collection::<bson::Document>("parents").find_one(bson::doc! {}).await.unwrap().unwrap();
    assert!(matches!(remaining.get("_id"), Some(Bson::ObjectId(_))));
}
