//! Inbound mail: three transports (IMAP, the built-in SMTP/LMTP receiver, a
//! provider's webhook), one durable queue (`mail_inbound`), one pipeline.
//!
//! [`Intake::accept`] stores the raw message (in the blob store, like attachments)
//! and queues it with its dedup key before the transport acknowledges it. The
//! `mail.process` job then decides, with [`portico_mailtext`] (the same code as
//! `portico mail inspect`):
//!
//! 1. automated mail (auto-replies, bounces, receipts, list mail, feedback) is
//!    settled as `ignored`: it never creates or reopens a ticket, never gets an answer;
//! 2. a sender who sent more than [`LOOP_LIMIT`] messages in an hour is ignored
//!    (loop protection);
//! 3. the thread: the signed plus-address it reached, our signed Message-ID in
//!    In-Reply-To, then the keyed subject token, then the hidden marker of our HTML,
//!    then our id in References — trusted only from a participant, so a stray
//!    References header cannot merge unrelated conversations;
//! 4. on a known thread, a sender who is not a participant is held for a technician;
//!    the requester's close command closes the ticket; anything else is a reply
//!    (only the new text; the whole message stays viewable through its raw copy);
//! 5. on no thread, a new ticket from the sender's contact (created at an
//!    organization's domain), or for an unknown domain the tenant's choice: a ticket
//!    in the triage queue, or a polite refusal (once a day per sender).
//!
//! Each effect settles its queue row in the same transaction.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use portico_mailtext::Parsed;
use portico_tenants::ids::EmailAddress;
use portico_tenants::jobs::{JobError, JobHandler, JobScope};
use portico_tenants::mail::{self as store, Inbound, NewInbound};
use portico_tenants::routing::HostIndex;
use portico_tenants::thread::{NewMessage, StoredFile};
use portico_tenants::tickets::{self, NewTicket, Reader, Source};
use portico_tenants::{Role, StoreError, TenantDb, people};
use sha2::Digest;

use super::Mailer;
use super::compose::Letter;
use crate::blobs::Blobs;
use crate::i18n::Locale;

/// More messages than this from one sender in an hour are ignored.
pub const LOOP_LIMIT: i64 = 30;
/// The tenant setting: what to do with mail from an unknown domain, `triage`
/// (default: a ticket, in the triage queue when one is set) or `refuse`.
pub const UNKNOWN_SENDERS_SETTING: &str = "mail_unknown_senders";
/// The tenant setting: the queue new tickets from unknown senders go to.
pub const TRIAGE_QUEUE_SETTING: &str = "mail_triage_queue";
/// Attachments larger than this are kept only in the raw message.
const MAX_ATTACHMENT: usize = 25 * 1024 * 1024;

/// What queuing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Queued under this id.
    Queued(i64),
    /// Known already (a repeated delivery).
    Duplicate,
    /// Not a message (nothing but whitespace): refused, not queued.
    NotMail,
}

/// The inbound pipeline.
#[derive(Clone)]
pub struct Intake {
    /// Where raw messages and attachments go.
    pub blobs: Blobs,
    /// For answers (refusals) and the thread keys.
    pub mailer: Mailer,
    /// For the tenant's name.
    pub hosts: Arc<HostIndex>,
    /// Rung when a mailbox is added, changed or removed on this instance (the IMAP
    /// service looks again at once; other instances within a minute).
    pub mailboxes_changed: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake").finish_non_exhaustive()
    }
}

/// The dedup key of pushed mail: its Message-ID, or the hash of its bytes.
pub fn push_key(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id {
        Some(id) if !id.trim().is_empty() => {
            format!("msgid:{}", id.trim().chars().take(900).collect::<String>())
        }
        _ => format!("sha256:{}", hex::encode(sha2::Sha256::digest(raw))),
    }
}

/// The new text of a message as the pipeline records it: the extracted reply, or the
/// whole text when extraction left nothing.
pub fn reply_text(parsed: &Parsed) -> String {
    if parsed.reply_text.trim().is_empty() {
        parsed.text.trim().to_owned()
    } else {
        parsed.reply_text.clone()
    }
}

impl Intake {
    async fn store_raw(&self, tenant: &TenantDb, raw: Bytes) -> Result<String, anyhow::Error> {
        Ok(self.blobs.put(tenant.id(), "mail", raw).await?.key)
    }

    /// Stores and queues a pushed message (SMTP receiver, webhook) that reached
    /// `recipient`.
    pub async fn accept(
        &self,
        tenant: &TenantDb,
        transport: &'static str,
        recipient: Option<&str>,
        raw: Bytes,
    ) -> anyhow::Result<Accepted> {
        // Headers only: the whole message is read when it is processed.
        let (message_id, sender) = match portico_mailtext::envelope(&raw) {
            Ok(envelope) => envelope,
            // Nothing to keep: not a message at all (the webhook answers 422).
            Err(portico_mailtext::ParseError::Empty) => return Ok(Accepted::NotMail),
            // Kept: a technician can still read what arrived.
            Err(_) => (None, None),
        };
        let dedup_key = push_key(message_id.as_deref(), &raw);
        let size = raw.len() as i64;
        let raw_key = self.store_raw(tenant, raw).await?;
        let queued = store::enqueue(
            tenant,
            NewInbound {
                dedup_key,
                transport,
                mailbox_id: None,
                recipient: recipient.map(str::to_ascii_lowercase),
                sender: sender.map(|a| a.email),
                message_id,
                raw_key: raw_key.clone(),
                size,
            },
        )
        .await?;
        Ok(match queued {
            Some(id) => Accepted::Queued(id),
            None => {
                let _ = self.blobs.delete(&raw_key).await;
                Accepted::Duplicate
            }
        })
    }

    /// Stores and queues messages read from IMAP mailbox `mailbox_id` (UID, bytes),
    /// moving its cursor in the same transaction. Returns how many were new.
    pub async fn accept_imap(
        &self,
        tenant: &TenantDb,
        mailbox_id: i64,
        address: &str,
        uidvalidity: i64,
        messages: Vec<(u32, Bytes)>,
    ) -> anyhow::Result<usize> {
        let mut batch = Vec::with_capacity(messages.len());
        let mut last_uid = 0i64;
        for (uid, raw) in messages {
            last_uid = last_uid.max(i64::from(uid));
            let (message_id, sender) = portico_mailtext::envelope(&raw).unwrap_or((None, None));
            let size = raw.len() as i64;
            let raw_key = self.store_raw(tenant, raw).await?;
            batch.push(NewInbound {
                dedup_key: format!("imap:{mailbox_id}:{uidvalidity}:{uid}"),
                transport: "imap",
                mailbox_id: Some(mailbox_id),
                recipient: Some(address.to_ascii_lowercase()),
                sender: sender.map(|a| a.email),
                message_id,
                raw_key,
                size,
            });
        }
        let queued =
            store::enqueue_from_mailbox(tenant, mailbox_id, uidvalidity, last_uid, &batch).await?;
        Ok(queued.len())
    }

    /// Processes queued message `id`.
    pub async fn process(&self, tenant: &TenantDb, id: i64) -> Result<(), JobError> {
        let retry = |e: StoreError| JobError::Retry(e.to_string());
        let row = match store::inbound(tenant, id).await {
            Ok(row) => row,
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(retry(e)),
        };
        if row.state != "pending" {
            return Ok(());
        }
        let raw = self
            .blobs
            .get(&row.raw_key)
            .await
            .map_err(|e| JobError::Retry(format!("{e:#}")))?;
        let parsed = match portico_mailtext::parse(&raw) {
            Ok(parsed) => parsed,
            Err(error) => {
                store::settle(tenant, id, "failed", None, Some(&error.to_string()))
                    .await
                    .map_err(retry)?;
                return Ok(());
            }
        };
        match self.decide(tenant, &row, &parsed).await {
            Ok(()) => Ok(()),
            Err(StoreError::Refused { code, .. }) if code == store::ALREADY_PROCESSED => Ok(()),
            // The message itself is unusable (too long a body, say): keep it, say why.
            Err(StoreError::Invalid { field, reason }) => {
                store::settle(
                    tenant,
                    id,
                    "failed",
                    None,
                    Some(&format!("invalid {field}: {reason}")),
                )
                .await
                .map_err(retry)?;
                Ok(())
            }
            Err(e) => Err(retry(e)),
        }
    }

    /// The ticket a message threads to, and whether the match came from References
    /// alone (trusted only from a participant).
    async fn thread(
        &self,
        tenant: &TenantDb,
        row: &Inbound,
        parsed: &Parsed,
    ) -> Option<(i64, bool)> {
        let keys = self.mailer.keys();
        let slug = tenant.slug();
        let ours = |id: &String| {
            keys.parse_message_id(id)
                .filter(|(s, _)| s == slug)
                .map(|(_, n)| n)
        };
        let candidate = row
            .recipient
            .as_deref()
            .and_then(|r| keys.parse_inbound_address(r))
            .filter(|(s, _)| s == slug)
            .and_then(|(_, n)| n)
            .map(|n| (n, false))
            .or_else(|| parsed.in_reply_to.iter().find_map(ours).map(|n| (n, false)))
            .or_else(|| {
                parsed
                    .subject_token
                    .as_ref()
                    .filter(|t| keys.check_tag(slug, t.number, &t.tag))
                    .map(|t| (t.number, false))
            })
            .or_else(|| {
                parsed
                    .markers
                    .iter()
                    .find(|t| keys.check_tag(slug, t.number, &t.tag))
                    .map(|t| (t.number, false))
            })
            .or_else(|| {
                parsed
                    .references
                    .iter()
                    .rev()
                    .find_map(ours)
                    .map(|n| (n, true))
            })?;
        match tickets::get_ticket(tenant, candidate.0, Reader::SYSTEM).await {
            Ok(ticket) => Some((ticket.merged_into.unwrap_or(ticket.number), candidate.1)),
            Err(_) => None,
        }
    }

    async fn files(
        &self,
        tenant: &TenantDb,
        parsed: &Parsed,
    ) -> Result<Vec<StoredFile>, StoreError> {
        let mut files = Vec::new();
        for attachment in parsed.attachments.iter().take(50) {
            if attachment.data.is_empty() || attachment.data.len() > MAX_ATTACHMENT {
                continue;
            }
            let bytes = Bytes::copy_from_slice(&attachment.data);
            let content_type = crate::blobs::sniff(&bytes);
            let stored = self
                .blobs
                .put(tenant.id(), "attachments", bytes)
                .await
                .map_err(|e| StoreError::Io {
                    path: "attachments".into(),
                    source: std::io::Error::other(format!("{e:#}")),
                })?;
            let name = if attachment.filename.trim().is_empty() {
                "attachment".to_owned()
            } else {
                attachment.filename.clone()
            };
            files.push(StoredFile {
                storage_key: stored.key,
                filename: crate::blobs::clean_filename(&name),
                content_type,
                size: stored.size as i64,
                sha256: stored.sha256,
            });
        }
        Ok(files)
    }

    async fn decide(
        &self,
        tenant: &TenantDb,
        row: &Inbound,
        parsed: &Parsed,
    ) -> Result<(), StoreError> {
        let id = row.id;
        if let Some(kind) = parsed.auto {
            let kind = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            store::settle(tenant, id, "ignored", None, Some(&kind)).await?;
            return Ok(());
        }
        let Some(sender) = parsed
            .from
            .as_ref()
            .and_then(|a| EmailAddress::parse(&a.email).ok())
        else {
            store::settle(tenant, id, "failed", None, Some("no usable sender address")).await?;
            return Ok(());
        };
        let hour_ago = row.received_at - 3_600_000;
        let recent = store::received_from(tenant, sender.as_str(), hour_ago, row.id).await?;
        if recent > LOOP_LIMIT {
            store::settle(
                tenant,
                id,
                "ignored",
                None,
                Some(&format!(
                    "loop protection: {recent} messages from this sender in an hour"
                )),
            )
            .await?;
            return Ok(());
        }
        let released = row.detail.as_deref() == Some("released");
        let reply_text = reply_text(parsed);
        if let Some((number, references_only)) = self.thread(tenant, row, parsed).await {
            let participant =
                released || store::is_participant(tenant, number, sender.as_str()).await?;
            if !participant && !references_only {
                store::settle(
                    tenant,
                    id,
                    "held",
                    Some(number),
                    Some("sender is not a participant of the ticket"),
                )
                .await?;
                return Ok(());
            }
            if participant {
                return self
                    .reply(tenant, id, number, &sender, parsed, reply_text)
                    .await;
            }
            // A References-only match from an outsider: a conversation of its own.
        }
        self.new_ticket(tenant, id, &sender, parsed).await
    }

    async fn reply(
        &self,
        tenant: &TenantDb,
        id: i64,
        number: i64,
        sender: &EmailAddress,
        parsed: &Parsed,
        reply_text: String,
    ) -> Result<(), StoreError> {
        let ticket = tickets::get_ticket(tenant, number, Reader::SYSTEM).await?;
        let author = portico_tenants::organizations::contact_for_email(tenant, sender).await?;
        let staff = author
            .as_ref()
            .is_some_and(|a| matches!(a.role, Role::Technician | Role::MspAdmin));
        let actor = author.as_ref().map_or_else(
            || format!("email:{}", sender.as_str()),
            |a| format!("user:{}", a.id),
        );
        if author.as_ref().is_some_and(|a| a.id == ticket.requester_id)
            && portico_mailtext::close_command(&reply_text)
        {
            return store::close_ticket(tenant, id, number, &actor).await;
        }
        let files = self.files(tenant, parsed).await?;
        let body = if reply_text.trim().is_empty() && files.is_empty() {
            // Nothing new but an empty reply: keep a trace instead of refusing it.
            "(empty message)".to_owned()
        } else {
            reply_text
        };
        let language = author
            .as_ref()
            .map_or_else(|| ticket.language.clone(), |a| a.locale.clone());
        store::add_message(
            tenant,
            id,
            number,
            NewMessage {
                body,
                internal: false,
                author_id: author.as_ref().map(|a| a.id),
                source: Source::Email,
                language,
                email_message_id: parsed.message_id.clone(),
                files,
                follow_up: true,
            },
            &actor,
            Reader {
                scope: portico_tenants::policy::Scope::All,
                staff,
            },
        )
        .await?;
        Ok(())
    }

    async fn new_ticket(
        &self,
        tenant: &TenantDb,
        id: i64,
        sender: &EmailAddress,
        parsed: &Parsed,
    ) -> Result<(), StoreError> {
        let mut triage = false;
        let requester =
            match portico_tenants::organizations::contact_for_email(tenant, sender).await? {
                Some(user) => user,
                None => {
                    let choice =
                        portico_tenants::accounts::tenant_setting(tenant, UNKNOWN_SENDERS_SETTING)
                            .await?
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_else(|| "triage".to_owned());
                    if choice == "refuse" {
                        return self.refuse(tenant, id, sender, parsed).await;
                    }
                    triage = true;
                    let created = people::create_user(
                        tenant,
                        people::NewUser {
                            email: sender.clone(),
                            display_name: parsed
                                .from
                                .as_ref()
                                .and_then(|a| a.name.clone())
                                .unwrap_or_default()
                                .chars()
                                .take(100)
                                .collect(),
                            role: Role::Contact,
                            invite: false,
                            organization_id: None,
                        },
                    )
                    .await;
                    match created {
                        Ok(user) => user,
                        Err(StoreError::Conflict(_)) => {
                            portico_tenants::organizations::contact_for_email(tenant, sender)
                                .await?
                                .ok_or(StoreError::NotFound("contact"))?
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
        let subject: String = parsed
            .subject
            .split(['\r', '\n'])
            .collect::<Vec<_>>()
            .join(" ")
            .trim()
            .chars()
            .take(250)
            .collect();
        let subject = if subject.is_empty() {
            Locale::from_tag(&requester.locale)
                .unwrap_or_default()
                .text("mail-no-subject")
        } else {
            subject
        };
        // A forwarded message is the request: keep all of it.
        let forwarded = {
            let lower = subject.to_lowercase();
            ["fwd:", "fw:", "wg:", "tr:", "rv:", "i:", "enc:"]
                .iter()
                .any(|p| lower.starts_with(p))
        };
        let description = if forwarded || parsed.reply_text.trim().is_empty() {
            parsed.text.trim().to_owned()
        } else {
            parsed.reply_text.clone()
        };
        let files = self.files(tenant, parsed).await?;
        let created = store::create_ticket(
            tenant,
            id,
            NewTicket {
                subject,
                description,
                requester_id: requester.id,
                organization_id: requester.organization_id,
                source: Source::Email,
                language: requester.locale.clone(),
                email_message_id: parsed.message_id.clone(),
                files,
                ..NewTicket::default()
            },
        )
        .await?;
        if triage
            && let Some(queue) =
                portico_tenants::accounts::tenant_setting(tenant, TRIAGE_QUEUE_SETTING)
                    .await?
                    .and_then(|v| v.as_str().map(str::to_owned))
        {
            let change = tickets::TicketChange {
                queue: Some(Some(queue)),
                ..Default::default()
            };
            if let Err(error) = tickets::update_ticket(
                tenant,
                created.ticket.number,
                change,
                "system:mail",
                Reader::SYSTEM,
            )
            .await
            {
                tracing::warn!(error = %error, "mail: triage queue not set");
            }
        }
        Ok(())
    }

    async fn refuse(
        &self,
        tenant: &TenantDb,
        id: i64,
        sender: &EmailAddress,
        parsed: &Parsed,
    ) -> Result<(), StoreError> {
        store::settle(tenant, id, "refused", None, Some("unknown sender")).await?;
        let day_ago = portico_tenants::clock::now_ms() - 86_400_000;
        if store::sent_recently(tenant, sender.as_str(), "refusal", day_ago).await? {
            return Ok(());
        }
        let brand = super::notify::brand(&self.hosts, tenant).await;
        let locale = Locale::default();
        let subject = parsed.subject.chars().take(200).collect::<String>();
        let args = [
            ("tenant", brand.name.as_str()),
            ("subject", subject.as_str()),
        ];
        let letter = Letter {
            to: sender.as_str().to_owned(),
            kind: "refusal",
            subject: locale.text_with("mail-refusal-subject", &args),
            text: locale.text_with("mail-refusal-body", &args),
            automatic: true,
            locale,
            brand,
            thread: None,
        };
        // One per sender and day even when two of its messages are processed at once:
        // the outbound queue is unique on this key.
        let day = portico_tenants::clock::now_ms() / 86_400_000;
        let key = format!("refusal:{}:{day}", sender.as_str());
        if let Err(error) = self.mailer.queue(tenant, key, letter).await {
            tracing::warn!(error = %error, "mail: refusal not queued");
        }
        Ok(())
    }
}

/// How long a worker holds the messages it claimed.
const CLAIM_MS: i64 = 15_000;
/// Messages claimed at once.
const CLAIM_BATCH: i64 = 64;

/// The job that processes a queued message — and, while it runs, every other pending
/// message of the tenant, several at a time: each message keeps its own job (the
/// safety net when a worker dies), which settling deletes.
pub struct ProcessMail {
    /// The pipeline.
    pub intake: Intake,
    /// This process's name on the messages it claims.
    pub owner: String,
}

impl ProcessMail {
    /// The job handler of `intake`.
    pub fn new(intake: Intake) -> Self {
        ProcessMail {
            intake,
            owner: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    async fn drain(&self, tenant: &TenantDb, id: i64) -> Result<(), JobError> {
        use futures::StreamExt;
        let retry = |e: StoreError| JobError::Retry(e.to_string());
        let parallel = match tenant.store().backend() {
            portico_tenants::Backend::Postgres => 16,
            portico_tenants::Backend::Sqlite => 2,
        };
        let mut own_done = false;
        for round in 0..64 {
            let first = (round == 0).then_some(id);
            let ids = store::claim(tenant, &self.owner, first, CLAIM_BATCH, CLAIM_MS)
                .await
                .map_err(retry)?;
            if round == 0 && !ids.contains(&id) {
                // Settled meanwhile, or claimed by a worker that may have died: look
                // again once its claim has ended.
                let row = store::inbound(tenant, id).await.map_err(retry)?;
                if row.state != "pending" {
                    own_done = true;
                } else {
                    return Err(JobError::Retry("being processed by another worker".into()));
                }
            }
            if ids.is_empty() {
                break;
            }
            let results: Vec<(i64, Result<(), JobError>)> = futures::stream::iter(ids)
                .map(|mail| async move { (mail, self.intake.process(tenant, mail).await) })
                .buffer_unordered(parallel)
                .collect()
                .await;
            for (mail, result) in results {
                match result {
                    Ok(()) if mail == id => own_done = true,
                    Ok(()) => {}
                    Err(error) if mail == id => return Err(error),
                    // That message's own job retries it.
                    Err(error) => tracing::warn!(mail, error = %error, "mail: processing failed"),
                }
            }
        }
        if own_done {
            Ok(())
        } else {
            Err(JobError::Retry("not processed yet".into()))
        }
    }
}

impl JobHandler for ProcessMail {
    fn kind(&self) -> &'static str {
        store::PROCESS_JOB
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
            self.drain(tenant, id).await
        })
    }
}
