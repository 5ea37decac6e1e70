//! What Portico makes of a raw e-mail, without I/O: decoded headers, thread keys, the new reply
//! text, auto-reply and bounce classification, and attachments.
//!
//! Everything here is pure: no files, no network, no clock. Every function accepts arbitrary bytes
//! or text, never panics and runs in time linear in its input (only the `regex` crate's
//! linear-time engine is used), so the crate can be fuzzed and tested exhaustively.

mod classify;
mod html;
mod message;
mod reply;
mod token;

pub use classify::classify;
pub use html::{html_reply_to_text, html_to_text};
pub use message::{envelope, parse};
pub use reply::{extract_reply, split_signature, strip_quotations};
pub use token::{close_command, markers, subject_token};

/// What Portico makes of a raw message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Parsed {
    /// The `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The ids named in `In-Reply-To`, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// The ids named in `References`, without angle brackets, oldest first.
    pub references: Vec<String>,
    /// The decoded subject, empty when absent.
    pub subject: String,
    /// The Portico ticket token found in the subject (`[#1042-k7f2]`).
    pub subject_token: Option<SubjectToken>,
    /// Hidden `portico-ref:` markers found in the HTML and text bodies, in order, deduplicated.
    pub markers: Vec<SubjectToken>,
    /// The first `From` address.
    pub from: Option<Address>,
    /// The first `Reply-To` address.
    pub reply_to: Option<Address>,
    /// Every `To` address.
    pub to: Vec<Address>,
    /// Every `Cc` address.
    pub cc: Vec<Address>,
    /// The `Date` header as unix seconds, when present and valid.
    pub date: Option<i64>,
    /// The whole body as text: the text/plain part preferred, else the HTML part converted.
    pub text: String,
    /// The HTML body, when present.
    pub html: Option<String>,
    /// The new text only: the body without quoted history and signature.
    pub reply_text: String,
    /// What kind of automated mail this is, `None` for mail written by a person.
    pub auto: Option<AutoKind>,
    /// Files and inline images (not the text or HTML body parts).
    pub attachments: Vec<Attachment>,
}

/// One mailbox: an optional display name and a lowercased, trimmed address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Address {
    /// The display name, when one is given and not empty.
    pub name: Option<String>,
    /// The address itself, lowercased and trimmed.
    pub email: String,
}

/// A Portico ticket reference: `[#1042-k7f2]` in a subject, `portico-ref:1042-k7f2` in a body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubjectToken {
    /// The ticket number.
    pub number: i64,
    /// The ticket's secret tag: 4 to 12 lowercase ASCII letters or digits.
    pub tag: String,
}

/// A file or inline image carried by a message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attachment {
    /// The file name given by the sender, or a generated one (`attachment-1.bin`).
    pub filename: String,
    /// The lowercased MIME type, such as `image/png`.
    pub content_type: String,
    /// The decoded size in bytes.
    pub size: usize,
    /// Whether the part is meant to be shown inside the body (inline disposition or a
    /// `Content-ID` referenced by the HTML).
    pub inline: bool,
    /// The `Content-ID`, without angle brackets.
    pub content_id: Option<String>,
    /// The decoded contents.
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// The kinds of automated mail Portico must never answer or let reopen a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoKind {
    /// A vacation notice or other automatic answer (RFC 3834).
    AutoReply,
    /// A delivery failure or delay notice (RFC 3464 or a non-standard bounce).
    Bounce,
    /// A read or disposition receipt (RFC 8098).
    Receipt,
    /// Mailing-list or bulk mail.
    List,
    /// An abuse or spam complaint (ARF, RFC 5965).
    Feedback,
}

/// Why a raw message could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The input holds nothing but whitespace.
    #[error("the message is empty")]
    Empty,
    /// The input does not look like an RFC 5322 message.
    #[error("not an e-mail message: {0}")]
    NotMail(String),
}
