//! Composing a message: the translated text in the tenant-branded layouts
//! (`mail_layout.txt`, `mail_layout.html`), and for ticket mail the threading
//! headers (a signed Message-ID, In-Reply-To and References chaining the ticket's
//! thread), the subject token, the reply address, the "reply above this line"
//! marker, the hidden marker and the close link.

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::Serialize;

use super::{AutoSubmitted, MailError, Mailer};
use crate::i18n::Locale;

/// The tenant's branding in its mail.
#[derive(Debug, Clone, Serialize)]
pub struct Brand {
    /// The service desk's name.
    pub name: String,
    /// Primary colour, `#rrggbb`.
    pub color: String,
}

/// What ties a message to its ticket.
#[derive(Debug, Clone)]
pub struct TicketThread {
    /// The ticket.
    pub number: i64,
    /// Unique per message of the ticket (the outbox event id, say): part of the
    /// Message-ID.
    pub nonce: String,
    /// Earlier Message-IDs of the thread, oldest first.
    pub references: Vec<String>,
    /// The signed one-click close link (for the requester).
    pub close_link: Option<String>,
}

/// A message to compose.
#[derive(Debug, Clone)]
pub struct Letter {
    /// Recipient address.
    pub to: String,
    /// What it is, for the mail log (`ticket_created`, `reply`, `invitation`, …).
    pub kind: &'static str,
    /// The subject, without the ticket token.
    pub subject: String,
    /// The text, already translated.
    pub text: String,
    /// Machine-generated (`Auto-Submitted: auto-generated`).
    pub automatic: bool,
    /// The recipient's language.
    pub locale: Locale,
    /// The tenant's branding.
    pub brand: Brand,
    /// The ticket it is about.
    pub thread: Option<TicketThread>,
}

/// A composed message.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// The subject as sent.
    pub subject: String,
    /// The whole message.
    pub raw: String,
}

/// `X-Auto-Response-Suppress: All`: asks Exchange not to answer automatic mail
/// with its own automatic replies.
#[derive(Clone)]
struct AutoResponseSuppress;

impl lettre::message::header::Header for AutoResponseSuppress {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoResponseSuppress)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".to_owned())
    }
}

fn angle(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

impl Mailer {
    /// Composes `letter` for tenant `slug`.
    pub fn compose(&self, slug: &str, letter: &Letter) -> Result<Composed, MailError> {
        self.compose_from(slug, letter, None)
    }

    /// Composes `letter` for tenant `slug`, from `sender` when the tenant sends
    /// through its own server (Reply-To still brings answers to the platform).
    pub fn compose_from(
        &self,
        slug: &str,
        letter: &Letter,
        sender: Option<&str>,
    ) -> Result<Composed, MailError> {
        let keys = &self.keys;
        let to: Mailbox = letter
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| {
                MailError::Invalid(format!("recipient: {e}"))
            })?;
        let message_id = match &letter.thread {
            Some(thread) => keys.message_id(slug, thread.number, &thread.nonce),
            None => format!("{}@{}", uuid::Uuid::new_v4().simple(), keys.base_domain()),
        };
        let subject = match &letter.thread {
            Some(thread) => format!(
                "{} {}",
                keys.subject_token(slug, thread.number),
                letter.subject
            ),
            None => letter.subject.clone(),
        };
        let from_address = match (sender, &letter.thread) {
            (Some(sender), _) => sender.to_owned(),
            (None, Some(_)) => keys.inbound_address(slug),
            (None, None) => self.from.email.to_string(),
        };
        let from = Mailbox::new(
            Some(letter.brand.name.clone()),
            from_address
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    MailError::Invalid(format!("sender: {e}"))
                })?,
        );
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(subject.clone())
            .message_id(Some(angle(&message_id)));
        if let Some(thread) = &letter.thread {
            let reply_to: Mailbox = keys.reply_address(slug, thread.number).parse().map_err(
                |e: lettre::address::AddressError| MailError::Invalid(format!("reply-to: {e}")),
            )?;
            builder = builder.reply_to(reply_to);
            let root = keys.message_id(slug, thread.number, "0");
            let mut chain: Vec<String> = vec![root.clone()];
            for id in &thread.references {
                let id = id
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned();
                if !id.is_empty() && id != message_id && !chain.contains(&id) {
                    chain.push(id);
                }
            }
            // RFC 5322 lets References be shortened: keep the root and the newest.
            if chain.len() > 20 {
                let newest = chain.split_off(chain.len() - 19);
                chain.truncate(1);
                chain.extend(newest);
            }
            if message_id != root {
                let last = chain.last().cloned().unwrap_or(root);
                builder = builder.in_reply_to(angle(&last));
                builder = builder.references(
                    chain
                        .iter()
                        .map(|id| angle(id))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
        if letter.automatic {
            builder = builder.header(AutoSubmitted).header(AutoResponseSuppress);
        }
        let locale = letter.locale;
        let marker = letter.thread.as_ref().map(|t| keys.marker(slug, t.number));
        let reply_above = letter
            .thread
            .as_ref()
            .map(|_| format!("##- {} -##", locale.text("mail-reply-above")));
        let close = letter
            .thread
            .as_ref()
            .and_then(|t| t.close_link.clone())
            .map(|link| (locale.text("mail-close-label"), link));
        let footer = locale.text_with("mail-footer", &[("tenant", letter.brand.name.as_str())]);
        let context = minijinja::context! {
            lang => locale.tag(),
            brand => &letter.brand,
            subject => &subject,
            reply_above => reply_above,
            paragraphs => letter.text.split("\n\n").map(|p| p.lines().collect::<Vec<_>>()).collect::<Vec<_>>(),
            text => &letter.text,
            close_label => close.as_ref().map(|c| c.0.clone()),
            close_link => close.as_ref().map(|c| c.1.clone()),
            footer => footer,
            marker => marker,
        };
        let text = self
            .templates
            .render("mail_layout.txt", &context)
            .map_err(|e| MailError::Invalid(format!("mail template: {e}")))?;
        let html = self
            .templates
            .render("mail_layout.html", &context)
            .map_err(|e| MailError::Invalid(format!("mail template: {e}")))?;
        let mut message = builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| MailError::Invalid(e.to_string()))?;
        self.sign(&mut message);
        let raw = String::from_utf8(message.formatted())
            .map_err(|_| MailError::Invalid("message is not 7-bit clean".into()))?;
        Ok(Composed {
            message_id,
            subject,
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::mail::{LogSink, ThreadKeys};

    fn mailer(dkim: Option<lettre::message::dkim::DkimConfig>) -> Mailer {
        Mailer::new(
            Arc::new(LogSink),
            "Portico <noreply@desk.example>",
            ThreadKeys::new([3; 32], "desk.example"),
            dkim,
            Arc::new(portico_tenants::routing::HostIndex::new("desk.example")),
        )
        .expect("mailer")
    }

    fn letter() -> Letter {
        Letter {
            to: "alice@one.example".into(),
            kind: "reply",
            subject: "Printer <jammed>".into(),
            text: "First line\nsecond line\n\n<b>not html</b>".into(),
            automatic: true,
            locale: Locale::from_tag("it").unwrap_or_default(),
            brand: Brand {
                name: "Acme IT".into(),
                color: "#123456".into(),
            },
            thread: Some(TicketThread {
                number: 42,
                nonce: "7".into(),
                references: vec!["<earlier@one.example>".into()],
                close_link: Some("https://acme.desk.example/mail/close/t".into()),
            }),
        }
    }

    #[test]
    fn ticket_mail_carries_every_thread_key_and_parses_back() {
        let mailer = mailer(None);
        let composed = mailer.compose("acme", &letter()).expect("composed");
        let parsed = portico_mailtext::parse(composed.raw.as_bytes()).expect("parses");
        let keys = mailer.keys();
        assert_eq!(
            parsed.message_id.as_deref(),
            Some(composed.message_id.as_str())
        );
        assert_eq!(
            keys.parse_message_id(&composed.message_id),
            Some(("acme".into(), 42))
        );
        let root = keys.message_id("acme", 42, "0");
        assert_eq!(parsed.references.first(), Some(&root));
        assert!(
            parsed
                .references
                .contains(&"earlier@one.example".to_owned())
        );
        assert_eq!(parsed.in_reply_to, vec!["earlier@one.example".to_owned()]);
        let token = parsed.subject_token.clone().expect("token");
        assert!(keys.check_tag("acme", 42, &token.tag));
        assert!(
            parsed
                .markers
                .iter()
                .any(|m| m.number == 42 && keys.check_tag("acme", 42, &m.tag))
        );
        let reply_to = parsed.reply_to.clone().expect("reply-to").email;
        assert_eq!(
            keys.parse_inbound_address(&reply_to),
            Some(("acme".into(), Some(42)))
        );
        assert!(composed.raw.contains("Auto-Submitted: auto-generated"));
        // Italian layout words, the close link, and the body escaped in the HTML part.
        assert!(
            parsed
                .text
                .contains("##- Scrivi la tua risposta sopra questa riga -##")
        );
        assert!(parsed.text.contains("/mail/close/t"));
        let html = parsed.html.clone().expect("html part");
        assert!(html.contains("&lt;b&gt;not html"), "{html}");
        assert!(!html.contains("<b>not html"));
        // The reply-above marker cuts our own text from a reply quoting it.
        let reply = format!(
            "Thanks!\n\n{}",
            parsed
                .text
                .lines()
                .map(|l| format!("> {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert_eq!(portico_mailtext::extract_reply(&reply), "Thanks!");
    }

    #[test]
    fn mail_is_dkim_signed_when_a_key_is_configured() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("dkim.pem");
        std::fs::write(&file, key.serialize_pem()).expect("written");
        let dkim = crate::mail::load_dkim("portico", "desk.example", &file).expect("loads");
        let composed = mailer(Some(dkim))
            .compose("acme", &letter())
            .expect("composed");
        let signature = composed
            .raw
            .lines()
            .find(|l| l.starts_with("DKIM-Signature:"))
            .expect("signed");
        assert!(signature.contains("d=desk.example"), "{signature}");
        assert!(signature.contains("s=portico"), "{signature}");
        assert!(signature.contains("a=ed25519-sha256"), "{signature}");
        let unsigned = mailer(None).compose("acme", &letter()).expect("composed");
        assert!(!unsigned.raw.contains("DKIM-Signature"));
    }
}
