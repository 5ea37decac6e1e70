//! The built-in SMTP (or LMTP, behind a local MTA) receiver for MX delivery to
//! `<slug>[+token]@inbound.<base domain>`. Commands are parsed by `smtp-proto`; a
//! recipient outside a tenant's inbound address is refused at RCPT, a message over
//! the size limit at MAIL (its SIZE) or after DATA, a sender over its rate with a
//! temporary error. The 250 after DATA is sent only once the message is stored and
//! queued ([`super::intake::Intake::accept`]): an acknowledged message is durable,
//! and a sender that retries after a lost answer finds its dedup key.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use portico_tenants::Store;
use smtp_proto::Request;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::intake::{Accepted, Intake};

/// Connections served at once.
const MAX_SESSIONS: usize = 256;
/// Recipients per message.
const MAX_RECIPIENTS: usize = 100;
/// A command line's limit (RFC 5321 allows 512; extensions make it longer).
const MAX_LINE: usize = 4096;
/// Idle time before the receiver hangs up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// The receiver's configuration and shared state.
pub struct Receiver {
    /// The pipeline messages go into.
    pub intake: Intake,
    /// For the tenants named by recipients.
    pub store: Store,
    /// LMTP (one answer per recipient after DATA) instead of SMTP.
    pub lmtp: bool,
    /// Largest message, bytes.
    pub max_bytes: usize,
    /// Messages per sender per minute.
    pub sender_rate: u32,
    /// The name in the greeting.
    pub hostname: String,
    rates: Mutex<HashMap<String, (Instant, u32)>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("lmtp", &self.lmtp)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver.
    pub fn new(
        intake: Intake,
        store: Store,
        lmtp: bool,
        max_bytes: usize,
        sender_rate: u32,
    ) -> Self {
        let hostname = format!("inbound.{}", intake.mailer.keys().base_domain());
        Receiver {
            intake,
            store,
            lmtp,
            max_bytes,
            sender_rate,
            hostname,
            rates: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a message of `sender`; `false` over its rate.
    fn admit(&self, sender: &str) -> bool {
        let Ok(mut rates) = self.rates.lock() else {
            return true;
        };
        let now = Instant::now();
        if rates.len() > 100_000 {
            rates.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = rates.entry(sender.to_ascii_lowercase()).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.sender_rate
    }
}

/// Serves `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, receiver: Arc<Receiver>, shutdown: CancellationToken) {
    let sessions = Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "smtp: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = sessions.clone().try_acquire_owned() else {
            let mut stream = stream;
            let _ = stream
                .write_all(b"421 4.3.2 too many connections, try again later\r\n")
                .await;
            continue;
        };
        let receiver = receiver.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                () = stop.cancelled() => {}
                result = session(stream, peer, &receiver) => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "smtp session ended");
                    }
                }
            }
        });
    }
}

struct Envelope {
    from: Option<String>,
    recipients: Vec<(String, portico_tenants::TenantDb)>,
}

async fn reply(writer: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    writer.write_all(text.as_bytes()).await?;
    writer.write_all(b"\r\n").await
}

/// Reads one line (with its CRLF), at most `max` bytes; `None` at end of stream.
async fn read_line(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let read = tokio::time::timeout(COMMAND_TIMEOUT, async {
        let mut limited = (&mut *reader).take(max as u64 + 1);
        limited.read_until(b'\n', buf).await
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    if read == 0 {
        return Ok(None);
    }
    Ok(Some(buf.len() <= max && buf.ends_with(b"\n")))
}

use tokio::io::AsyncReadExt;

async fn session(stream: TcpStream, peer: SocketAddr, receiver: &Receiver) -> std::io::Result<()> {
    let (read, mut writer) = stream.into_split();
    let mut reader = BufReader::new(read);
    let host = receiver.hostname.clone();
    let proto = if receiver.lmtp { "LMTP" } else { "ESMTP" };
    reply(&mut writer, &format!("220 {host} Portico {proto} ready")).await?;
    let mut helo: Option<String> = None;
    let mut envelope = Envelope {
        from: None,
        recipients: Vec::new(),
    };
    let mut line = Vec::with_capacity(512);
    loop {
        let Some(complete) = read_line(&mut reader, &mut line, MAX_LINE).await? else {
            return Ok(());
        };
        if !complete {
            reply(&mut writer, "500 5.5.2 line too long").await?;
            // Skip the rest of the overlong line.
            while read_line(&mut reader, &mut line, MAX_LINE).await? == Some(false) {}
            continue;
        }
        let parsed = Request::parse(&mut line.iter());
        let request = match parsed {
            Ok(request) => request,
            Err(smtp_proto::Error::UnknownCommand) => {
                reply(&mut writer, "500 5.5.1 command not recognized").await?;
                continue;
            }
            Err(smtp_proto::Error::InvalidSenderAddress) => {
                reply(&mut writer, "501 5.1.7 bad sender address").await?;
                continue;
            }
            Err(smtp_proto::Error::InvalidRecipientAddress) => {
                reply(&mut writer, "501 5.1.3 bad recipient address").await?;
                continue;
            }
            Err(_) => {
                reply(&mut writer, "501 5.5.4 syntax error").await?;
                continue;
            }
        };
        match request {
            Request::Ehlo { host: client } | Request::Lhlo { host: client } => {
                helo = Some(client.to_string());
                envelope = Envelope {
                    from: None,
                    recipients: Vec::new(),
                };
                let text = format!(
                    "250-{host}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8",
                    receiver.max_bytes
                );
                reply(&mut writer, &text).await?;
            }
            Request::Helo { host: client } => {
                if receiver.lmtp {
                    reply(&mut writer, "500 5.5.1 LMTP needs LHLO").await?;
                    continue;
                }
                helo = Some(client.to_string());
                reply(&mut writer, &format!("250 {host}")).await?;
            }
            Request::Mail { from } => {
                if helo.is_none() {
                    reply(&mut writer, "503 5.5.1 say EHLO first").await?;
                } else if from.size > receiver.max_bytes {
                    reply(&mut writer, "552 5.3.4 message too big").await?;
                } else if !receiver.admit(&from.address) {
                    reply(
                        &mut writer,
                        "450 4.7.1 too many messages from this sender, try again later",
                    )
                    .await?;
                } else {
                    envelope = Envelope {
                        from: Some(from.address.to_string()),
                        recipients: Vec::new(),
                    };
                    reply(&mut writer, "250 2.1.0 ok").await?;
                }
            }
            Request::Rcpt { to } => {
                if envelope.from.is_none() {
                    reply(&mut writer, "503 5.5.1 need MAIL first").await?;
                    continue;
                }
                if envelope.recipients.len() >= MAX_RECIPIENTS {
                    reply(&mut writer, "452 4.5.3 too many recipients").await?;
                    continue;
                }
                let address = to.address.to_ascii_lowercase();
                let tenant = match receiver
                    .intake
                    .mailer
                    .keys()
                    .parse_inbound_address(&address)
                {
                    Some((slug, _)) => receiver.store.tenant_by_slug(&slug).await.ok(),
                    None => None,
                };
                match tenant {
                    Some(tenant) => {
                        envelope.recipients.push((address, tenant));
                        reply(&mut writer, "250 2.1.5 ok").await?;
                    }
                    None => reply(&mut writer, "550 5.1.1 no such mailbox here").await?,
                }
            }
            Request::Data => {
                if envelope.recipients.is_empty() {
                    reply(&mut writer, "503 5.5.1 need RCPT first").await?;
                    continue;
                }
                reply(&mut writer, "354 end data with <CR><LF>.<CR><LF>").await?;
                let mut data: Vec<u8> = Vec::new();
                let received = format!(
                    "Received: from {} ([{}]) by {host} with {proto}; {}\r\n",
                    helo.as_deref()
                        .unwrap_or("unknown")
                        .replace(['\r', '\n'], ""),
                    peer.ip(),
                    httpdate(),
                );
                data.extend_from_slice(received.as_bytes());
                let mut too_big = false;
                loop {
                    let Some(_) = read_line(&mut reader, &mut line, 1 << 20).await? else {
                        return Ok(());
                    };
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    if too_big {
                        continue;
                    }
                    let content = if line.starts_with(b"..") {
                        &line[1..]
                    } else {
                        &line[..]
                    };
                    if data.len() + content.len() > receiver.max_bytes {
                        too_big = true;
                        data = Vec::new();
                        continue;
                    }
                    data.extend_from_slice(content);
                }
                let recipients = std::mem::take(&mut envelope.recipients);
                envelope.from = None;
                if too_big {
                    let answer = "552 5.3.4 message too big";
                    let times = if receiver.lmtp { recipients.len() } else { 1 };
                    for _ in 0..times {
                        reply(&mut writer, answer).await?;
                    }
                    continue;
                }
                let raw = Bytes::from(data);
                let mut answers = Vec::new();
                for (address, tenant) in &recipients {
                    let outcome = receiver
                        .intake
                        .accept(tenant, "smtp", Some(address), raw.clone())
                        .await;
                    answers.push(match outcome {
                        Ok(Accepted::Queued(_) | Accepted::Duplicate) => Ok(()),
                        // Empty: retrying cannot help.
                        Ok(Accepted::NotMail) => Err(true),
                        Err(error) => {
                            tracing::warn!(error = %format!("{error:#}"), "smtp: message not queued");
                            Err(false)
                        }
                    });
                }
                let text = |answer: &Result<(), bool>| match answer {
                    Ok(()) => "250 2.0.0 queued",
                    Err(true) => "554 5.6.0 not an e-mail message",
                    // The queued copies dedupe when the sender retries.
                    Err(false) => "451 4.3.0 try again later",
                };
                if receiver.lmtp {
                    for answer in &answers {
                        reply(&mut writer, text(answer)).await?;
                    }
                } else {
                    let worst = answers
                        .iter()
                        .find(|a| matches!(a, Err(false)))
                        .or_else(|| answers.iter().find(|a| a.is_err()))
                        .unwrap_or(&Ok(()));
                    reply(&mut writer, text(worst)).await?;
                }
            }
            Request::Rset => {
                envelope = Envelope {
                    from: None,
                    recipients: Vec::new(),
                };
                reply(&mut writer, "250 2.0.0 ok").await?;
            }
            Request::Noop { .. } => reply(&mut writer, "250 2.0.0 ok").await?,
            Request::Quit => {
                reply(&mut writer, "221 2.0.0 bye").await?;
                return Ok(());
            }
            Request::StartTls => reply(&mut writer, "454 4.7.0 TLS not available").await?,
            Request::Vrfy { .. } => reply(&mut writer, "252 2.5.0 cannot verify").await?,
            _ => reply(&mut writer, "502 5.5.1 command not implemented").await?,
        }
    }
}

fn httpdate() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}
