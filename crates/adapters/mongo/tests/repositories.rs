//! The MongoDB repositories against a real MongoDB-wire server (`MONGODB_URI`), on the legacy
//! fixtures and on documents written by the repositories themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adapter_mongo::{IndexProblem, Preparation};
use bson::{Bson, doc};
use chrono::{TimeZone, Utc};
use common::{GUEL, JANA, SABINE, TOM, TestDb, capture_logs, free_port, id, proxied_uri, start_proxy};
use domain::{
    Caregiver, CaregiverDetails, CaregiverFiles, Child, ContractDocument, FileRef, Gender, Opaque, Parent,
    PasswordHash, TimeSlot, UserId,
};
use ports::{CaregiverFilter, CaregiverRepository, MatchRepository, ParentRepository, RepoError};

const BCRYPT: &str = "$2b$10$YxWCELtuJEAub0lROkpk9.dHe/tlmTEtl.oqlnhqyAz.amGQHFZxe";

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap()
}

fn file(key: &str) -> FileRef {
    FileRef {
        key: Some(key.to_owned()),
        url: format!("/api/files/{}", key.replace('/', "%2F")),
        file_name: Some("datei.png".into()),
        mime_type: Some("image/png".into()),
        size: Some(68),
        uploaded_at: Some(at(2025, 3, 4)),
    }
}

fn full_caregiver(raw_id: &str, email: &str, username: &str) -> Caregiver {
    Caregiver {
        id: id(raw_id),
        email: email.into(),
        phone: "0221 1234".into(),
        address: "Hauptstraße 1".into(),
        postal_code: "50999".into(),
        username: username.into(),
        password: PasswordHash::from_stored(BCRYPT.into()),
        details: CaregiverDetails {
            first_name: Some("Erika".into()),
            last_name: Some("Neu".into()),
            name: Some("Erika Neu".into()),
            city: Some("Köln".into()),
            daycare_name: Some("Kita (Süd) a.b".into()),
            available_spots: 3,
            children_count: Some(5),
            birth_date: Some(at(1980, 1, 31)),
            caregiver_since: Some(at(2010, 8, 1)),
            max_child_age: Some(3),
            has_availability: true,
            availability_timing: "ab August".into(),
            bio: Some("Bio".into()),
            short_description: Some("Kurz".into()),
            location: Some(Opaque::Object(BTreeMap::from([
                ("latitude".to_owned(), Opaque::Float(50.9)),
                ("longitude".to_owned(), Opaque::Float(6.9)),
                ("label".to_owned(), Opaque::String("Süd".into())),
                ("tags".to_owned(), Opaque::Array(vec![Opaque::Int(1), Opaque::Bool(true), Opaque::Null])),
            ]))),
            care_times: vec![
                TimeSlot::new(Some("07:00".into()), Some("08:00".into()), Some("Bringzeit".into())).unwrap(),
            ],
            daily_schedule: vec![
                TimeSlot::new(Some("09:00".into()), Some("09:30".into()), Some("Frühstück".into())).unwrap(),
            ],
            meal_plan: Some("Vegetarisch".into()),
            closed_days: vec!["24.12.2025".into()],
            email_notifications_enabled: false,
        },
        files: CaregiverFiles {
            profile_image: Some(file("caregivers/profile-images/a.png")),
            logo_image: Some(file("caregivers/logos/b.png")),
            concept: Some(file("caregivers/concepts/c.pdf")),
            room_images: vec![file("caregivers/room-gallery/d.png"), file("caregivers/room-gallery/e.png")],
            caregiver_images: vec![file("caregivers/team-gallery/f.png")],
            contract_documents: vec![ContractDocument {
                name: "Vertrag".into(),
                file: file("caregivers/contracts/g.pdf"),
            }],
        },
        city_slug: Some("koeln".into()),
        daycare_slug: Some("kita-sued-a-b".into()),
        profile_path: Some("koeln/kita-sued-a-b".into()),
        legacy_profile_paths: vec!["koeln/erika-neu".into()],
        created_at: Some(at(2026, 1, 1)),
        updated_at: Some(at(2026, 1, 2)),
        revision: 0,
    }
}

fn full_parent(raw_id: &str, email: &str) -> Parent {
    Parent {
        id: id(raw_id),
        email: email.into(),
        phone: "0151 1".into(),
        postal_code: "50667".into(),
        username: email.into(),
        password: PasswordHash::from_stored(BCRYPT.into()),
        first_name: Some("Eva".into()),
        last_name: Some("Muster".into()),
        name: Some("Eva Muster".into()),
        address: Some("Weg 2".into()),
        children_ages: Some("2".into()),
        notes: Some("Notiz".into()),
        number_of_children: Some(2),
        children: vec![
            Child::new(Some("Lea".into()), Some("2".into()), Some(Gender::Diverse), Some("n".into())).unwrap(),
            Child::new(Some("Max".into()), None, None, None).unwrap(),
        ],
        profile_image: Some(file("parents/profile-images/p.png")),
        email_notifications_enabled: false,
        created_at: Some(at(2026, 2, 1)),
        updated_at: Some(at(2026, 2, 2)),
        revision: 0,
    }
}

fn names(list: &[Caregiver]) -> Vec<String> {
    list.iter().map(|c| c.details.name.clone().unwrap_or_default()).collect()
}

// ---------------------------------------------------------------------------------------------
// legacy fixtures

#[tokio::test]
async fn every_legacy_fixture_loads_and_every_account_reads_back() {
    let db = TestDb::new().await;
    let loaded = db.load_fixtures().await;
    for collection in ["parents", "caregivers", "matches", "messages", "careGroups", "push_subscriptions"] {
        assert!(loaded.contains(&collection.to_owned()), "fixture {collection} missing: {loaded:?}");
    }
    let parents = db.store.parents();
    let caregivers = db.store.caregivers();

    let jana = parents.find_by_id(&id(JANA)).await.unwrap().unwrap();
    assert_eq!(jana.email, "jana.beispiel@example.org");
    assert!(matches!(jana.password, PasswordHash::Bcrypt(_)));
    assert_eq!(jana.number_of_children, Some(2));
    assert_eq!(jana.children.len(), 2);
    assert_eq!(jana.children[0].name, "Mia");
    assert_eq!(jana.children[0].age.as_deref(), Some("3"));
    assert_eq!(jana.children[0].gender, Some(Gender::Female));
    assert_eq!(jana.children[1].notes.as_deref(), Some("Laktoseintoleranz"));
    assert_eq!(jana.notes, None);
    let img = jana.profile_image.unwrap();
    assert_eq!(img.key.as_deref(), Some("parents/profile-images/0b6f3c1e-0000-4000-8000-000000000001.png"));
    assert_eq!(img.size, Some(68));
    assert_eq!(img.uploaded_at, Some(Utc.with_ymd_and_hms(2025, 11, 2, 9, 15, 0).unwrap()));
    assert!(jana.email_notifications_enabled);
    assert_eq!(jana.created_at, Some(Utc.with_ymd_and_hms(2025, 11, 2, 9, 15, 0).unwrap()));

    let tom = parents.find_by_id(&id(TOM)).await.unwrap().unwrap();
    assert!(matches!(tom.password, PasswordHash::LegacyPlain(ref p) if p == "klartext-passwort-1"));
    assert_eq!(tom.username, "tomalt");
    assert_eq!(tom.address, None);
    assert!(tom.email_notifications_enabled, "missing flag defaults to true");
    let tom_img = tom.profile_image.unwrap();
    assert_eq!(tom_img.key.as_deref(), Some("parents/profile-images/legacy-photo.jpg"));
    assert_eq!(tom_img.url, "/uploads/parents/profile-images/legacy-photo.jpg");

    let sabine = caregivers.find_by_id(&id(SABINE)).await.unwrap().unwrap();
    assert_eq!(sabine.details.available_spots, 2);
    assert!(sabine.details.has_availability);
    assert_eq!(sabine.details.birth_date, Some(Utc.with_ymd_and_hms(1984, 6, 15, 0, 0, 0).unwrap()));
    let keys: Vec<_> = sabine.files.room_images.iter().map(|f| f.key.clone().unwrap()).collect();
    assert_eq!(
        keys,
        ["caregivers/room-gallery/1a2b3c4d-0000-4000-8000-000000000011.png", "caregivers/room-gallery/alt-garten.jpg"]
    );
    assert_eq!(sabine.files.room_images[1].url, "/uploads/caregivers/room-gallery/alt-garten.jpg");
    assert_eq!(sabine.files.concept.as_ref().unwrap().key.as_deref(), Some("caregivers/concepts/konzept-alt.pdf"));
    assert_eq!(sabine.files.logo_image, None);
    let profile = sabine.files.profile_image.as_ref().unwrap();
    assert_eq!(profile.key.as_deref(), Some("caregivers/profile-images/9f8e7d6c-0000-4000-8000-000000000031.png"));
    assert_eq!(profile.file_name, None);
    assert_eq!(sabine.files.contract_documents.len(), 1);
    assert_eq!(sabine.files.contract_documents[0].name, "Betreuungsvertrag");
    assert_eq!(sabine.files.contract_documents[0].file.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(sabine.details.care_times.len(), 1);
    assert_eq!(sabine.details.daily_schedule[0].activity, "Frühstück");
    assert_eq!(sabine.details.closed_days, ["24.12.2025", "31.12.2025"]);
    assert_eq!(
        sabine.details.location,
        Some(Opaque::Object(BTreeMap::from([
            ("latitude".to_owned(), Opaque::Float(50.9375)),
            ("longitude".to_owned(), Opaque::Float(6.9603)),
        ])))
    );
    assert_eq!(sabine.profile_path.as_deref(), Some("koeln/kleine-strolche-koeln"));
    assert_eq!(sabine.legacy_profile_paths, ["koeln/sabine-muster"]);

    let guel = caregivers.find_by_id(&id(GUEL)).await.unwrap().unwrap();
    assert_eq!(guel.details.available_spots, 0, "\"0\" reads as 0");
    assert_eq!(guel.details.children_count, Some(4), "\"4\" reads as 4");
    assert!(!guel.details.has_availability, "\"false\" reads as false");
    assert!(guel.details.care_times.is_empty(), "the incomplete care time is dropped");
    assert_eq!(guel.details.availability_timing, "aktuell");
    assert!(guel.details.email_notifications_enabled);
    assert_eq!(guel.address, "Ringstraße 3");
    assert_eq!(guel.details.city.as_deref(), Some("köln"));
    assert_eq!(guel.profile_path, None);
    assert!(guel.files.room_images.is_empty());

    // Every stored parent and caregiver reads back (none is skipped as unreadable).
    let all = caregivers.search(&CaregiverFilter::default()).await.unwrap();
    assert_eq!(all.len(), db.raw("caregivers").count_documents(doc! {}).await.unwrap() as usize);
    for raw in [JANA, TOM] {
        assert!(parents.find_by_id(&id(raw)).await.unwrap().is_some());
    }
    // The matches fixture reads back too.
    let matches = db.store.matches().for_user(&id(JANA)).await.unwrap();
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0].caregiver_id, SABINE);
}

#[tokio::test]
async fn login_lookup_ignores_email_case_and_accepts_usernames() {
    let db = TestDb::with_fixtures().await;
    let parents = db.store.parents();
    for identifier in ["tom.altkonto@example.org", "TOM.ALTKONTO@EXAMPLE.ORG", "Tom.Altkonto@Example.org", "tomalt"] {
        let tom = parents.find_by_login(identifier).await.unwrap();
        assert_eq!(tom.map(|p| p.id), Some(id(TOM)), "{identifier}");
    }
    for identifier in [".*", "tom.altkonto@example.or.", "^tomalt", "", "tomal"] {
        assert!(parents.find_by_login(identifier).await.unwrap().is_none(), "{identifier}");
    }
    let caregivers = db.store.caregivers();
    assert_eq!(caregivers.find_by_login("zwergenhoehle").await.unwrap().map(|c| c.id), Some(id(GUEL)));
    assert_eq!(caregivers.find_by_login("ZwergenHoehle").await.unwrap().map(|c| c.id), Some(id(GUEL)));
    assert_eq!(caregivers.find_by_login("Sabine.Muster@Example.org").await.unwrap().map(|c| c.id), Some(id(SABINE)));
    assert!(caregivers.find_by_login("tomalt").await.unwrap().is_none());
}

#[tokio::test]
async fn login_by_username_ignores_case_like_uniqueness_does_and_prefers_the_exact_match() {
    let db = TestDb::new().await;
    let caregivers = db.store.caregivers();
    caregivers.insert(&full_caregiver("6600000000000000000000c1", "brk@example.org", "BrkUser123")).await.unwrap();
    let parents = db.store.parents();
    let mut parent = full_parent("6600000000000000000000a1", "eva@example.org");
    parent.username = "Eva.Mama+1".into();
    parents.insert(&parent).await.unwrap();

    for identifier in ["BrkUser123", "brkuser123", "BRKUSER123"] {
        let found = caregivers.find_by_login(identifier).await.unwrap();
        assert_eq!(found.map(|c| c.id), Some(id("6600000000000000000000c1")), "{identifier}");
    }
    for identifier in ["eva.mama+1", "EVA.MAMA+1"] {
        let found = parents.find_by_login(identifier).await.unwrap();
        assert_eq!(found.map(|p| p.id), Some(parent.id.clone()), "{identifier}");
    }
    for identifier in ["brkuser12", "rkuser123", "brkuser.23", "BrkUser.*", "eva.mama.1", "eva.mama+"] {
        assert!(caregivers.find_by_login(identifier).await.unwrap().is_none(), "{identifier}");
        assert!(parents.find_by_login(identifier).await.unwrap().is_none(), "{identifier}");
    }

    // Legacy data may hold both spellings: the exact one wins.
    let mut twin = full_caregiver("6600000000000000000000c2", "twin@example.org", "brkuser123");
    twin.profile_path = Some("koeln/twin".into());
    caregivers.insert(&twin).await.unwrap();
    assert_eq!(caregivers.find_by_login("brkuser123").await.unwrap().map(|c| c.id), Some(twin.id));
    assert_eq!(
        caregivers.find_by_login("BrkUser123").await.unwrap().map(|c| c.id),
        Some(id("6600000000000000000000c1"))
    );
}

#[tokio::test]
async fn credentials_taken_checks_email_case_insensitively_and_usernames() {
    let db = TestDb::with_fixtures().await;
    let parents = db.store.parents();
    assert!(parents.credentials_taken("TOM.altkonto@example.org", "neu", None).await.unwrap());
    assert!(!parents.credentials_taken("TOM.altkonto@example.org", "tomalt", Some(&id(TOM))).await.unwrap());
    assert!(parents.credentials_taken("neu@example.org", "tomalt", None).await.unwrap());
    // A username equal to someone's email, and an email equal to someone's username.
    assert!(parents.credentials_taken("neu@example.org", "JANA.beispiel@example.org", None).await.unwrap());
    assert!(parents.credentials_taken("tomalt", "neu", None).await.unwrap());
    assert!(!parents.credentials_taken("neu@example.org", "neu", None).await.unwrap());
    assert!(!parents.credentials_taken(".*", ".*", None).await.unwrap());
    let caregivers = db.store.caregivers();
    assert!(caregivers.credentials_taken("guel@EXAMPLE.org", "x", None).await.unwrap());
    assert!(!caregivers.credentials_taken("guel@EXAMPLE.org", "zwergenhoehle", Some(&id(GUEL))).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// writing

#[tokio::test]
async fn a_full_caregiver_and_parent_survive_a_round_trip() {
    let db = TestDb::new().await;
    assert!(db.store.ensure_indexes().await.is_empty());
    let caregiver = full_caregiver("6600000000000000000000c1", "erika@example.org", "erika");
    db.store.caregivers().insert(&caregiver).await.unwrap();
    assert_eq!(db.store.caregivers().find_by_id(&caregiver.id).await.unwrap(), Some(caregiver.clone()));

    let parent = full_parent("6600000000000000000000a1", "eva@example.org");
    db.store.parents().insert(&parent).await.unwrap();
    assert_eq!(db.store.parents().find_by_id(&parent.id).await.unwrap(), Some(parent.clone()));

    // The stored shape is the legacy one.
    let raw = db.raw_doc("caregivers", "6600000000000000000000c1").await;
    assert!(matches!(raw.get("_id"), Some(Bson::ObjectId(_))));
    assert_eq!(raw.get_str("role").unwrap(), "caregiver");
    assert!(matches!(raw.get("availableSpots"), Some(Bson::Int32(3) | Bson::Int64(3))));
    assert_eq!(raw.get("hasAvailability"), Some(&Bson::Boolean(true)));
    for field in ["birthDate", "caregiverSince", "createdAt", "updatedAt"] {
        assert!(matches!(raw.get(field), Some(Bson::DateTime(_))), "{field}");
    }
    let logo = raw.get_document("logoImageUrl").unwrap();
    assert_eq!(logo.get_str("key").unwrap(), "caregivers/logos/b.png");
    assert!(matches!(logo.get("uploadedAt"), Some(Bson::DateTime(_))));
    let contract = raw.get_array("contractDocuments").unwrap()[0].as_document().unwrap();
    assert!(matches!(contract.get_document("file").unwrap().get("uploadedAt"), Some(Bson::DateTime(_))));
    let raw_parent = db.raw_doc("parents", "6600000000000000000000a1").await;
    assert_eq!(raw_parent.get_str("role").unwrap(), "parent");
    let child = raw_parent.get_array("children").unwrap()[0].as_document().unwrap();
    assert_eq!(child.get_str("gender").unwrap(), "diverse");

    // Insert without timestamps sets both.
    let mut bare = full_parent("6600000000000000000000a2", "bare@example.org");
    bare.created_at = None;
    bare.updated_at = None;
    db.store.parents().insert(&bare).await.unwrap();
    let read = db.store.parents().find_by_id(&bare.id).await.unwrap().unwrap();
    assert!(read.created_at.is_some() && read.updated_at.is_some());
}

#[tokio::test]
async fn writing_a_caregiver_stores_the_age_derived_from_the_birth_date_and_removes_it_without_one() {
    let db = TestDb::new().await;
    let repo = db.store.caregivers();
    let mut caregiver = full_caregiver("6600000000000000000000c1", "erika@example.org", "erika");
    let today = Utc::now().date_naive();
    let born = at(1980, 1, 31);
    let expected = i32::try_from(domain::dates::whole_years(born.date_naive(), today)).unwrap();
    repo.insert(&caregiver).await.unwrap();
    let raw = db.raw_doc("caregivers", caregiver.id.as_str()).await;
    assert_eq!(raw.get("age"), Some(&Bson::Int32(expected)), "{raw:?}");

    // A stale stored age is corrected by the next update.
    let oid = bson::oid::ObjectId::parse_str(caregiver.id.as_str()).unwrap();
    db.raw("caregivers").update_one(doc! { "_id": oid }, doc! { "$set": { "age": 7 } }).await.unwrap();
    caregiver.details.birth_date = Some(at(2000, 1, 1));
    assert!(repo.update(&caregiver).await.unwrap());
    let raw = db.raw_doc("caregivers", caregiver.id.as_str()).await;
    let expected = i32::try_from(domain::dates::whole_years(at(2000, 1, 1).date_naive(), today)).unwrap();
    assert_eq!(raw.get("age"), Some(&Bson::Int32(expected)));

    caregiver.revision += 1;
    caregiver.details.birth_date = None;
    assert!(repo.update(&caregiver).await.unwrap());
    let raw = db.raw_doc("caregivers", caregiver.id.as_str()).await;
    assert_eq!(raw.get("age"), None, "no birth date, no age");
    assert_eq!(raw.get("birthDate"), None);
}

#[tokio::test]
async fn update_keeps_unknown_legacy_fields_and_writes_dates_and_string_references() {
    let db = TestDb::with_fixtures().await;
    db.raw("caregivers")
        .update_one(
            doc! { "_id": bson::oid::ObjectId::parse_str(SABINE).unwrap() },
            doc! { "$set": { "legacyExtra": { "keep": "me" } } },
        )
        .await
        .unwrap();
    let repo = db.store.caregivers();
    let mut sabine = repo.find_by_id(&id(SABINE)).await.unwrap().unwrap();
    sabine.details.bio = None;
    sabine.details.available_spots = 1;
    sabine.phone = "0221 999".into();
    let before = Utc::now() - chrono::Duration::seconds(1);
    assert!(repo.update(&sabine).await.unwrap());

    let raw = db.raw_doc("caregivers", SABINE).await;
    assert_eq!(raw.get_document("legacyExtra").unwrap().get_str("keep").unwrap(), "me");
    let age = domain::dates::whole_years(sabine.details.birth_date.unwrap().date_naive(), Utc::now().date_naive());
    assert_eq!(raw.get("age"), Some(&Bson::Int32(i32::try_from(age).unwrap())), "age follows the birth date");
    assert!(raw.get("bio").is_none(), "None fields are unset");
    assert_eq!(raw.get_str("phone").unwrap(), "0221 999");
    let Some(Bson::DateTime(updated)) = raw.get("updatedAt") else { panic!("updatedAt is not a BSON date") };
    assert!(updated.to_chrono() > before);
    for field in ["createdAt", "birthDate", "caregiverSince"] {
        assert!(matches!(raw.get(field), Some(Bson::DateTime(_))), "{field}");
    }
    // The plain-string legacy room image is now a file-ref object.
    let rooms = raw.get_array("roomImages").unwrap();
    assert_eq!(rooms.len(), 2);
    assert_eq!(rooms[1].as_document().unwrap().get_str("key").unwrap(), "caregivers/room-gallery/alt-garten.jpg");
    assert!(matches!(rooms[0].as_document().unwrap().get("uploadedAt"), Some(Bson::DateTime(_))));

    let read = repo.find_by_id(&id(SABINE)).await.unwrap().unwrap();
    assert_eq!(read.details.available_spots, 1);
    assert_eq!(read.details.bio, None);

    // A parent update, and the match references stay strings.
    let parents = db.store.parents();
    let mut tom = parents.find_by_id(&id(TOM)).await.unwrap().unwrap();
    tom.notes = Some("neu".into());
    assert!(parents.update(&tom).await.unwrap());
    let raw_tom = db.raw_doc("parents", TOM).await;
    assert_eq!(raw_tom.get_str("password").unwrap(), "klartext-passwort-1");
    assert!(matches!(raw_tom.get("updatedAt"), Some(Bson::DateTime(_))));
    assert_eq!(
        raw_tom.get_document("profileImageUrl").unwrap().get_str("key").unwrap(),
        "parents/profile-images/legacy-photo.jpg"
    );

    let m = db.store.matches().upsert(&id(TOM), &id(SABINE)).await.unwrap();
    let raw_match = db.raw_doc("matches", m.id.as_str()).await;
    assert_eq!(raw_match.get("parentId"), Some(&Bson::String(TOM.into())));
    assert_eq!(raw_match.get("caregiverId"), Some(&Bson::String(SABINE.into())));
    assert!(matches!(raw_match.get("createdAt"), Some(Bson::DateTime(_))));

    // Updating a deleted account reports it.
    let ghost = full_caregiver("6600000000000000000000ff", "ghost@example.org", "ghost");
    assert!(!repo.update(&ghost).await.unwrap());
}

#[tokio::test]
async fn set_password_and_delete_touch_only_their_account() {
    let db = TestDb::with_fixtures().await;
    let parents = db.store.parents();
    parents.set_password(&id(TOM), &PasswordHash::from_stored(BCRYPT.into())).await.unwrap();
    let tom = parents.find_by_id(&id(TOM)).await.unwrap().unwrap();
    assert!(matches!(tom.password, PasswordHash::Bcrypt(_)));
    assert_eq!(tom.username, "tomalt");
    assert!(parents.delete(&id(TOM)).await.unwrap());
    assert!(!parents.delete(&id(TOM)).await.unwrap());
    assert!(parents.find_by_id(&id(TOM)).await.unwrap().is_none());
    assert!(parents.find_by_id(&id(JANA)).await.unwrap().is_some());

    let caregivers = db.store.caregivers();
    caregivers.set_password(&id(GUEL), &PasswordHash::from_stored("x".into())).await.unwrap();
    assert!(matches!(caregivers.find_by_id(&id(GUEL)).await.unwrap().unwrap().password, PasswordHash::LegacyPlain(_)));
    assert!(caregivers.delete(&id(GUEL)).await.unwrap());
    assert!(caregivers.find_by_id(&id(GUEL)).await.unwrap().is_none());
}

#[tokio::test]
async fn duplicates_are_refused_after_ensure_indexes_which_is_idempotent() {
    let db = TestDb::with_fixtures().await;
    assert_eq!(db.store.ensure_indexes().await, Vec::<IndexProblem>::new());
    assert_eq!(db.store.ensure_indexes().await, Vec::<IndexProblem>::new(), "second run is a no-op");

    let caregivers = db.store.caregivers();
    let mut dup = full_caregiver("6600000000000000000000c2", "sabine.muster@example.org", "andere");
    dup.profile_path = None;
    match caregivers.insert(&dup).await {
        Err(RepoError::Duplicate { field }) => assert_eq!(field.as_deref(), Some("email")),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    let mut dup = full_caregiver("6600000000000000000000c3", "frei@example.org", "zwergenhoehle");
    dup.profile_path = None;
    match caregivers.insert(&dup).await {
        Err(RepoError::Duplicate { field }) => assert_eq!(field.as_deref(), Some("username")),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    let mut dup = full_caregiver("6600000000000000000000c4", "frei2@example.org", "frei2");
    dup.profile_path = Some("koeln/kleine-strolche-koeln".into());
    match caregivers.insert(&dup).await {
        Err(RepoError::Duplicate { field }) => assert_eq!(field.as_deref(), Some("profilePath")),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    // Several caregivers without a profile path do not collide.
    for (raw, email) in [("6600000000000000000000c5", "a@example.org"), ("6600000000000000000000c6", "b@example.org")] {
        let mut c = full_caregiver(raw, email, email);
        c.profile_path = None;
        caregivers.insert(&c).await.unwrap();
    }
    match db.store.parents().insert(&full_parent(JANA, "x@example.org")).await {
        Err(RepoError::Duplicate { field }) => assert_eq!(field.as_deref(), Some("_id")),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    match db.store.parents().insert(&full_parent("6600000000000000000000a9", "jana.beispiel@example.org")).await {
        Err(RepoError::Duplicate { field }) => assert_eq!(field.as_deref(), Some("email")),
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// queries

#[tokio::test]
async fn search_applies_every_filter_literally_newest_first() {
    let db = TestDb::with_fixtures().await;
    let repo = db.store.caregivers();
    repo.insert(&full_caregiver("6600000000000000000000c1", "erika@example.org", "erika")).await.unwrap();
    let search = |f: CaregiverFilter| {
        let repo = repo.clone();
        async move { names(&repo.search(&f).await.unwrap()) }
    };
    let all = search(CaregiverFilter::default()).await;
    assert_eq!(all, ["Erika Neu", "Sabine Muster", "Gül Öztürk"], "newest first");
    let pc = |s: &str| CaregiverFilter { postal_code: Some(s.into()), ..Default::default() };
    assert_eq!(search(pc("50823")).await, ["Gül Öztürk"]);
    assert!(search(pc("5082")).await.is_empty());
    let city = |s: &str| CaregiverFilter { city: Some(s.into()), ..Default::default() };
    assert_eq!(search(city("KöLN")).await, ["Erika Neu", "Sabine Muster", "Gül Öztürk"]);
    assert!(search(city("Köl")).await.is_empty(), "city must match exactly");
    assert!(search(city(".*")).await.is_empty());
    let slug = |s: &str| CaregiverFilter { city_slug: Some(s.into()), ..Default::default() };
    assert_eq!(search(slug("koeln")).await, ["Erika Neu", "Sabine Muster"]);
    let text = |s: &str| CaregiverFilter { search: Some(s.into()), ..Default::default() };
    assert_eq!(search(text("STROLCHE")).await, ["Sabine Muster"]);
    assert_eq!(search(text("5066")).await, ["Sabine Muster"]);
    assert_eq!(search(text("öztürk")).await, ["Gül Öztürk"]);
    assert!(search(text(".*")).await.is_empty(), "regex metacharacters are literal");
    assert_eq!(search(text("(Süd)")).await, ["Erika Neu"]);
    assert_eq!(search(text("a.b")).await, ["Erika Neu"]);
    assert!(search(text("a*b")).await.is_empty());
    let and = CaregiverFilter { city: Some("köln".into()), postal_code: Some("50667".into()), ..Default::default() };
    assert_eq!(search(and).await, ["Sabine Muster"]);
    let page = CaregiverFilter { skip: Some(1), limit: Some(1), ..Default::default() };
    assert_eq!(search(page).await, ["Sabine Muster"]);
    let page = CaregiverFilter { skip: Some(2), limit: Some(5), ..Default::default() };
    assert_eq!(search(page).await, ["Gül Öztürk"]);
}

#[tokio::test]
async fn cities_for_a_postal_code_list_each_caregivers_city() {
    let db = TestDb::with_fixtures().await;
    let repo = db.store.caregivers();
    assert_eq!(repo.cities_for_postal_code("50667").await.unwrap(), ["Köln"]);
    assert_eq!(repo.cities_for_postal_code("50823").await.unwrap(), ["köln"]);
    assert!(repo.cities_for_postal_code("99999").await.unwrap().is_empty());
    let mut c = full_caregiver("6600000000000000000000c1", "erika@example.org", "erika");
    c.postal_code = "50667".into();
    c.details.city = None;
    repo.insert(&c).await.unwrap();
    assert_eq!(repo.cities_for_postal_code("50667").await.unwrap(), ["Köln"], "empty cities are skipped");
}

#[tokio::test]
async fn numeric_legacy_postal_codes_are_found_by_search_and_the_city_lookup() {
    let db = TestDb::new().await;
    let legacy = |raw: &str, postal_code: Bson, name: &str, city: &str| {
        let oid = bson::oid::ObjectId::parse_str(raw).unwrap();
        doc! { "_id": oid, "email": format!("{raw}@example.org"), "postalCode": postal_code, "name": name, "city": city }
    };
    db.raw("caregivers")
        .insert_many([
            legacy("6600000000000000000000c1", Bson::Int32(50667), "Int32 Kita", "Köln"),
            legacy("6600000000000000000000c2", Bson::Int64(10115), "Int64 Kita", "Berlin"),
            legacy("6600000000000000000000c3", Bson::String("50667".into()), "Text Kita", "Köln"),
            legacy("6600000000000000000000c4", Bson::Int32(1067), "Dresden Kita", "Dresden"),
        ])
        .await
        .unwrap();
    let repo = db.store.caregivers();
    let search = |postal_code: &str| {
        let repo = repo.clone();
        let filter = CaregiverFilter { postal_code: Some(postal_code.into()), ..Default::default() };
        async move {
            let mut found = names(&repo.search(&filter).await.unwrap());
            found.sort();
            found
        }
    };
    assert_eq!(search("50667").await, ["Int32 Kita", "Text Kita"]);
    assert_eq!(search("10115").await, ["Int64 Kita"]);
    assert_eq!(search("01067").await, ["Dresden Kita"], "a number lost the leading zero");
    assert!(search("5066").await.is_empty());
    assert!(search("50667 ").await.is_empty());
    assert_eq!(repo.cities_for_postal_code("10115").await.unwrap(), ["Berlin"]);
    assert_eq!(repo.cities_for_postal_code("50667").await.unwrap(), ["Köln", "Köln"]);
}

#[tokio::test]
async fn profiles_are_found_by_current_and_legacy_path() {
    let db = TestDb::with_fixtures().await;
    let repo = db.store.caregivers();
    let current = repo.find_by_profile_path("koeln/kleine-strolche-koeln").await.unwrap().unwrap();
    assert_eq!(current.id, id(SABINE));
    let legacy = repo.find_by_profile_path("koeln/sabine-muster").await.unwrap().unwrap();
    assert_eq!(legacy.id, id(SABINE));
    assert!(repo.find_by_profile_path("koeln/unbekannt").await.unwrap().is_none());
    assert!(repo.find_by_profile_path("koeln/.*").await.unwrap().is_none());

    // A current path wins over someone else's legacy path.
    let mut other = full_caregiver("6600000000000000000000c1", "erika@example.org", "erika");
    other.profile_path = Some("koeln/sabine-muster".into());
    other.legacy_profile_paths = vec![];
    repo.insert(&other).await.unwrap();
    assert_eq!(repo.find_by_profile_path("koeln/sabine-muster").await.unwrap().unwrap().id, other.id);

    assert!(repo.profile_path_taken("koeln/kleine-strolche-koeln", None).await.unwrap());
    assert!(repo.profile_path_taken("koeln/sabine-muster", Some(&other.id)).await.unwrap(), "Sabine's legacy path");
    assert!(!repo.profile_path_taken("koeln/kleine-strolche-koeln", Some(&id(SABINE))).await.unwrap());
    assert!(!repo.profile_path_taken("koeln/frei", None).await.unwrap());
}

#[tokio::test]
async fn backfill_gives_legacy_caregivers_a_free_profile_path_once() {
    let db = TestDb::with_fixtures().await;
    assert!(db.store.ensure_indexes().await.is_empty());
    let repo = db.store.caregivers();
    let pending: Vec<UserId> = repo.without_profile_path().await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(pending, [id(GUEL)]);

    // A second legacy caregiver with the same names, and one whose wanted path is someone's legacy path.
    let mut twin = full_caregiver("6600000000000000000000c1", "twin@example.org", "twin");
    twin.details.city = Some("Köln".into());
    twin.details.daycare_name = Some("Zwergenhöhle".into());
    twin.profile_path = None;
    twin.city_slug = None;
    twin.daycare_slug = None;
    twin.created_at = Some(at(2020, 1, 1));
    repo.insert(&twin).await.unwrap();
    let mut shadow = full_caregiver("6600000000000000000000c2", "shadow@example.org", "shadow");
    shadow.details.daycare_name = None;
    shadow.details.name = Some("Sabine Muster".into());
    shadow.profile_path = None;
    repo.insert(&shadow).await.unwrap();

    assert_eq!(db.store.backfill_profile_paths().await.unwrap(), 3);
    let guel = repo.find_by_id(&id(GUEL)).await.unwrap().unwrap();
    assert_eq!(guel.profile_path.as_deref(), Some("koeln/zwergenhoehle"));
    assert_eq!(guel.city_slug.as_deref(), Some("koeln"));
    assert_eq!(guel.daycare_slug.as_deref(), Some("zwergenhoehle"));
    let twin = repo.find_by_id(&twin.id).await.unwrap().unwrap();
    assert_eq!(twin.profile_path.as_deref(), Some("koeln/zwergenhoehle-2"));
    let shadow = repo.find_by_id(&shadow.id).await.unwrap().unwrap();
    assert_eq!(shadow.profile_path.as_deref(), Some("koeln/sabine-muster-2"));

    assert_eq!(db.store.backfill_profile_paths().await.unwrap(), 0, "a second run changes nothing");
    assert!(repo.without_profile_path().await.unwrap().is_empty());
    let sabine = repo.find_by_id(&id(SABINE)).await.unwrap().unwrap();
    assert_eq!(sabine.profile_path.as_deref(), Some("koeln/kleine-strolche-koeln"));
}

#[tokio::test]
async fn matches_are_upserted_once_per_pair_with_string_references() {
    let db = TestDb::with_fixtures().await;
    assert!(db.store.ensure_indexes().await.is_empty());
    let repo = db.store.matches();
    let first = repo.upsert(&id(TOM), &id(GUEL)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = repo.upsert(&id(TOM), &id(GUEL)).await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(first.created_at, second.created_at);
    assert!(second.updated_at > first.updated_at);
    assert_eq!(second.parent_id, TOM);
    assert_eq!(second.caregiver_id, GUEL);
    let stored = db.raw("matches").count_documents(doc! { "parentId": TOM, "caregiverId": GUEL }).await.unwrap();
    assert_eq!(stored, 1);
    let raw = db.raw_doc("matches", first.id.as_str()).await;
    assert_eq!(raw.get("parentId"), Some(&Bson::String(TOM.into())));
    assert!(matches!(raw.get("updatedAt"), Some(Bson::DateTime(_))));

    // Fixture match (2025) and a fresh one for Sabine, newest first.
    repo.upsert(&id(TOM), &id(SABINE)).await.unwrap();
    let sabine: Vec<String> = repo.for_user(&id(SABINE)).await.unwrap().into_iter().map(|m| m.parent_id).collect();
    assert_eq!(sabine, [TOM, JANA]);
    assert_eq!(repo.for_user(&id(TOM)).await.unwrap().len(), 2);
    assert_eq!(repo.delete_for_user(&id(TOM)).await.unwrap(), 2);
    assert!(repo.for_user(&id(TOM)).await.unwrap().is_empty());
    assert_eq!(repo.for_user(&id(SABINE)).await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// availability

#[tokio::test]
async fn an_unreachable_server_is_reported_unavailable_quickly() {
    let started = Instant::now();
    let store =
        adapter_mongo::connect("mongodb://127.0.0.1:1", "wimmelwelt_test_unreachable", Duration::from_millis(500))
            .await
            .expect("connect must not need the server");
    match store.ping().await {
        Err(RepoError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match store.parents().find_by_id(&id(JANA)).await {
        Err(RepoError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    // The index job never fails the caller, and reports every index as worth retrying.
    let problems = store.ensure_indexes().await;
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|p| p.retryable), "{problems:?}");
}

#[tokio::test]
async fn an_unresolvable_srv_uri_gives_a_store_that_reports_unavailable_quickly() {
    let started = Instant::now();
    let store =
        adapter_mongo::connect("mongodb+srv://cluster.invalid/", "wimmelwelt_test_srv", Duration::from_millis(500))
            .await
            .expect("a DNS failure must not fail connect");
    assert!(!store.is_resolved());
    assert!(matches!(store.ping().await, Err(RepoError::Unavailable(_))));
    assert!(matches!(store.parents().find_by_id(&id(JANA)).await, Err(RepoError::Unavailable(_))));
    assert!(matches!(store.parents().ping().await, Err(RepoError::Unavailable(_))));
    assert!(matches!(store.caregivers().search(&CaregiverFilter::default()).await, Err(RepoError::Unavailable(_))));
    assert!(matches!(store.matches().for_user(&id(TOM)).await, Err(RepoError::Unavailable(_))));
    assert!(matches!(store.database(), Err(RepoError::Unavailable(_))));
    let problems = store.ensure_indexes().await;
    assert!(!problems.is_empty() && problems.iter().all(|p| p.retryable), "{problems:?}");
    let mut preparation = Preparation::new(store.clone());
    assert!(!preparation.run().await, "nothing can be prepared yet");
    assert!(!preparation.pending_indexes().is_empty());
    assert_eq!(preparation.pending_backfills(), ["profile paths", "login identifiers"]);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_malformed_uri_fails_connect_immediately() {
    let started = Instant::now();
    for uri in
        ["postgres://db.example:5432", "mongodb://", "mongodb://db.example:port", "mongodb+srv://a.example:27017/"]
    {
        let error = adapter_mongo::connect(uri, "wimmelwelt_test_bad", Duration::from_millis(500))
            .await
            .err()
            .unwrap_or_else(|| panic!("{uri} must be refused"));
        assert!(format!("{error:#}").contains("connection string"), "{uri}: {error:#}");
    }
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn legacy_duplicates_fail_a_unique_index_for_good_and_the_duplicate_value_is_never_logged() {
    let db = TestDb::new().await;
    for raw in ["6600000000000000000000a1", "6600000000000000000000a2"] {
        let oid = bson::oid::ObjectId::parse_str(raw).unwrap();
        let legacy = doc! { "_id": oid, "email": "doppelt@example.org", "username": raw, "phone": "1" };
        db.raw("parents").insert_one(legacy).await.unwrap();
    }
    let (logs, guard) = capture_logs();
    let problems = db.store.ensure_indexes().await;
    let mut preparation = Preparation::new(db.store.clone());
    let done = preparation.run().await;
    drop(guard);

    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = &problems[0];
    assert_eq!((problem.collection, problem.index.as_str()), ("parents", "email_unique"));
    assert_eq!(problem.code, Some(11000));
    assert!(!problem.retryable, "duplicates do not go away by retrying");
    assert!(done, "a permanent failure is not retried");
    assert_eq!(preparation.given_up(), problems.as_slice());
    assert!(preparation.pending_indexes().is_empty());
    let logs = logs.text();
    assert!(logs.contains("email_unique") && logs.contains("11000"), "{logs}");
    for shown in [logs, problem.to_string(), format!("{problem:?}")] {
        assert!(!shown.contains("doppelt"), "the duplicate value leaked: {shown}");
    }
}

#[tokio::test]
async fn preparation_retries_indexes_and_backfills_once_mongodb_becomes_reachable() {
    let db = TestDb::with_fixtures().await;
    let proxy_port = free_port();
    let store = adapter_mongo::connect(&proxied_uri(proxy_port), db.name(), Duration::from_millis(300)).await.unwrap();
    let mut preparation = Preparation::new(store);

    // MongoDB "down": nothing listens on the proxy port yet.
    assert!(!preparation.run().await);
    assert!(preparation.pending_indexes().contains(&"parents.email_unique".to_owned()));
    assert_eq!(preparation.pending_backfills().len(), 2);
    assert!(db.raw("parents").list_index_names().await.unwrap().iter().all(|n| n != "email_unique"));

    // MongoDB "back": the next pass does what is left, and nothing more is left to do after it.
    let proxy = start_proxy(proxy_port).await;
    assert!(preparation.run().await, "left: {:?} {:?}", preparation.pending_indexes(), preparation.pending_backfills());
    assert!(preparation.given_up().is_empty());
    assert!(db.raw("parents").list_index_names().await.unwrap().contains(&"email_unique".to_owned()));
    assert!(db.raw("caregivers").list_index_names().await.unwrap().contains(&"profilePath_unique".to_owned()));
    let guel = db.raw_doc("caregivers", GUEL).await;
    assert_eq!(guel.get_str("profilePath").unwrap(), "koeln/zwergenhoehle", "profile paths backfilled");
    let claims = db.raw(adapter_mongo::IDENTIFIERS).count_documents(doc! {}).await.unwrap();
    assert!(claims > 0, "login identifiers backfilled");
    assert!(preparation.run().await, "running again is harmless");
    proxy.abort();
}

#[tokio::test]
async fn ping_succeeds_against_the_test_server() {
    let db = TestDb::new().await;
    db.store.ping().await.unwrap();
    db.store.parents().ping().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// optimistic concurrency

#[tokio::test]
async fn a_stale_update_conflicts_and_a_missing_account_is_reported() {
    let db = TestDb::new().await;
    let parents = db.store.parents();
    let parent = full_parent("6600000000000000000000a5", "rev@example.org");
    parents.insert(&parent).await.unwrap();
    let mut first = parents.find_by_id(&parent.id).await.unwrap().unwrap();
    let mut second = first.clone();
    assert_eq!(first.revision, 0);

    first.first_name = Some("F1".into());
    assert!(parents.update(&first).await.unwrap());
    assert_eq!(db.raw_doc("parents", "6600000000000000000000a5").await.get("revision"), Some(&Bson::Int64(1)));

    // The second writer read revision 0 too: its write is refused and changes nothing.
    second.notes = Some("N1".into());
    assert!(matches!(parents.update(&second).await, Err(RepoError::Conflict)));
    let stored = parents.find_by_id(&parent.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.first_name.as_deref(), stored.notes.as_deref(), stored.revision),
        (Some("F1"), Some("Notiz"), 1)
    );

    // Redone on the fresh state, it succeeds.
    let mut retry = stored;
    retry.notes = Some("N1".into());
    assert!(parents.update(&retry).await.unwrap());
    let stored = parents.find_by_id(&parent.id).await.unwrap().unwrap();
    assert_eq!((stored.first_name.as_deref(), stored.notes.as_deref(), stored.revision), (Some("F1"), Some("N1"), 2));

    // A missing account is not a conflict, whatever the revision.
    let mut ghost = full_parent("6600000000000000000000af", "ghost@example.org");
    assert!(!parents.update(&ghost).await.unwrap());
    ghost.revision = 7;
    assert!(!parents.update(&ghost).await.unwrap());

    let caregivers = db.store.caregivers();
    let caregiver = full_caregiver("6600000000000000000000c5", "rev@example.org", "rev");
    caregivers.insert(&caregiver).await.unwrap();
    let stale = caregivers.find_by_id(&caregiver.id).await.unwrap().unwrap();
    let mut fresh = stale.clone();
    fresh.details.bio = Some("neu".into());
    assert!(caregivers.update(&fresh).await.unwrap());
    assert!(matches!(caregivers.update(&stale).await, Err(RepoError::Conflict)));
    assert_eq!(caregivers.find_by_id(&caregiver.id).await.unwrap().unwrap().details.bio.as_deref(), Some("neu"));
    assert!(!caregivers.update(&full_caregiver("6600000000000000000000cf", "g@example.org", "g")).await.unwrap());
}

#[tokio::test]
async fn legacy_documents_without_revision_update_as_revision_zero() {
    let db = TestDb::with_fixtures().await;
    assert!(db.raw_doc("parents", TOM).await.get("revision").is_none(), "fixture has no revision");
    let parents = db.store.parents();
    let mut tom = parents.find_by_id(&id(TOM)).await.unwrap().unwrap();
    assert_eq!(tom.revision, 0);
    tom.notes = Some("neu".into());
    assert!(parents.update(&tom).await.unwrap());
    assert_eq!(db.raw_doc("parents", TOM).await.get("revision"), Some(&Bson::Int64(1)));
    // The same stale state (revision 0) no longer matches.
    assert!(matches!(parents.update(&tom).await, Err(RepoError::Conflict)));

    assert!(db.raw_doc("caregivers", SABINE).await.get("revision").is_none(), "fixture has no revision");
    let caregivers = db.store.caregivers();
    let sabine = caregivers.find_by_id(&id(SABINE)).await.unwrap().unwrap();
    assert_eq!(sabine.revision, 0);
    assert!(caregivers.update(&sabine).await.unwrap());
    assert_eq!(db.raw_doc("caregivers", SABINE).await.get("revision"), Some(&Bson::Int64(1)));

    // Revisions written by other tools in other number types or as text are read and matched.
    for (stored, expected) in [(Bson::Int32(4), 4), (Bson::Double(5.0), 5), (Bson::String("6".into()), 6)] {
        db.raw("parents")
            .update_one(
                doc! { "_id": bson::oid::ObjectId::parse_str(JANA).unwrap() },
                doc! { "$set": { "revision": stored } },
            )
            .await
            .unwrap();
        let jana = parents.find_by_id(&id(JANA)).await.unwrap().unwrap();
        assert_eq!(jana.revision, expected);
        assert!(parents.update(&jana).await.unwrap());
        assert_eq!(db.raw_doc("parents", JANA).await.get("revision"), Some(&Bson::Int64(expected as i64 + 1)));
    }
}

#[tokio::test]
async fn set_password_bumps_the_revision_so_a_stale_update_cannot_revert_it() {
    let db = TestDb::with_fixtures().await;
    let parents = db.store.parents();
    let stale = parents.find_by_id(&id(TOM)).await.unwrap().unwrap();
    assert!(matches!(stale.password, PasswordHash::LegacyPlain(_)));
    parents.set_password(&id(TOM), &PasswordHash::from_stored(BCRYPT.into())).await.unwrap();
    assert_eq!(db.raw_doc("parents", TOM).await.get("revision"), Some(&Bson::Int64(1)));
    assert!(matches!(parents.update(&stale).await, Err(RepoError::Conflict)));
    let tom = parents.find_by_id(&id(TOM)).await.unwrap().unwrap();
    assert!(matches!(tom.password, PasswordHash::Bcrypt(_)), "the upgraded hash stays");
    assert_eq!(tom.revision, 1);

    let caregivers = db.store.caregivers();
    let stale = caregivers.find_by_id(&id(GUEL)).await.unwrap().unwrap();
    caregivers.set_password(&id(GUEL), &PasswordHash::from_stored(BCRYPT.into())).await.unwrap();
    caregivers.set_password(&id(GUEL), &PasswordHash::from_stored(BCRYPT.into())).await.unwrap();
    assert!(matches!(caregivers.update(&stale).await, Err(RepoError::Conflict)));
    assert_eq!(caregivers.find_by_id(&id(GUEL)).await.unwrap().unwrap().revision, stale.revision + 2);
}
