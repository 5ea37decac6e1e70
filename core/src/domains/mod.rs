//! Custom domains with automatic TLS: the DNS check that verifies a domain
//! (`dns.rs`), certificates ordered over ACME (`acme.rs`), and serving them by SNI
//! (`tls.rs`). This file holds the sweeper that drives the first two.
//!
//! One sweeper runs per instance; each pass first takes the platform lease
//! `domain-sweeper`, so exactly one instance checks domains and orders certificates
//! at a time, whichever instances come and go. A pass checks the domains whose check
//! is due (pending ones often, verified ones daily), applies the state changes
//! (verified, grace period, disabled), then orders the certificates that are due
//! (new, or in the last third of their life) one after another, renewing its lease
//! between orders. Every outcome — check results, certificates, failures with their
//! back-off — is stored, so a restart resumes where the last pass stopped.

pub mod acme;
pub mod dns;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use portico_tenants::Store;
use portico_tenants::clock::now_ms;
use portico_tenants::domains::{self, CheckTransition, NewCertificate};
use portico_tenants::outbox::NewEvent;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::secrets::MasterKey;
use crate::settings::Settings;
use crate::state::AppState;

/// The lease that makes one instance the sweeper.
const LEASE: &str = "domain-sweeper";
/// How long a lease lasts without renewal.
const LEASE_MS: i64 = 120_000;
/// A domain nobody verifies within this time is removed, freeing its name.
const PENDING_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;
/// The longest one order may take.
const ORDER_TIMEOUT: Duration = Duration::from_secs(100);

/// The back-off after `failures` failed orders: the base doubled per failure, at
/// most a day.
pub fn order_backoff_ms(base_seconds: u64, failures: i64) -> i64 {
    let base = (base_seconds as i64).saturating_mul(1000);
    let exponent = (failures - 1).clamp(0, 20) as u32;
    base.saturating_mul(1_i64 << exponent).min(86_400_000)
}

/// The words an MSP admin reads about a failed check.
pub fn check_problems(host: &str, edge: &str, result: &dns::CheckResult) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(error) = &result.error {
        problems.push(error.clone());
    }
    match &result.cname {
        None => problems.push(format!(
            "No CNAME record found at {host}: create one pointing to {edge}."
        )),
        Some(target) if !result.cname_ok => problems.push(format!(
            "{host} points to {target}, not to {edge}: change its CNAME record."
        )),
        Some(_) => {}
    }
    if !result.txt_ok {
        let name = dns::challenge_name(host);
        if result.txt.is_empty() {
            problems.push(format!(
                "No TXT record found at {name}: create it with the value shown."
            ));
        } else {
            problems.push(format!(
                "The TXT record at {name} does not hold the value shown: correct it."
            ));
        }
    }
    problems
}

/// The domain service of one application.
pub struct DomainService {
    store: Store,
    resolver: dns::DomainResolver,
    acme: Option<acme::AcmeClient>,
    wake: Notify,
    check_ms: i64,
    recheck_ms: i64,
    grace_ms: i64,
    sweep: Duration,
    retry_seconds: u64,
}

impl std::fmt::Debug for DomainService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainService")
            .field("resolver", &self.resolver)
            .field("acme", &self.acme)
            .finish_non_exhaustive()
    }
}

impl DomainService {
    /// Builds the service from the settings.
    pub fn new(settings: &Settings, store: Store) -> anyhow::Result<Self> {
        let resolver = dns::DomainResolver::new(settings.dns_server, &settings.edge_host())?;
        let acme = settings.acme_enabled().then(|| {
            acme::AcmeClient::new(
                &settings.acme_directory,
                settings.acme_contact.as_deref(),
                settings.acme_ca_file.clone(),
                store.clone(),
            )
        });
        Ok(DomainService {
            store,
            resolver,
            acme,
            wake: Notify::new(),
            check_ms: settings.domain_check_seconds as i64 * 1000,
            recheck_ms: settings.domain_recheck_seconds as i64 * 1000,
            grace_ms: settings.domain_grace_seconds as i64 * 1000,
            sweep: Duration::from_millis(settings.domain_sweep_ms),
            retry_seconds: settings.acme_retry_seconds,
        })
    }

    /// The name CNAMEs must point at.
    pub fn edge_host(&self) -> &str {
        self.resolver.edge_host()
    }

    /// Asks for a pass now (a domain was added or a check requested).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sweeps until `stop`.
    pub async fn run(self: Arc<Self>, state: AppState, stop: CancellationToken) {
        loop {
            if let Err(error) = self.sweep_once(&state.master_key).await {
                tracing::warn!(error = %portico_tenants::migrate::error_chain(&error), "domain sweep failed");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.sweep) => {}
            }
        }
        let _ = domains::release_lease(&self.store, LEASE, self.store.instance_id()).await;
    }

    async fn hold_lease(&self) -> Result<bool, portico_tenants::StoreError> {
        domains::try_lease(
            &self.store,
            LEASE,
            self.store.instance_id(),
            now_ms() + LEASE_MS,
        )
        .await
    }

    /// One pass: due checks, then due orders, if this instance holds the lease.
    pub async fn sweep_once(
        &self,
        master_key: &MasterKey,
    ) -> Result<(), portico_tenants::StoreError> {
        if !self.hold_lease().await? {
            return Ok(());
        }
        for host in domains::expire_pending(&self.store, PENDING_LIFETIME_MS).await? {
            tracing::info!(%host, "a custom domain never verified within a week was removed");
        }
        for host in domains::due_for_check(&self.store, self.check_ms, self.recheck_ms, 100).await?
        {
            self.check(&host).await?;
        }
        let Some(acme) = &self.acme else {
            return Ok(());
        };
        for host in domains::due_for_certificate(&self.store, 10).await? {
            if !self.hold_lease().await? {
                return Ok(());
            }
            let started = std::time::Instant::now();
            let outcome =
                match tokio::time::timeout(ORDER_TIMEOUT, acme.order(&host, master_key)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(acme::OrderError::Unreachable(
                        "the order took too long".to_owned(),
                    )),
                };
            match outcome {
                Ok(issued) => {
                    let sealed =
                        master_key.seal(&tls::key_context(&host), issued.key_pem.as_bytes());
                    let stored = domains::store_certificate(
                        &self.store,
                        &host,
                        NewCertificate {
                            chain_pem: &issued.chain_pem,
                            key_sealed: &sealed,
                            issuer: &issued.issuer,
                            not_before: issued.not_before,
                            not_after: issued.not_after,
                        },
                    )
                    .await?;
                    tracing::info!(%host, stored, elapsed_ms = started.elapsed().as_millis() as u64, not_after = issued.not_after, "certificate issued");
                }
                Err(acme::OrderError::Store(error)) => return Err(error),
                Err(error) => {
                    tracing::warn!(%host, %error, "certificate order failed");
                    let retry = self.retry_seconds;
                    domains::record_certificate_failure(
                        &self.store,
                        &host,
                        &error.to_string(),
                        |failures| order_backoff_ms(retry, failures),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Checks one domain now and applies the outcome.
    pub async fn check(&self, host: &str) -> Result<CheckTransition, portico_tenants::StoreError> {
        let Some(record) = domains::get(&self.store, host).await? else {
            return Ok(CheckTransition::Unknown);
        };
        let result = self.resolver.check(host, &record.verification_token).await;
        let mut shown = serde_json::to_value(&result).unwrap_or_default();
        shown["problems"] = serde_json::json!(check_problems(host, self.edge_host(), &result));
        let transition =
            domains::record_check(&self.store, host, result.holds(), &shown, self.grace_ms).await?;
        let event = match transition {
            CheckTransition::Verified => Some("domain.verified"),
            CheckTransition::GraceStarted => Some("domain.grace_started"),
            CheckTransition::Recovered => Some("domain.recovered"),
            CheckTransition::Disabled => Some("domain.disabled"),
            _ => None,
        };
        if let Some(event_type) = event {
            tracing::info!(%host, ?transition, "custom domain changed state");
            // The tenant's admins are told through its outbox (mail, webhooks, live views).
            if let Ok(db) = self.store.tenant_by_id(record.tenant_id).await {
                let mut tx = db.begin().await?;
                tx.emit(NewEvent {
                    aggregate_type: "domain",
                    aggregate_id: host.to_owned(),
                    event_type,
                    payload: serde_json::json!({ "host": host, "check": shown }),
                })
                .await?;
                tx.commit().await?;
            }
        }
        Ok(transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_back_off_doubles_up_to_a_day() {
        assert_eq!(order_backoff_ms(300, 1), 300_000);
        assert_eq!(order_backoff_ms(300, 2), 600_000);
        assert_eq!(order_backoff_ms(300, 3), 1_200_000);
        assert_eq!(order_backoff_ms(300, 40), 86_400_000);
    }

    #[test]
    fn check_problems_name_the_record_to_fix() {
        let result = dns::CheckResult {
            cname: Some("old.example".into()),
            cname_ok: false,
            txt: vec![],
            txt_ok: false,
            error: None,
        };
        let problems = check_problems("help.customer.com", "edge.portico.example", &result);
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("points to old.example, not to edge.portico.example"));
        assert!(problems[1].contains("_portico-challenge.help.customer.com"));
    }
}
