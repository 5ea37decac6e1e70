//! The e-mail channel. Outbound: every message is composed once (Fluent strings in a
//! minijinja layout, text and HTML parts, threading headers, DKIM), queued durably in
//! the tenant's `mail_outbound` with a send job (retried with back-off by the job
//! runner) and sent over SMTP, or to a development sink (`.eml` files, the log).
//! Inbound ([`intake`]): three transports into one durable queue, processed into
//! tickets. [`keys`] signs what threads a reply back to its ticket.

pub mod compose;
pub mod imap;
pub mod intake;
pub mod keys;
pub mod notify;
pub mod smtp;

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use portico_tenants::TenantDb;
use portico_tenants::jobs::{JobError, JobHandler, JobScope};

pub use keys::ThreadKeys;

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message could not be built (bad address, bad header).
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The transport refused or failed; worth retrying.
    #[error("transport failed: {0}")]
    Transport(String),
}

/// Something that delivers a finished message.
pub trait MailTransport: Send + Sync + 'static {
    /// Delivers one message, as raw bytes, from envelope sender `from` to `to`.
    fn send_raw<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
        raw: &'a [u8],
    ) -> BoxFuture<'a, Result<(), MailError>>;
}

fn envelope(from: &str, to: &str) -> Result<Envelope, MailError> {
    let from = from
        .parse()
        .map_err(|e| MailError::Invalid(format!("sender {from}: {e}")))?;
    let to = to
        .parse()
        .map_err(|e| MailError::Invalid(format!("recipient {to}: {e}")))?;
    Envelope::new(Some(from), vec![to]).map_err(|e| MailError::Invalid(e.to_string()))
}

/// Writes each message to `<dir>/<uuid>.eml`, whole: it is written beside under a
/// temporary name and renamed, so a reader never finds half a message.
#[derive(Debug)]
pub struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    /// A sink writing into `dir` (created if missing).
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(FileSink { dir })
    }

    /// Where messages are written.
    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }
}

impl MailTransport for FileSink {
    fn send_raw<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
        raw: &'a [u8],
    ) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            // The same checks as a real transport's.
            envelope(from, to)?;
            let id = uuid::Uuid::new_v4();
            let file = self.dir.join(format!("{id}.eml"));
            let partial = self.dir.join(format!(".{id}.eml.partial"));
            let fail = |e: std::io::Error| MailError::Transport(e.to_string());
            tokio::fs::write(&partial, raw).await.map_err(fail)?;
            tokio::fs::rename(&partial, &file).await.map_err(fail)?;
            tracing::info!(file = %file.display(), "mail written to the development sink");
            Ok(())
        })
    }
}

/// Logs the recipient only (never the body: it may hold a link that signs in).
#[derive(Debug, Default)]
pub struct LogSink;

impl MailTransport for LogSink {
    fn send_raw<'a>(
        &'a self,
        _from: &'a str,
        to: &'a str,
        raw: &'a [u8],
    ) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            tracing::info!(to = %to, bytes = raw.len(), "mail (log sink, not delivered)");
            Ok(())
        })
    }
}

/// Delivers over SMTP (lettre; STARTTLS with `smtp://…?tls=required`, TLS with
/// `smtps://`), with a connection pool.
pub struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink").finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// A transport for `url` (`smtp://[user:pass@]host[:port][?tls=required]` or `smtps://…`).
    pub fn from_url(url: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Invalid(format!("smtp url: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(SmtpSink { transport })
    }
}

impl MailTransport for SmtpSink {
    fn send_raw<'a>(
        &'a self,
        from: &'a str,
        to: &'a str,
        raw: &'a [u8],
    ) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let envelope = envelope(from, to)?;
            match self.transport.send_raw(&envelope, raw).await {
                Ok(_) => Ok(()),
                // A permanent refusal (5xx) will not get better by retrying.
                Err(e) if e.is_permanent() => Err(MailError::Invalid(e.to_string())),
                Err(e) => Err(MailError::Transport(e.to_string())),
            }
        })
    }
}

/// A message to send at once (plugins' mail), before rendering into MIME.
#[derive(Debug, Clone)]
pub struct OutboundEmail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body (always sent).
    pub text: String,
    /// HTML body (sent as an alternative when present).
    pub html: Option<String>,
    /// Set for machine-generated mail (`Auto-Submitted: auto-generated`), so
    /// well-behaved auto-responders do not answer it.
    pub automatic: bool,
    /// The recipient's language (for the layout's own words).
    pub locale: crate::i18n::Locale,
}

/// Builds, queues and sends messages.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<dyn MailTransport>,
    from: Mailbox,
    keys: ThreadKeys,
    dkim: Option<Arc<lettre::message::dkim::DkimConfig>>,
    templates: Arc<crate::templates::Templates>,
    hosts: Arc<portico_tenants::routing::HostIndex>,
    master_key: Option<crate::secrets::MasterKey>,
    /// SMTP transports of tenants with their own server, by (tenant, sealed URL).
    tenant_transports: Arc<std::sync::Mutex<TenantTransports>>,
}

/// Tenants' own SMTP transports by (tenant id, sealed URL).
type TenantTransports = std::collections::HashMap<(i64, String), Arc<SmtpSink>>;

/// The sealing context of a tenant's SMTP URL.
pub const SMTP_URL_CONTEXT: &str = "mail-smtp-url";

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("dkim", &self.dkim.is_some())
            .finish_non_exhaustive()
    }
}

/// The `Auto-Submitted` header (RFC 3834).
#[derive(Clone)]
pub(crate) struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// Loads the DKIM signing key: `selector` and a PEM file holding an RSA (PKCS#1)
/// or Ed25519 private key, for mail from `domain`.
pub fn load_dkim(
    selector: &str,
    domain: &str,
    key_file: &std::path::Path,
) -> anyhow::Result<lettre::message::dkim::DkimConfig> {
    use anyhow::Context;
    use lettre::message::dkim::{DkimConfig, DkimSigningAlgorithm, DkimSigningKey};
    let pem = std::fs::read_to_string(key_file)
        .with_context(|| format!("PORTICO_DKIM_KEY_FILE: cannot read {}", key_file.display()))?;
    let rsa = pem.contains("RSA PRIVATE KEY");
    let key = if !rsa {
        // lettre takes the raw 32-byte seed, base64, for Ed25519.
        let der = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, der)
            .context("PORTICO_DKIM_KEY_FILE: not PEM")?;
        let seed = der
            .get(der.len().saturating_sub(32)..)
            .context("PORTICO_DKIM_KEY_FILE: not an Ed25519 key")?;
        DkimSigningKey::new(
            &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, seed),
            DkimSigningAlgorithm::Ed25519,
        )
    } else {
        DkimSigningKey::new(&pem, DkimSigningAlgorithm::Rsa)
    }
    .map_err(|e| anyhow::anyhow!("PORTICO_DKIM_KEY_FILE: {e}"))?;
    Ok(DkimConfig::default_config(
        selector.to_owned(),
        domain.to_owned(),
        key,
    ))
}

impl Mailer {
    /// A mailer sending as `from` through `transport`, threading with `keys`, signing
    /// with `dkim` when given.
    pub fn new(
        transport: Arc<dyn MailTransport>,
        from: &str,
        keys: ThreadKeys,
        dkim: Option<lettre::message::dkim::DkimConfig>,
        hosts: Arc<portico_tenants::routing::HostIndex>,
    ) -> Result<Self, MailError> {
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| {
            MailError::Invalid(format!("sender {from}: {e}"))
        })?;
        let templates = crate::templates::Templates::load()
            .map_err(|e| MailError::Invalid(format!("mail templates: {e}")))?;
        Ok(Mailer {
            transport,
            from,
            keys,
            dkim: dkim.map(Arc::new),
            templates: Arc::new(templates),
            hosts,
            master_key: None,
            tenant_transports: Arc::default(),
        })
    }

    /// Lets the mailer unseal tenants' own SMTP URLs.
    pub fn with_master_key(mut self, key: crate::secrets::MasterKey) -> Self {
        self.master_key = Some(key);
        self
    }

    /// The tenant's own SMTP transport and sender, when it set one.
    async fn tenant_transport(
        &self,
        tenant: &TenantDb,
    ) -> Result<Option<(Arc<SmtpSink>, String)>, MailError> {
        let Some(smtp) = portico_tenants::mail::tenant_smtp(tenant)
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?
        else {
            return Ok(None);
        };
        let key = (tenant.id().0, smtp.sealed_url.clone());
        if let Some(sink) = self
            .tenant_transports
            .lock()
            .ok()
            .and_then(|t| t.get(&key).cloned())
        {
            return Ok(Some((sink, smtp.from_address)));
        }
        let master_key = self.master_key.as_ref().ok_or_else(|| {
            MailError::Transport("no master key to open the tenant's SMTP URL".into())
        })?;
        let url = master_key
            .open(SMTP_URL_CONTEXT, &smtp.sealed_url)
            .map_err(|_| MailError::Invalid("the tenant's SMTP URL cannot be unsealed".into()))?;
        let url = String::from_utf8(url).map_err(|_| MailError::Invalid("SMTP URL".into()))?;
        let sink = Arc::new(SmtpSink::from_url(&url)?);
        if let Ok(mut transports) = self.tenant_transports.lock() {
            transports.retain(|(t, _), _| *t != key.0);
            transports.insert(key, sink.clone());
        }
        Ok(Some((sink, smtp.from_address)))
    }

    /// The thread keys.
    pub fn keys(&self) -> &ThreadKeys {
        &self.keys
    }

    /// The tenant's branding (name and colour).
    pub async fn brand(&self, tenant: &TenantDb) -> compose::Brand {
        notify::brand(&self.hosts, tenant).await
    }

    /// The platform's sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub(crate) fn sign(&self, message: &mut Message) {
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
    }

    /// Renders and sends one message at once (not queued: plugins' mail, whose
    /// hook the outbox retries).
    pub async fn send(&self, email: &OutboundEmail) -> Result<(), MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                MailError::Invalid(format!("recipient: {e}"))
            })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(email.subject.clone());
        if email.automatic {
            builder = builder.header(AutoSubmitted);
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone());
        let mut message = match &email.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
            ),
            None => builder.singlepart(text),
        }
        .map_err(|e| MailError::Invalid(e.to_string()))?;
        self.sign(&mut message);
        self.transport
            .send_raw(
                self.from.email.as_ref(),
                to.email.as_ref(),
                &message.formatted(),
            )
            .await
    }

    /// Composes `letter` and queues it in `tenant`'s outbound queue under `dedup`
    /// (a second call with the same key queues nothing).
    pub async fn queue(
        &self,
        tenant: &TenantDb,
        dedup: String,
        letter: compose::Letter,
    ) -> Result<(), MailError> {
        let sender = portico_tenants::mail::tenant_smtp(tenant)
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?
            .map(|smtp| smtp.from_address);
        let composed = self.compose_from(tenant.slug(), &letter, sender.as_deref())?;
        portico_tenants::mail::queue_outbound(
            tenant,
            &[portico_tenants::mail::NewOutbound {
                dedup_key: dedup,
                ticket_number: letter.thread.as_ref().map(|t| t.number),
                kind: letter.kind.to_owned(),
                message_id: composed.message_id,
                recipient: letter.to.to_ascii_lowercase(),
                subject: composed.subject,
                raw: composed.raw,
            }],
        )
        .await
        .map_err(|e| MailError::Transport(e.to_string()))?;
        Ok(())
    }

    /// Sends queued message `id` of `tenant`, recording the attempt.
    async fn send_queued(&self, tenant: &TenantDb, id: i64) -> Result<(), JobError> {
        let row = match portico_tenants::mail::outbound(tenant, id).await {
            Ok(row) => row,
            Err(portico_tenants::StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(JobError::Retry(e.to_string())),
        };
        if row.state != "queued" {
            return Ok(());
        }
        let result = match self.tenant_transport(tenant).await {
            // Through the tenant's own server, from its own address.
            Ok(Some((sink, from))) => {
                sink.send_raw(&from, &row.recipient, row.raw.as_bytes())
                    .await
            }
            // Bounces come back to the tenant's inbound address, where intake knows them.
            Ok(None) => {
                let bounce_to = self.keys.inbound_address(tenant.slug());
                self.transport
                    .send_raw(&bounce_to, &row.recipient, row.raw.as_bytes())
                    .await
            }
            Err(error) => Err(error),
        };
        let store = |e: portico_tenants::StoreError| JobError::Retry(e.to_string());
        match result {
            Ok(()) => portico_tenants::mail::record_attempt(tenant, id, None, false)
                .await
                .map_err(store),
            Err(MailError::Invalid(reason)) => {
                portico_tenants::mail::record_attempt(tenant, id, Some(&reason), true)
                    .await
                    .map_err(store)?;
                Err(JobError::Permanent(reason))
            }
            Err(MailError::Transport(reason)) => {
                let last = row.attempts + 1 >= portico_tenants::mail::SEND_ATTEMPTS;
                portico_tenants::mail::record_attempt(tenant, id, Some(&reason), last)
                    .await
                    .map_err(store)?;
                Err(JobError::Retry(reason))
            }
        }
    }
}

/// The job that sends one queued message ([`portico_tenants::mail::SEND_JOB`]).
pub struct SendMail {
    /// The mailer.
    pub mailer: Mailer,
}

impl JobHandler for SendMail {
    fn kind(&self) -> &'static str {
        portico_tenants::mail::SEND_JOB
    }

    fn run<'a>(
        &'a self,
        scope: JobScope<'a>,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let JobScope::Tenant(tenant) = scope else {
                return Err(JobError::Permanent("a tenant job".into()));
            };
            let Some(id) = payload["id"].as_i64() else {
                return Err(JobError::Permanent("job without id".into()));
            };
            self.mailer.send_queued(tenant, id).await
        })
    }
}
