//! Webhooks: every domain event becomes a signed HTTP POST to the tenant's
//! subscribed endpoints, as the Standard Webhooks specification describes
//! (<https://www.standardwebhooks.com/>): headers `webhook-id`, `webhook-timestamp`
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! secrets shown once as `whsec_<base64>`.
//!
//! [`WebhookEvents`] is the outbox subscriber: it queues one delivery per matching
//! enabled endpoint (storage makes that idempotent per endpoint and event).
//! [`WebhookDelivery`] is the job handler the worker runs for due deliveries: it
//! claims them, sends them through the guarded outbound client (no internal
//! addresses, no redirects), and records each attempt with what follows — success on
//! a 2xx within the timeout, a retry on the [`RetrySchedule`], the endpoint disabled
//! on 410 Gone, or failure once the schedule is spent.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use portico_tenants::TenantDb;
use portico_tenants::clock::now_ms;
use portico_tenants::jobs::{JobError, JobHandler, JobScope};
use portico_tenants::migrate::error_chain;
use portico_tenants::outbox::{DeliveryError, Event, Subscriber};
use portico_tenants::webhooks::{self, Attempt, ClaimedDelivery, Verdict};
use rand::RngCore;
use sha2::Sha256;

use crate::outbound::{OutboundHttp, is_forbidden};
use crate::secrets::MasterKey;

/// The prefix of a signing secret as shown to admins.
pub const SECRET_PREFIX: &str = "whsec_";

/// Deliveries one job run claims and sends at once.
const BATCH: i64 = 16;
/// Sends in flight at once within a batch.
const CONCURRENCY: usize = 8;
/// How long a claimed delivery is reserved for its sender: far beyond the request
/// timeout, so no other instance sends the same attempt meanwhile.
const LEASE_MS: i64 = 120_000;
/// How much of a receiver's answer is kept in the log.
const EXCERPT_BYTES: usize = 1024;

/// A new random signing secret, `whsec_` and the base64 of 24 random bytes.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
}

/// The `webhook-signature` header value for one message.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{message_id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The sealing context of an endpoint's secret: a ciphertext moved to another
/// endpoint or tenant does not open.
pub fn secret_context(tenant: &TenantDb, endpoint_id: i64) -> String {
    format!("tenant:{}:webhook_secret:{endpoint_id}", tenant.id())
}

/// Why an endpoint URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointUrlError {
    /// Not a URL.
    #[error("is not a URL")]
    Malformed,
    /// Longer than 2000 characters.
    #[error("must be at most 2000 characters")]
    TooLong,
    /// Not https (plain http is allowed only where private addresses are).
    #[error("must be an https:// URL")]
    Scheme,
    /// Carries a user name or password.
    #[error("must not contain credentials; authenticate with the signature")]
    Credentials,
    /// Carries a `#fragment`, which is never sent.
    #[error("must not contain a #fragment")]
    Fragment,
    /// Names an internal address or host.
    #[error("must not point at a private, loopback or internal address")]
    Private,
}

/// Checks a webhook URL an admin entered. Names are checked again when a delivery
/// resolves them (the outbound client refuses internal addresses then too).
pub fn parse_endpoint_url(raw: &str, allow_private: bool) -> Result<url::Url, EndpointUrlError> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err(EndpointUrlError::TooLong);
    }
    let url = url::Url::parse(raw).map_err(|_| EndpointUrlError::Malformed)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(EndpointUrlError::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointUrlError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(EndpointUrlError::Fragment);
    }
    let internal = match url.host() {
        Some(url::Host::Ipv4(ip)) => is_forbidden(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_forbidden(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost"
                || name.ends_with(".localhost")
                || name.ends_with(".internal")
                || name.ends_with(".local")
                || !name.contains('.')
        }
        None => return Err(EndpointUrlError::Malformed),
    };
    if internal && !allow_private {
        return Err(EndpointUrlError::Private);
    }
    Ok(url)
}

/// When failed deliveries are tried again: one wait per retry, then the delivery
/// fails. `PORTICO_WEBHOOK_RETRY_SCHEDULE`, e.g. `5s,5m,30m,2h,5h,10h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    waits: Vec<Duration>,
}

impl RetrySchedule {
    /// The default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (seven attempts in about 18 h).
    pub const DEFAULT: &'static str = "5s,5m,30m,2h,5h,10h";

    /// Parses a comma-separated list of waits with units `ms`, `s`, `m` or `h`; empty
    /// means no retry.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut waits = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let split = part
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("`{part}` has no unit (ms, s, m or h)"))?;
            let (number, unit) = part.split_at(split);
            let number: u64 = number
                .parse()
                .map_err(|_| format!("`{part}` does not start with a number"))?;
            let wait = match unit {
                "ms" => Duration::from_millis(number),
                "s" => Duration::from_secs(number),
                "m" => Duration::from_secs(number.saturating_mul(60)),
                "h" => Duration::from_secs(number.saturating_mul(3600)),
                _ => return Err(format!("`{part}`: the unit must be ms, s, m or h")),
            };
            if wait > Duration::from_secs(7 * 24 * 3600) {
                return Err(format!("`{part}` is longer than a week"));
            }
            waits.push(wait);
        }
        if waits.len() > 20 {
            return Err("at most 20 retries".to_owned());
        }
        Ok(RetrySchedule { waits })
    }

    /// The wait before the next attempt after attempt `attempt` (1 for the first)
    /// failed, with ±10 % jitter so receivers that failed together are not hit
    /// together again; `None` when the schedule is spent.
    pub fn wait_after(&self, attempt: i64) -> Option<Duration> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        let base = *self.waits.get(index)?;
        let factor = 0.9 + rand::random::<f64>() * 0.2;
        Some(base.mul_f64(factor))
    }

    /// Attempts a delivery gets in all.
    pub fn attempts(&self) -> usize {
        self.waits.len() + 1
    }
}

/// RFC 3339 in UTC with milliseconds, for the payload's `timestamp`.
fn rfc3339(unix_ms: i64) -> String {
    let seconds = unix_ms.div_euclid(1000);
    let millis = unix_ms.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The JSON body of an event's deliveries: `type`, `timestamp` and `data`, the
/// shape the Standard Webhooks specification recommends.
pub fn payload(event: &Event) -> String {
    serde_json::json!({
        "type": event.event_type,
        "timestamp": rfc3339(event.created_at),
        "data": event.payload,
    })
    .to_string()
}

/// The outbox subscriber that turns events into deliveries.
#[derive(Debug, Default)]
pub struct WebhookEvents;

impl Subscriber for WebhookEvents {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            webhooks::enqueue_deliveries(
                tenant,
                event.id,
                &event.event_type,
                event.created_at,
                &payload(event),
            )
            .await
            .map(|_| ())
            .map_err(|error| DeliveryError(error_chain(&error)))
        })
    }
}

/// The job handler that sends due deliveries.
pub struct WebhookDelivery {
    http: OutboundHttp,
    master_key: MasterKey,
    schedule: RetrySchedule,
    timeout: Duration,
}

impl std::fmt::Debug for WebhookDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookDelivery")
            .field("schedule", &self.schedule)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookDelivery {
    /// A sender through `http` (which must follow no redirects: a redirect is not a
    /// delivery, and could lead anywhere), signing with secrets opened by
    /// `master_key`.
    pub fn new(
        http: OutboundHttp,
        master_key: MasterKey,
        schedule: RetrySchedule,
        timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(WebhookDelivery {
            http,
            master_key,
            schedule,
            timeout,
        })
    }

    async fn run_batch(&self, db: &TenantDb) -> Result<(), JobError> {
        let claimed = webhooks::claim_due(db, BATCH, LEASE_MS)
            .await
            .map_err(|error| JobError::Retry(error_chain(&error)))?;
        // Boxed: the job's future must be `Send` for every lifetime, which the
        // compiler cannot prove through an unboxed closure's future.
        let attempts: Vec<BoxFuture<'_, Result<(), portico_tenants::StoreError>>> = claimed
            .iter()
            .map(|delivery| -> BoxFuture<'_, _> { Box::pin(self.attempt(db, delivery)) })
            .collect();
        let results: Vec<Result<(), portico_tenants::StoreError>> = futures::stream::iter(attempts)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        // A delivery whose result could not be stored is sent again once its lease
        // ends: retrying the job is enough.
        match results.into_iter().find_map(Result::err) {
            Some(error) => Err(JobError::Retry(error_chain(&error))),
            None => Ok(()),
        }
    }

    async fn attempt(
        &self,
        db: &TenantDb,
        delivery: &ClaimedDelivery,
    ) -> Result<(), portico_tenants::StoreError> {
        if !delivery.endpoint_enabled {
            return webhooks::abandon(db, delivery, "the endpoint is disabled").await;
        }
        let key = self
            .master_key
            .open(
                &secret_context(db, delivery.endpoint_id),
                &delivery.sealed_secret,
            )
            .ok()
            .and_then(|secret| String::from_utf8(secret).ok())
            .and_then(|secret| secret_key(&secret));
        let Some(key) = key else {
            tracing::error!(
                endpoint_id = delivery.endpoint_id,
                "webhook secret cannot be opened"
            );
            return webhooks::abandon(db, delivery, "the signing secret cannot be opened").await;
        };
        let attempt_number = delivery.attempts + 1;
        let started_at = now_ms();
        let started = Instant::now();
        let (status_code, error, response_excerpt) = self.send(&key, delivery, started_at).await;
        let attempt = Attempt {
            attempt: attempt_number,
            started_at,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            status_code,
            error,
            response_excerpt,
        };
        let verdict = match status_code {
            Some(code) if (200..300).contains(&code) => Verdict::Succeeded,
            Some(410) => Verdict::DisableEndpoint("gone"),
            _ => match self.schedule.wait_after(attempt_number) {
                Some(wait) => Verdict::RetryAt(
                    now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
                ),
                None => Verdict::Failed,
            },
        };
        tracing::info!(
            tenant = %db.slug(), delivery_id = delivery.id, endpoint_id = delivery.endpoint_id,
            attempt = attempt_number, status = ?status_code, verdict = ?verdict, "webhook attempt"
        );
        webhooks::record_attempt(db, delivery, &attempt, &verdict).await
    }

    /// Sends one attempt: (status code, error, start of the answer).
    async fn send(
        &self,
        key: &[u8],
        delivery: &ClaimedDelivery,
        started_at: i64,
    ) -> (Option<i64>, Option<String>, Option<String>) {
        let timestamp = started_at / 1000;
        let signature = sign(key, &delivery.message_id, timestamp, &delivery.payload);
        let request = match self.http.request(reqwest::Method::POST, &delivery.url) {
            Ok(request) => request,
            Err(error) => return (None, Some(error.to_string()), None),
        };
        let sent = request
            .timeout(self.timeout)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                let reason = if error.is_timeout() {
                    format!("no answer within {} s", self.timeout.as_secs())
                } else {
                    error_chain(&error)
                };
                return (None, Some(reason), None);
            }
        };
        let status = response.status();
        // Read only the beginning of the answer; the timeout covers the body too.
        let mut excerpt = Vec::new();
        while excerpt.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(EXCERPT_BYTES);
        let excerpt = String::from_utf8_lossy(&excerpt).into_owned();
        let error = (!status.is_success()).then(|| {
            if status.is_redirection() {
                format!("status {} (redirects are not followed)", status.as_u16())
            } else {
                format!("status {}", status.as_u16())
            }
        });
        (
            Some(i64::from(status.as_u16())),
            error,
            (!excerpt.is_empty()).then_some(excerpt),
        )
    }
}

impl JobHandler for WebhookDelivery {
    fn kind(&self) -> &'static str {
        webhooks::DELIVERY_JOB
    }

    fn run<'a>(
        &'a self,
        scope: JobScope<'a>,
        _payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            match scope {
                // Each job stands for one due delivery, but sends every delivery due
                // in the tenant (its own among them): the others' jobs then find
                // nothing to do, and a slow receiver holds up one batch, not a queue.
                JobScope::Tenant(db) => self.run_batch(db).await,
                JobScope::Platform(_) => Err(JobError::Permanent(
                    "webhook deliveries belong to a tenant".to_owned(),
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks reference libraries' tests.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("base64");
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn generated_secrets_carry_the_prefix_and_24_random_bytes() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"), "{secret}");
        assert_eq!(secret_key(&secret).map(|k| k.len()), Some(24));
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn private_and_internal_urls_are_refused_unless_allowed() {
        for url in [
            "https://127.0.0.1/hook",
            "https://10.0.0.8/hook",
            "https://192.168.1.1:8443/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fd00::1]/hook",
            "https://localhost/hook",
            "https://api.localhost/hook",
            "https://metadata.google.internal/hook",
            "https://intranet/hook",
        ] {
            assert_eq!(
                parse_endpoint_url(url, false),
                Err(EndpointUrlError::Private),
                "{url}"
            );
        }
        assert!(parse_endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[test]
    fn endpoint_urls_need_https_and_no_credentials() {
        assert!(parse_endpoint_url("https://hooks.example.com/in?x=1", false).is_ok());
        assert_eq!(
            parse_endpoint_url("http://hooks.example.com/in", false),
            Err(EndpointUrlError::Scheme)
        );
        assert_eq!(
            parse_endpoint_url("ftp://hooks.example.com/in", true),
            Err(EndpointUrlError::Scheme)
        );
        assert_eq!(
            parse_endpoint_url("https://user:pw@hooks.example.com/in", false),
            Err(EndpointUrlError::Credentials)
        );
        assert_eq!(
            parse_endpoint_url("https://token@hooks.example.com/in", false),
            Err(EndpointUrlError::Credentials)
        );
        assert_eq!(
            parse_endpoint_url("https://hooks.example.com/in#x", false),
            Err(EndpointUrlError::Fragment)
        );
        assert_eq!(
            parse_endpoint_url("not a url", false),
            Err(EndpointUrlError::Malformed)
        );
    }

    #[test]
    fn the_default_schedule_gives_seven_attempts_with_jittered_waits() {
        let schedule = RetrySchedule::parse(RetrySchedule::DEFAULT).expect("default parses");
        assert_eq!(schedule.attempts(), 7);
        for (attempt, base) in [(1, 5.0), (2, 300.0), (3, 1800.0), (6, 36_000.0)] {
            let wait = schedule.wait_after(attempt).expect("a retry").as_secs_f64();
            assert!(
                wait >= base * 0.9 && wait <= base * 1.1,
                "{attempt}: {wait}"
            );
        }
        assert_eq!(schedule.wait_after(7), None, "then the delivery fails");
        assert_eq!(
            RetrySchedule::parse("50ms, 1s").expect("parses").attempts(),
            3
        );
        assert_eq!(RetrySchedule::parse("").expect("parses").attempts(), 1);
        for bad in ["5", "5d", "x5s", "200h"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_614_265_330_123), "2021-02-25T15:02:10.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
