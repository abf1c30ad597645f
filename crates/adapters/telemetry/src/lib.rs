//! Telemetry for the Wimmelwelt API: the global `tracing` subscriber and log-safe helpers.
//!
//! [`init`] installs one subscriber for the whole process: JSON lines on stdout (one object per
//! event with timestamp, level, target, fields, the span list and the static `service` and
//! `environment` fields), or a human-readable pretty format for local development.
//!
//! OTLP export (traces to the OpenTelemetry collector via `OTEL_EXPORTER_OTLP_ENDPOINT`) and
//! shipping the JSON logs to the central ELK/OpenSearch (`LOG_ENDPOINT`) come in the operations
//! issue; until then the JSON lines on stdout are what a log shipper picks up.

use std::fmt;
use std::io::IsTerminal as _;

use anyhow::Context as _;
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What [`init`] needs to know about logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// An `EnvFilter` directive, e.g. `info` or `info,api=debug,mongodb=warn`.
    pub level: String,
    /// `true`: JSON lines (production, staging); `false`: pretty, human-readable output.
    pub json: bool,
    /// Written as the `service` field of every JSON line, e.g. `wimmelwelt-api`.
    pub service_name: String,
    /// Written as the `environment` field of every JSON line, e.g. `production`.
    pub environment: String,
}

/// Installs the global `tracing` subscriber described by `settings`.
///
/// Returns an error only if `settings.level` is not a valid `EnvFilter` directive. Calling it
/// again (e.g. from several tests in one process) is fine: if a global subscriber is already
/// installed, the call changes nothing and returns `Ok(())`.
pub fn init(settings: &LogSettings) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&settings.level)
        .with_context(|| format!("LOG_LEVEL {:?} is not a valid log filter directive", settings.level))?;

    let installed = if settings.json {
        let format = WithStaticFields::new(
            tracing_subscriber::fmt::format().json().with_current_span(true).with_span_list(true).with_target(true),
            &settings.service_name,
            &settings.environment,
        );
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(format)
            .with_writer(std::io::stdout);
        tracing_subscriber::registry().with(filter).with(layer).try_init()
    } else {
        let layer = tracing_subscriber::fmt::layer()
            .pretty()
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(std::io::stdout);
        tracing_subscriber::registry().with(filter).with(layer).try_init()
    };

    // The only way `try_init` fails is that a global subscriber (or `log` logger) is already
    // set — by an earlier call or by a test harness. Keeping the existing one is what we want.
    if installed.is_err() {
        tracing::debug!("a global tracing subscriber is already installed; keeping it");
    }
    Ok(())
}

/// Wraps the JSON event format and adds `"service"` and `"environment"` as the first fields of
/// every line, so log queries can filter by them without knowing the shipper's metadata.
struct WithStaticFields {
    inner: Format<Json>,
    /// `"service":"…","environment":"…",` — already JSON-escaped.
    prefix: String,
}

impl WithStaticFields {
    fn new(inner: Format<Json>, service: &str, environment: &str) -> Self {
        let prefix = format!(
            "\"service\":{},\"environment\":{},",
            serde_json::Value::from(service),
            serde_json::Value::from(environment)
        );
        Self { inner, prefix }
    }
}

impl<S, N> FormatEvent<S, N> for WithStaticFields
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut line = String::new();
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => {
                writer.write_char('{')?;
                writer.write_str(&self.prefix)?;
                writer.write_str(rest)
            }
            None => writer.write_str(&line),
        }
    }
}

/// Masks the secrets of a URI: the password of its userinfo (`scheme://user:pass@host/…` becomes
/// `scheme://user:***@host/…`) and the values of query parameters that name a secret
/// (`tlsCertificateKeyFilePassword=…`, `authMechanismProperties=AWS_SESSION_TOKEN:…`,
/// `api_key=…`, `token=…` become `…=***`). URIs without either are returned unchanged.
///
/// The userinfo ends at the last `@`, so passwords containing an unencoded `@` are masked
/// completely; when in doubt this masks more than needed rather than less.
pub fn redact_uri(uri: &str) -> String {
    let (scheme, rest) = match uri.find("://") {
        Some(i) => uri.split_at(i + 3),
        None => ("", uri),
    };
    let without_password = match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}{user}:***@{host}"),
            None => uri.to_owned(),
        },
        None => uri.to_owned(),
    };
    redact_query(&without_password)
}

/// Parts of query parameter names that mark their value as a secret (compared in lower case).
const SECRET_PARAMETER_PARTS: &[&str] =
    &["pass", "pwd", "secret", "token", "key", "signature", "credential", "authmechanismproperties"];

fn redact_query(uri: &str) -> String {
    let Some((base, query)) = uri.split_once('?') else {
        return uri.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value))
                if !value.is_empty()
                    && SECRET_PARAMETER_PARTS.iter().any(|part| name.to_ascii_lowercase().contains(part)) =>
            {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redact_uri_masks_the_password() {
        assert_eq!(
            redact_uri("mongodb://app:s3cret@db.example:27017/wimmelwelt?authSource=admin"),
            "mongodb://app:***@db.example:27017/wimmelwelt?authSource=admin"
        );
        assert_eq!(
            redact_uri("mongodb+srv://app:p%40ss@cluster.example/db"),
            "mongodb+srv://app:***@cluster.example/db"
        );
    }

    #[test]
    fn redact_uri_masks_a_password_containing_an_unencoded_at_sign() {
        let redacted = redact_uri("mongodb://app:p@ss@host/db");
        assert_eq!(redacted, "mongodb://app:***@host/db");
        assert!(!redacted.contains("p@ss"));
    }

    #[test]
    fn redact_uri_leaves_uris_without_password_alone() {
        assert_eq!(redact_uri("mongodb://127.0.0.1:27017"), "mongodb://127.0.0.1:27017");
        assert_eq!(redact_uri("mongodb://app@host/db"), "mongodb://app@host/db");
        assert_eq!(redact_uri("https://www.wimmel-welt.de/a?b=c"), "https://www.wimmel-welt.de/a?b=c");
        assert_eq!(redact_uri(""), "");
    }

    #[test]
    fn redact_uri_masks_query_parameters_that_carry_secrets() {
        let redacted = redact_uri(
            "mongodb://app:pw@host/db?authSource=admin&tlsCertificateKeyFilePassword=keypass\
             &authMechanismProperties=AWS_SESSION_TOKEN:sessiontoken&retryWrites=true",
        );
        assert_eq!(
            redacted,
            "mongodb://app:***@host/db?authSource=admin&tlsCertificateKeyFilePassword=***\
             &authMechanismProperties=***&retryWrites=true"
        );
        assert_eq!(
            redact_uri("https://logs.example/_bulk?api_key=k3y&index=backend"),
            "https://logs.example/_bulk?api_key=***&index=backend"
        );
    }

    #[test]
    fn redact_uri_handles_userinfo_without_scheme() {
        assert_eq!(redact_uri("user:pass@host"), "user:***@host");
    }

    #[test]
    fn init_twice_is_fine() {
        let settings = LogSettings {
            level: "info".into(),
            json: true,
            service_name: "wimmelwelt-api".into(),
            environment: "test".into(),
        };
        init(&settings).unwrap();
        init(&settings).unwrap();
        init(&LogSettings { json: false, ..settings }).unwrap();
        tracing::info!(answer = 42, "telemetry initialised twice");
    }

    #[test]
    fn init_rejects_an_invalid_level() {
        let settings = LogSettings {
            level: "api=loud".into(),
            json: true,
            service_name: "wimmelwelt-api".into(),
            environment: "test".into(),
        };
        assert!(init(&settings).is_err());
    }

    #[test]
    fn json_lines_start_with_service_and_environment() {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(data);
                Ok(data.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let buf = Buf::default();
        let writer = buf.clone();
        let format = WithStaticFields::new(
            tracing_subscriber::fmt::format().json().with_current_span(true).with_span_list(true),
            "wimmelwelt-api",
            "sta\"ging",
        );
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(format)
            .with_writer(move || writer.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", path = "/api/health");
            let _guard = span.enter();
            tracing::info!(status = 200, "done");
        });

        let output = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(output.lines().next().unwrap()).unwrap();
        assert_eq!(line["service"], "wimmelwelt-api");
        assert_eq!(line["environment"], "sta\"ging");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["status"], 200);
        assert_eq!(line["fields"]["message"], "done");
        assert_eq!(line["spans"][0]["path"], "/api/health");
        assert!(line["timestamp"].is_string());
        assert!(line["target"].is_string());
    }
}
