//! The registry of login identifiers (`accountIdentifiers`) and its backfill, against a real
//! MongoDB-wire server (`MONGODB_URI`).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use common::{GUEL, JANA, SABINE, TOM, TestDb, id};
use futures::TryStreamExt as _;
use ports::{IdentifierRegistry, ParentRepository, RepoError};

const A: &str = "6600000000000000000000d1";
const B: &str = "6600000000000000000000d2";

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Every claim as identifier → holder.
async fn claims(db: &TestDb) -> BTreeMap<String, String> {
    let docs: Vec<Document> =
        db.raw(adapter_mongo::IDENTIFIERS).find(doc! {}).await.unwrap().try_collect().await.unwrap();
    docs.iter().map(|d| (d.get_str("_id").unwrap().to_owned(), d.get_str("userId").unwrap().to_owned())).collect()
}

fn expect_duplicate(r: Result<(), RepoError>, field: &str) {
    match r {
        Err(RepoError::Duplicate { field: f }) => assert_eq!(f.as_deref(), Some(field)),
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

#[tokio::test]
async fn claims_are_idempotent_for_their_owner_refused_for_others_and_released_selectively() {
    let db = TestDb::new().await;
    assert!(db.store.ensure_indexes().await.is_empty());
    let reg = db.store.identifiers();
    reg.claim(&id(A), &strings(&["a@example.org", "anna"])).await.unwrap();
    reg.claim(&id(A), &strings(&["a@example.org", "anna"])).await.unwrap();
    reg.claim(&id(A), &strings(&["a@example.org", "anna", "more"])).await.unwrap();

    let stored = db.raw(adapter_mongo::IDENTIFIERS).find_one(doc! { "_id": "anna" }).await.unwrap().unwrap();
    assert_eq!(stored.get_str("userId").unwrap(), A);
    assert!(matches!(stored.get("createdAt"), Some(Bson::DateTime(_))), "{stored:?}");

    // Another owner: refused, and what this call had claimed before the clash is rolled back.
    expect_duplicate(reg.claim(&id(B), &strings(&["b@example.org", "bert", "anna"])).await, "username");
    expect_duplicate(reg.claim(&id(B), &strings(&["a@example.org"])).await, "email");
    assert_eq!(
        claims(&db).await,
        BTreeMap::from([
            ("a@example.org".to_owned(), A.to_owned()),
            ("anna".to_owned(), A.to_owned()),
            ("more".to_owned(), A.to_owned()),
        ])
    );

    reg.release_except(&id(A), &strings(&["a@example.org"])).await.unwrap();
    reg.claim(&id(B), &strings(&["b@example.org", "anna"])).await.unwrap();
    assert_eq!(
        claims(&db).await,
        BTreeMap::from([
            ("a@example.org".to_owned(), A.to_owned()),
            ("anna".to_owned(), B.to_owned()),
            ("b@example.org".to_owned(), B.to_owned()),
        ])
    );
    reg.release_except(&id(A), &[]).await.unwrap();
    reg.release_except(&id(A), &[]).await.unwrap();
    assert!(claims(&db).await.values().all(|holder| holder == B));

    let index_names = db.raw(adapter_mongo::IDENTIFIERS).list_index_names().await.unwrap();
    assert!(index_names.contains(&"userId".to_owned()), "{index_names:?}");
}

#[tokio::test]
async fn of_many_concurrent_claims_of_one_identifier_exactly_one_wins() {
    let db = TestDb::new().await;
    let owners: Vec<String> = (0..10).map(|n| format!("6600000000000000000001{n:02}")).collect();
    let results = futures::future::join_all(owners.iter().map(|owner| {
        let reg = db.store.identifiers();
        let owner = id(owner);
        async move { reg.claim(&owner, &strings(&["same@example.org", &format!("user-{owner}")])).await }
    }))
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(()) | Err(RepoError::Duplicate { .. }))), "{results:?}");
    let held = claims(&db).await;
    assert_eq!(held.len(), 2, "the losers' other identifiers are rolled back: {held:?}");
    assert_eq!(held.values().collect::<std::collections::BTreeSet<_>>().len(), 1);
}

#[tokio::test]
async fn backfill_claims_the_identifiers_of_legacy_accounts_once_and_keeps_shared_ones_with_the_first() {
    let db = TestDb::with_fixtures().await;
    assert!(db.store.ensure_indexes().await.is_empty());
    // A legacy caregiver whose username is a parent's username in another case.
    let twin = bson::oid::ObjectId::parse_str("6600000000000000000000c9").unwrap();
    db.raw("caregivers")
        .insert_one(doc! { "_id": twin, "email": "twin@example.org", "username": "TomAlt", "phone": "1" })
        .await
        .unwrap();

    assert_eq!(db.store.backfill_identifiers().await.unwrap(), 7);
    assert_eq!(
        claims(&db).await,
        BTreeMap::from([
            ("jana.beispiel@example.org".to_owned(), JANA.to_owned()),
            ("tom.altkonto@example.org".to_owned(), TOM.to_owned()),
            ("tomalt".to_owned(), TOM.to_owned()),
            ("sabine.muster@example.org".to_owned(), SABINE.to_owned()),
            ("guel@example.org".to_owned(), GUEL.to_owned()),
            ("zwergenhoehle".to_owned(), GUEL.to_owned()),
            ("twin@example.org".to_owned(), twin.to_hex()),
        ])
    );
    assert_eq!(db.store.backfill_identifiers().await.unwrap(), 0, "a second run changes nothing");

    // Claimed legacy identifiers now refuse other accounts.
    let reg = db.store.identifiers();
    expect_duplicate(reg.claim(&id(A), &strings(&["guel@example.org"])).await, "email");
    expect_duplicate(reg.claim(&id(A), &strings(&["tomalt"])).await, "username");
    reg.claim(&id(GUEL), &strings(&["guel@example.org", "zwergenhoehle"])).await.unwrap();
}

#[tokio::test]
async fn credentials_taken_compares_usernames_ignoring_case() {
    let db = TestDb::with_fixtures().await;
    let parents = db.store.parents();
    assert!(parents.credentials_taken("neu@example.org", "TOMALT", None).await.unwrap());
    assert!(parents.credentials_taken("TomAlt", "neu", None).await.unwrap());
    assert!(!parents.credentials_taken("neu@example.org", "TOMALT", Some(&id(TOM))).await.unwrap());
    assert!(!parents.credentials_taken("neu@example.org", "tomal.", None).await.unwrap());
}

/// A claim of `identifier` for `holder`, made `age` ago.
async fn insert_claim(db: &TestDb, identifier: &str, holder: &str, age: chrono::TimeDelta) {
    let created = bson::DateTime::from_chrono(chrono::Utc::now() - age);
    let claim = doc! { "_id": identifier, "userId": holder, "createdAt": created };
    db.raw(adapter_mongo::IDENTIFIERS).insert_one(claim).await.unwrap();
}

#[tokio::test]
async fn an_old_claim_of_an_account_that_does_not_exist_is_taken_over() {
    let db = TestDb::new().await;
    let reg = db.store.identifiers();
    insert_claim(&db, "verwaist@example.org", B, chrono::TimeDelta::minutes(11)).await;
    insert_claim(&db, "verwaist", B, chrono::TimeDelta::days(400)).await;

    reg.claim(&id(A), &strings(&["verwaist@example.org", "verwaist"])).await.unwrap();
    assert_eq!(
        claims(&db).await,
        BTreeMap::from([("verwaist".to_owned(), A.to_owned()), ("verwaist@example.org".to_owned(), A.to_owned())])
    );
}

#[tokio::test]
async fn a_recent_claim_of_an_account_that_does_not_exist_yet_still_blocks() {
    let db = TestDb::new().await;
    let reg = db.store.identifiers();
    // A registration in progress: claimed a minute ago, account not inserted yet.
    insert_claim(&db, "unterwegs@example.org", B, chrono::TimeDelta::minutes(1)).await;

    expect_duplicate(reg.claim(&id(A), &strings(&["unterwegs@example.org"])).await, "email");
    assert_eq!(claims(&db).await, BTreeMap::from([("unterwegs@example.org".to_owned(), B.to_owned())]));
}

#[tokio::test]
async fn a_claim_its_existing_holder_uses_always_blocks() {
    let db = TestDb::with_fixtures().await;
    let reg = db.store.identifiers();
    // Jana (a parent) and Gül (a caregiver) exist and use these identifiers.
    insert_claim(&db, "jana.beispiel@example.org", JANA, chrono::TimeDelta::days(30)).await;
    insert_claim(&db, "zwergenhoehle", GUEL, chrono::TimeDelta::days(30)).await;

    expect_duplicate(reg.claim(&id(A), &strings(&["jana.beispiel@example.org"])).await, "email");
    expect_duplicate(reg.claim(&id(A), &strings(&["zwergenhoehle"])).await, "username");
    assert_eq!(claims(&db).await.get("jana.beispiel@example.org").map(String::as_str), Some(JANA));
    assert_eq!(claims(&db).await.get("zwergenhoehle").map(String::as_str), Some(GUEL));
}

#[tokio::test]
async fn a_claim_left_by_a_failed_update_is_taken_over_once_it_is_old_enough() {
    let db = TestDb::with_fixtures().await;
    let reg = db.store.identifiers();
    // Jana and Gül exist but use other identifiers: these claims were left by updates that failed.
    insert_claim(&db, "alt@example.org", JANA, chrono::TimeDelta::minutes(3)).await;
    insert_claim(&db, "gerade-eben", GUEL, chrono::TimeDelta::seconds(20)).await;

    reg.claim(&id(A), &strings(&["alt@example.org"])).await.unwrap();
    assert_eq!(claims(&db).await.get("alt@example.org").map(String::as_str), Some(A));
    // A young one may belong to an update that is about to write: it still blocks.
    expect_duplicate(reg.claim(&id(A), &strings(&["gerade-eben"])).await, "username");
    assert_eq!(claims(&db).await.get("gerade-eben").map(String::as_str), Some(GUEL));
}

#[tokio::test]
async fn an_old_claim_its_holder_claims_again_is_renewed_and_no_longer_taken_over() {
    let db = TestDb::with_fixtures().await;
    let reg = db.store.identifiers();
    // Jana left a claim she does not use; now an update of hers wants it again.
    insert_claim(&db, "wieder-da", JANA, chrono::TimeDelta::minutes(30)).await;
    reg.claim(&id(JANA), &strings(&["wieder-da"])).await.unwrap();
    expect_duplicate(reg.claim(&id(A), &strings(&["wieder-da"])).await, "username");
    assert_eq!(claims(&db).await.get("wieder-da").map(String::as_str), Some(JANA));
}
