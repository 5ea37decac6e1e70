//! IMAP intake (async-imap): every enabled mailbox of every tenant is read by one
//! instance at a time (a lease in the tenant's `mail_mailboxes`, renewed while it
//! reads). New messages — UIDs above the cursor — are fetched without touching their
//! flags, stored and queued with the cursor moved in one transaction
//! ([`super::intake::Intake::accept_imap`]), and only then flagged `\Seen` on the
//! server. With IDLE the server tells us of new mail at once; without it the mailbox
//! is polled every `PORTICO_IMAP_POLL_SECONDS`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use async_imap::Session;
use bytes::Bytes;
use futures::StreamExt;
use portico_tenants::mail::{self as store, Mailbox};
use portico_tenants::{Store, TenantDb, TenantStatus};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::intake::Intake;
use crate::secrets::MasterKey;

/// The sealing context of mailbox passwords.
pub const PASSWORD_CONTEXT: &str = "mail-mailbox-password";
/// How long a lease lasts without renewal.
const LEASE_MS: i64 = 30_000;
/// Messages fetched per round trip.
const BATCH: usize = 100;

/// Reads the tenants' mailboxes.
pub struct ImapService {
    intake: Intake,
    store: Store,
    master_key: MasterKey,
    owner: String,
    poll: Duration,
    rescan: Duration,
    running: Mutex<HashMap<(i64, i64), CancellationToken>>,
}

impl std::fmt::Debug for ImapService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapService")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl ImapService {
    /// A service polling every `poll` without IDLE and looking for added or removed
    /// mailboxes every `rescan`.
    pub fn new(
        intake: Intake,
        store: Store,
        master_key: MasterKey,
        poll: Duration,
        rescan: Duration,
    ) -> Self {
        let owner = format!("{}:{}", store.instance_id(), uuid::Uuid::new_v4().simple());
        ImapService {
            intake,
            store,
            master_key,
            owner,
            poll,
            rescan,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Runs until `shutdown`: one task per enabled mailbox.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.clone().scan(&shutdown).await {
                tracing::warn!(error = %format!("{error:#}"), "imap: scanning mailboxes failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.rescan) => {}
                () = self.intake.mailboxes_changed.notified() => {}
            }
        }
        if let Ok(running) = self.running.lock() {
            for stop in running.values() {
                stop.cancel();
            }
        }
    }

    async fn scan(self: Arc<Self>, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let mut wanted = Vec::new();
        for record in portico_tenants::registry::list_tenants(&self.store).await? {
            if record.status != TenantStatus::Active {
                continue;
            }
            let Ok(tenant) = self.store.tenant_by_id(record.id).await else {
                continue;
            };
            for mailbox in store::list_mailboxes(&tenant).await? {
                if mailbox.enabled {
                    wanted.push((tenant.clone(), mailbox.id));
                }
            }
        }
        let Ok(mut running) = self.running.lock() else {
            return Ok(());
        };
        let keys: Vec<(i64, i64)> = wanted.iter().map(|(t, m)| (t.id().0, *m)).collect();
        running.retain(|key, stop| {
            let keep = keys.contains(key) && !stop.is_cancelled();
            if !keep {
                stop.cancel();
            }
            keep
        });
        for (tenant, mailbox_id) in wanted {
            let key = (tenant.id().0, mailbox_id);
            if running.contains_key(&key) {
                continue;
            }
            let stop = shutdown.child_token();
            running.insert(key, stop.clone());
            let service = self.clone();
            tokio::spawn(async move { service.watch(tenant, mailbox_id, stop).await });
        }
        Ok(())
    }

    async fn watch(self: Arc<Self>, tenant: TenantDb, mailbox_id: i64, stop: CancellationToken) {
        let mut backoff = Duration::from_secs(1);
        while !stop.is_cancelled() {
            match store::lease_mailbox(&tenant, mailbox_id, &self.owner, LEASE_MS).await {
                Ok(true) => {}
                Ok(false) => {
                    // Another instance reads it; look again when its lease may have ended.
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 / 3)) => continue,
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "imap: lease failed");
                    if matches!(error, portico_tenants::StoreError::NotFound(_)) {
                        break;
                    }
                }
            }
            match self.session(&tenant, mailbox_id, &stop).await {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(_) if stop.is_cancelled() => break,
                Err(error) => {
                    let text = format!("{error:#}");
                    tracing::warn!(mailbox = mailbox_id, error = %text, "imap: mailbox failed");
                    let _ = store::mailbox_failed(&tenant, mailbox_id, &text).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
        }
        let _ = store::release_mailbox(&tenant, mailbox_id, &self.owner).await;
    }

    async fn session(
        &self,
        tenant: &TenantDb,
        mailbox_id: i64,
        stop: &CancellationToken,
    ) -> anyhow::Result<()> {
        let mailbox = store::mailbox(tenant, mailbox_id).await?;
        if !mailbox.enabled {
            return Ok(());
        }
        let password = self
            .master_key
            .open(PASSWORD_CONTEXT, &mailbox.sealed_password)
            .map_err(|_| anyhow::anyhow!("the mailbox password cannot be unsealed"))?;
        let password = String::from_utf8(password).context("mailbox password")?;
        let tcp = tokio::time::timeout(
            Duration::from_secs(20),
            TcpStream::connect((mailbox.host.as_str(), mailbox.port as u16)),
        )
        .await
        .context("connecting: timed out")?
        .with_context(|| format!("connecting to {}:{}", mailbox.host, mailbox.port))?;
        match mailbox.tls.as_str() {
            "tls" => {
                let tls = tls_connect(&mailbox.host, tcp).await?;
                self.read(
                    tenant,
                    &mailbox,
                    async_imap::Client::new(tls),
                    &password,
                    stop,
                )
                .await
            }
            "starttls" => {
                let mut client = async_imap::Client::new(tcp);
                client.read_response().await?.context("no greeting")?;
                client.run_command_and_check_ok("STARTTLS", None).await?;
                let tcp = client.into_inner();
                let tls = tls_connect(&mailbox.host, tcp).await?;
                let client = async_imap::Client::new(tls);
                self.login_and_read(tenant, &mailbox, client, &password, stop)
                    .await
            }
            _ => {
                self.read(
                    tenant,
                    &mailbox,
                    async_imap::Client::new(tcp),
                    &password,
                    stop,
                )
                .await
            }
        }
    }

    async fn read<T>(
        &self,
        tenant: &TenantDb,
        mailbox: &Mailbox,
        mut client: async_imap::Client<T>,
        password: &str,
        stop: &CancellationToken,
    ) -> anyhow::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
    {
        client.read_response().await?.context("no greeting")?;
        self.login_and_read(tenant, mailbox, client, password, stop)
            .await
    }

    async fn login_and_read<T>(
        &self,
        tenant: &TenantDb,
        mailbox: &Mailbox,
        client: async_imap::Client<T>,
        password: &str,
        stop: &CancellationToken,
    ) -> anyhow::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
    {
        let mut session = client
            .login(&mailbox.username, password)
            .await
            .map_err(|(error, _)| anyhow::anyhow!("login refused: {error}"))?;
        let idle = session.capabilities().await?.has_str("IDLE");
        let selected = session.select(&mailbox.folder).await?;
        let uidvalidity = i64::from(selected.uid_validity.unwrap_or(0));
        // New-mail notices the server sent while another command ran (or while IDLE
        // was starting) land here rather than in the IDLE wait: check them before
        // waiting, or a message could sit until the wait times out.
        let notices = session.unsolicited_responses.clone();
        let news = || {
            let mut arrived = false;
            while let Ok(notice) = notices.try_recv() {
                arrived |= matches!(
                    notice,
                    async_imap::types::UnsolicitedResponse::Exists(_)
                        | async_imap::types::UnsolicitedResponse::Recent(_)
                );
            }
            arrived
        };
        loop {
            self.fetch_new(tenant, mailbox.id, &mut session, uidvalidity)
                .await?;
            if news() {
                continue;
            }
            if !store::lease_mailbox(tenant, mailbox.id, &self.owner, LEASE_MS).await? {
                let _ = session.logout().await;
                return Ok(());
            }
            if stop.is_cancelled() {
                let _ = session.logout().await;
                return Ok(());
            }
            if idle {
                let mut handle = session.idle();
                handle.init().await?;
                if !news() {
                    // Short enough to renew the lease and notice a shutdown in time.
                    let wait = self.poll.min(Duration::from_millis(LEASE_MS as u64 / 3));
                    let (waiting, interrupt) = handle.wait_with_timeout(wait);
                    tokio::select! {
                        result = waiting => { result?; }
                        () = stop.cancelled() => { drop(interrupt); }
                    }
                }
                session = handle.done().await?;
            } else {
                tokio::select! {
                    () = stop.cancelled() => {}
                    () = tokio::time::sleep(self.poll) => {}
                }
                session.noop().await?;
            }
        }
    }

    async fn fetch_new<T>(
        &self,
        tenant: &TenantDb,
        mailbox_id: i64,
        session: &mut Session<T>,
        uidvalidity: i64,
    ) -> anyhow::Result<()>
    where
        T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
    {
        let current = store::mailbox(tenant, mailbox_id).await?;
        let from = if current.uidvalidity == Some(uidvalidity) {
            current.last_uid + 1
        } else {
            1
        };
        let mut uids: Vec<u32> = session
            .uid_search(format!("UID {from}:*"))
            .await?
            .into_iter()
            .filter(|uid| i64::from(*uid) >= from)
            .collect();
        uids.sort_unstable();
        for chunk in uids.chunks(BATCH) {
            let set = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let mut messages: Vec<(u32, Bytes)> = Vec::with_capacity(chunk.len());
            {
                let mut fetched = session.uid_fetch(&set, "(UID BODY.PEEK[])").await?;
                while let Some(item) = fetched.next().await {
                    let item = item?;
                    if let (Some(uid), Some(body)) = (item.uid, item.body()) {
                        messages.push((uid, Bytes::copy_from_slice(body)));
                    }
                }
            }
            messages.sort_by_key(|(uid, _)| *uid);
            let address = current.address.clone();
            self.intake
                .accept_imap(tenant, mailbox_id, &address, uidvalidity, messages)
                .await?;
            // Committed: now the server may learn we have them.
            let flagged = session.uid_store(&set, "+FLAGS.SILENT (\\Seen)").await?;
            let _: Vec<_> = flagged.collect().await;
        }
        Ok(())
    }
}

async fn tls_connect(
    host: &str,
    tcp: TcpStream,
) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).context("server name")?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?)
}
