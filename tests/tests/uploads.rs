//! Upload types end to end: what phones and Office applications really send.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write as _};

use base64::Engine as _;
use e2e_tests::spawn_app;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A ZIP archive with these entries, in this order.
fn zip_with(entries: &[&str]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for name in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><x/>").unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The beginning of an iPhone photo: an `ftyp` box with major brand `heic`, then a box.
fn heic_photo() -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    b.extend_from_slice(b"\0\0\0\x08meta");
    b
}

fn caregiver_with(extra: Value) -> Value {
    let mut body = json!({"email": "upload@example.org", "phone": "1", "address": "a", "postalCode": "50667",
                          "password": "passwort-1"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn a_heic_photo_and_a_docx_in_an_unusual_entry_order_are_stored_with_their_real_types() {
    let app = spawn_app().await;
    let docx = zip_with(&[
        "[Content_Types].xml",
        "_rels/.rels",
        "docProps/app.xml",
        "docProps/core.xml",
        "word/document.xml",
        "word/styles.xml",
    ]);
    let docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let c = app
        .post(
            "/api/caregivers",
            None,
            caregiver_with(json!({
                // Phones often declare a generic type; only the content counts.
                "profileImage": data_url("application/octet-stream", &heic_photo()), "profileImageName": "IMG_0001.HEIC",
                "contractDocuments": [{"name": "Vertrag", "dataUrl": data_url("application/zip", &docx), "fileName": "v.docx"}],
            })),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);

    let image = &c.body["profileImageUrl"];
    assert_eq!(image["mimeType"], "image/heic");
    let image_key = image["key"].as_str().unwrap();
    assert!(image_key.ends_with(".heic"), "{image_key}");
    let served = app.get(image["url"].as_str().unwrap(), None).await;
    assert_eq!((served.status, served.content_type()), (StatusCode::OK, "image/heic"));

    let contract = &c.body["contractDocuments"][0]["file"];
    assert_eq!(contract["mimeType"], docx_type);
    let contract_key = contract["key"].as_str().unwrap();
    assert!(contract_key.starts_with("caregivers/contracts/") && contract_key.ends_with(".docx"), "{contract_key}");
    let served = app.get(contract["url"].as_str().unwrap(), None).await;
    assert_eq!((served.status, served.content_type()), (StatusCode::OK, docx_type));
}

#[tokio::test]
async fn a_plain_zip_and_an_svg_are_refused_with_the_contracts_message() {
    let app = spawn_app().await;
    let zip = zip_with(&["readme.txt", "tool.exe"]);
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#;
    for extra in [
        json!({"contractDocuments": [{"name": "Vertrag", "dataUrl": data_url("application/pdf", &zip), "fileName": "v.pdf"}]}),
        json!({"profileImage": data_url("image/svg+xml", svg)}),
    ] {
        let r = app.post("/api/caregivers", None, caregiver_with(extra)).await;
        assert_eq!((r.status, r.message()), (StatusCode::BAD_REQUEST, "Dateiformat wird nicht unterstützt."));
    }
}
