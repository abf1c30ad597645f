//! Layered configuration of the API.
//!
//! Three layers, later ones winning (merged with figment):
//!
//! 1. built-in defaults (the constants in this module),
//! 2. `config/<APP_ENV>.toml` — optional; keys are the environment variable names in lower case
//!    (`port = 5000`); unknown keys are reported,
//! 3. environment variables with the operating model's names (`PORT`, `MONGODB_URI`, …).
//!
//! Settings with several names (the MongoDB connection string and database name, with their
//! legacy and granular variables) are picked layer by layer: an environment variable under any
//! of the names beats the file under any of them; within a layer the documented order holds.
//!
//! Every value is first read as text and then parsed here, so a bad value produces a message
//! that names the variable (`PORT: "abc" is not a valid port number`). All problems are
//! collected and returned together in [`ConfigError`]. Empty values count as unset everywhere
//! (except `REDIRECT_BARE_HOST`, where the empty string switches the redirect off).
//!
//! Secrets are [`SecretString`]s, so `Debug` never prints them; the MongoDB URI is one too
//! because it may carry a password ([`Config::mongo_uri_for_display`] masks it).
//!
//! [`check_config`] / [`run_check_config_cli`] are the deploy pipeline's gate: they list every
//! mandatory variable that staging or production lacks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use domain::StorageMode;
use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rand::Rng as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// The deployment environment, chosen by `APP_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppEnv {
    /// Local development (`APP_ENV` unset or `development`): lenient defaults, ephemeral secret.
    #[default]
    Development,
    /// `https://api-staging.wimmelwelt.de`, deployed from `develop`.
    Staging,
    /// `https://api.wimmelwelt.de`, deployed from `main`.
    Production,
}

impl AppEnv {
    /// All environments, in promotion order.
    pub const ALL: [AppEnv; 3] = [AppEnv::Development, AppEnv::Staging, AppEnv::Production];

    /// `development`, `staging` or `production` — also the name of the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            AppEnv::Development => "development",
            AppEnv::Staging => "staging",
            AppEnv::Production => "production",
        }
    }

    /// Parses `development` / `staging` / `production` (case-insensitive, surrounding blanks
    /// ignored); the error text says what is allowed.
    pub fn parse(raw: &str) -> Result<AppEnv, String> {
        let wanted = raw.trim();
        AppEnv::ALL
            .into_iter()
            .find(|env| env.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| format!("{raw:?} is not one of development, staging, production"))
    }
}

impl fmt::Display for AppEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AppEnv {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AppEnv::parse(s)
    }
}

/// The resolved configuration of the API process.
#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`.
    pub env: AppEnv,
    /// `HOST`, the address to bind (default `0.0.0.0`).
    pub host: String,
    /// `PORT` (default 5000; 0 picks a free port, as tests do).
    pub port: u16,
    /// MongoDB connection.
    pub mongodb: MongoSettings,
    /// Tokens and password hashing.
    pub auth: AuthSettings,
    /// Where uploaded files go.
    pub storage: StorageSettings,
    /// CORS, redirects, limits.
    pub http: HttpSettings,
    /// Logging and tracing.
    pub telemetry: TelemetrySettings,
    /// `FRONTEND_URL`, base of links in e-mails (default `https://www.wimmel-welt.de`).
    pub frontend_url: String,
    /// `FEATURED_CAREGIVER_ID`, a 24-character hex ObjectId, if set.
    pub featured_caregiver_id: Option<String>,
    /// `APP_VERSION`, else the crate version.
    pub version: String,
}

/// MongoDB connection settings.
#[derive(Debug, Clone)]
pub struct MongoSettings {
    /// Full connection string; secret because it may contain a password.
    pub uri: SecretString,
    /// Database name.
    pub db_name: String,
    /// `MONGODB_SERVER_SELECTION_TIMEOUT_MS` (default 2000 ms).
    pub server_selection_timeout: Duration,
}

/// Authentication settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `AUTH_SECRET`, the JWT signing secret.
    pub secret: SecretString,
    /// `true` if `AUTH_SECRET` was unset in development and a random secret was generated for
    /// this process (tokens die with the process; the caller should log a warning).
    pub secret_is_ephemeral: bool,
    /// `AUTH_TOKEN_TTL_SECONDS` (default 7 days).
    pub token_ttl: Duration,
    /// `BCRYPT_COST` (default 10; 4..=31, below 10 only in development).
    pub bcrypt_cost: u32,
}

/// File storage settings.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    /// `FILE_STORAGE_MODE`: `s3` (default) or `local`.
    pub mode: StorageMode,
    /// `LOCAL_UPLOAD_DIR` (default `./uploads`), used in `local` mode.
    pub local_upload_dir: PathBuf,
    /// `AWS_S3_BUCKET`; required in `s3` mode.
    pub bucket: Option<String>,
    /// `AWS_REGION` (default `eu-central-1`).
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`; if unset the AWS default credential chain applies.
    pub access_key_id: Option<SecretString>,
    /// `AWS_SECRET_ACCESS_KEY`; set together with the key id.
    pub secret_access_key: Option<SecretString>,
    /// `AWS_S3_ENDPOINT`, for S3-compatible servers.
    pub endpoint: Option<String>,
    /// `FILE_UPLOAD_MAX_BYTES` (default 25 MiB).
    pub max_upload_bytes: u64,
    /// `MEMBERSHIP_INVOICE_S3_KEY`, the key of the membership invoice template.
    pub membership_invoice_key: Option<String>,
}

/// HTTP edge settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `CORS_ALLOWED_ORIGINS`, comma-separated origins (default `https://www.wimmel-welt.de`).
    pub cors_allowed_origins: Vec<String>,
    /// `CORS_ALLOW_LOCALHOST` (default: `true` in development only).
    pub cors_allow_localhost: bool,
    /// `REDIRECT_BARE_HOST` (default `wimmel-welt.de`): requests for this host are redirected to
    /// [`HttpSettings::redirect_target`]. `None` when set to the empty string.
    pub redirect_host: Option<String>,
    /// `REDIRECT_TARGET` (default `https://www.wimmel-welt.de`).
    pub redirect_target: String,
    /// `HTTP_BODY_LIMIT_BYTES` (default 50 MiB).
    pub body_limit_bytes: usize,
    /// `SHUTDOWN_TIMEOUT_SECONDS` (default 30 s).
    pub shutdown_timeout: Duration,
}

/// Logging and tracing settings. `Debug` masks credentials in the endpoint URLs.
#[derive(Clone)]
pub struct TelemetrySettings {
    /// `LOG_LEVEL`, an `EnvFilter` directive (default `info`).
    pub log_level: String,
    /// `LOG_FORMAT` (default `json`).
    pub log_format: LogFormat,
    /// `LOG_ENDPOINT`, where JSON logs are shipped.
    pub log_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,…`; carries the collector token).
    pub otlp_headers: Option<SecretString>,
    /// `OTEL_SERVICE_NAME` (default `wimmelwelt-api`).
    pub service_name: String,
}

impl fmt::Debug for TelemetrySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |url: &Option<String>| url.as_deref().map(telemetry::redact_uri);
        f.debug_struct("TelemetrySettings")
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("log_endpoint", &masked(&self.log_endpoint))
            .field("otlp_endpoint", &masked(&self.otlp_endpoint))
            .field("otlp_headers", &self.otlp_headers)
            .field("service_name", &self.service_name)
            .finish()
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (staging, production).
    Json,
    /// Human-readable (local development).
    Pretty,
}

impl LogFormat {
    /// `json` / `pretty`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Json => "json",
            LogFormat::Pretty => "pretty",
        }
    }
}

/// Everything wrong with the configuration, one message per problem, each naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Messages like `PORT: "abc" is not a valid port number`.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

/// Result of [`check_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// `KEY = value` lines of the resolved configuration; secrets shown as `***`.
    pub rendered: String,
    /// Mandatory variables that are unset, empty, only defaulted, or (`AUTH_SECRET`) too short.
    pub missing: Vec<String>,
    /// Other problems (invalid values, forbidden combinations), as in [`ConfigError`].
    pub problems: Vec<String>,
}

impl CheckReport {
    /// `true` if nothing is missing and there are no problems.
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.problems.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Defaults and known keys
// ---------------------------------------------------------------------------------------------

const DEFAULT_HOST: &str = "0.0.0.0";
const DEFAULT_PORT: u16 = 5000;
const DEFAULT_MONGODB_URI: &str = "mongodb://127.0.0.1:27017";
const DEFAULT_MONGODB_PROTOCOL: &str = "mongodb";
const DEFAULT_MONGODB_PORT: u16 = 27017;
const DEFAULT_DB_NAME: &str = "wimmelwelt";
const DEFAULT_SERVER_SELECTION_TIMEOUT_MS: u64 = 2000;
const DEFAULT_TOKEN_TTL_SECONDS: u64 = 7 * 24 * 60 * 60;
const DEFAULT_BCRYPT_COST: u32 = 10;
const DEFAULT_STORAGE_MODE: &str = "s3";
const DEFAULT_LOCAL_UPLOAD_DIR: &str = "./uploads";
const DEFAULT_AWS_REGION: &str = "eu-central-1";
const DEFAULT_UPLOAD_MAX_BYTES: u64 = 25 * 1024 * 1024;
const DEFAULT_LOG_LEVEL: &str = "info";
const DEFAULT_LOG_FORMAT: &str = "json";
const DEFAULT_SERVICE_NAME: &str = "wimmelwelt-api";
const DEFAULT_CORS_ORIGINS: &str = "https://www.wimmel-welt.de";
const DEFAULT_REDIRECT_HOST: &str = "wimmel-welt.de";
const DEFAULT_REDIRECT_TARGET: &str = "https://www.wimmel-welt.de";
const DEFAULT_BODY_LIMIT_BYTES: usize = 50 * 1024 * 1024;
const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS: u64 = 30;
const DEFAULT_FRONTEND_URL: &str = "https://www.wimmel-welt.de";
/// Minimum `AUTH_SECRET` length outside development.
const MIN_SECRET_BYTES: usize = 32;
/// Lowest bcrypt cost allowed outside development.
const MIN_DEPLOYED_BCRYPT_COST: u32 = 10;

/// Every variable the configuration reads (besides `APP_ENV` and `CONFIG_DIR`, which pick the
/// TOML file and therefore cannot be set in it).
const KNOWN_KEYS: &[&str] = &[
    "HOST",
    "PORT",
    "MONGODB_URI",
    "MONGO_DB_URL",
    "MONGO_URL",
    "MONGODB_PROTOCOL",
    "MONGODB_HOST",
    "MONGODB_PORT",
    "MONGODB_USERNAME",
    "MONGODB_PASSWORD",
    "MONGODB_DB_NAME",
    "MONGO_DB_NAME",
    "MONGODB_AUTH_SOURCE",
    "MONGODB_OPTIONS",
    "MONGODB_SERVER_SELECTION_TIMEOUT_MS",
    "AUTH_SECRET",
    "AUTH_TOKEN_TTL_SECONDS",
    "BCRYPT_COST",
    "FILE_STORAGE_MODE",
    "LOCAL_UPLOAD_DIR",
    "AWS_S3_BUCKET",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_ENDPOINT",
    "FILE_UPLOAD_MAX_BYTES",
    "MEMBERSHIP_INVOICE_S3_KEY",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "LOG_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_SERVICE_NAME",
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOW_LOCALHOST",
    "REDIRECT_BARE_HOST",
    "REDIRECT_TARGET",
    "HTTP_BODY_LIMIT_BYTES",
    "SHUTDOWN_TIMEOUT_SECONDS",
    "FRONTEND_URL",
    "FEATURED_CAREGIVER_ID",
    "APP_VERSION",
];

/// Values never shown in messages or reports.
const SECRET_KEYS: &[&str] =
    &["AUTH_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "OTEL_EXPORTER_OTLP_HEADERS", "MONGODB_PASSWORD"];

/// Connection strings and endpoints, shown only with their password (and secret query
/// parameters) masked: a log shipper's or collector's URL may carry credentials too.
const URI_KEYS: &[&str] =
    &["MONGODB_URI", "MONGO_DB_URL", "MONGO_URL", "LOG_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "AWS_S3_ENDPOINT"];

/// The one key where an empty value means something (switch the redirect off).
const EMPTY_MEANS_DISABLED: &str = "REDIRECT_BARE_HOST";

/// The built-in layer, in the same lower-case form as the TOML keys.
fn defaults(env: AppEnv) -> BTreeMap<String, String> {
    [
        ("host", DEFAULT_HOST.to_owned()),
        ("port", DEFAULT_PORT.to_string()),
        ("mongodb_protocol", DEFAULT_MONGODB_PROTOCOL.to_owned()),
        ("mongodb_port", DEFAULT_MONGODB_PORT.to_string()),
        ("mongodb_server_selection_timeout_ms", DEFAULT_SERVER_SELECTION_TIMEOUT_MS.to_string()),
        ("auth_token_ttl_seconds", DEFAULT_TOKEN_TTL_SECONDS.to_string()),
        ("bcrypt_cost", DEFAULT_BCRYPT_COST.to_string()),
        ("file_storage_mode", DEFAULT_STORAGE_MODE.to_owned()),
        ("local_upload_dir", DEFAULT_LOCAL_UPLOAD_DIR.to_owned()),
        ("aws_region", DEFAULT_AWS_REGION.to_owned()),
        ("file_upload_max_bytes", DEFAULT_UPLOAD_MAX_BYTES.to_string()),
        ("log_level", DEFAULT_LOG_LEVEL.to_owned()),
        ("log_format", DEFAULT_LOG_FORMAT.to_owned()),
        ("otel_service_name", DEFAULT_SERVICE_NAME.to_owned()),
        ("cors_allowed_origins", DEFAULT_CORS_ORIGINS.to_owned()),
        ("cors_allow_localhost", (env == AppEnv::Development).to_string()),
        ("redirect_bare_host", DEFAULT_REDIRECT_HOST.to_owned()),
        ("redirect_target", DEFAULT_REDIRECT_TARGET.to_owned()),
        ("http_body_limit_bytes", DEFAULT_BODY_LIMIT_BYTES.to_string()),
        ("shutdown_timeout_seconds", DEFAULT_SHUTDOWN_TIMEOUT_SECONDS.to_string()),
        ("frontend_url", DEFAULT_FRONTEND_URL.to_owned()),
        ("app_version", env!("CARGO_PKG_VERSION").to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

impl Config {
    /// Loads the configuration from the process environment and the TOML file in `CONFIG_DIR`
    /// (default `config`, relative to the working directory).
    pub fn load() -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let config_dir = config_dir_from(&vars);
        Config::load_from(&vars, &config_dir)
    }

    /// Loads the configuration from `vars` (standing in for the environment; `APP_ENV` picks the
    /// file) and `config_dir/<env>.toml`, without touching the process environment.
    ///
    /// Returns every problem found, not just the first.
    pub fn load_from(vars: &HashMap<String, String>, config_dir: &Path) -> Result<Config, ConfigError> {
        let env = match app_env_from(vars) {
            Ok(env) => env,
            Err(problem) => return Err(ConfigError { problems: vec![problem] }),
        };
        let resolved = resolve(env, vars, config_dir);
        if resolved.problems.is_empty() {
            Ok(resolved.config)
        } else {
            Err(ConfigError { problems: resolved.problems.into_iter().map(|p| p.message).collect() })
        }
    }

    /// The MongoDB URI with its password replaced by `***`, for logs and reports.
    pub fn mongo_uri_for_display(&self) -> String {
        telemetry::redact_uri(self.mongodb.uri.expose_secret())
    }
}

fn config_dir_from(vars: &HashMap<String, String>) -> PathBuf {
    PathBuf::from(non_empty(vars.get("CONFIG_DIR").map(String::as_str)).unwrap_or("config"))
}

fn app_env_from(vars: &HashMap<String, String>) -> Result<AppEnv, String> {
    match non_empty(vars.get("APP_ENV").map(String::as_str)) {
        None => Ok(AppEnv::Development),
        Some(raw) => AppEnv::parse(raw).map_err(|reason| format!("APP_ENV: {reason}")),
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// One problem, tagged with the variable (or file) it concerns.
#[derive(Debug, Clone)]
struct Problem {
    key: String,
    message: String,
}

/// Where an explicitly set value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    File,
    Env,
}

/// A value as it appears in the TOML file, before we read it as text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<RawScalar>),
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawScalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl RawScalar {
    fn into_text(self) -> String {
        match self {
            RawScalar::Bool(b) => b.to_string(),
            RawScalar::Int(i) => i.to_string(),
            // Debug keeps the `.0`, so `port = 5000.0` is rejected rather than silently accepted.
            RawScalar::Float(f) => format!("{f:?}"),
            RawScalar::Text(s) => s,
        }
    }
}

impl RawValue {
    fn into_text(self) -> Option<String> {
        match self {
            RawValue::Bool(b) => Some(RawScalar::Bool(b).into_text()),
            RawValue::Int(i) => Some(RawScalar::Int(i).into_text()),
            RawValue::Float(f) => Some(RawScalar::Float(f).into_text()),
            RawValue::Text(s) => Some(s),
            RawValue::List(items) => Some(items.into_iter().map(RawScalar::into_text).collect::<Vec<_>>().join(",")),
            RawValue::Other(_) => None,
        }
    }
}

/// The merged layers: text values by upper-case variable name, plus which were set explicitly.
struct Layers {
    values: BTreeMap<String, String>,
    explicit: BTreeMap<String, Origin>,
    /// The environment layer alone (upper-case keys, empty values dropped).
    env: BTreeMap<String, String>,
    /// The TOML layer alone (upper-case keys, empty values dropped).
    file: BTreeMap<String, String>,
    file_label: String,
}

/// Keeps a value if it is non-empty after trimming (or if empty means something for this key).
fn keep(key_upper: &str, value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() || key_upper == EMPTY_MEANS_DISABLED).then(|| value.to_owned())
}

fn read_layers(env: AppEnv, vars: &HashMap<String, String>, config_dir: &Path, problems: &mut Vec<Problem>) -> Layers {
    let file = config_dir.join(format!("{}.toml", env.as_str()));
    let file_label = file.display().to_string();
    let mut file_values = BTreeMap::new();
    if file.is_file() {
        match Figment::from(Toml::file_exact(&file)).extract::<BTreeMap<String, RawValue>>() {
            Ok(raw) => {
                for (key, value) in raw {
                    let upper = key.to_ascii_uppercase();
                    if !KNOWN_KEYS.contains(&upper.as_str()) {
                        problems.push(Problem {
                            key: file_label.clone(),
                            message: format!(
                                "{file_label}: unknown key `{key}` (keys are the environment variable names in lower case)"
                            ),
                        });
                        continue;
                    }
                    match value.into_text() {
                        Some(text) => {
                            if let Some(text) = keep(&upper, &text) {
                                file_values.insert(upper.to_ascii_lowercase(), text);
                            }
                        }
                        None => problems.push(Problem {
                            key: upper.clone(),
                            message: format!("{upper}: must be a single value in {file_label}, not a table"),
                        }),
                    }
                }
            }
            Err(error) => problems
                .push(Problem { key: file_label.clone(), message: format!("{file_label}: cannot be read: {error}") }),
        }
    }

    let env_values: BTreeMap<String, String> = vars
        .iter()
        .filter(|(key, _)| KNOWN_KEYS.contains(&key.as_str()))
        .filter_map(|(key, value)| Some((key.to_ascii_lowercase(), keep(key, value)?)))
        .collect();

    let mut explicit = BTreeMap::new();
    for key in file_values.keys() {
        explicit.insert(key.to_ascii_uppercase(), Origin::File);
    }
    for key in env_values.keys() {
        explicit.insert(key.to_ascii_uppercase(), Origin::Env);
    }
    let upper = |layer: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        layer.iter().map(|(key, value)| (key.to_ascii_uppercase(), value.clone())).collect()
    };
    let (env_layer, file_layer) = (upper(&env_values), upper(&file_values));

    let merged = Figment::new()
        .merge(Serialized::defaults(defaults(env)))
        .merge(Serialized::defaults(file_values))
        .merge(Serialized::defaults(env_values))
        .extract::<BTreeMap<String, String>>();
    let values = match merged {
        Ok(values) => values.into_iter().map(|(key, value)| (key.to_ascii_uppercase(), value)).collect(),
        Err(error) => {
            problems.push(Problem { key: "CONFIG".into(), message: format!("cannot merge configuration: {error}") });
            BTreeMap::new()
        }
    };
    Layers { values, explicit, env: env_layer, file: file_layer, file_label }
}

/// Reads typed values out of the merged layers and collects problems.
struct Resolver {
    env: AppEnv,
    layers: Layers,
    problems: Vec<Problem>,
}

impl Resolver {
    /// The merged text value (defaults included), `None` if unset.
    fn raw(&self, key: &str) -> Option<&str> {
        debug_assert!(KNOWN_KEYS.contains(&key), "unknown configuration key {key}");
        self.layers.values.get(key).map(String::as_str)
    }

    /// The value if set and non-empty.
    fn text(&self, key: &str) -> Option<String> {
        self.raw(key).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// The value of `key` in one layer only (environment or TOML file), if set and non-empty.
    /// Settings with several names (aliases) are resolved layer by layer with this, so that an
    /// environment variable under any of the names beats the file under any of them.
    fn layer_text(&self, origin: Origin, key: &str) -> Option<String> {
        debug_assert!(KNOWN_KEYS.contains(&key), "unknown configuration key {key}");
        let layer = match origin {
            Origin::Env => &self.layers.env,
            Origin::File => &self.layers.file,
        };
        layer.get(key).filter(|v| !v.is_empty()).cloned()
    }

    /// The first of `keys` set in the environment, else the first set in the file.
    fn first_of(&self, keys: &[&'static str]) -> Option<(Origin, &'static str, String)> {
        [Origin::Env, Origin::File]
            .into_iter()
            .find_map(|origin| keys.iter().find_map(|key| Some((origin, *key, self.layer_text(origin, key)?))))
    }

    fn problem(&mut self, key: &str, message: impl fmt::Display) {
        let note = match self.layers.explicit.get(key) {
            Some(Origin::File) => format!(" (set in {})", self.layers.file_label),
            _ => String::new(),
        };
        self.problems.push(Problem { key: key.to_owned(), message: format!("{key}: {message}{note}") });
    }

    /// Records `KEY: "value" reason`, masking secrets and passwords in URIs.
    fn invalid(&mut self, key: &str, value: &str, reason: &str) {
        if SECRET_KEYS.contains(&key) {
            self.problem(key, reason);
        } else if URI_KEYS.contains(&key) {
            self.problem(key, format!("{:?} {reason}", telemetry::redact_uri(value)));
        } else {
            self.problem(key, format!("{value:?} {reason}"));
        }
    }

    /// Parses the value of `key` if set; on failure records the problem and returns `None`.
    fn parse_opt<T>(&mut self, key: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let value = self.text(key)?;
        match parse(&value) {
            Ok(parsed) => Some(parsed),
            Err(reason) => {
                self.invalid(key, &value, &reason);
                None
            }
        }
    }

    /// Like [`Resolver::parse_opt`], with `fallback` for unset or invalid values.
    fn parse<T>(&mut self, key: &str, fallback: T, parse: impl FnOnce(&str) -> Result<T, String>) -> T {
        self.parse_opt(key, parse).unwrap_or(fallback)
    }

    fn has_problem(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.key == key)
    }
}

/// The outcome of resolving: a config (with fallbacks where values were bad) and the problems.
struct Resolved {
    config: Config,
    problems: Vec<Problem>,
    layers: Layers,
}

fn resolve(env: AppEnv, vars: &HashMap<String, String>, config_dir: &Path) -> Resolved {
    let mut problems = Vec::new();
    let layers = read_layers(env, vars, config_dir, &mut problems);
    let mut r = Resolver { env, layers, problems };

    let host = r.text("HOST").unwrap_or_else(|| DEFAULT_HOST.to_owned());
    let port = r.parse("PORT", DEFAULT_PORT, |v| parse_port(v, "is not a valid port number"));
    let mongodb = resolve_mongo(&mut r);
    let auth = resolve_auth(&mut r);
    let storage = resolve_storage(&mut r);
    let http = resolve_http(&mut r, &storage);
    let telemetry = resolve_telemetry(&mut r);
    let frontend_url = r.parse("FRONTEND_URL", DEFAULT_FRONTEND_URL.to_owned(), parse_http_url);
    let featured_caregiver_id = r.parse_opt("FEATURED_CAREGIVER_ID", |v| {
        if v.len() == 24 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(v.to_owned())
        } else {
            Err("is not a 24-character hex ObjectId".into())
        }
    });
    let version = r.text("APP_VERSION").unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());

    let config = Config {
        env,
        host,
        port,
        mongodb,
        auth,
        storage,
        http,
        telemetry,
        frontend_url,
        featured_caregiver_id,
        version,
    };
    Resolved { config, problems: r.problems, layers: r.layers }
}

/// Userinfo must escape everything but RFC 3986 unreserved characters.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The names of the connection string, in the documented order; `MONGODB_HOST` stands for the
/// granular variables assembled into one.
const MONGO_URI_SOURCES: &[&str] = &["MONGODB_URI", "MONGO_DB_URL", "MONGO_URL", "MONGODB_HOST"];
/// The names of the database name, in the documented order.
const MONGO_DB_NAMES: &[&str] = &["MONGODB_DB_NAME", "MONGO_DB_NAME"];

/// Resolves the connection string and the database name. Both have several names, so they are
/// picked layer by layer rather than from the merged values: any environment variable beats any
/// file value (`MONGO_URL` in the environment beats `mongodb_uri` in the file), and within one
/// layer the documented order holds. The database name comes from `MONGODB_DB_NAME`, then
/// `MONGO_DB_NAME`, then the path of the connection string, then `wimmelwelt` — again with the
/// environment first: the path of a `MONGODB_URI` from the environment beats a
/// `mongodb_db_name` in the file.
fn resolve_mongo(r: &mut Resolver) -> MongoSettings {
    let named = r.first_of(MONGO_DB_NAMES);
    let (uri, uri_origin) = match r.first_of(MONGO_URI_SOURCES) {
        Some((_, "MONGODB_HOST", host)) => {
            let db_name = named.as_ref().map(|(_, _, name)| name.as_str()).unwrap_or_default();
            (assemble_mongo_uri(r, &host, db_name), None)
        }
        Some((origin, key, uri)) => {
            if is_mongo_uri(&uri) {
                (uri, Some(origin))
            } else {
                r.invalid(key, &uri, "is not a MongoDB connection string (mongodb://… or mongodb+srv://…)");
                (DEFAULT_MONGODB_URI.to_owned(), None)
            }
        }
        None => (DEFAULT_MONGODB_URI.to_owned(), None),
    };

    // An assembled URI's path is the database name itself, and the default URI has none.
    let from_uri =
        uri_origin.and_then(|origin| Some((origin, db_name_from_uri(&uri).filter(|n| is_valid_db_name(n))?)));
    let db_name = match (named, from_uri) {
        (Some((Origin::File, ..)), Some((Origin::Env, path))) => path,
        (Some((_, key, name)), _) => {
            if is_valid_db_name(&name) {
                name
            } else {
                r.invalid(key, &name, "is not a valid MongoDB database name");
                DEFAULT_DB_NAME.to_owned()
            }
        }
        (None, Some((_, path))) => path,
        (None, None) => DEFAULT_DB_NAME.to_owned(),
    };

    let timeout_ms = r.parse("MONGODB_SERVER_SELECTION_TIMEOUT_MS", DEFAULT_SERVER_SELECTION_TIMEOUT_MS, |v| {
        parse_positive(v, "is not a whole number of milliseconds greater than 0")
    });
    MongoSettings { uri: SecretString::from(uri), db_name, server_selection_timeout: Duration::from_millis(timeout_ms) }
}

fn is_mongo_uri(uri: &str) -> bool {
    ["mongodb://", "mongodb+srv://"].iter().any(|scheme| uri.len() > scheme.len() && uri.starts_with(scheme))
}

/// `MONGODB_PROTOCOL://[user[:password]@]host[:port]/[db][?authSource=…&options]`; `db_name`
/// is the resolved `MONGODB_DB_NAME`/`MONGO_DB_NAME` (empty if neither is set).
fn assemble_mongo_uri(r: &mut Resolver, host: &str, db_name: &str) -> String {
    let protocol = r.parse("MONGODB_PROTOCOL", DEFAULT_MONGODB_PROTOCOL.to_owned(), |v| {
        let v = v.trim_end_matches("://").to_ascii_lowercase();
        match v.as_str() {
            "mongodb" | "mongodb+srv" => Ok(v),
            _ => Err("is not one of mongodb, mongodb+srv".into()),
        }
    });
    let port = r.parse("MONGODB_PORT", DEFAULT_MONGODB_PORT, |v| match v.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err("is not a valid port number".into()),
    });

    let mut uri = format!("{protocol}://");
    let username = r.text("MONGODB_USERNAME");
    let password = r.text("MONGODB_PASSWORD");
    match (&username, &password) {
        (Some(user), password) => {
            uri.push_str(&utf8_percent_encode(user, USERINFO).to_string());
            if let Some(password) = password {
                uri.push(':');
                uri.push_str(&utf8_percent_encode(password, USERINFO).to_string());
            }
            uri.push('@');
        }
        (None, Some(_)) => r.problem("MONGODB_USERNAME", "must be set when MONGODB_PASSWORD is set"),
        (None, None) => {}
    }
    uri.push_str(host);
    // SRV records carry the ports; several hosts or an explicit `host:port` carry their own.
    if protocol == "mongodb" && !host.contains(',') && !has_port(host) {
        uri.push_str(&format!(":{port}"));
    }

    let mut query = Vec::new();
    if let Some(auth_source) = r.text("MONGODB_AUTH_SOURCE") {
        query.push(format!("authSource={}", utf8_percent_encode(&auth_source, USERINFO)));
    }
    if let Some(options) = r.text("MONGODB_OPTIONS") {
        let options = options.trim_start_matches(['?', '&']).trim_end_matches('&');
        if !options.is_empty() {
            query.push(options.to_owned());
        }
    }
    if !db_name.is_empty() || !query.is_empty() {
        uri.push('/');
        uri.push_str(db_name);
    }
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query.join("&"));
    }
    uri
}

/// `host:27017` or `[::1]:27017` — but not `host` or `[::1]`.
fn has_port(host: &str) -> bool {
    match host.rsplit_once(':') {
        Some((_, port)) => !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// The database in the path of a connection string, e.g. `wimmelwelt` in `mongodb://h/wimmelwelt?x=y`.
fn db_name_from_uri(uri: &str) -> Option<String> {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let before_query = rest.split('?').next().unwrap_or(rest);
    let host_and_path = before_query.rsplit_once('@').map_or(before_query, |(_, hp)| hp);
    let (_, path) = host_and_path.split_once('/')?;
    let name = percent_decode_str(path).decode_utf8().ok()?.into_owned();
    (!name.is_empty()).then_some(name)
}

/// MongoDB's rules for database names on all platforms.
fn is_valid_db_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && !name.chars().any(|c| matches!(c, '/' | '\\' | '.' | ' ' | '"' | '$' | '*' | '<' | '>' | ':' | '|' | '?'))
}

fn ephemeral_secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| rand::rng().sample_iter(rand::distr::Alphanumeric).take(64).map(char::from).collect())
}

fn resolve_auth(r: &mut Resolver) -> AuthSettings {
    let deployed = r.env != AppEnv::Development;
    let (secret, secret_is_ephemeral) = match r.text("AUTH_SECRET") {
        Some(secret) => {
            if deployed && secret.len() < MIN_SECRET_BYTES {
                r.problem(
                    "AUTH_SECRET",
                    format!("is {} bytes long; {} needs at least {MIN_SECRET_BYTES}", secret.len(), r.env),
                );
            }
            (secret, false)
        }
        None if deployed => {
            r.problem("AUTH_SECRET", format!("must be set in {} (at least {MIN_SECRET_BYTES} bytes)", r.env));
            (String::new(), false)
        }
        None => (ephemeral_secret().to_owned(), true),
    };
    let ttl = r.parse("AUTH_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS, |v| {
        parse_positive(v, "is not a whole number of seconds greater than 0")
    });
    let bcrypt_cost = r.parse("BCRYPT_COST", DEFAULT_BCRYPT_COST, |v| match v.parse::<u32>() {
        Ok(cost) if (4..=31).contains(&cost) => Ok(cost),
        _ => Err("is not a bcrypt cost between 4 and 31".into()),
    });
    if deployed && bcrypt_cost < MIN_DEPLOYED_BCRYPT_COST {
        let reason = format!("is below {MIN_DEPLOYED_BCRYPT_COST}, which is allowed only in development");
        r.invalid("BCRYPT_COST", &bcrypt_cost.to_string(), &reason);
    }
    AuthSettings {
        secret: SecretString::from(secret),
        secret_is_ephemeral,
        token_ttl: Duration::from_secs(ttl),
        bcrypt_cost,
    }
}

fn resolve_storage(r: &mut Resolver) -> StorageSettings {
    let mode = r.parse_opt("FILE_STORAGE_MODE", |v| match v.to_ascii_lowercase().as_str() {
        "s3" => Ok(StorageMode::S3),
        "local" => Ok(StorageMode::Local),
        _ => Err("is not one of s3, local".into()),
    });
    let bucket = r.text("AWS_S3_BUCKET");
    let production = r.env == AppEnv::Production;
    if production && mode == Some(StorageMode::Local) {
        r.invalid("FILE_STORAGE_MODE", "local", "is not allowed in production; uploads must go to S3 (s3)");
    }
    if bucket.is_none() {
        if production {
            r.problem("AWS_S3_BUCKET", "must be set in production (uploads go to S3)");
        } else if mode == Some(StorageMode::S3) {
            r.problem(
                "AWS_S3_BUCKET",
                "must be set when FILE_STORAGE_MODE is s3 (the default); set a bucket or use FILE_STORAGE_MODE=local",
            );
        }
    }

    let access_key_id = r.text("AWS_ACCESS_KEY_ID");
    let secret_access_key = r.text("AWS_SECRET_ACCESS_KEY");
    match (&access_key_id, &secret_access_key) {
        (Some(_), None) => r.problem("AWS_SECRET_ACCESS_KEY", "must be set together with AWS_ACCESS_KEY_ID"),
        (None, Some(_)) => r.problem("AWS_ACCESS_KEY_ID", "must be set together with AWS_SECRET_ACCESS_KEY"),
        _ => {}
    }

    StorageSettings {
        mode: mode.unwrap_or(StorageMode::S3),
        local_upload_dir: PathBuf::from(r.text("LOCAL_UPLOAD_DIR").unwrap_or_else(|| DEFAULT_LOCAL_UPLOAD_DIR.into())),
        bucket,
        region: r.text("AWS_REGION").unwrap_or_else(|| DEFAULT_AWS_REGION.to_owned()),
        access_key_id: access_key_id.map(SecretString::from),
        secret_access_key: secret_access_key.map(SecretString::from),
        endpoint: r.parse_opt("AWS_S3_ENDPOINT", parse_http_url),
        max_upload_bytes: r.parse("FILE_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES, |v| {
            parse_positive(v, "is not a whole number of bytes greater than 0")
        }),
        membership_invoice_key: r.text("MEMBERSHIP_INVOICE_S3_KEY"),
    }
}

fn resolve_http(r: &mut Resolver, storage: &StorageSettings) -> HttpSettings {
    let cors_allowed_origins = r.parse("CORS_ALLOWED_ORIGINS", vec![DEFAULT_CORS_ORIGINS.to_owned()], |v| {
        v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(parse_origin).collect()
    });
    let cors_allow_localhost = r.parse("CORS_ALLOW_LOCALHOST", r.env == AppEnv::Development, parse_bool);
    // Unset gives the default (defaults layer); the empty string gives `None`.
    let redirect_host = r.parse_opt("REDIRECT_BARE_HOST", |v| {
        if v.contains("://") || v.contains(['/', ' ', '?', '#']) {
            Err("must be a bare host name like wimmel-welt.de (or empty to disable the redirect)".into())
        } else {
            Ok(v.to_ascii_lowercase())
        }
    });
    let redirect_target = r.parse("REDIRECT_TARGET", DEFAULT_REDIRECT_TARGET.to_owned(), parse_http_url);
    let body_limit_bytes = r.parse("HTTP_BODY_LIMIT_BYTES", DEFAULT_BODY_LIMIT_BYTES, |v| {
        parse_positive::<usize>(v, "is not a whole number of bytes greater than 0")
    });
    if !r.has_problem("HTTP_BODY_LIMIT_BYTES")
        && !r.has_problem("FILE_UPLOAD_MAX_BYTES")
        && (body_limit_bytes as u64) < storage.max_upload_bytes
    {
        r.problem(
            "HTTP_BODY_LIMIT_BYTES",
            format!(
                "{body_limit_bytes} is smaller than FILE_UPLOAD_MAX_BYTES ({}); uploads of the allowed size would be refused",
                storage.max_upload_bytes
            ),
        );
    }
    let shutdown_seconds = r.parse("SHUTDOWN_TIMEOUT_SECONDS", DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, |v| {
        v.parse::<u64>().map_err(|_| "is not a whole number of seconds".into())
    });
    HttpSettings {
        cors_allowed_origins,
        cors_allow_localhost,
        redirect_host,
        redirect_target,
        body_limit_bytes,
        shutdown_timeout: Duration::from_secs(shutdown_seconds),
    }
}

fn resolve_telemetry(r: &mut Resolver) -> TelemetrySettings {
    TelemetrySettings {
        log_level: r.parse("LOG_LEVEL", DEFAULT_LOG_LEVEL.to_owned(), parse_log_level),
        log_format: r.parse("LOG_FORMAT", LogFormat::Json, |v| match v.to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            _ => Err("is not one of json, pretty".into()),
        }),
        log_endpoint: r.parse_opt("LOG_ENDPOINT", parse_any_url),
        otlp_endpoint: r.parse_opt("OTEL_EXPORTER_OTLP_ENDPOINT", parse_http_url),
        otlp_headers: r
            .parse_opt("OTEL_EXPORTER_OTLP_HEADERS", |v| {
                let well_formed = v
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .all(|header| header.split_once('=').is_some_and(|(name, _)| !name.trim().is_empty()));
                if well_formed {
                    Ok(v.to_owned())
                } else {
                    Err("must be a comma-separated list of name=value pairs".into())
                }
            })
            .map(SecretString::from),
        service_name: r.text("OTEL_SERVICE_NAME").unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// Value parsers: `Err` carries the reason, the caller adds the variable and the value.
// ---------------------------------------------------------------------------------------------

fn parse_port(value: &str, reason: &str) -> Result<u16, String> {
    value.parse::<u16>().map_err(|_| reason.to_owned())
}

fn parse_positive<T: std::str::FromStr + PartialOrd + Default>(value: &str, reason: &str) -> Result<T, String> {
    match value.parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => Err(reason.to_owned()),
    }
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("is not a boolean (true or false)".into()),
    }
}

/// `http://…` or `https://…` with a host.
fn parse_http_url(value: &str) -> Result<String, String> {
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace) => {
            Ok(value.to_owned())
        }
        _ => Err("is not an http(s) URL".into()),
    }
}

/// `scheme://host…` with any scheme (log shippers may speak http, tcp, udp, …).
fn parse_any_url(value: &str) -> Result<String, String> {
    let valid = value.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            && !rest.is_empty()
            && !rest.starts_with('/')
            && !rest.contains(char::is_whitespace)
    });
    if valid { Ok(value.to_owned()) } else { Err("is not a URL (scheme://host…)".into()) }
}

/// An origin as browsers send it: scheme and host (and port), no path, no trailing slash.
fn parse_origin(value: &str) -> Result<String, String> {
    let reason = || format!("contains {value:?}, which is not an origin like https://www.wimmel-welt.de (no path)");
    parse_http_url(value).map_err(|_| reason())?;
    let after_scheme = value.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.contains(['/', '?', '#']) { Err(reason()) } else { Ok(value.to_owned()) }
}

const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// An `EnvFilter` directive. Bare words must be levels: `verbose` would otherwise be read as
/// "everything from the target `verbose`", which is never what is meant here.
fn parse_log_level(value: &str) -> Result<String, String> {
    let reason = "is not a log level (trace, debug, info, warn, error, off) or filter like info,api=debug";
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if !directive.contains(['=', '[', ':']) && !LOG_LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(reason.into());
        }
    }
    tracing_subscriber::EnvFilter::try_new(value).map_err(|error| format!("{reason}: {error}"))?;
    Ok(value.to_owned())
}

// ---------------------------------------------------------------------------------------------
// check-config
// ---------------------------------------------------------------------------------------------

/// Resolves the configuration as [`Config::load_from`] would for `env` (ignoring `APP_ENV` in
/// `vars`) and lists what the deploy pipeline must refuse.
///
/// In staging and production these must be set explicitly (in the environment or in the env's
/// TOML file; a built-in default does not count): `MONGODB_URI` (or `MONGODB_HOST`, or a legacy
/// `MONGO_DB_URL`/`MONGO_URL`), `AUTH_SECRET` (at least 32 bytes), `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` (in staging only with `FILE_STORAGE_MODE=s3`), `FILE_STORAGE_MODE`,
/// `AWS_S3_BUCKET` (in staging only with `FILE_STORAGE_MODE=s3`), `AWS_REGION`, `LOG_LEVEL`,
/// `LOG_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_HEADERS`. Production also
/// refuses `FILE_STORAGE_MODE=local` (reported in `problems`). Development has no mandatory
/// variables.
pub fn check_config(env: AppEnv, vars: &HashMap<String, String>, config_dir: &Path) -> CheckReport {
    let resolved = resolve(env, vars, config_dir);
    let explicit = |key: &str| resolved.layers.explicit.contains_key(key);

    let mut missing: Vec<&str> = Vec::new();
    if env != AppEnv::Development {
        if !["MONGODB_URI", "MONGODB_HOST", "MONGO_DB_URL", "MONGO_URL"].into_iter().any(explicit) {
            missing.push("MONGODB_URI");
        }
        if !explicit("AUTH_SECRET") || resolved.config.auth.secret.expose_secret().len() < MIN_SECRET_BYTES {
            missing.push("AUTH_SECRET");
        }
        let s3 = env == AppEnv::Production || resolved.config.storage.mode == StorageMode::S3;
        if s3 {
            missing.extend(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].into_iter().filter(|k| !explicit(k)));
        }
        // The built-in default is s3, but a deployment must choose: production s3, staging s3
        // or local (`problems` refuses local in production).
        if !explicit("FILE_STORAGE_MODE") {
            missing.push("FILE_STORAGE_MODE");
        }
        if s3 && !explicit("AWS_S3_BUCKET") {
            missing.push("AWS_S3_BUCKET");
        }
        missing.extend(
            ["AWS_REGION", "LOG_LEVEL", "LOG_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"]
                .into_iter()
                .filter(|k| !explicit(k)),
        );
    }

    let problem_keys: BTreeSet<&str> = resolved.problems.iter().map(|p| p.key.as_str()).collect();
    let problems =
        resolved.problems.iter().filter(|p| !missing.contains(&p.key.as_str())).map(|p| p.message.clone()).collect();
    CheckReport {
        rendered: render(&resolved.config, &resolved.layers, &problem_keys, &missing),
        missing: missing.into_iter().map(str::to_owned).collect(),
        problems,
    }
}

/// `KEY = value` lines; secrets as `***`; values with a problem shown as given and flagged;
/// missing mandatory variables flagged (with the built-in default, if any, that does not count).
fn render(config: &Config, layers: &Layers, problem_keys: &BTreeSet<&str>, missing: &[&str]) -> String {
    const NOT_SET: &str = "(not set)";
    let secret = |s: &Option<SecretString>| match s {
        Some(s) if !s.expose_secret().is_empty() => "***".to_owned(),
        _ => NOT_SET.to_owned(),
    };
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| NOT_SET.to_owned());
    let url = |s: &Option<String>| s.as_deref().map_or_else(|| NOT_SET.to_owned(), telemetry::redact_uri);
    let auth_secret = if config.auth.secret_is_ephemeral {
        "*** (generated for this process)".to_owned()
    } else {
        secret(&Some(config.auth.secret.clone()))
    };
    let storage = &config.storage;
    let http = &config.http;
    let telemetry = &config.telemetry;
    let lines: Vec<(&str, String)> = vec![
        ("APP_ENV", config.env.to_string()),
        ("HOST", config.host.clone()),
        ("PORT", config.port.to_string()),
        ("MONGODB_URI", config.mongo_uri_for_display()),
        ("MONGODB_DB_NAME", config.mongodb.db_name.clone()),
        ("MONGODB_SERVER_SELECTION_TIMEOUT_MS", config.mongodb.server_selection_timeout.as_millis().to_string()),
        ("AUTH_SECRET", auth_secret),
        ("AUTH_TOKEN_TTL_SECONDS", config.auth.token_ttl.as_secs().to_string()),
        ("BCRYPT_COST", config.auth.bcrypt_cost.to_string()),
        ("FILE_STORAGE_MODE", storage.mode.as_str().to_owned()),
        ("LOCAL_UPLOAD_DIR", storage.local_upload_dir.display().to_string()),
        ("AWS_S3_BUCKET", opt(&storage.bucket)),
        ("AWS_REGION", storage.region.clone()),
        ("AWS_ACCESS_KEY_ID", secret(&storage.access_key_id)),
        ("AWS_SECRET_ACCESS_KEY", secret(&storage.secret_access_key)),
        ("AWS_S3_ENDPOINT", url(&storage.endpoint)),
        ("FILE_UPLOAD_MAX_BYTES", storage.max_upload_bytes.to_string()),
        ("MEMBERSHIP_INVOICE_S3_KEY", opt(&storage.membership_invoice_key)),
        ("LOG_LEVEL", telemetry.log_level.clone()),
        ("LOG_FORMAT", telemetry.log_format.as_str().to_owned()),
        ("LOG_ENDPOINT", url(&telemetry.log_endpoint)),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url(&telemetry.otlp_endpoint)),
        ("OTEL_EXPORTER_OTLP_HEADERS", secret(&telemetry.otlp_headers)),
        ("OTEL_SERVICE_NAME", telemetry.service_name.clone()),
        ("CORS_ALLOWED_ORIGINS", http.cors_allowed_origins.join(",")),
        ("CORS_ALLOW_LOCALHOST", http.cors_allow_localhost.to_string()),
        ("REDIRECT_BARE_HOST", http.redirect_host.clone().unwrap_or_else(|| "(disabled)".to_owned())),
        ("REDIRECT_TARGET", http.redirect_target.clone()),
        ("HTTP_BODY_LIMIT_BYTES", http.body_limit_bytes.to_string()),
        ("SHUTDOWN_TIMEOUT_SECONDS", http.shutdown_timeout.as_secs().to_string()),
        ("FRONTEND_URL", config.frontend_url.clone()),
        ("FEATURED_CAREGIVER_ID", opt(&config.featured_caregiver_id)),
        ("APP_VERSION", config.version.clone()),
    ];

    let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in lines {
        let value = if problem_keys.contains(key) {
            // Show what was given (masked), not the fallback the resolver substituted.
            match layers.values.get(key) {
                Some(_) if SECRET_KEYS.contains(&key) => "***".to_owned(),
                Some(raw) if URI_KEYS.contains(&key) => telemetry::redact_uri(raw),
                Some(raw) => format!("{raw:?}"),
                None => value,
            }
        } else {
            value
        };
        let value = if missing.contains(&key) {
            format!("{value}   <- missing")
        } else if problem_keys.contains(key) {
            format!("{value}   <- problem")
        } else {
            value
        };
        out.push_str(&format!("{key:<width$} = {value}\n"));
    }
    out
}

/// What a deployment must set for `key`, for the `missing:` lines of check-config.
fn requirement(env: AppEnv, key: &str) -> &'static str {
    match (key, env) {
        ("MONGODB_URI", _) => "the connection string; or MONGODB_HOST with the granular MONGODB_* variables",
        ("AUTH_SECRET", _) => "the JWT signing secret, at least 32 bytes",
        ("AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY", AppEnv::Production) => "deployment secret for S3",
        ("AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY", _) => {
            "deployment secret for S3, unless FILE_STORAGE_MODE=local"
        }
        ("FILE_STORAGE_MODE", AppEnv::Production) => "must be set to s3; the built-in default does not count",
        ("FILE_STORAGE_MODE", _) => "s3 (with AWS credentials and a bucket) or local",
        ("AWS_S3_BUCKET", _) => "the bucket, needed whenever FILE_STORAGE_MODE is s3",
        ("AWS_REGION" | "LOG_LEVEL", _) => "set it explicitly; the built-in default does not count",
        ("LOG_ENDPOINT", _) => "the central logging endpoint the JSON logs are shipped to",
        ("OTEL_EXPORTER_OTLP_ENDPOINT", _) => "the OpenTelemetry collector",
        ("OTEL_EXPORTER_OTLP_HEADERS", _) => "the per-environment collector token, name=value",
        _ => "mandatory",
    }
}

const CHECK_USAGE: &str = "usage: check-config [--env development|staging|production] [--config-dir DIR]\n\
    Resolves the configuration like the API would (environment + <config-dir>/<env>.toml) and exits\n\
    with 0 only if every mandatory variable is set and every value is valid.";

/// The `check-config` command: `args` are the arguments after the command name
/// (`--env <development|staging|production>`, `--config-dir <dir>`; without `--env`, `APP_ENV`
/// decides). Prints the resolved configuration (secrets masked) to stdout and every missing
/// variable and problem to stderr. Exit code 0 if the configuration is complete, 1 if not,
/// 2 for bad arguments.
pub fn run_check_config_cli(args: &[String]) -> ExitCode {
    let vars: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    let mut env_arg: Option<String> = None;
    let mut dir_arg: Option<String> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let target = match flag {
            "--env" => &mut env_arg,
            "--config-dir" => &mut dir_arg,
            "-h" | "--help" => {
                println!("{CHECK_USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("check-config: unexpected argument {arg:?}\n{CHECK_USAGE}");
                return ExitCode::from(2);
            }
        };
        match inline.or_else(|| args.next().cloned()) {
            Some(value) => *target = Some(value),
            None => {
                eprintln!("check-config: {flag} needs a value\n{CHECK_USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let env = match env_arg {
        Some(raw) => AppEnv::parse(&raw).map_err(|reason| format!("--env: {reason}")),
        None => app_env_from(&vars),
    };
    let env = match env {
        Ok(env) => env,
        Err(problem) => {
            eprintln!("check-config: {problem}");
            return ExitCode::from(2);
        }
    };
    let config_dir = dir_arg.map(PathBuf::from).unwrap_or_else(|| config_dir_from(&vars));

    let report = check_config(env, &vars, &config_dir);
    println!("# configuration for {env} (file: {})", config_dir.join(format!("{env}.toml")).display());
    print!("{}", report.rendered);
    for key in &report.missing {
        eprintln!("missing: {key} ({})", requirement(env, key));
    }
    for problem in &report.problems {
        eprintln!("problem: {problem}");
    }
    if report.ok() {
        println!("# OK: the {env} configuration is complete");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "check-config: the {env} configuration is incomplete ({} missing, {} problems)",
            report.missing.len(),
            report.problems.len()
        );
        ExitCode::FAILURE
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "auth-secret-0123456789-abcdefghijklmnop";
    const AWS_SECRET: &str = "aws-secret-key-XyZ987654321";
    const AWS_KEY_ID: &str = "AKIAEXAMPLEKEYID4242";
    const MONGO_PASSWORD: &str = "m0ngo-pa55word";
    const OTLP_HEADERS: &str = "authorization=Bearer otlp-token-555";

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn empty_dir() -> tempfile::TempDir {
        tempfile::TempDir::new().unwrap()
    }

    fn dir_with(file: &str, contents: &str) -> tempfile::TempDir {
        let dir = empty_dir();
        std::fs::write(dir.path().join(file), contents).unwrap();
        dir
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_from(&vars(pairs), empty_dir().path())
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
        load(pairs).unwrap_err().problems
    }

    /// Everything production needs, with recognisable secret values.
    fn production_vars() -> Vec<(&'static str, String)> {
        vec![
            ("APP_ENV", "production".into()),
            ("MONGODB_URI", format!("mongodb+srv://app:{MONGO_PASSWORD}@prod-cluster.example/wimmelwelt_prod")),
            ("AUTH_SECRET", SECRET.into()),
            ("AWS_ACCESS_KEY_ID", AWS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET.into()),
            ("FILE_STORAGE_MODE", "s3".into()),
            ("AWS_S3_BUCKET", "wimmelwelt-prod".into()),
            ("AWS_REGION", "eu-central-1".into()),
            ("LOG_LEVEL", "info".into()),
            ("LOG_ENDPOINT", "https://logs.example/backend-prod".into()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example".into()),
            ("OTEL_EXPORTER_OTLP_HEADERS", OTLP_HEADERS.into()),
        ]
    }

    fn owned(pairs: &[(&'static str, String)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = load(&[("FILE_STORAGE_MODE", "local")]).unwrap();
        assert_eq!(config.env, AppEnv::Development);
        assert_eq!(config.host, "0.0.0.0");
        assert_eq!(config.port, 5000);
        assert_eq!(config.mongodb.uri.expose_secret(), "mongodb://127.0.0.1:27017");
        assert_eq!(config.mongodb.db_name, "wimmelwelt");
        assert_eq!(config.mongodb.server_selection_timeout, Duration::from_millis(2000));
        assert_eq!(config.auth.token_ttl, Duration::from_secs(604_800));
        assert_eq!(config.auth.bcrypt_cost, 10);
        assert_eq!(config.storage.mode, StorageMode::Local);
        assert_eq!(config.storage.local_upload_dir, PathBuf::from("./uploads"));
        assert_eq!(config.storage.region, "eu-central-1");
        assert_eq!(config.storage.max_upload_bytes, 26_214_400);
        assert!(config.storage.bucket.is_none());
        assert_eq!(config.telemetry.log_level, "info");
        assert_eq!(config.telemetry.log_format, LogFormat::Json);
        assert_eq!(config.telemetry.service_name, "wimmelwelt-api");
        assert_eq!(config.http.cors_allowed_origins, vec!["https://www.wimmel-welt.de".to_owned()]);
        assert!(config.http.cors_allow_localhost);
        assert_eq!(config.http.redirect_host.as_deref(), Some("wimmel-welt.de"));
        assert_eq!(config.http.redirect_target, "https://www.wimmel-welt.de");
        assert_eq!(config.http.body_limit_bytes, 52_428_800);
        assert_eq!(config.http.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(config.frontend_url, "https://www.wimmel-welt.de");
        assert_eq!(config.featured_caregiver_id, None);
        assert_eq!(config.version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn s3_mode_without_bucket_is_a_problem_in_development_too() {
        let problems = problems(&[]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("AWS_S3_BUCKET: must be set when FILE_STORAGE_MODE is s3"));
    }

    #[test]
    fn toml_layer_is_overridden_by_environment() {
        let dir = dir_with(
            "staging.toml",
            "port = 6000\nhost = \"10.0.0.1\"\nlog_format = \"pretty\"\nfile_storage_mode = \"local\"\n\
             cors_allowed_origins = [\"https://a.example\", \"https://b.example\"]\nbcrypt_cost = 12\n",
        );
        let vars = vars(&[("APP_ENV", "staging"), ("AUTH_SECRET", SECRET), ("PORT", "7000"), ("HOST", "")]);
        let config = Config::load_from(&vars, dir.path()).unwrap();
        assert_eq!(config.env, AppEnv::Staging);
        assert_eq!(config.port, 7000, "env wins over TOML");
        assert_eq!(config.host, "10.0.0.1", "an empty env value counts as unset");
        assert_eq!(config.telemetry.log_format, LogFormat::Pretty);
        assert_eq!(config.storage.mode, StorageMode::Local);
        assert_eq!(config.auth.bcrypt_cost, 12);
        assert_eq!(config.http.cors_allowed_origins, vec!["https://a.example", "https://b.example"]);
        assert!(!config.http.cors_allow_localhost, "localhost CORS is off outside development");
    }

    #[test]
    fn toml_file_of_another_environment_is_ignored() {
        let dir = dir_with("production.toml", "port = 6000\n");
        let config = Config::load_from(&vars(&[("FILE_STORAGE_MODE", "local")]), dir.path()).unwrap();
        assert_eq!(config.port, 5000);
    }

    #[test]
    fn unknown_toml_keys_and_bad_toml_values_are_reported_with_the_file() {
        let dir = dir_with("development.toml", "prot = 6000\nport = \"abc\"\nfile_storage_mode = \"local\"\n");
        let problems = Config::load_from(&HashMap::new(), dir.path()).unwrap_err().problems;
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("unknown key `prot`")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.starts_with("PORT: \"abc\" is not a valid port number (set in ")
                && p.contains("development.toml")),
            "{problems:?}"
        );
    }

    #[test]
    fn toml_tables_are_reported_as_not_a_single_value() {
        let dir = dir_with("development.toml", "file_storage_mode = \"local\"\n[port]\nvalue = 1\n");
        let problems = Config::load_from(&HashMap::new(), dir.path()).unwrap_err().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("PORT: must be a single value in "), "{problems:?}");
    }

    #[test]
    fn broken_toml_is_reported_with_the_file() {
        let dir = dir_with("development.toml", "port = \n");
        let problems = Config::load_from(&vars(&[("FILE_STORAGE_MODE", "local")]), dir.path()).unwrap_err().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("development.toml: cannot be read"), "{problems:?}");
    }

    #[test]
    fn all_bad_values_are_reported_together() {
        let error = load(&[("PORT", "abc"), ("FILE_STORAGE_MODE", "ftp")]).unwrap_err();
        assert!(error.problems.contains(&"PORT: \"abc\" is not a valid port number".to_owned()), "{error}");
        assert!(error.problems.contains(&"FILE_STORAGE_MODE: \"ftp\" is not one of s3, local".to_owned()), "{error}");
        assert_eq!(error.problems.len(), 2, "{error}");
        let shown = error.to_string();
        assert_eq!(shown.lines().count(), 2);
        assert!(shown.contains("PORT") && shown.contains("FILE_STORAGE_MODE"));
    }

    #[test]
    fn other_invalid_values_name_their_variable() {
        let problems = problems(&[
            ("FILE_STORAGE_MODE", "local"),
            ("LOG_LEVEL", "verbose"),
            ("LOG_FORMAT", "xml"),
            ("BCRYPT_COST", "3"),
            ("FEATURED_CAREGIVER_ID", "not-an-id"),
            ("CORS_ALLOWED_ORIGINS", "https://ok.example,https://bad.example/"),
            ("CORS_ALLOW_LOCALHOST", "maybe"),
            ("AUTH_TOKEN_TTL_SECONDS", "0"),
            ("MONGODB_URI", "postgres://u:hunter2@h/db"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "hunter3"),
        ]);
        let expected = [
            "LOG_LEVEL: \"verbose\"",
            "LOG_FORMAT: \"xml\" is not one of json, pretty",
            "BCRYPT_COST: \"3\"",
            "FEATURED_CAREGIVER_ID: \"not-an-id\"",
            "CORS_ALLOWED_ORIGINS:",
            "CORS_ALLOW_LOCALHOST: \"maybe\"",
            "AUTH_TOKEN_TTL_SECONDS: \"0\"",
            "MONGODB_URI: \"postgres://u:***@h/db\"",
            "OTEL_EXPORTER_OTLP_HEADERS: must be",
        ];
        for prefix in expected {
            assert!(problems.iter().any(|p| p.starts_with(prefix)), "no {prefix:?} in {problems:?}");
        }
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        let all = problems.join("\n");
        assert!(!all.contains("hunter2") && !all.contains("hunter3"), "{all}");
    }

    #[test]
    fn log_level_accepts_filter_directives() {
        let config = load(&[("FILE_STORAGE_MODE", "local"), ("LOG_LEVEL", "warn,api=debug,mongodb=error")]).unwrap();
        assert_eq!(config.telemetry.log_level, "warn,api=debug,mongodb=error");
        assert!(problems(&[("FILE_STORAGE_MODE", "local"), ("LOG_LEVEL", "api=loud")])[0].starts_with("LOG_LEVEL"));
    }

    #[test]
    fn invalid_app_env_is_reported() {
        let error = load(&[("APP_ENV", "prod")]).unwrap_err();
        assert_eq!(error.problems, vec!["APP_ENV: \"prod\" is not one of development, staging, production"]);
    }

    #[test]
    fn production_refuses_missing_secret_local_storage_and_missing_bucket_together() {
        let problems = problems(&[("APP_ENV", "production"), ("FILE_STORAGE_MODE", "local")]);
        assert!(problems.iter().any(|p| p.starts_with("AUTH_SECRET: must be set in production")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.starts_with("FILE_STORAGE_MODE: \"local\" is not allowed in production")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.starts_with("AWS_S3_BUCKET: must be set in production")), "{problems:?}");
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn production_refuses_a_short_secret_without_showing_it() {
        let problems = problems(&[
            ("APP_ENV", "production"),
            ("AUTH_SECRET", "short-secret-value"),
            ("AWS_S3_BUCKET", "wimmelwelt-prod"),
        ]);
        assert_eq!(problems, vec!["AUTH_SECRET: is 18 bytes long; production needs at least 32"]);
    }

    #[test]
    fn deployed_environments_refuse_a_low_bcrypt_cost() {
        let problems = problems(&[
            ("APP_ENV", "staging"),
            ("AUTH_SECRET", SECRET),
            ("FILE_STORAGE_MODE", "local"),
            ("BCRYPT_COST", "4"),
        ]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("BCRYPT_COST: \"4\" is below 10"), "{problems:?}");
        assert_eq!(load(&[("FILE_STORAGE_MODE", "local"), ("BCRYPT_COST", "4")]).unwrap().auth.bcrypt_cost, 4);
    }

    #[test]
    fn staging_accepts_local_storage() {
        let config = load(&[("APP_ENV", "staging"), ("AUTH_SECRET", SECRET), ("FILE_STORAGE_MODE", "local")]).unwrap();
        assert_eq!(config.storage.mode, StorageMode::Local);
        assert!(!config.auth.secret_is_ephemeral);
    }

    #[test]
    fn development_generates_an_ephemeral_secret() {
        let config = load(&[("FILE_STORAGE_MODE", "local")]).unwrap();
        assert!(config.auth.secret_is_ephemeral);
        let secret = config.auth.secret.expose_secret();
        assert_eq!(secret.len(), 64);
        assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));
        let again = load(&[("FILE_STORAGE_MODE", "local")]).unwrap();
        assert_eq!(again.auth.secret.expose_secret(), secret, "one secret per process");

        let given = load(&[("FILE_STORAGE_MODE", "local"), ("AUTH_SECRET", "dev")]).unwrap();
        assert!(!given.auth.secret_is_ephemeral);
        assert_eq!(given.auth.secret.expose_secret(), "dev");
    }

    fn mongo(pairs: &[(&str, &str)]) -> MongoSettings {
        let mut all = vec![("FILE_STORAGE_MODE", "local")];
        all.extend_from_slice(pairs);
        load(&all).unwrap().mongodb
    }

    #[test]
    fn mongo_uri_is_assembled_with_encoded_credentials() {
        let settings = mongo(&[
            ("MONGODB_HOST", "db.example"),
            ("MONGODB_USERNAME", "app user"),
            ("MONGODB_PASSWORD", "p@ss/word"),
            ("MONGODB_DB_NAME", "wimmelwelt_staging"),
        ]);
        assert_eq!(
            settings.uri.expose_secret(),
            "mongodb://app%20user:p%40ss%2Fword@db.example:27017/wimmelwelt_staging"
        );
        assert_eq!(settings.db_name, "wimmelwelt_staging");
    }

    #[test]
    fn mongo_srv_uri_has_no_port() {
        let settings = mongo(&[
            ("MONGODB_PROTOCOL", "mongodb+srv"),
            ("MONGODB_HOST", "staging-cluster.example"),
            ("MONGODB_PORT", "27018"),
            ("MONGODB_USERNAME", "app"),
            ("MONGODB_PASSWORD", "secret"),
        ]);
        assert_eq!(settings.uri.expose_secret(), "mongodb+srv://app:secret@staging-cluster.example");
    }

    #[test]
    fn mongo_options_are_appended_with_or_without_question_mark() {
        for options in ["?retryWrites=true&w=majority", "retryWrites=true&w=majority"] {
            let settings = mongo(&[
                ("MONGODB_HOST", "db.example"),
                ("MONGODB_PORT", "27018"),
                ("MONGODB_DB_NAME", "ww"),
                ("MONGODB_OPTIONS", options),
            ]);
            assert_eq!(settings.uri.expose_secret(), "mongodb://db.example:27018/ww?retryWrites=true&w=majority");
        }
    }

    #[test]
    fn mongo_auth_source_becomes_an_option() {
        let settings = mongo(&[
            ("MONGODB_HOST", "db.example"),
            ("MONGODB_USERNAME", "app"),
            ("MONGODB_AUTH_SOURCE", "admin"),
            ("MONGODB_OPTIONS", "tls=true"),
        ]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://app@db.example:27017/?authSource=admin&tls=true");
        assert_eq!(settings.db_name, "wimmelwelt");
    }

    #[test]
    fn mongo_host_with_port_or_several_hosts_gets_no_extra_port() {
        let settings = mongo(&[("MONGODB_HOST", "a.example:27019,b.example:27019")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://a.example:27019,b.example:27019");
        let settings = mongo(&[("MONGODB_HOST", "a.example:27019")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://a.example:27019");
    }

    #[test]
    fn mongo_password_without_username_is_a_problem() {
        let problems = problems(&[("FILE_STORAGE_MODE", "local"), ("MONGODB_HOST", "h"), ("MONGODB_PASSWORD", "x")]);
        assert_eq!(problems, vec!["MONGODB_USERNAME: must be set when MONGODB_PASSWORD is set"]);
    }

    #[test]
    fn legacy_mongo_variables_are_honoured() {
        let settings = mongo(&[("MONGO_URL", "mongodb://legacy.example:27017"), ("MONGO_DB_NAME", "legacy_db")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://legacy.example:27017");
        assert_eq!(settings.db_name, "legacy_db");

        let settings = mongo(&[("MONGO_DB_URL", "mongodb://first.example"), ("MONGO_URL", "mongodb://second.example")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://first.example");

        let settings = mongo(&[("MONGODB_URI", "mongodb://new.example"), ("MONGO_URL", "mongodb://old.example")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://new.example");
    }

    #[test]
    fn db_name_comes_from_the_uri_path() {
        let settings =
            mongo(&[("MONGODB_URI", "mongodb+srv://u:p%2Fq@prod-cluster.example/wimmelwelt_prod?retryWrites=true")]);
        assert_eq!(settings.db_name, "wimmelwelt_prod");
        let settings = mongo(&[("MONGODB_URI", "mongodb://h:27017/?tls=true")]);
        assert_eq!(settings.db_name, "wimmelwelt");
        let settings = mongo(&[("MONGODB_URI", "mongodb://h/from_uri"), ("MONGODB_DB_NAME", "explicit")]);
        assert_eq!(settings.db_name, "explicit");
    }

    /// The MongoDB settings for development with `toml` as `development.toml` and `pairs` as
    /// the environment.
    fn mongo_with_file(toml: &str, pairs: &[(&str, &str)]) -> MongoSettings {
        let dir = dir_with("development.toml", &format!("file_storage_mode = \"local\"\n{toml}"));
        Config::load_from(&vars(pairs), dir.path()).unwrap().mongodb
    }

    const FILE_URI_AND_NAME: &str = "mongodb_uri = \"mongodb://file.example:27017\"\nmongodb_db_name = \"from_file\"\n";

    #[test]
    fn legacy_mongo_url_in_the_environment_beats_mongodb_uri_in_the_file() {
        let settings = mongo_with_file(FILE_URI_AND_NAME, &[("MONGO_URL", "mongodb://env.example:27017")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://env.example:27017");
    }

    #[test]
    fn legacy_mongo_db_url_in_the_environment_beats_mongodb_uri_in_the_file() {
        let settings = mongo_with_file(FILE_URI_AND_NAME, &[("MONGO_DB_URL", "mongodb://env.example:27017")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://env.example:27017");
    }

    #[test]
    fn granular_mongodb_host_in_the_environment_beats_mongodb_uri_in_the_file() {
        let settings = mongo_with_file(
            FILE_URI_AND_NAME,
            &[("MONGODB_HOST", "env.example"), ("MONGODB_USERNAME", "app"), ("MONGODB_PASSWORD", "pw")],
        );
        assert_eq!(settings.uri.expose_secret(), "mongodb://app:pw@env.example:27017/from_file");
        assert_eq!(settings.db_name, "from_file", "the file's database name still applies to the assembled URI");
    }

    #[test]
    fn legacy_mongo_db_name_in_the_environment_beats_mongodb_db_name_in_the_file() {
        let settings = mongo_with_file(FILE_URI_AND_NAME, &[("MONGO_DB_NAME", "from_env")]);
        assert_eq!(settings.db_name, "from_env");
        assert_eq!(settings.uri.expose_secret(), "mongodb://file.example:27017");
    }

    #[test]
    fn the_path_of_mongodb_uri_in_the_environment_beats_mongodb_db_name_in_the_file() {
        let settings = mongo_with_file(FILE_URI_AND_NAME, &[("MONGODB_URI", "mongodb://env.example/env_db?tls=true")]);
        assert_eq!(settings.db_name, "env_db");
        let settings = mongo_with_file(FILE_URI_AND_NAME, &[("MONGO_URL", "mongodb://env.example/legacy_env_db")]);
        assert_eq!(settings.db_name, "legacy_env_db");
    }

    #[test]
    fn mongodb_db_name_in_the_file_names_the_database_of_an_environment_uri_without_path() {
        let settings =
            mongo_with_file(FILE_URI_AND_NAME, &[("MONGODB_URI", "mongodb+srv://app:pw@prod-cluster.example/")]);
        assert_eq!(settings.db_name, "from_file");
    }

    #[test]
    fn a_database_name_in_the_environment_beats_the_path_of_an_environment_uri() {
        let uri = ("MONGODB_URI", "mongodb://env.example/from_path");
        assert_eq!(mongo_with_file(FILE_URI_AND_NAME, &[uri, ("MONGO_DB_NAME", "legacy")]).db_name, "legacy");
        let both = [uri, ("MONGO_DB_NAME", "legacy"), ("MONGODB_DB_NAME", "current")];
        assert_eq!(mongo_with_file(FILE_URI_AND_NAME, &both).db_name, "current");
    }

    #[test]
    fn within_the_environment_the_documented_order_of_connection_names_holds() {
        let all = [
            ("MONGODB_URI", "mongodb://uri.example"),
            ("MONGO_DB_URL", "mongodb://db-url.example"),
            ("MONGO_URL", "mongodb://url.example"),
            ("MONGODB_HOST", "host.example"),
        ];
        for (skip, expected) in [
            (0, "mongodb://uri.example"),
            (1, "mongodb://db-url.example"),
            (2, "mongodb://url.example"),
            (3, "mongodb://host.example:27017/from_file"),
        ] {
            let settings = mongo_with_file(FILE_URI_AND_NAME, &all[skip..]);
            assert_eq!(settings.uri.expose_secret(), expected, "with {:?}", &all[skip..]);
        }
    }

    #[test]
    fn within_the_file_the_documented_order_holds() {
        let toml = "mongodb_uri = \"mongodb://uri.example/from_path\"\nmongo_url = \"mongodb://url.example\"\n\
                    mongo_db_name = \"legacy\"\nmongodb_db_name = \"current\"\n";
        let settings = mongo_with_file(toml, &[]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://uri.example/from_path");
        assert_eq!(settings.db_name, "current");
        let settings = mongo_with_file("mongodb_uri = \"mongodb://uri.example/from_path\"\n", &[]);
        assert_eq!(settings.db_name, "from_path");
    }

    #[test]
    fn legacy_mongo_db_name_goes_into_the_path_of_an_assembled_uri() {
        let settings = mongo(&[("MONGODB_HOST", "db.example"), ("MONGO_DB_NAME", "legacy")]);
        assert_eq!(settings.uri.expose_secret(), "mongodb://db.example:27017/legacy");
        assert_eq!(settings.db_name, "legacy");
    }

    #[test]
    fn legacy_environment_variables_beat_the_shipped_development_file() {
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let pairs = vars(&[("MONGO_URL", "mongodb://legacy.example:27017"), ("MONGO_DB_NAME", "legacy_db")]);
        let settings = Config::load_from(&pairs, &config_dir).unwrap().mongodb;
        assert_eq!(settings.uri.expose_secret(), "mongodb://legacy.example:27017");
        assert_eq!(settings.db_name, "legacy_db");
    }

    #[test]
    fn an_environment_uri_names_the_database_over_the_shipped_staging_and_production_files() {
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        for (env, file_db) in [("staging", "wimmelwelt_staging"), ("production", "wimmelwelt_prod")] {
            let mut all = production_vars();
            all.retain(|(k, _)| !matches!(*k, "APP_ENV" | "MONGODB_URI"));
            all.push(("APP_ENV", env.into()));
            all.push(("MONGODB_URI", "mongodb+srv://app:pw@cluster.example/other_db".into()));
            let config = Config::load_from(&owned(&all), &config_dir).unwrap();
            assert_eq!(config.mongodb.db_name, "other_db", "{env}");

            all.retain(|(k, _)| *k != "MONGODB_URI");
            all.push(("MONGODB_URI", "mongodb+srv://app:pw@cluster.example/".into()));
            let config = Config::load_from(&owned(&all), &config_dir).unwrap();
            assert_eq!(config.mongodb.db_name, file_db, "{env}: the file names the database when the URI does not");
        }
    }

    #[test]
    fn mongo_uri_for_display_masks_the_password() {
        let config =
            load(&[("FILE_STORAGE_MODE", "local"), ("MONGODB_URI", "mongodb://user:topsecret@host/db")]).unwrap();
        assert_eq!(config.mongo_uri_for_display(), "mongodb://user:***@host/db");
    }

    #[test]
    fn redirect_bare_host_can_be_disabled_with_an_empty_value() {
        let config = load(&[("FILE_STORAGE_MODE", "local"), ("REDIRECT_BARE_HOST", "")]).unwrap();
        assert_eq!(config.http.redirect_host, None);
        let dir = dir_with("development.toml", "redirect_bare_host = \"\"\nfile_storage_mode = \"local\"\n");
        let config = Config::load_from(&HashMap::new(), dir.path()).unwrap();
        assert_eq!(config.http.redirect_host, None);
    }

    #[test]
    fn body_limit_must_fit_the_largest_upload() {
        let problems = problems(&[
            ("FILE_STORAGE_MODE", "local"),
            ("HTTP_BODY_LIMIT_BYTES", "1000"),
            ("FILE_UPLOAD_MAX_BYTES", "2000"),
        ]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("HTTP_BODY_LIMIT_BYTES: 1000 is smaller than FILE_UPLOAD_MAX_BYTES (2000)"));
    }

    #[test]
    fn debug_output_contains_no_secrets() {
        let config = Config::load_from(&owned(&production_vars()), empty_dir().path()).unwrap();
        let debug = format!("{config:?}");
        for secret in [SECRET, AWS_SECRET, AWS_KEY_ID, MONGO_PASSWORD, "otlp-token-555"] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        assert!(debug.contains("wimmelwelt-prod"), "non-secret values are still shown");
    }

    #[test]
    fn credentials_in_endpoint_urls_and_uri_options_are_masked_in_debug_reports_and_problems() {
        let mut all = production_vars();
        all.retain(|(k, _)| !matches!(*k, "MONGODB_URI" | "LOG_ENDPOINT" | "OTEL_EXPORTER_OTLP_ENDPOINT"));
        all.push(("MONGODB_URI", "mongodb://app@db.example/ww?tlsCertificateKeyFilePassword=tls-pass-1".into()));
        all.push(("LOG_ENDPOINT", "https://elastic:log-pass-2@logs.example/_bulk".into()));
        all.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example/v1?api_key=otel-key-3".into()));
        let leaks = ["tls-pass-1", "log-pass-2", "otel-key-3"];

        let config = Config::load_from(&owned(&all), empty_dir().path()).unwrap();
        let debug = format!("{config:?}");
        let report = check_config(AppEnv::Production, &owned(&all), empty_dir().path());
        assert!(report.ok(), "missing {:?}, problems {:?}", report.missing, report.problems);
        for leak in leaks {
            assert!(!debug.contains(leak), "{leak} leaked into {debug}");
            assert!(!report.rendered.contains(leak), "{leak} leaked into\n{}", report.rendered);
        }
        assert!(debug.contains("https://elastic:***@logs.example/_bulk"), "{debug}");
        assert!(report.rendered.contains("https://elastic:***@logs.example/_bulk"), "{}", report.rendered);

        let problems = problems(&[("FILE_STORAGE_MODE", "local"), ("LOG_ENDPOINT", "elastic:log-pass-2@logs.example")]);
        assert_eq!(problems, vec!["LOG_ENDPOINT: \"elastic:***@logs.example\" is not a URL (scheme://host…)"]);
    }

    #[test]
    fn check_config_for_production_with_nothing_set_lists_every_mandatory_variable() {
        let report = check_config(AppEnv::Production, &HashMap::new(), empty_dir().path());
        assert_eq!(
            report.missing,
            vec![
                "MONGODB_URI",
                "AUTH_SECRET",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "FILE_STORAGE_MODE",
                "AWS_S3_BUCKET",
                "AWS_REGION",
                "LOG_LEVEL",
                "LOG_ENDPOINT",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_HEADERS",
            ]
        );
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(!report.ok());
    }

    #[test]
    fn check_config_flags_short_secret_and_local_storage_in_production() {
        let mut all = production_vars();
        all.retain(|(k, _)| *k != "AUTH_SECRET");
        all.push(("AUTH_SECRET", "too-short".into()));
        all.push(("FILE_STORAGE_MODE", "local".into()));
        let report = check_config(AppEnv::Production, &owned(&all), empty_dir().path());
        assert_eq!(report.missing, vec!["AUTH_SECRET"]);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].starts_with("FILE_STORAGE_MODE"));
        assert!(report.rendered.contains("FILE_STORAGE_MODE"));
        assert!(!report.rendered.contains("too-short"));
    }

    #[test]
    fn check_config_with_everything_set_is_ok_and_masks_secrets() {
        let mut all = production_vars();
        all.push(("APP_ENV", "development".into())); // the env argument wins
        let report = check_config(AppEnv::Production, &owned(&all), empty_dir().path());
        assert!(report.ok(), "missing {:?}, problems {:?}", report.missing, report.problems);
        for secret in [SECRET, AWS_SECRET, AWS_KEY_ID, MONGO_PASSWORD, "otlp-token-555"] {
            assert!(!report.rendered.contains(secret), "{secret} leaked into\n{}", report.rendered);
        }
        assert!(report.rendered.contains("APP_ENV"));
        assert!(report.rendered.contains("production"));
        assert!(report.rendered.contains("mongodb+srv://app:***@prod-cluster.example/wimmelwelt_prod"));
        assert!(report.rendered.lines().any(|l| l.starts_with("AUTH_SECRET") && l.ends_with("= ***")));
        assert!(report.rendered.lines().any(|l| l.starts_with("AWS_S3_BUCKET") && l.ends_with("= wimmelwelt-prod")));
    }

    #[test]
    fn check_config_counts_toml_values_but_not_built_in_defaults() {
        let dir = dir_with("production.toml", "aws_region = \"eu-central-1\"\nlog_level = \"info\"\n");
        let mut all = production_vars();
        all.retain(|(k, _)| !matches!(*k, "AWS_REGION" | "LOG_LEVEL"));
        let report = check_config(AppEnv::Production, &owned(&all), dir.path());
        assert!(report.ok(), "missing {:?}, problems {:?}", report.missing, report.problems);
        let report = check_config(AppEnv::Production, &owned(&all), empty_dir().path());
        assert_eq!(report.missing, vec!["AWS_REGION", "LOG_LEVEL"]);
    }

    #[test]
    fn check_config_for_staging_with_local_storage_needs_no_aws_credentials() {
        let mut all = production_vars();
        all.retain(|(k, _)| !k.starts_with("AWS_") || *k == "AWS_REGION");
        all.push(("FILE_STORAGE_MODE", "local".into()));
        let report = check_config(AppEnv::Staging, &owned(&all), empty_dir().path());
        assert!(report.ok(), "missing {:?}, problems {:?}", report.missing, report.problems);

        all.retain(|(k, _)| *k != "FILE_STORAGE_MODE");
        let report = check_config(AppEnv::Staging, &owned(&all), empty_dir().path());
        assert_eq!(
            report.missing,
            vec!["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "FILE_STORAGE_MODE", "AWS_S3_BUCKET"]
        );
    }

    #[test]
    fn check_config_for_production_lists_file_storage_mode_set_neither_in_the_environment_nor_the_file() {
        let mut all = production_vars();
        all.retain(|(k, _)| *k != "FILE_STORAGE_MODE");
        let report = check_config(AppEnv::Production, &owned(&all), empty_dir().path());
        assert_eq!(report.missing, vec!["FILE_STORAGE_MODE"], "the built-in default s3 does not count");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert!(
            report.rendered.lines().any(|l| l.starts_with("FILE_STORAGE_MODE") && l.ends_with("= s3   <- missing")),
            "{}",
            report.rendered
        );

        let dir = dir_with("production.toml", "file_storage_mode = \"s3\"\n");
        let report = check_config(AppEnv::Production, &owned(&all), dir.path());
        assert!(report.ok(), "the file counts: missing {:?}, problems {:?}", report.missing, report.problems);
    }

    #[test]
    fn check_config_for_staging_lists_file_storage_mode_when_only_the_default_picks_s3() {
        let mut all = production_vars();
        all.retain(|(k, _)| !matches!(*k, "FILE_STORAGE_MODE" | "APP_ENV"));
        let report = check_config(AppEnv::Staging, &owned(&all), empty_dir().path());
        assert_eq!(report.missing, vec!["FILE_STORAGE_MODE"]);
        all.push(("FILE_STORAGE_MODE", "s3".into()));
        let report = check_config(AppEnv::Staging, &owned(&all), empty_dir().path());
        assert!(report.ok(), "missing {:?}, problems {:?}", report.missing, report.problems);
    }

    #[test]
    fn check_config_for_production_refuses_local_storage_even_with_aws_credentials() {
        let mut all = production_vars();
        all.retain(|(k, _)| *k != "FILE_STORAGE_MODE");
        let dir = dir_with("production.toml", "file_storage_mode = \"local\"\n");
        let report = check_config(AppEnv::Production, &owned(&all), dir.path());
        assert!(report.missing.is_empty(), "{:?}", report.missing);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].starts_with("FILE_STORAGE_MODE: \"local\" is not allowed in production"));
        assert!(report.problems[0].ends_with("production.toml)"), "names the file: {:?}", report.problems);
    }

    #[test]
    fn check_config_accepts_granular_mongo_settings() {
        let mut all = production_vars();
        all.retain(|(k, _)| *k != "MONGODB_URI");
        all.push(("MONGODB_HOST", "prod-cluster.example".into()));
        all.push(("MONGODB_PROTOCOL", "mongodb+srv".into()));
        all.push(("MONGODB_USERNAME", "app".into()));
        all.push(("MONGODB_PASSWORD", MONGO_PASSWORD.into()));
        let report = check_config(AppEnv::Production, &owned(&all), empty_dir().path());
        assert!(report.ok(), "missing {:?}, problems {:?}", report.missing, report.problems);
        assert!(!report.rendered.contains(MONGO_PASSWORD));
    }

    #[test]
    fn shipped_config_files_load() {
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let config = Config::load_from(&HashMap::new(), &config_dir).unwrap();
        assert_eq!(config.storage.mode, StorageMode::Local, "make run works without S3");
        assert_eq!(config.telemetry.log_format, LogFormat::Pretty);

        for env in [AppEnv::Staging, AppEnv::Production] {
            let mut all = production_vars();
            all.retain(|(k, _)| !matches!(*k, "APP_ENV" | "AWS_S3_BUCKET" | "AWS_REGION" | "LOG_LEVEL"));
            let report = check_config(env, &owned(&all), &config_dir);
            assert!(report.ok(), "{env}: missing {:?}, problems {:?}", report.missing, report.problems);
            let report = check_config(env, &HashMap::new(), &config_dir);
            assert!(!report.missing.contains(&"AWS_REGION".to_owned()), "{env}: region comes from the file");
        }
    }
}
