//! The outbound-mail interface. Until the e-mail channel brings SMTP, a development
//! sink writes every message as an `.eml` file (or only logs it), so invitations and
//! approvals can be sent and tested end to end.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

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
    /// Delivers one message.
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), MailError>>;
}

/// Writes each message to `<dir>/<uuid>.eml`.
#[derive(Debug)]
pub struct FileSink {
    transport: AsyncFileTransport<Tokio1Executor>,
    dir: PathBuf,
}

impl FileSink {
    /// A sink writing into `dir` (created if missing).
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(FileSink {
            transport: AsyncFileTransport::new(&dir),
            dir,
        })
    }

    /// Where messages are written.
    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }
}

impl MailTransport for FileSink {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let id = self
                .transport
                .send(message.clone())
                .await
                .map_err(|e| MailError::Transport(e.to_string()))?;
            tracing::info!(file = %self.dir.join(format!("{id}.eml")).display(), "mail written to the development sink");
            Ok(())
        })
    }
}

/// Logs recipients and subject only (never the body: it may hold a link that signs in).
#[derive(Debug, Default)]
pub struct LogSink;

impl MailTransport for LogSink {
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let to: Vec<String> = message
                .envelope()
                .to()
                .iter()
                .map(ToString::to_string)
                .collect();
            let subject = message
                .headers()
                .get_raw("Subject")
                .unwrap_or_default()
                .to_owned();
            tracing::info!(to = ?to, subject = %subject, "mail (log sink, not delivered)");
            Ok(())
        })
    }
}

/// A message to send, before rendering into MIME.
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
}

/// Builds and sends messages from the platform's sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<dyn MailTransport>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// The `Auto-Submitted` header (RFC 3834).
#[derive(Clone)]
struct AutoSubmitted;

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

impl Mailer {
    /// A mailer sending as `from` through `transport`.
    pub fn new(transport: Arc<dyn MailTransport>, from: &str) -> Result<Self, MailError> {
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| {
            MailError::Invalid(format!("sender {from}: {e}"))
        })?;
        Ok(Mailer { transport, from })
    }

    /// Renders and sends one message.
    pub async fn send(&self, email: &OutboundEmail) -> Result<(), MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                MailError::Invalid(format!("recipient: {e}"))
            })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone());
        if email.automatic {
            builder = builder.header(AutoSubmitted);
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone());
        let message = match &email.html {
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
        self.transport.send(&message).await
    }
}
