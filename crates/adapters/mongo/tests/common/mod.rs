//! Test support: a fresh database per test on the server named by `MONGODB_URI`, and the legacy
//! fixtures.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use adapter_mongo::MongoStore;
use bson::{Bson, Document, doc};
use domain::UserId;

/// Where the legacy fixtures live (workspace root `tests/fixtures/legacy`).
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/fixtures/legacy");

pub const JANA: &str = "65a1b2c3d4e5f60718293a01";
pub const TOM: &str = "65a1b2c3d4e5f60718293a02";
pub const SABINE: &str = "65a1b2c3d4e5f60718293b01";
pub const GUEL: &str = "65a1b2c3d4e5f60718293b02";

pub fn id(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

/// The server under test. A test that needs it and cannot have it fails.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .expect("MONGODB_URI is not set: run `make test`, which starts a local server")
}

/// A fresh database `wimmelwelt_test_<uuid>`, dropped when the value goes out of scope (also when
/// the test panics).
pub struct TestDb {
    pub store: MongoStore,
    uri: String,
    name: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let uri = mongodb_uri();
        let name = format!("wimmelwelt_test_{}", uuid::Uuid::new_v4().simple());
        let store = adapter_mongo::connect(&uri, &name, Duration::from_secs(5)).await.unwrap();
        store.ping().await.unwrap_or_else(|e| panic!("MongoDB at {uri} is not reachable: {e:?}"));
        Self { store, uri, name }
    }

    /// A fresh database with every legacy fixture loaded.
    pub async fn with_fixtures() -> Self {
        let db = Self::new().await;
        db.load_fixtures().await;
        db
    }

    /// Loads every `*.json` fixture into the collection named like the file.
    pub async fn load_fixtures(&self) -> Vec<String> {
        let mut loaded = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(FIXTURES)
            .unwrap_or_else(|e| panic!("reading {FIXTURES}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for path in files {
            let collection = path.file_stem().unwrap().to_string_lossy().into_owned();
            let docs = read_extended_json(&path);
            assert!(!docs.is_empty(), "{} holds no documents", path.display());
            self.raw(&collection).insert_many(docs).await.unwrap();
            loaded.push(collection);
        }
        loaded
    }

    pub fn raw(&self, collection: &str) -> mongodb::Collection<Document> {
        self.store.database().collection(collection)
    }

    /// The raw stored document with this `_id`.
    pub async fn raw_doc(&self, collection: &str, id: &str) -> Document {
        let oid = bson::oid::ObjectId::parse_str(id).unwrap();
        self.raw(collection).find_one(doc! { "_id": oid }).await.unwrap().unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (uri, name) = (self.uri.clone(), self.name.clone());
        // Best effort, on a thread of its own: Drop cannot await inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let store = adapter_mongo::connect(&uri, &name, Duration::from_secs(2)).await.ok()?;
                store.database().drop().await.ok()
            })
        })
        .join();
    }
}

/// Parses a file holding one array of documents in (relaxed) MongoDB Extended JSON.
pub fn read_extended_json(path: &Path) -> Vec<Document> {
    let text = std::fs::read_to_string(path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let serde_json::Value::Array(items) = value else { panic!("{} is not a JSON array", path.display()) };
    items
        .into_iter()
        .map(|item| match Bson::try_from(item).unwrap() {
            Bson::Document(d) => d,
            other => panic!("{}: not a document: {other:?}", path.display()),
        })
        .collect()
}
