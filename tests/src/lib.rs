//! Test harness: starts the real application on port 0 with a fresh database (and a fresh upload
//! directory or bucket) per test, and talks to it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use api::config::Config;
use api::startup::Application;
use base64::Engine as _;
use bson::{Bson, Document, doc};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// The secret every test app signs tokens with (tests forge tokens with it and with others).
pub const AUTH_SECRET: &str = "e2e-test-secret-with-more-than-32-bytes!!";

/// A real 1×1 PNG.
pub const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
/// A small valid PDF.
pub const PDF_B64: &str =
    "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9G";

/// The PNG's bytes.
pub fn png_bytes() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(PNG_B64).unwrap()
}

/// `data:image/png;base64,…`
pub fn png_data_url() -> String {
    format!("data:image/png;base64,{PNG_B64}")
}

/// The MongoDB under test. Fails loudly when missing: `make test` starts one.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| {
        panic!("MONGODB_URI is not set: run `make test`, which starts a local MongoDB-wire server, or point it at a real MongoDB")
    })
}

/// The S3-compatible endpoint under test. Fails loudly when missing.
pub fn s3_endpoint() -> String {
    std::env::var("AWS_S3_ENDPOINT").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| {
        panic!("AWS_S3_ENDPOINT is not set: run `make test`, which starts a local S3 server, or point it at a real S3")
    })
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|s| !s.is_empty()).unwrap_or_else(|| default.to_owned())
}

/// How a test app stores files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Local,
    S3,
}

/// A running application and what it was started with.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub db_name: String,
    pub db: mongodb::Database,
    pub upload_dir: tempfile::TempDir,
    pub bucket: Option<String>,
    pub s3: Option<adapter_s3::S3BlobStore>,
    mongo_uri: String,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("address", &self.address).field("db_name", &self.db_name).finish()
    }
}

/// Base variables of a test app (development, port 0, fresh database, cheap bcrypt).
fn base_vars(db_name: &str, upload_dir: &Path) -> HashMap<String, String> {
    let mut v = HashMap::new();
    for (k, val) in [
        ("APP_ENV", "development"),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("AUTH_SECRET", AUTH_SECRET),
        ("BCRYPT_COST", "4"),
        ("LOG_LEVEL", "warn"),
        ("FILE_STORAGE_MODE", "local"),
        ("MONGODB_SERVER_SELECTION_TIMEOUT_MS", "1500"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "1"),
    ] {
        v.insert(k.to_owned(), val.to_owned());
    }
    v.insert("MONGODB_URI".into(), mongodb_uri());
    v.insert("MONGODB_DB_NAME".into(), db_name.to_owned());
    v.insert("LOCAL_UPLOAD_DIR".into(), upload_dir.display().to_string());
    v
}

/// Starts an app with local file storage.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Storage::Local, &[]).await
}

/// Starts an app with the given storage and extra/overriding variables.
pub async fn spawn_app_with(storage: Storage, extra: &[(&str, &str)]) -> TestApp {
    spawn(storage, extra, false).await
}

/// Starts an app on a database that holds every legacy fixture before the app starts, as a
/// production database would: the start-up backfills (profile paths, login identifiers) see them.
pub async fn spawn_app_on_legacy_data() -> TestApp {
    spawn(Storage::Local, &[], true).await
}

async fn spawn(storage: Storage, extra: &[(&str, &str)], legacy_data: bool) -> TestApp {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let db_name = format!("wimmelwelt_test_{}", uuid::Uuid::new_v4().simple());
    if legacy_data {
        let store = adapter_mongo::connect(&mongodb_uri(), &db_name, Duration::from_secs(3)).await.unwrap();
        insert_legacy_fixtures(&store.database().expect("a mongodb:// test URI resolves without DNS")).await;
    }
    let upload_dir = tempfile::tempdir().unwrap();
    let mut vars = base_vars(&db_name, upload_dir.path());
    let (mut bucket, mut s3) = (None, None);
    if storage == Storage::S3 {
        let name = format!("ww-e2e-{}", uuid::Uuid::new_v4().simple());
        let settings = adapter_s3::S3Settings {
            bucket: name.clone(),
            region: env_or("AWS_REGION", "eu-central-1"),
            endpoint: Some(s3_endpoint()),
            access_key_id: Some(env_or("AWS_ACCESS_KEY_ID", "test")),
            secret_access_key: Some(env_or("AWS_SECRET_ACCESS_KEY", "test")),
            force_path_style: true,
        };
        let store = adapter_s3::S3BlobStore::new(settings.clone()).await.unwrap();
        store.ensure_bucket().await.unwrap();
        vars.insert("FILE_STORAGE_MODE".into(), "s3".into());
        vars.insert("AWS_S3_BUCKET".into(), name.clone());
        vars.insert("AWS_S3_ENDPOINT".into(), s3_endpoint());
        vars.insert("AWS_REGION".into(), settings.region.clone());
        vars.insert("AWS_ACCESS_KEY_ID".into(), settings.access_key_id.clone().unwrap());
        vars.insert("AWS_SECRET_ACCESS_KEY".into(), settings.secret_access_key.clone().unwrap());
        bucket = Some(name);
        s3 = Some(store);
    }
    for (k, val) in extra {
        vars.insert((*k).to_owned(), (*val).to_owned());
    }
    let no_config_dir = upload_dir.path().join("no-config-files");
    let config = Config::load_from(&vars, &no_config_dir).unwrap_or_else(|e| panic!("test configuration invalid: {e}"));
    let app = Application::build(config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let mongo_uri = vars["MONGODB_URI"].clone();
    let store = adapter_mongo::connect(&mongo_uri, &db_name, Duration::from_secs(3)).await.unwrap();
    TestApp {
        address,
        client: Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        db_name,
        db: store.database().expect("a mongodb:// test URI resolves without DNS"),
        upload_dir,
        bucket,
        s3,
        mongo_uri,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let (uri, name) = (self.mongo_uri.clone(), self.db_name.clone());
        // Best effort, on a thread of its own: Drop cannot await inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let store = adapter_mongo::connect(&uri, &name, Duration::from_secs(2)).await.ok()?;
                store.database().ok()?.drop().await.ok()
            })
        })
        .join();
    }
}

/// A response with its status and JSON body (Null when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Answer {
    async fn from(res: Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Self { status, headers, body, bytes }
    }

    /// The `message` of an error body.
    pub fn message(&self) -> &str {
        self.body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no JSON message in {} {:?}", self.status, String::from_utf8_lossy(&self.bytes)))
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl TestApp {
    /// A request to `path` (relative to the app).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{}", self.address, path)).timeout(Duration::from_secs(30))
    }

    /// Sends a request with an optional token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut r = self.request(method, path);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        Answer::from(r.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Logs in and returns the token.
    pub async fn login(&self, identifier: &str, password: &str) -> String {
        let a = self.post("/api/auth/login", None, json!({"identifier": identifier, "password": password})).await;
        assert_eq!(a.status, StatusCode::OK, "login of {identifier} failed: {:?}", a.body);
        a.body["token"].as_str().unwrap().to_owned()
    }

    /// Registers a parent with a profile image; returns (id, token).
    pub async fn register_parent(&self, email: &str, password: &str) -> (String, String) {
        let a = self
            .post(
                "/api/parents",
                None,
                json!({"email": email, "phone": "0151 123", "postalCode": "50667", "password": password,
                       "firstName": "Pia", "lastName": "Probe", "profileImage": png_data_url(), "profileImageName": "pia.png"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        let id = a.body["id"].as_str().unwrap().to_owned();
        (id, self.login(email, password).await)
    }

    /// Registers a caregiver; returns (id, token).
    pub async fn register_caregiver(&self, email: &str, password: &str, city: &str, daycare: &str) -> (String, String) {
        let a = self
            .post(
                "/api/caregivers",
                None,
                json!({"email": email, "phone": "0221 1", "address": "Weg 1", "postalCode": "50667", "password": password,
                       "city": city, "daycareName": daycare, "firstName": "Cara", "lastName": "Giver", "availableSpots": "2"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        let id = a.body["id"].as_str().unwrap().to_owned();
        (id, self.login(email, password).await)
    }

    /// Whether a stored file exists (in the upload directory or the bucket).
    pub async fn file_exists(&self, key: &str) -> bool {
        match &self.s3 {
            Some(s3) => {
                use ports_shim::BlobStoreExt as _;
                s3.exists(key).await
            }
            None => self.upload_dir.path().join(key).is_file(),
        }
    }

    /// The raw document of a collection by id.
    pub async fn raw(&self, collection: &str, id: &str) -> Option<Document> {
        let oid = bson::oid::ObjectId::parse_str(id).unwrap();
        self.db.collection::<Document>(collection).find_one(doc! {"_id": oid}).await.unwrap()
    }
}

/// Inserts every legacy fixture collection into `db`.
async fn insert_legacy_fixtures(db: &mongodb::Database) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/legacy");
    for name in ["parents", "caregivers", "matches", "messages", "careGroups", "push_subscriptions"] {
        let docs = read_extended_json(&dir.join(format!("{name}.json")));
        db.collection::<Document>(name).insert_many(docs).await.unwrap();
    }
}

/// Reads a file holding one JSON array of documents in relaxed Extended JSON.
pub fn read_extended_json(path: &Path) -> Vec<Document> {
    let text = std::fs::read_to_string(path).unwrap();
    let Value::Array(items) = serde_json::from_str(&text).unwrap() else {
        panic!("{} is not an array", path.display())
    };
    items
        .into_iter()
        .map(|item| match Bson::try_from(item).unwrap() {
            Bson::Document(d) => d,
            other => panic!("not a document: {other:?}"),
        })
        .collect()
}

/// A token signed with `secret` and `alg`, with the given claims.
pub fn forge_token(secret: &str, alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), claims, &key).unwrap()
}

mod ports_shim {
    //! Existence checks through the storage port.
    use domain::FileKey;

    pub trait BlobStoreExt {
        async fn exists(&self, key: &str) -> bool;
    }

    impl BlobStoreExt for adapter_s3::S3BlobStore {
        async fn exists(&self, key: &str) -> bool {
            let key = FileKey::parse(key).unwrap();
            ports::BlobStore::head(self, &key).await.unwrap().is_some()
        }
    }
}
