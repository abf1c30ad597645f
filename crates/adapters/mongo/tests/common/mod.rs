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

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn raw(&self, collection: &str) -> mongodb::Collection<Document> {
        self.store.database().unwrap().collection(collection)
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
                store.database().ok()?.drop().await.ok()
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

/// `host:port` of the first host of a plain `mongodb://` URI.
pub fn mongo_host_port(uri: &str) -> String {
    let rest = uri
        .strip_prefix("mongodb://")
        .unwrap_or_else(|| panic!("this fault test needs a mongodb:// URI, got another scheme"));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hosts = rest.split(['/', '?']).next().unwrap();
    let first = hosts.split(',').next().unwrap();
    if first.contains(':') { first.to_owned() } else { format!("{first}:27017") }
}

/// A URI for the test server reached through `127.0.0.1:<proxy_port>` (credentials kept).
pub fn proxied_uri(proxy_port: u16) -> String {
    let uri = mongodb_uri();
    match uri.strip_prefix("mongodb://").and_then(|rest| rest.rsplit_once('@')) {
        Some((creds, _)) => {
            format!("mongodb://{creds}@127.0.0.1:{proxy_port}/?directConnection=true&authSource=admin")
        }
        None => format!("mongodb://127.0.0.1:{proxy_port}/?directConnection=true"),
    }
}

/// A free local TCP port (nothing listens on it until a proxy is started there).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Forwards connections from `127.0.0.1:<port>` to the test server until the task is aborted.
pub async fn start_proxy(port: u16) -> tokio::task::JoinHandle<()> {
    let target = mongo_host_port(&mongodb_uri());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move {
        let mut links = tokio::task::JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            links.spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

/// Log lines written while a [`capture_logs`] guard is alive.
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log event of this thread (the current-thread test runtime) until the guard drops.
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}
