//! Building and running the application: adapters are chosen from the configuration and wired
//! into the use cases; the listener is bound first so tests can use port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context as _;
use application::{AccountService, CaregiverService, FileService, HealthService, ParentService, UrlSigner};
use domain::{StorageMode, UploadPolicy, UserId};
use ports::{
    BlobStore, CaregiverRepository, IdentifierRegistry, MatchRepository, ParentRepository, PasswordHasher, TokenService,
};
use secrecy::ExposeSecret as _;

use crate::config::Config;
use crate::http::head::head_as_get;
use crate::http::state::{AppState, ServiceInfo};
use crate::http::{HostRedirect, OriginPolicy, edge_guard, json_errors, not_found, routes};

/// The methods the API answers; preflights advertise no others (never TRACE or CONNECT).
pub const CORS_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// A built, not yet running, application.
pub struct Application {
    port: u16,
    server: Server,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("port", &self.port).finish_non_exhaustive()
    }
}

/// Chooses and builds the file storage adapter.
pub async fn build_store(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    let s = &config.storage;
    Ok(match s.mode {
        StorageMode::Local => Arc::new(
            adapter_local_fs::LocalFsBlobStore::new(s.local_upload_dir.clone())
                .await
                .context("preparing the local upload directory")?,
        ),
        StorageMode::S3 => {
            let bucket = s.bucket.clone().context("AWS_S3_BUCKET is required for FILE_STORAGE_MODE=s3")?;
            Arc::new(
                adapter_s3::S3BlobStore::new(adapter_s3::S3Settings {
                    bucket,
                    region: s.region.clone(),
                    endpoint: s.endpoint.clone(),
                    access_key_id: s.access_key_id.as_ref().map(|k| k.expose_secret().to_owned()),
                    secret_access_key: s.secret_access_key.as_ref().map(|k| k.expose_secret().to_owned()),
                    force_path_style: s.endpoint.is_some(),
                })
                .await
                .context("configuring S3")?,
            )
        }
    })
}

/// Creates indexes, backfills missing profile paths and claims the login identifiers of legacy
/// accounts (see [`adapter_mongo::Preparation`]), retrying what failed while MongoDB was
/// unreachable with backoff until everything is done. An index that fails for a permanent reason
/// (legacy duplicates) is logged once and not retried. Runs in the background so the service
/// starts (and reports not-ready) while MongoDB is down; every step is idempotent, so every
/// instance runs it.
fn spawn_database_preparation(store: adapter_mongo::MongoStore) {
    const FIRST_RETRY: Duration = Duration::from_secs(1);
    const MAX_RETRY: Duration = Duration::from_secs(60);
    tokio::spawn(async move {
        let mut preparation = adapter_mongo::Preparation::new(store);
        let mut delay = FIRST_RETRY;
        while !preparation.run().await {
            tracing::warn!(
                error = preparation.last_error().unwrap_or_default(),
                pending_indexes = ?preparation.pending_indexes(),
                pending_backfills = ?preparation.pending_backfills(),
                retry_in_s = delay.as_secs(),
                "database preparation incomplete (MongoDB not reachable?); retrying"
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY);
        }
        let given_up = preparation.given_up();
        if given_up.is_empty() {
            tracing::info!("database prepared: indexes and backfills done");
        } else {
            let indexes: Vec<String> = given_up.iter().map(|p| format!("{}.{}", p.collection, p.index)).collect();
            tracing::warn!(?indexes, "database prepared, but some indexes could not be built (see earlier warnings)");
        }
    });
}

impl Application {
    /// Wires every adapter from `config` and binds the listener (`PORT=0` picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.auth.secret_is_ephemeral {
            tracing::warn!(
                "AUTH_SECRET is not set: using a random per-process secret; tokens will not survive a restart"
            );
        }
        let mongo = adapter_mongo::connect(
            config.mongodb.uri.expose_secret(),
            &config.mongodb.db_name,
            config.mongodb.server_selection_timeout,
        )
        .await
        .context("configuring the MongoDB client")?;
        spawn_database_preparation(mongo.clone());
        let parents: Arc<dyn ParentRepository> = Arc::new(mongo.parents());
        let caregivers: Arc<dyn CaregiverRepository> = Arc::new(mongo.caregivers());
        let matches: Arc<dyn MatchRepository> = Arc::new(mongo.matches());
        let identifiers: Arc<dyn IdentifierRegistry> = Arc::new(mongo.identifiers());

        let store = build_store(&config).await?;
        let secret = config.auth.secret.expose_secret().as_bytes().to_vec();
        let tokens: Arc<dyn TokenService> = Arc::new(adapter_jwt::JwtTokens::new(&secret, config.auth.token_ttl)?);
        let hasher: Arc<dyn PasswordHasher> = Arc::new(adapter_jwt::BcryptHasher::new(config.auth.bcrypt_cost));
        let files = FileService::new(
            store.clone(),
            UploadPolicy { max_bytes: config.storage.max_upload_bytes },
            UrlSigner::new(&secret),
            config.storage.membership_invoice_key.clone(),
        );
        let featured = config.featured_caregiver_id.as_deref().and_then(|id| UserId::parse(id).ok());
        let state = AppState {
            accounts: AccountService::new(parents.clone(), caregivers.clone(), hasher.clone(), tokens.clone()),
            parents: ParentService::new(
                parents.clone(),
                caregivers.clone(),
                matches.clone(),
                identifiers.clone(),
                hasher.clone(),
                files.clone(),
            ),
            caregivers: CaregiverService::new(
                caregivers,
                parents.clone(),
                matches,
                identifiers,
                hasher,
                files.clone(),
                featured,
            ),
            files,
            health: HealthService::new(parents, store, Duration::from_secs(3)),
            tokens,
            info: ServiceInfo { version: config.version.clone(), environment: config.env.to_string() },
        };

        let listener = TcpListener::bind((config.host.as_str(), config.port))
            .with_context(|| format!("binding {}:{}", config.host, config.port))?;
        let port = listener.local_addr()?.port();
        let origins = OriginPolicy {
            allowed: config.http.cors_allowed_origins.clone(),
            allow_localhost: config.http.cors_allow_localhost,
        };
        let redirect = config
            .http
            .redirect_host
            .clone()
            .map(|h| HostRedirect { from_host: h.to_ascii_lowercase(), to_base: config.http.redirect_target.clone() });
        let body_limit = config.http.body_limit_bytes;
        let state = web::Data::new(state);
        let origins_data = web::Data::new(origins.clone());
        let redirect_data = web::Data::new(redirect);
        let server = HttpServer::new(move || {
            let origins = origins.clone();
            let cors = actix_cors::Cors::default()
                .allowed_origin_fn(move |origin, _| origin.to_str().is_ok_and(|o| origins.allows(o)))
                .allowed_methods(CORS_METHODS)
                .allow_any_header()
                .expose_headers(["Content-Disposition", "Content-Range", "ETag", "Retry-After"])
                .max_age(3600);
            App::new()
                .app_data(state.clone())
                .app_data(origins_data.clone())
                .app_data(redirect_data.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(web::JsonConfig::default().limit(body_limit))
                // Inner to outer: CORS, JSON errors (keeping CORS headers), HEAD as GET (sees the
                // final body), access log, origin guard and redirect.
                .wrap(cors)
                .wrap(middleware::from_fn(json_errors))
                .wrap(middleware::from_fn(head_as_get))
                .wrap(tracing_actix_web::TracingLogger::<crate::http::access_log::AccessLog>::new())
                .wrap(middleware::from_fn(edge_guard))
                .configure(routes::configure)
                .default_service(web::to(not_found))
        })
        .shutdown_timeout(config.http.shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        tracing::info!(port, environment = %config.env, storage = config.storage.mode.as_str(), "Wimmelwelt API listening");
        Ok(Self { port, server })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT (in-flight requests drain within the shutdown timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
