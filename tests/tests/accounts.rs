//! Registration, login, search, profile updates and deletion, end to end.
#![allow(clippy::unwrap_used)]

use e2e_tests::{AUTH_SECRET, PDF_B64, PNG_B64, forge_token, png_bytes, png_data_url, spawn_app};
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn key_of(file_ref: &Value) -> String {
    file_ref["key"].as_str().unwrap_or_else(|| panic!("no key in {file_ref}")).to_owned()
}

#[tokio::test]
async fn a_parent_and_a_caregiver_live_through_registration_search_updates_and_deletion() {
    let app = spawn_app().await;

    // Register both roles with images, as the apps send them (strings for numbers, empty optionals).
    let parent = app
        .post(
            "/api/parents",
            None,
            json!({"email": " Eva.Eltern@Example.org ", "phone": "0151 1", "postalCode": "50667", "password": "eva-passwort-1",
                   "username": "", "firstName": "Eva", "lastName": "Eltern", "role": "caregiver", "acceptTerms": true,
                   "children": [{"name": "Lia", "age": 2, "gender": "", "notes": ""}, {"name": "", "age": 1}],
                   "profileImage": png_data_url(), "profileImageName": "eva.png", "emailNotificationsEnabled": "false"}),
        )
        .await;
    assert_eq!(parent.status, StatusCode::CREATED, "{:?}", parent.body);
    let p = &parent.body;
    let parent_id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["role"], "parent");
    assert_eq!(p["email"], "eva.eltern@example.org");
    assert_eq!(p["username"], "eva.eltern@example.org");
    assert_eq!(p["name"], "Eva Eltern");
    assert_eq!(p["children"], json!([{"name": "Lia", "age": "2", "gender": null, "notes": null}]));
    assert_eq!(p["numberOfChildren"], 1);
    assert_eq!(p["emailNotificationsEnabled"], false);
    assert!(p.get("password").is_none() && p.get("_id").is_none());
    let parent_image = key_of(&p["profileImageUrl"]);
    assert!(parent_image.starts_with("parents/profile-images/") && parent_image.ends_with(".png"));
    assert_eq!(p["profileImageUrl"]["url"], format!("/uploads/{parent_image}"));
    assert_eq!(p["profileImageUrl"]["mimeType"], "image/png");
    assert_eq!(p["profileImageUrl"]["fileName"], "eva.png");
    assert!(app.file_exists(&parent_image).await);
    let raw = app.raw("parents", &parent_id).await.unwrap();
    assert!(raw.get_str("password").unwrap().starts_with("$2"), "bcrypt stored");

    let caregiver = app
        .post(
            "/api/caregivers",
            None,
            json!({"email": "kita@example.org", "phone": "0221 2", "address": "Lindenallee 7", "postalCode": "50667",
                   "password": "kita-passwort-1", "firstName": "Sabine", "lastName": "Sonne", "city": "Köln",
                   "daycareName": "Zwergenhöhle Süd", "availableSpots": "3", "hasAvailability": "true", "maxChildAge": null,
                   "caregiverSince": "", "birthDate": "1984-06-15", "newsletterOptIn": true,
                   "careTimes": [{"startTime": "07:30", "endTime": "16:00", "activity": "Betreuung"}, {"startTime": "", "endTime": "9", "activity": "x"}],
                   "location": {"latitude": 50.9, "longitude": 6.9},
                   "profileImage": format!("data:image/png;base64,{PNG_B64}"), "profileImageName": "ich.png",
                   "logoImage": PNG_B64, "conceptFile": format!("data:application/pdf;base64,{PDF_B64}"), "conceptFileName": "konzept.pdf",
                   "roomImages": [{"dataUrl": png_data_url(), "fileName": "raum.png"}],
                   "caregiverImages": [],
                   "contractDocuments": [{"name": "Betreuungsvertrag", "dataUrl": format!("data:application/pdf;base64,{PDF_B64}"), "fileName": "vertrag.pdf"}]}),
        )
        .await;
    assert_eq!(caregiver.status, StatusCode::CREATED, "{:?}", caregiver.body);
    let c = &caregiver.body;
    let caregiver_id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["citySlug"], "koeln");
    assert_eq!(c["daycareSlug"], "zwergenhoehle-sued");
    assert_eq!(c["profilePath"], "koeln/zwergenhoehle-sued");
    assert_eq!(c["availableSpots"], 3);
    assert_eq!(c["hasAvailability"], true);
    assert_eq!(c["availabilityTiming"], "aktuell");
    assert!(c["age"].as_u64().unwrap() >= 41);
    assert_eq!(c["careTimes"].as_array().unwrap().len(), 1);
    assert_eq!(c["location"], json!({"latitude": 50.9, "longitude": 6.9}));
    assert!(key_of(&c["logoImageUrl"]).starts_with("caregivers/logos/"));
    assert!(key_of(&c["conceptUrl"]).starts_with("caregivers/concepts/"));
    assert!(key_of(&c["roomImages"][0]).starts_with("caregivers/room-gallery/"));
    let contract = &c["contractDocuments"][0];
    assert_eq!(contract["name"], "Betreuungsvertrag");
    assert!(key_of(&contract["file"]).starts_with("caregivers/contracts/"));

    // A second caregiver with the same names gets a "-2" path.
    let twin = app
        .post(
            "/api/caregivers",
            None,
            json!({"email": "kita2@example.org", "phone": "1", "address": "Ring 1", "postalCode": "50823", "password": "pw-twin-123",
                   "city": "köln", "daycareName": "Zwergenhöhle Süd"}),
        )
        .await;
    assert_eq!(twin.status, StatusCode::CREATED);
    assert_eq!(twin.body["profilePath"], "koeln/zwergenhoehle-sued-2");

    // Login by email (any case) and by username; me.
    let parent_token = app.login("EVA.ELTERN@example.org", "eva-passwort-1").await;
    let caregiver_token = app.login("kita@example.org", "kita-passwort-1").await;
    let by_username = app
        .post("/api/auth/login", None, json!({"identifier": "eva.eltern@example.org", "password": "eva-passwort-1"}))
        .await;
    assert_eq!(by_username.body["role"], "parent");
    let me = app.get("/api/auth/me", Some(&parent_token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], parent_id);
    assert_eq!(me.body["role"], "parent");
    assert!(me.body["token"].is_string());
    let me = app.get("/api/auth/me", Some(&caregiver_token)).await;
    assert_eq!((me.body["id"].as_str(), me.body["role"].as_str()), (Some(caregiver_id.as_str()), Some("caregiver")));

    // The stored image can be fetched back.
    let img = app.get(&format!("/uploads/{parent_image}"), None).await;
    assert_eq!(img.status, StatusCode::OK);
    assert_eq!(img.bytes, png_bytes());
    assert_eq!(img.content_type(), "image/png");

    // Search by postal code, city (any case), text, citySlug; contact data only with a token.
    let by_code = app.get("/api/caregivers?postalCode=50667", None).await;
    assert_eq!(by_code.body.as_array().unwrap().len(), 1);
    assert!(
        by_code.body[0].get("email").is_none()
            && by_code.body[0].get("phone").is_none()
            && by_code.body[0].get("address").is_none()
    );
    assert!(by_code.body[0].get("contractDocuments").is_none());
    let with_token = app.get("/api/caregivers?postalCode=50667", Some(&parent_token)).await;
    assert_eq!(with_token.body[0]["email"], "kita@example.org");
    assert_eq!(with_token.body[0]["address"], "Lindenallee 7");
    let by_city = app.get("/api/caregivers?city=K%C3%96LN", None).await;
    assert_eq!(by_city.body.as_array().unwrap().len(), 2);
    assert_eq!(by_city.body[0]["id"], twin.body["id"], "newest first");
    let by_text = app.get("/api/caregivers?search=zwergenh%C3%B6hle%20s", None).await;
    assert_eq!(by_text.body.as_array().unwrap().len(), 2);
    let by_regex = app.get("/api/caregivers?search=.*", None).await;
    assert_eq!(by_regex.body.as_array().unwrap().len(), 0, "user input is not a regex");
    let by_slug = app.get("/api/caregivers?citySlug=koeln&postalCode=50823", None).await;
    assert_eq!(by_slug.body.as_array().unwrap().len(), 1);
    let paged = app.get("/api/caregivers?limit=1&page=2", None).await;
    assert_eq!(paged.body[0]["id"], caregiver_id);
    let city = app.get("/api/caregivers/postal-code/50667/city", None).await;
    assert_eq!(city.body, json!({"city": "Köln", "citySlug": "koeln", "postalCode": "50667"}));
    let locations = app.get("/api/caregivers/locations?q=k%C3%B6ln", None).await;
    assert_eq!(locations.body.as_array().unwrap().len(), 2);

    // Parents: owner sees everything, another user the public part.
    let own = app.get(&format!("/api/parents/{parent_id}"), Some(&parent_token)).await;
    assert_eq!(own.body["phone"], "0151 1");
    let other = app.get(&format!("/api/parents/{parent_id}"), Some(&caregiver_token)).await;
    assert_eq!(other.status, StatusCode::OK);
    let mut keys: Vec<_> = other.body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["firstName", "id", "lastName", "name", "postalCode", "profileImageUrl", "role"]);
    let user = app.get(&format!("/api/users/{caregiver_id}"), Some(&parent_token)).await;
    assert_eq!(user.body["role"], "caregiver");
    assert!(user.body.get("email").is_none());

    // Patch with a new image: the old file is gone from storage.
    let patched = app
        .patch(
            &format!("/api/parents/{parent_id}"),
            Some(&parent_token),
            json!({"profileImage": png_data_url(), "profileImageName": "neu.png", "notes": "Allergie", "email": "Eva.Eltern@example.org"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    let new_image = key_of(&patched.body["profileImageUrl"]);
    assert_ne!(new_image, parent_image);
    assert!(app.file_exists(&new_image).await);
    assert!(!app.file_exists(&parent_image).await, "old image deleted");
    assert_eq!(patched.body["notes"], "Allergie");
    assert_eq!(patched.body["phone"], "0151 1", "absent fields unchanged");

    // A public form saved with the token must not blank required fields.
    let blank =
        app.patch(&format!("/api/parents/{parent_id}"), Some(&parent_token), json!({"email": "", "notes": "x"})).await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);
    assert_eq!(blank.body["details"]["field"], "email");
    let unchanged = app.get(&format!("/api/parents/{parent_id}"), Some(&parent_token)).await;
    assert_eq!(
        (unchanged.body["email"].as_str(), unchanged.body["notes"].as_str()),
        (Some("eva.eltern@example.org"), Some("Allergie"))
    );

    // Rename the caregiver's city: the old path still resolves, flagged as legacy.
    let old_logo = key_of(&c["logoImageUrl"]);
    let renamed = app
        .patch(
            &format!("/api/caregivers/{caregiver_id}"),
            Some(&caregiver_token),
            json!({"city": "Bonn", "logoImage": "null", "roomImages": []}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{:?}", renamed.body);
    assert_eq!(renamed.body["profilePath"], "bonn/zwergenhoehle-sued");
    assert_eq!(renamed.body["legacyProfilePaths"], json!(["koeln/zwergenhoehle-sued"]));
    assert!(renamed.body["logoImageUrl"].is_null());
    assert!(!app.file_exists(&old_logo).await);
    assert!(!app.file_exists(&key_of(&c["roomImages"][0])).await, "gallery files no longer referenced are deleted");
    let old_path = app.get("/api/caregivers/profile/koeln/zwergenhoehle-sued", None).await;
    assert_eq!(old_path.status, StatusCode::OK);
    assert_eq!(old_path.body["isLegacyPath"], true);
    assert_eq!(old_path.body["canonicalProfilePath"], "bonn/zwergenhoehle-sued");
    assert_eq!(old_path.body["requestedProfilePath"], "koeln/zwergenhoehle-sued");
    let new_path = app.get("/api/caregivers/profile/bonn/zwergenhoehle-sued", None).await;
    assert_eq!(new_path.body["isLegacyPath"], false);

    // Another user's PATCH and DELETE are refused and change nothing.
    for (path, token) in [
        (format!("/api/parents/{parent_id}"), &caregiver_token),
        (format!("/api/caregivers/{caregiver_id}"), &parent_token),
    ] {
        let p = app.patch(&path, Some(token), json!({"phone": "0000"})).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!p.message().is_empty());
        let d = app.delete(&path, Some(token)).await;
        assert_eq!(d.status, StatusCode::FORBIDDEN, "{path}");
    }
    let still = app.get(&format!("/api/caregivers/{caregiver_id}"), Some(&caregiver_token)).await;
    assert_eq!(still.body["phone"], "0221 2");

    // Delete both accounts: files go too; the tokens' accounts are gone.
    let contract_key = key_of(&c["contractDocuments"][0]["file"]);
    assert!(app.file_exists(&contract_key).await);
    assert_eq!(
        app.delete(&format!("/api/caregivers/{caregiver_id}"), Some(&caregiver_token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(!app.file_exists(&contract_key).await);
    assert!(!app.file_exists(&key_of(&c["profileImageUrl"])).await);
    assert_eq!(
        app.delete(&format!("/api/parents/{parent_id}"), Some(&parent_token)).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(!app.file_exists(&new_image).await);
    let me = app.get("/api/auth/me", Some(&parent_token)).await;
    assert_eq!(me.status, StatusCode::NOT_FOUND);
    assert_eq!(me.message(), "Nutzer konnte nicht gefunden werden.");
    // The deleted account's token opens nothing any more.
    let again = app.delete(&format!("/api/parents/{parent_id}"), Some(&parent_token)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let other = app.get(&format!("/api/caregivers/{}", twin.body["id"].as_str().unwrap()), Some(&parent_token)).await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(other.body.get("email").is_none(), "a deleted account's token counts as anonymous on public routes");
    let login = app
        .post("/api/auth/login", None, json!({"identifier": "kita@example.org", "password": "kita-passwort-1"}))
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_get_401() {
    let app = spawn_app().await;
    let (id, token) = app.register_parent("t@example.org", "passwort-123").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": id, "id": id, "role": "parent", "email": "t@example.org", "iat": now - 10, "exp": exp});
    let forged = forge_token("another-secret-another-secret-another", Algorithm::HS256, &claims(now + 3600));
    let expired = forge_token(AUTH_SECRET, Algorithm::HS256, &claims(now - 3600));
    let other_alg = forge_token(AUTH_SECRET, Algorithm::HS512, &claims(now + 3600));
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(now + 3600)));
    for bad in [forged.as_str(), expired.as_str(), other_alg.as_str(), none.as_str(), "garbage", ""] {
        let a = app.get("/api/auth/me", Some(bad)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(a.body, json!({"message": "Unauthorized", "code": "unauthorized"}));
        let p = app.patch(&format!("/api/parents/{id}"), Some(bad), json!({"notes": "x"})).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get("/api/auth/me", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/auth/me", Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_listed_client_error_is_json_with_the_contracts_message() {
    let app = spawn_app().await;
    let (pid, ptoken) = app.register_parent("p@example.org", "passwort-123").await;
    let (cid, _) = app.register_caregiver("c@example.org", "passwort-456", "Köln", "Sonnenschein").await;

    let missing = app.post("/api/parents", None, json!({"email": "", "firstName": "X"})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["details"]["fields"], json!(["email", "phone", "postalCode", "password"]));
    let missing = app
        .post(
            "/api/caregivers",
            None,
            json!({"email": "x@example.org", "phone": "1", "postalCode": "1", "password": "p"}),
        )
        .await;
    assert_eq!(missing.body["details"]["fields"], json!(["address"]));

    let dup = app
        .post(
            "/api/parents",
            None,
            json!({"email": "P@Example.org", "phone": "1", "postalCode": "1", "password": "passwort-x1"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.message()),
        (StatusCode::CONFLICT, "Für diese Zugangsdaten existiert bereits ein Elternprofil.")
    );
    let dup = app
        .post(
            "/api/caregivers",
            None,
            json!({"email": "p@example.org", "phone": "1", "address": "a", "postalCode": "1", "password": "passwort-x1"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.message()),
        (StatusCode::CONFLICT, "Für diese Zugangsdaten existiert bereits eine Tagespflegeperson.")
    );

    let form = |image: &str| json!({"email": "neu@example.org", "phone": "1", "postalCode": "1", "password": "passwort-x1", "profileImage": image});
    let bad64 = app.post("/api/parents", None, form("data:image/png;base64,@@@not-base64@@@")).await;
    assert_eq!(bad64.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad64.body["code"], "invalid_base64");
    use base64::Engine as _;
    let exe = base64::engine::general_purpose::STANDARD
        .encode(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00");
    let exe = app.post("/api/parents", None, form(&format!("data:image/png;base64,{exe}"))).await;
    assert_eq!((exe.status, exe.message()), (StatusCode::BAD_REQUEST, "Dateiformat wird nicht unterstützt."));
    let not_image = app.post("/api/parents", None, form(&format!("data:application/pdf;base64,{PDF_B64}"))).await;
    assert_eq!(not_image.message(), "Dateiformat wird nicht unterstützt.");
    let none_created =
        app.post("/api/auth/login", None, json!({"identifier": "neu@example.org", "password": "passwort-x1"})).await;
    assert_eq!(none_created.status, StatusCode::UNAUTHORIZED, "no account left behind by refused registrations");

    assert_eq!(app.get("/api/parents", Some(&ptoken)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/parents", None).await.status, StatusCode::FORBIDDEN);
    let anon = app.get(&format!("/api/parents/{pid}"), None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let unknown = app.get("/api/parents/65a1b2c3d4e5f60718293fff", Some(&ptoken)).await;
    assert_eq!((unknown.status, unknown.message()), (StatusCode::NOT_FOUND, "Elternprofil wurde nicht gefunden."));
    let malformed = app.get("/api/parents/not-an-id", Some(&ptoken)).await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    let c404 = app.get("/api/caregivers/65a1b2c3d4e5f60718293fff", None).await;
    assert_eq!(c404.message(), "Tagespflegeperson wurde nicht gefunden.");
    let u404 = app.get("/api/users/65a1b2c3d4e5f60718293fff", Some(&ptoken)).await;
    assert_eq!(u404.message(), "Nutzer wurde nicht gefunden.");
    assert_eq!(app.get(&format!("/api/users/{cid}"), None).await.status, StatusCode::UNAUTHORIZED);
    let path404 = app.get("/api/caregivers/profile/nirgendwo/niemand", None).await;
    assert_eq!(path404.message(), "Tagespflegeperson wurde nicht gefunden.");
    for code in ["99999", "5066", "abcde"] {
        let a = app.get(&format!("/api/caregivers/postal-code/{code}/city"), None).await;
        assert_eq!(
            (a.status, a.message()),
            (StatusCode::NOT_FOUND, "Für diese Postleitzahl wurde keine Stadt gefunden."),
            "{code}"
        );
    }
    let l = app.post("/api/auth/login", None, json!({"identifier": "p@example.org"})).await;
    assert_eq!((l.status, l.message()), (StatusCode::BAD_REQUEST, "Benutzername oder Passwort fehlen."));
    let l = app.post("/api/auth/login", None, json!({"identifier": "p@example.org", "password": "falsch"})).await;
    assert_eq!((l.status, l.message()), (StatusCode::UNAUTHORIZED, "Ungültige Zugangsdaten."));
    let l = app.post("/api/auth/login", None, json!({"identifier": "niemand@example.org", "password": "falsch"})).await;
    assert_eq!((l.status, l.message()), (StatusCode::UNAUTHORIZED, "Ungültige Zugangsdaten."));

    let dup_patch = app.patch(&format!("/api/parents/{pid}"), Some(&ptoken), json!({"email": "c@example.org"})).await;
    assert_eq!(dup_patch.status, StatusCode::CONFLICT);
    let too_big_form = app.patch(&format!("/api/parents/{pid}"), Some(&ptoken), json!({"postalCode": null})).await;
    assert_eq!(too_big_form.status, StatusCode::BAD_REQUEST);

    let f = app.get("/api/files/", None).await;
    assert_eq!((f.status, f.message()), (StatusCode::BAD_REQUEST, "Ungültiger Dateipfad."));
    let f = app.get("/api/files/parents%2Fprofile-images%2Fnope.png", None).await;
    assert_eq!((f.status, f.message()), (StatusCode::NOT_FOUND, "Datei wurde nicht gefunden."));
    for escape in [
        "/api/files/..%2F..%2Fetc%2Fpasswd",
        "/api/files/%2Fetc%2Fpasswd",
        "/uploads/..%5C..%5Cetc%5Cpasswd",
        "/uploads/a/%2E%2E/%2E%2E/x",
    ] {
        let a = app.get(escape, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{escape}");
        assert!(a.content_type().starts_with("application/json"));
    }
}

#[tokio::test]
async fn contract_documents_are_private_and_served_only_with_a_valid_signature() {
    let app = spawn_app().await;
    let c = app
        .post(
            "/api/caregivers",
            None,
            json!({"email": "v@example.org", "phone": "1", "address": "a", "postalCode": "50667", "password": "passwort-1",
                   "contractDocuments": [{"name": "Vertrag", "dataUrl": format!("data:application/pdf;base64,{PDF_B64}"), "fileName": "v.pdf"}]}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED);
    let file = &c.body["contractDocuments"][0]["file"];
    let signed = file["url"].as_str().unwrap();
    assert!(signed.starts_with("/api/files/caregivers%2Fcontracts%2F") && signed.contains("signature="), "{signed}");
    let ok = app.get(signed, None).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.content_type(), "application/pdf");
    let key = key_of(file);
    let guessed = app.get(&format!("/api/files/{}", key.replace('/', "%2F")), None).await;
    assert_eq!(guessed.status, StatusCode::FORBIDDEN);
    let legacy = app.get(&format!("/uploads/{key}"), None).await;
    assert_eq!(legacy.status, StatusCode::FORBIDDEN);
    let tampered = app.get(&signed.replace("expires=", "expires=9"), None).await;
    assert_eq!(tampered.status, StatusCode::FORBIDDEN);
    // Anonymous viewers do not see contract documents at all.
    let public = app.get(&format!("/api/caregivers/{}", c.body["id"].as_str().unwrap()), None).await;
    assert!(public.body.get("contractDocuments").is_none());
}

#[tokio::test]
async fn files_support_ranges_and_conditional_requests() {
    let app = spawn_app().await;
    let (id, token) = app.register_parent("r@example.org", "passwort-123").await;
    let me = app.get(&format!("/api/parents/{id}"), Some(&token)).await;
    let url = me.body["profileImageUrl"]["url"].as_str().unwrap().to_owned();
    let full = app.request(reqwest::Method::GET, &url).send().await.unwrap();
    let etag = full.headers()["etag"].to_str().unwrap().to_owned();
    assert!(full.headers().contains_key("last-modified"));
    assert_eq!(full.headers()["content-length"], png_bytes().len().to_string().as_str());
    let part = app.request(reqwest::Method::GET, &url).header("Range", "bytes=0-7").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], format!("bytes 0-7/{}", png_bytes().len()).as_str());
    assert_eq!(part.bytes().await.unwrap().as_ref(), &png_bytes()[..8]);
    let cached = app.request(reqwest::Method::GET, &url).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let outside = app.request(reqwest::Method::GET, &url).header("Range", "bytes=9999-").send().await.unwrap();
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn concurrent_profile_updates_lose_nothing_and_leave_no_orphaned_files() {
    let app = spawn_app().await;
    let (id, token) = app.register_parent("parallel@example.org", "passwort-123").await;
    let path = format!("/api/parents/{id}");

    // Two PATCHes of different fields at the same time: both changes survive, every round.
    for i in 0..10 {
        let (first_name, notes) = (format!("F{i}"), format!("N{i}"));
        let (a, b) = tokio::join!(
            app.patch(&path, Some(&token), json!({ "firstName": first_name })),
            app.patch(&path, Some(&token), json!({ "notes": notes })),
        );
        assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK), "round {i}: {:?} / {:?}", a.body, b.body);
        let me = app.get(&path, Some(&token)).await;
        assert_eq!((me.body["firstName"].as_str(), me.body["notes"].as_str()), (Some(&*first_name), Some(&*notes)));
    }

    // Five PATCHes replacing the profile image at the same time: only the referenced file remains.
    let replace = |i: u32| {
        app.patch(
            &path,
            Some(&token),
            json!({ "profileImage": png_data_url(), "profileImageName": format!("bild-{i}.png") }),
        )
    };
    let (a, b, c, d, e) = tokio::join!(replace(1), replace(2), replace(3), replace(4), replace(5));
    let answers = [a, b, c, d, e];
    for answer in &answers {
        match answer.status {
            StatusCode::OK => {}
            StatusCode::CONFLICT => assert_eq!(answer.body["code"], "conflict"),
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    }
    assert!(answers.iter().any(|a| a.status == StatusCode::OK));
    let me = app.get(&path, Some(&token)).await;
    let current = key_of(&me.body["profileImageUrl"]);
    let folder = "parents/profile-images";
    let stored: Vec<String> = std::fs::read_dir(app.upload_dir.path().join(folder))
        .unwrap()
        .map(|entry| format!("{folder}/{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(stored, std::slice::from_ref(&current), "exactly the referenced image is left");
    assert!(app.file_exists(&current).await);
}

/// The minimal registration body both roles accept.
fn minimal_registration(email: &str) -> Value {
    json!({"email": email, "phone": "1", "postalCode": "50667", "address": "a", "password": "passwort-123"})
}

#[tokio::test]
async fn a_parent_and_a_caregiver_racing_for_one_email_cannot_both_register() {
    let app = spawn_app().await;
    for round in 0..10 {
        let email = format!("race-{round}-{}@example.org", uuid::Uuid::new_v4().simple());
        let (parent, caregiver) = tokio::join!(
            app.post("/api/parents", None, minimal_registration(&email)),
            app.post("/api/caregivers", None, minimal_registration(&email)),
        );
        let mut statuses = [parent.status, caregiver.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::CONFLICT],
            "round {round}: parent {} {:?} / caregiver {} {:?}",
            parent.status,
            parent.body,
            caregiver.status,
            caregiver.body
        );
        // The winner can log in with its role.
        let login = app.post("/api/auth/login", None, json!({"identifier": email, "password": "passwort-123"})).await;
        assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
        let winner = if parent.status == StatusCode::CREATED { "parent" } else { "caregiver" };
        assert_eq!(login.body["role"], winner, "{:?}", login.body);
    }
}

#[tokio::test]
async fn usernames_that_differ_only_in_case_are_the_same_username() {
    let app = spawn_app().await;
    let mut eve = minimal_registration("eve@example.org");
    eve["username"] = json!("eve");
    let first = app.post("/api/parents", None, eve).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    for (path, email) in [("/api/parents", "eve2@example.org"), ("/api/caregivers", "eve3@example.org")] {
        let mut shouting = minimal_registration(email);
        shouting["username"] = json!("EVE");
        let again = app.post(path, None, shouting).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{path}: {:?}", again.body);
    }
    // An email in another case is the same email, also across roles.
    let again = app.post("/api/caregivers", None, minimal_registration("EVE@Example.org")).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
}

#[tokio::test]
async fn the_email_of_a_deleted_account_can_be_registered_again() {
    let app = spawn_app().await;
    let (id, token) = app.register_parent("wieder@example.org", "passwort-123").await;
    let taken = app.post("/api/caregivers", None, minimal_registration("wieder@example.org")).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{:?}", taken.body);
    let deleted = app.delete(&format!("/api/parents/{id}"), Some(&token)).await;
    assert!(deleted.status.is_success(), "{:?}", deleted.body);
    let again = app.post("/api/caregivers", None, minimal_registration("wieder@example.org")).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
}

#[tokio::test]
async fn a_parent_cannot_take_over_a_caregivers_email_and_its_old_email_is_freed_by_a_change() {
    let app = spawn_app().await;
    let (_, _) = app.register_caregiver("kita-frei@example.org", "passwort-123", "Köln", "Sonnenschein").await;
    let (pid, ptoken) = app.register_parent("eltern-alt@example.org", "passwort-123").await;
    let path = format!("/api/parents/{pid}");
    for email in ["kita-frei@example.org", "KITA-frei@example.org"] {
        let taken = app.patch(&path, Some(&ptoken), json!({ "email": email })).await;
        assert_eq!(taken.status, StatusCode::CONFLICT, "{email}: {:?}", taken.body);
    }
    // A change to a free email releases the old one (username and email both were the old email).
    let moved =
        app.patch(&path, Some(&ptoken), json!({ "email": "eltern-neu@example.org", "username": "eltern" })).await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    let taken = app.post("/api/caregivers", None, minimal_registration("eltern-neu@example.org")).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{:?}", taken.body);
    let freed = app.post("/api/caregivers", None, minimal_registration("eltern-alt@example.org")).await;
    assert_eq!(freed.status, StatusCode::CREATED, "{:?}", freed.body);
}
