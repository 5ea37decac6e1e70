//! Typed settings, loaded in layers: defaults, then the TOML file given by
//! `--config`, then `PORTICO_*` environment variables (plus `DATABASE_URL` and
//! `REDIS_URL`); the environment wins. Validated once at start-up, every error
//! naming the setting to fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where outbound e-mail goes until the SMTP transport is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSink {
    /// Write each message as an `.eml` file under `<data_dir>/mail`.
    File,
    /// Log recipient and subject only.
    Log,
}

/// Every setting of a Portico process.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Address the web server binds (`PORTICO_LISTEN`).
    pub listen: SocketAddr,
    /// Folder for the embedded database, the generated master key and dev mail
    /// (`PORTICO_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Tenants are served on `<slug>.<base_domain>`; the operator on `admin.<base_domain>`
    /// (`PORTICO_BASE_DOMAIN`).
    pub base_domain: String,
    /// Scheme of the links Portico prints and sends: `http` or `https` (`PORTICO_PUBLIC_SCHEME`).
    pub public_scheme: String,
    /// Port in printed links; defaults to the listen port for `http`, none for `https`
    /// (`PORTICO_PUBLIC_PORT`).
    pub public_port: Option<u16>,
    /// A `postgres://` URL selects PostgreSQL; unset selects embedded SQLite (`DATABASE_URL`).
    #[serde(serialize_with = "serialize_secret_option")]
    pub database_url: Option<SecretString>,
    /// Optional Redis for fan-out, rate limits and short-lived codes (`REDIS_URL`).
    #[serde(serialize_with = "serialize_secret_option")]
    pub redis_url: Option<SecretString>,
    /// Base64 of the 32-byte key that encrypts every stored secret (`PORTICO_MASTER_KEY`).
    #[serde(serialize_with = "serialize_secret_option")]
    pub master_key: Option<SecretString>,
    /// A file holding the master key instead (`PORTICO_MASTER_KEY_FILE`).
    pub master_key_file: Option<PathBuf>,
    /// Prometheus `/metrics` listener; off when unset (`PORTICO_METRICS_LISTEN`).
    pub metrics_listen: Option<SocketAddr>,
    /// `text` or `json` (`PORTICO_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Log filter in `RUST_LOG` syntax (`PORTICO_LOG`).
    pub log: String,
    /// Largest request body accepted, bytes (`PORTICO_BODY_LIMIT`).
    pub body_limit: usize,
    /// A request taking longer is answered 408, seconds (`PORTICO_REQUEST_TIMEOUT`).
    pub request_timeout: u64,
    /// Connections in the PostgreSQL pool (`PORTICO_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// Tenant files kept open at once on SQLite (`PORTICO_MAX_OPEN_TENANTS`).
    pub max_open_tenants: usize,
    /// Tenants migrated at once by `migrate` and at start-up (`PORTICO_MIGRATE_PARALLELISM`).
    pub migrate_parallelism: usize,
    /// Migrate the platform and tenant schemas when `serve` starts (`PORTICO_MIGRATE_ON_START`).
    pub migrate_on_start: bool,
    /// Create the `demo` tenant on first start (`PORTICO_DEMO_TENANT`).
    pub demo_tenant: bool,
    /// Outbound mail sink until SMTP is configured: `file` or `log` (`PORTICO_MAIL_SINK`).
    pub mail_sink: MailSink,
    /// SMTP server for outbound mail, `smtp://[user:password@]host[:port][?tls=required]`
    /// (STARTTLS) or `smtps://…` (TLS); when set it replaces the mail sink
    /// (`PORTICO_SMTP_URL`).
    #[serde(serialize_with = "serialize_secret_option")]
    pub smtp_url: Option<SecretString>,
    /// Address of the built-in SMTP receiver for MX delivery to
    /// `<slug>@inbound.<base>`; off when unset (`PORTICO_SMTP_LISTEN`).
    pub smtp_listen: Option<SocketAddr>,
    /// Speak LMTP instead of SMTP on that address, behind a local MTA (`PORTICO_SMTP_LMTP`).
    pub smtp_lmtp: bool,
    /// Largest inbound message accepted, bytes (`PORTICO_MAIL_MAX_BYTES`).
    pub mail_max_bytes: usize,
    /// Messages one sender may deliver per minute to the receiver (`PORTICO_MAIL_SENDER_RATE`).
    pub mail_sender_rate: u32,
    /// DKIM selector; signing is on when it and the key file are set (`PORTICO_DKIM_SELECTOR`).
    pub dkim_selector: Option<String>,
    /// DKIM private key, PEM: RSA (PKCS#1) or Ed25519 (`PORTICO_DKIM_KEY_FILE`).
    pub dkim_key_file: Option<PathBuf>,
    /// Seconds between IMAP polls of a mailbox whose server has no IDLE, and the
    /// longest IDLE before it is renewed (`PORTICO_IMAP_POLL_SECONDS`).
    pub imap_poll_seconds: u64,
    /// Let tenant-configured URLs reach loopback and private addresses. Tests only
    /// (`PORTICO_OUTBOUND_ALLOW_PRIVATE`).
    pub outbound_allow_private: bool,
    /// Where `serve` looks for first-party plugin components built by
    /// `plugins/build.sh` (`PORTICO_PLUGINS_DIR`).
    pub plugins_dir: PathBuf,
    /// Milliseconds between checks that routing and background work are current when
    /// no notification arrives (`PORTICO_POLL_MS`).
    pub poll_ms: u64,
    /// Seconds allowed for in-flight requests to finish on shutdown (`PORTICO_SHUTDOWN_GRACE`).
    pub shutdown_grace: u64,
    /// A session unused this long ends, minutes (`PORTICO_SESSION_IDLE_MINUTES`).
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in whatever happens, hours
    /// (`PORTICO_SESSION_ABSOLUTE_HOURS`).
    pub session_absolute_hours: u64,
    /// Password hashes computed at once; each holds 19 MiB (`PORTICO_PASSWORD_HASH_CONCURRENCY`).
    pub password_hash_concurrency: usize,
    /// Sign-in, second-factor and invitation attempts one client address may make per
    /// tenant in 15 minutes (`PORTICO_LOGIN_ADDRESS_LIMIT`).
    pub login_address_limit: i64,
    /// `log` (development: messages go to the log) or `twilio` (`PORTICO_SMS_PROVIDER`).
    pub sms_provider: String,
    /// Base URL of the Twilio-compatible API (`PORTICO_SMS_BASE_URL`).
    pub sms_base_url: String,
    /// Account SID (`PORTICO_SMS_ACCOUNT_SID`).
    pub sms_account_sid: Option<String>,
    /// Auth token (`PORTICO_SMS_AUTH_TOKEN`).
    #[serde(serialize_with = "serialize_secret_option")]
    pub sms_auth_token: Option<SecretString>,
    /// Sender number or name (`PORTICO_SMS_FROM`).
    pub sms_from: String,
    /// Address of the HTTPS listener; when set, `PORTICO_LISTEN` serves only ACME
    /// challenges, probes and redirects to HTTPS (`PORTICO_TLS_LISTEN`).
    pub tls_listen: Option<SocketAddr>,
    /// The wildcard certificate (PEM chain) for `<base>` and `*.<base>`, reloaded
    /// when it changes (`PORTICO_TLS_CERT_FILE`).
    pub tls_cert_file: Option<PathBuf>,
    /// Its private key (`PORTICO_TLS_KEY_FILE`).
    pub tls_key_file: Option<PathBuf>,
    /// The name custom domains point at by CNAME (`PORTICO_EDGE_HOST`, default
    /// `edge.<base>`).
    pub edge_host: Option<String>,
    /// The DNS server custom domains are checked against, `ip:port`
    /// (`PORTICO_DNS_SERVER`; default: the system's resolvers).
    pub dns_server: Option<SocketAddr>,
    /// ACME directory URL (`PORTICO_ACME_DIRECTORY`).
    pub acme_directory: String,
    /// E-mail address of the ACME account (`PORTICO_ACME_CONTACT`).
    pub acme_contact: Option<String>,
    /// Where attachments are stored: unset for `<data_dir>/blobs`, or
    /// `s3://bucket/prefix` with the `AWS_*` variables (`PORTICO_STORAGE_URL`).
    pub storage_url: Option<String>,
    /// The S3 endpoint, for an S3-compatible service other than AWS
    /// (`PORTICO_STORAGE_ENDPOINT`; default: the `AWS_ENDPOINT` variable or AWS).
    pub storage_endpoint: Option<String>,
    /// The bucket's region (`PORTICO_STORAGE_REGION`).
    pub storage_region: Option<String>,
    /// Access key id (`PORTICO_STORAGE_ACCESS_KEY_ID`; default: `AWS_ACCESS_KEY_ID`).
    pub storage_access_key_id: Option<String>,
    /// Secret access key (`PORTICO_STORAGE_SECRET_ACCESS_KEY`).
    #[serde(serialize_with = "serialize_secret_option")]
    pub storage_secret_access_key: Option<SecretString>,
    /// Allow a plain-HTTP endpoint, for a local S3-compatible service
    /// (`PORTICO_STORAGE_ALLOW_HTTP`).
    pub storage_allow_http: bool,
    /// Extra root certificate (PEM) trusted for the ACME directory's own TLS, for a
    /// test CA such as Pebble (`PORTICO_ACME_CA_FILE`).
    pub acme_ca_file: Option<PathBuf>,
    /// Orders certificates for verified custom domains (`PORTICO_ACME`, default on
    /// when `PORTICO_TLS_LISTEN` is set).
    pub acme: Option<bool>,
    /// First wait after a failed order, seconds; doubles per failure up to a day
    /// (`PORTICO_ACME_RETRY_SECONDS`).
    pub acme_retry_seconds: u64,
    /// Pending domains (and those in their grace period) are checked this often,
    /// seconds (`PORTICO_DOMAIN_CHECK_SECONDS`).
    pub domain_check_seconds: u64,
    /// Verified domains are checked again this often, seconds
    /// (`PORTICO_DOMAIN_RECHECK_SECONDS`).
    pub domain_recheck_seconds: u64,
    /// How long a verified domain whose records disappeared keeps being served,
    /// seconds (`PORTICO_DOMAIN_GRACE_SECONDS`).
    pub domain_grace_seconds: u64,
    /// How often the domain sweeper looks for due checks and orders, milliseconds
    /// (`PORTICO_DOMAIN_SWEEP_MS`).
    pub domain_sweep_ms: u64,
    /// Waits between attempts of a failed webhook delivery, comma-separated with
    /// units `ms`, `s`, `m`, `h`; the delivery fails after the last one
    /// (`PORTICO_WEBHOOK_RETRY_SCHEDULE`).
    pub webhook_retry_schedule: String,
    /// A webhook receiver must answer within this many seconds
    /// (`PORTICO_WEBHOOK_TIMEOUT_SECONDS`).
    pub webhook_timeout_seconds: u64,
}

fn serialize_secret_option<S: serde::Serializer>(
    value: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // Serialisation only feeds figment's defaults layer; a secret never has a default.
    match value {
        Some(secret) => serializer.serialize_some(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            base_domain: "localhost".to_owned(),
            public_scheme: "http".to_owned(),
            public_port: None,
            database_url: None,
            redis_url: None,
            master_key: None,
            master_key_file: None,
            metrics_listen: None,
            log_format: LogFormat::Text,
            log: "info,sqlx=warn".to_owned(),
            body_limit: 10 * 1024 * 1024,
            request_timeout: 30,
            db_max_connections: 10,
            max_open_tenants: 256,
            migrate_parallelism: 4,
            migrate_on_start: true,
            demo_tenant: true,
            mail_sink: MailSink::File,
            smtp_url: None,
            smtp_listen: None,
            smtp_lmtp: false,
            mail_max_bytes: 25 * 1024 * 1024,
            mail_sender_rate: 60,
            dkim_selector: None,
            dkim_key_file: None,
            imap_poll_seconds: 60,
            outbound_allow_private: false,
            plugins_dir: PathBuf::from("./target/plugins"),
            poll_ms: 500,
            shutdown_grace: 20,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            password_hash_concurrency: 4,
            login_address_limit: 50,
            sms_provider: "log".to_owned(),
            sms_base_url: "https://api.twilio.com".to_owned(),
            sms_account_sid: None,
            sms_auth_token: None,
            sms_from: "Portico".to_owned(),
            tls_listen: None,
            tls_cert_file: None,
            tls_key_file: None,
            edge_host: None,
            dns_server: None,
            acme_directory: "https://acme-v02.api.letsencrypt.org/directory".to_owned(),
            acme_contact: None,
            acme_ca_file: None,
            storage_url: None,
            storage_endpoint: None,
            storage_region: None,
            storage_access_key_id: None,
            storage_secret_access_key: None,
            storage_allow_http: false,
            acme: None,
            acme_retry_seconds: 300,
            domain_check_seconds: 60,
            domain_recheck_seconds: 86_400,
            domain_grace_seconds: 72 * 3600,
            domain_sweep_ms: 2000,
            webhook_retry_schedule: crate::webhooks::RetrySchedule::DEFAULT.to_owned(),
            webhook_timeout_seconds: 15,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SecretString prints itself redacted; listed explicitly so nothing new leaks by accident.
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("base_domain", &self.base_domain)
            .field("database_url", &self.database_url)
            .field("redis_url", &self.redis_url)
            .field("master_key", &self.master_key)
            .field("master_key_file", &self.master_key_file)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .finish_non_exhaustive()
    }
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The `--config` file does not exist.
    #[error("config file {0} not found")]
    MissingFile(PathBuf),
    /// A value has the wrong type or shape.
    #[error("{setting}: {source}")]
    Parse {
        /// The environment variable (or file key) to fix.
        setting: String,
        /// What figment found wrong, with the value's source.
        source: Box<figment::Error>,
    },
    /// A value parsed but makes no sense.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The environment variable (or file key) to fix.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        setting,
        reason: reason.into(),
    }
}

impl Settings {
    /// Loads defaults, the optional file, then the process environment.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, SettingsError> {
        let pairs: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| {
                key.starts_with("PORTICO_") || key == "DATABASE_URL" || key == "REDIS_URL"
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Self::load_with_env(config_file, &borrowed)
    }

    /// Loads with an explicit environment provider (tests pass their own).
    pub fn load_with_env(
        config_file: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(SettingsError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        for (key, value) in env {
            let key = match *key {
                "DATABASE_URL" => "database_url".to_owned(),
                "REDIS_URL" => "redis_url".to_owned(),
                other => match other.strip_prefix("PORTICO_") {
                    Some(rest) => rest.to_ascii_lowercase(),
                    None => continue,
                },
            };
            // `*_FILE` variants of secrets are resolved by the caller; any other unknown
            // PORTICO_ variable is ignored rather than fatal, so the environment of an
            // older or newer version does not stop this one.
            if !KNOWN_KEYS.contains(&key.as_str()) {
                continue;
            }
            let value = if STRING_KEYS.contains(&key.as_str()) {
                figment::value::Value::from(value.to_string())
            } else {
                value_of(value)
            };
            figment = figment.merge(Serialized::global(&key, value));
        }
        let settings: Settings = figment.extract().map_err(|error| SettingsError::Parse {
            setting: env_name(error.path.last().map(String::as_str).unwrap_or("")),
            source: Box::new(error),
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let domain = self.base_domain.trim_end_matches('.');
        let domain_ok = !domain.is_empty()
            && domain.len() <= 200
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
            });
        if !domain_ok {
            return Err(invalid(
                "PORTICO_BASE_DOMAIN",
                format!("`{}` is not a domain name", self.base_domain),
            ));
        }
        if self.public_scheme != "http" && self.public_scheme != "https" {
            return Err(invalid(
                "PORTICO_PUBLIC_SCHEME",
                "must be `http` or `https`",
            ));
        }
        if let Some(url) = &self.database_url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(invalid(
                    "DATABASE_URL",
                    "must be a postgres:// URL (leave it unset for the embedded SQLite default)",
                ));
            }
        }
        if let Some(url) = &self.redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid("REDIS_URL", "must be a redis:// or rediss:// URL"));
            }
        }
        if self.master_key.is_some() && self.master_key_file.is_some() {
            return Err(invalid(
                "PORTICO_MASTER_KEY_FILE",
                "set either PORTICO_MASTER_KEY or PORTICO_MASTER_KEY_FILE, not both",
            ));
        }
        if self.body_limit < 1024 {
            return Err(invalid("PORTICO_BODY_LIMIT", "must be at least 1024 bytes"));
        }
        if self.request_timeout == 0 || self.request_timeout > 3600 {
            return Err(invalid(
                "PORTICO_REQUEST_TIMEOUT",
                "must be 1 to 3600 seconds",
            ));
        }
        if self.db_max_connections == 0 || self.db_max_connections > 1000 {
            return Err(invalid("PORTICO_DB_MAX_CONNECTIONS", "must be 1 to 1000"));
        }
        if self.max_open_tenants == 0 {
            return Err(invalid("PORTICO_MAX_OPEN_TENANTS", "must be at least 1"));
        }
        if self.migrate_parallelism == 0 || self.migrate_parallelism > 64 {
            return Err(invalid("PORTICO_MIGRATE_PARALLELISM", "must be 1 to 64"));
        }
        if self.poll_ms < 50 || self.poll_ms > 60_000 {
            return Err(invalid(
                "PORTICO_POLL_MS",
                "must be 50 to 60000 milliseconds",
            ));
        }
        if self.session_idle_minutes == 0 || self.session_idle_minutes > 24 * 60 {
            return Err(invalid(
                "PORTICO_SESSION_IDLE_MINUTES",
                "must be 1 to 1440 minutes",
            ));
        }
        if self.session_absolute_hours == 0 || self.session_absolute_hours > 24 * 30 {
            return Err(invalid(
                "PORTICO_SESSION_ABSOLUTE_HOURS",
                "must be 1 to 720 hours",
            ));
        }
        if self.password_hash_concurrency == 0 || self.password_hash_concurrency > 256 {
            return Err(invalid(
                "PORTICO_PASSWORD_HASH_CONCURRENCY",
                "must be 1 to 256",
            ));
        }
        match self.sms_provider.as_str() {
            "log" => {}
            "twilio" => {
                if self.sms_account_sid.is_none() {
                    return Err(invalid(
                        "PORTICO_SMS_ACCOUNT_SID",
                        "required with PORTICO_SMS_PROVIDER=twilio",
                    ));
                }
                if self.sms_auth_token.is_none() {
                    return Err(invalid(
                        "PORTICO_SMS_AUTH_TOKEN",
                        "required with PORTICO_SMS_PROVIDER=twilio",
                    ));
                }
                if !(self.sms_base_url.starts_with("https://")
                    || self.sms_base_url.starts_with("http://"))
                {
                    return Err(invalid("PORTICO_SMS_BASE_URL", "must be an http(s) URL"));
                }
            }
            _ => return Err(invalid("PORTICO_SMS_PROVIDER", "must be `log` or `twilio`")),
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(invalid(
                "PORTICO_TLS_KEY_FILE",
                "PORTICO_TLS_CERT_FILE and PORTICO_TLS_KEY_FILE go together",
            ));
        }
        if !(self.acme_directory.starts_with("https://")
            || (self.outbound_allow_private && self.acme_directory.starts_with("http://")))
        {
            return Err(invalid("PORTICO_ACME_DIRECTORY", "must be an https:// URL"));
        }
        if self.domain_sweep_ms < 50 || self.domain_sweep_ms > 600_000 {
            return Err(invalid(
                "PORTICO_DOMAIN_SWEEP_MS",
                "must be 50 to 600000 milliseconds",
            ));
        }
        if self.domain_check_seconds == 0 || self.domain_recheck_seconds == 0 {
            return Err(invalid(
                "PORTICO_DOMAIN_CHECK_SECONDS",
                "domain check intervals must be at least one second",
            ));
        }
        if self.acme_retry_seconds == 0 {
            return Err(invalid("PORTICO_ACME_RETRY_SECONDS", "must be at least 1"));
        }
        if let Err(reason) = crate::webhooks::RetrySchedule::parse(&self.webhook_retry_schedule) {
            return Err(invalid("PORTICO_WEBHOOK_RETRY_SCHEDULE", reason));
        }
        if self.webhook_timeout_seconds == 0 || self.webhook_timeout_seconds > 60 {
            return Err(invalid(
                "PORTICO_WEBHOOK_TIMEOUT_SECONDS",
                "must be 1 to 60 seconds",
            ));
        }
        if self.login_address_limit < 1 {
            return Err(invalid("PORTICO_LOGIN_ADDRESS_LIMIT", "must be at least 1"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log).is_err() {
            return Err(invalid(
                "PORTICO_LOG",
                format!("`{}` is not a valid log filter", self.log),
            ));
        }
        Ok(())
    }

    /// Whether the embedded SQLite backend is selected.
    pub fn is_embedded(&self) -> bool {
        self.database_url.is_none()
    }

    /// The public address of a host on this platform, for printed and mailed links.
    pub fn public_url(&self, host: &str) -> String {
        let port = match (self.public_port, self.public_scheme.as_str()) {
            (Some(port), _) => Some(port),
            (None, "http") => Some(self.listen.port()),
            (None, _) => None,
        };
        match port {
            Some(80) if self.public_scheme == "http" => format!("http://{host}"),
            Some(443) if self.public_scheme == "https" => format!("https://{host}"),
            Some(port) => format!("{}://{host}:{port}", self.public_scheme),
            None => format!("{}://{host}", self.public_scheme),
        }
    }

    /// The name custom domains point at by CNAME.
    pub fn edge_host(&self) -> String {
        self.edge_host
            .clone()
            .unwrap_or_else(|| format!("edge.{}", self.base_domain))
    }

    /// Whether certificates are ordered for verified custom domains.
    pub fn acme_enabled(&self) -> bool {
        self.acme.unwrap_or(self.tls_listen.is_some())
    }

    /// The public address of a tenant's portal.
    pub fn tenant_url(&self, slug: &str) -> String {
        self.public_url(&format!("{slug}.{}", self.base_domain))
    }

    /// The public address of the operator's console.
    pub fn operator_url(&self) -> String {
        self.public_url(&format!("admin.{}", self.base_domain))
    }

    /// The retry schedule of webhook deliveries (validated at load).
    pub fn webhook_retry_schedule(&self) -> crate::webhooks::RetrySchedule {
        crate::webhooks::RetrySchedule::parse(&self.webhook_retry_schedule).unwrap_or_else(|_| {
            crate::webhooks::RetrySchedule::parse(crate::webhooks::RetrySchedule::DEFAULT)
                .unwrap_or_else(|_| unreachable!("the default schedule parses"))
        })
    }

    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout)
    }
}

/// The environment variable of a settings key.
fn env_name(key: &str) -> String {
    match key {
        "database_url" => "DATABASE_URL".to_owned(),
        "redis_url" => "REDIS_URL".to_owned(),
        "" => "settings".to_owned(),
        other => format!("PORTICO_{}", other.to_ascii_uppercase()),
    }
}

/// Settings read from the environment by name.
const KNOWN_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "base_domain",
    "public_scheme",
    "public_port",
    "database_url",
    "redis_url",
    "master_key",
    "master_key_file",
    "metrics_listen",
    "log_format",
    "log",
    "body_limit",
    "request_timeout",
    "db_max_connections",
    "max_open_tenants",
    "migrate_parallelism",
    "migrate_on_start",
    "demo_tenant",
    "mail_sink",
    "smtp_url",
    "smtp_listen",
    "smtp_lmtp",
    "mail_max_bytes",
    "mail_sender_rate",
    "dkim_selector",
    "dkim_key_file",
    "imap_poll_seconds",
    "outbound_allow_private",
    "plugins_dir",
    "poll_ms",
    "shutdown_grace",
    "session_idle_minutes",
    "session_absolute_hours",
    "password_hash_concurrency",
    "login_address_limit",
    "sms_provider",
    "sms_base_url",
    "sms_account_sid",
    "sms_auth_token",
    "sms_from",
    "tls_listen",
    "tls_cert_file",
    "tls_key_file",
    "edge_host",
    "dns_server",
    "acme_directory",
    "acme_contact",
    "acme_ca_file",
    "storage_url",
    "storage_endpoint",
    "storage_region",
    "storage_access_key_id",
    "storage_secret_access_key",
    "storage_allow_http",
    "acme",
    "acme_retry_seconds",
    "domain_check_seconds",
    "domain_recheck_seconds",
    "domain_grace_seconds",
    "domain_sweep_ms",
    "webhook_retry_schedule",
    "webhook_timeout_seconds",
];

/// Settings that stay text even when they look like a number.
const STRING_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "plugins_dir",
    "base_domain",
    "public_scheme",
    "database_url",
    "redis_url",
    "master_key",
    "master_key_file",
    "metrics_listen",
    "log_format",
    "log",
    "mail_sink",
    "smtp_url",
    "smtp_listen",
    "dkim_selector",
    "dkim_key_file",
    "sms_provider",
    "sms_base_url",
    "sms_account_sid",
    "sms_auth_token",
    "sms_from",
    "tls_listen",
    "tls_cert_file",
    "tls_key_file",
    "edge_host",
    "dns_server",
    "acme_directory",
    "acme_contact",
    "acme_ca_file",
    "storage_url",
    "storage_endpoint",
    "storage_region",
    "storage_access_key_id",
    "storage_secret_access_key",
    "webhook_retry_schedule",
];

/// Environment values are text; numbers and booleans are typed so figment can
/// extract them into non-string fields.
fn value_of(raw: &str) -> figment::value::Value {
    use figment::value::Value;
    if let Ok(number) = raw.parse::<i64>() {
        return Value::from(number);
    }
    match raw {
        "true" => Value::from(true),
        "false" => Value::from(false),
        _ => Value::from(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_embedded() {
        let settings = Settings::load_with_env(None, &[]).expect("defaults load");
        assert!(settings.is_embedded());
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.tenant_url("demo"), "http://demo.localhost:8080");
        assert_eq!(settings.operator_url(), "http://admin.localhost:8080");
    }

    #[test]
    fn environment_wins_over_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("portico.toml");
        std::fs::write(
            &file,
            "base_domain = \"file.example\"\nlisten = \"127.0.0.1:9000\"\n",
        )
        .expect("write");
        let settings = Settings::load_with_env(
            Some(&file),
            &[
                ("PORTICO_BASE_DOMAIN", "env.example"),
                ("PORTICO_REQUEST_TIMEOUT", "5"),
            ],
        )
        .expect("loads");
        assert_eq!(settings.base_domain, "env.example");
        assert_eq!(settings.listen.port(), 9000);
        assert_eq!(settings.request_timeout, 5);
    }

    #[test]
    fn every_setting_can_come_from_the_environment() {
        let fields = serde_json::to_value(Settings::default()).expect("serializes");
        for key in fields.as_object().expect("object").keys() {
            assert!(
                KNOWN_KEYS.contains(&key.as_str()),
                "{key} is not read from the environment"
            );
        }
        let settings =
            Settings::load_with_env(None, &[("PORTICO_SESSION_IDLE_MINUTES", "7")]).expect("loads");
        assert_eq!(settings.session_idle_minutes, 7);
    }

    #[test]
    fn the_shipped_example_file_loads() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/portico.example.toml");
        let settings = Settings::load_with_env(Some(&file), &[]).expect("example loads");
        assert_eq!(settings.base_domain, "desk.example.com");
        assert_eq!(settings.public_scheme, "https");
        assert_eq!(settings.tenant_url("acme"), "https://acme.desk.example.com");
        assert!(!settings.demo_tenant);
    }

    #[test]
    fn errors_name_the_setting() {
        let error = Settings::load_with_env(None, &[("DATABASE_URL", "mysql://x")])
            .expect_err("refused")
            .to_string();
        assert!(error.contains("DATABASE_URL"), "{error}");
        let error = Settings::load_with_env(None, &[("PORTICO_LISTEN", "not-an-address")])
            .expect_err("refused")
            .to_string();
        assert!(error.starts_with("PORTICO_LISTEN: "), "{error}");
        let error = Settings::load_with_env(None, &[("PORTICO_BASE_DOMAIN", "bad domain")])
            .expect_err("refused")
            .to_string();
        assert!(error.contains("PORTICO_BASE_DOMAIN"), "{error}");
        let missing = Settings::load_with_env(Some(Path::new("/nonexistent/portico.toml")), &[]);
        assert!(matches!(missing, Err(SettingsError::MissingFile(_))));
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let settings = Settings::load_with_env(
            None,
            &[
                ("DATABASE_URL", "postgres://portico:hunter2@db/portico"),
                ("PORTICO_MASTER_KEY", "c2VjcmV0LWtleS1tYXRlcmlhbA"),
            ],
        )
        .expect("loads");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }
}
