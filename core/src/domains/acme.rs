//! Ordering certificates over ACME with instant-acme, HTTP-01 only.
//!
//! instant-acme, not rustls-acme, because serving many instances needs control that
//! rustls-acme keeps inside its own state machine: the HTTP-01 answers must live in
//! the database so whichever instance the CA reaches can answer, the ACME account
//! and the certificates must be stored centrally (sealed), and ordering must be
//! driven by the one instance holding the sweeper's lease. rustls-acme has one
//! in-memory state per certificate and no way to share challenge answers.

use std::path::PathBuf;
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use portico_tenants::Store;
use portico_tenants::clock::now_ms;
use portico_tenants::domains;
use tokio::sync::Mutex;

use crate::secrets::MasterKey;

/// The sealing context of the stored ACME account.
const ACCOUNT_CONTEXT: &str = "platform:acme-account";

/// Why an order failed, in words an MSP admin can act on.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The certificate authority refused or failed the order.
    #[error("the certificate authority refused the order: {0}")]
    Refused(String),
    /// The certificate authority could not be reached or answered nonsense.
    #[error("the certificate authority could not be reached: {0}")]
    Unreachable(String),
    /// Storing the challenge or the account failed.
    #[error("storage failed while ordering")]
    Store(#[from] portico_tenants::StoreError),
}

fn from_acme(error: instant_acme::Error) -> OrderError {
    match error {
        instant_acme::Error::Api(problem) => OrderError::Refused(
            problem
                .detail
                .clone()
                .unwrap_or_else(|| problem.to_string()),
        ),
        instant_acme::Error::Timeout(_) => {
            OrderError::Refused("it did not validate the domain in time".to_owned())
        }
        other => OrderError::Unreachable(other.to_string()),
    }
}

/// A certificate the authority issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Leaf first, PEM.
    pub chain_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Valid from, Unix milliseconds.
    pub not_before: i64,
    /// Valid until.
    pub not_after: i64,
}

/// Reads the issuer and validity of the leaf certificate of a PEM chain.
pub fn leaf_facts(chain_pem: &str) -> Option<(String, i64, i64)> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes()).ok()?;
    let certificate = pem.parse_x509().ok()?;
    let validity = certificate.validity();
    Some((
        certificate.issuer().to_string(),
        validity.not_before.timestamp() * 1000,
        validity.not_after.timestamp() * 1000,
    ))
}

/// This installation's ACME client.
pub struct AcmeClient {
    directory: String,
    contact: Option<String>,
    ca_file: Option<PathBuf>,
    store: Store,
    account: Mutex<Option<Account>>,
}

impl std::fmt::Debug for AcmeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeClient")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

/// How long the CA gets to validate and to issue.
const POLL: RetryPolicy = RetryPolicy::new()
    .initial_delay(Duration::from_millis(250))
    .backoff(1.5)
    .timeout(Duration::from_secs(90));

impl AcmeClient {
    /// A client for `directory`; `ca_file` adds a root to trust for the directory's
    /// own TLS (a test CA such as Pebble's), `contact` is the account's e-mail.
    pub fn new(
        directory: &str,
        contact: Option<&str>,
        ca_file: Option<PathBuf>,
        store: Store,
    ) -> Self {
        AcmeClient {
            directory: directory.to_owned(),
            contact: contact.map(str::to_owned),
            ca_file,
            store,
            account: Mutex::new(None),
        }
    }

    fn builder(&self) -> Result<instant_acme::AccountBuilder, OrderError> {
        match &self.ca_file {
            Some(path) => Account::builder_with_root(path).map_err(from_acme),
            None => Account::builder().map_err(from_acme),
        }
    }

    /// The installation's account: restored from the database, or created once and
    /// stored (sealed) so every instance uses the same one.
    async fn account(&self, master_key: &MasterKey) -> Result<Account, OrderError> {
        let mut cached = self.account.lock().await;
        if let Some(account) = cached.as_ref() {
            return Ok(account.clone());
        }
        let stored = domains::acme_account(&self.store, &self.directory).await?;
        let credentials = match stored {
            Some(sealed) => sealed,
            None => {
                let contact = self.contact.as_ref().map(|c| format!("mailto:{c}"));
                let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
                let (_, credentials) = self
                    .builder()?
                    .create(
                        &NewAccount {
                            contact: &contacts,
                            terms_of_service_agreed: true,
                            only_return_existing: false,
                        },
                        self.directory.clone(),
                        None,
                    )
                    .await
                    .map_err(from_acme)?;
                let json = serde_json::to_vec(&credentials)
                    .map_err(|e| OrderError::Unreachable(e.to_string()))?;
                let sealed = master_key.seal(ACCOUNT_CONTEXT, &json);
                // Another instance may have stored one first: everyone uses that one.
                domains::save_acme_account(&self.store, &self.directory, &sealed).await?
            }
        };
        let json = master_key
            .open(ACCOUNT_CONTEXT, &credentials)
            .map_err(|_| {
                OrderError::Unreachable(
                    "the stored ACME account does not open with the master key".to_owned(),
                )
            })?;
        let credentials: AccountCredentials = serde_json::from_slice(&json).map_err(|e| {
            OrderError::Unreachable(format!("the stored ACME account is unreadable: {e}"))
        })?;
        let account = self
            .builder()?
            .from_credentials(credentials)
            .await
            .map_err(from_acme)?;
        *cached = Some(account.clone());
        Ok(account)
    }

    /// Orders a certificate for `host`, answering HTTP-01 through the database.
    pub async fn order(&self, host: &str, master_key: &MasterKey) -> Result<Issued, OrderError> {
        let account = self.account(master_key).await?;
        let identifiers = [Identifier::Dns(host.to_owned())];
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(from_acme)?;
        let mut tokens = Vec::new();
        let result = async {
            let mut authorizations = order.authorizations();
            while let Some(authorization) = authorizations.next().await {
                let mut authorization = authorization.map_err(from_acme)?;
                match authorization.status {
                    AuthorizationStatus::Valid => continue,
                    AuthorizationStatus::Pending => {}
                    other => {
                        return Err(OrderError::Refused(format!(
                            "the authorization is {other:?}"
                        )));
                    }
                }
                let mut challenge = authorization
                    .challenge(ChallengeType::Http01)
                    .ok_or_else(|| OrderError::Refused("no HTTP-01 challenge offered".to_owned()))?;
                let answer = challenge.key_authorization();
                domains::put_challenge(
                    &self.store,
                    &challenge.token,
                    answer.as_str(),
                    host,
                    now_ms() + 15 * 60 * 1000,
                )
                .await?;
                tokens.push(challenge.token.clone());
                challenge.set_ready().await.map_err(from_acme)?;
            }
            let status = order.poll_ready(&POLL).await.map_err(from_acme)?;
            if status != OrderStatus::Ready {
                let reason = order
                    .state()
                    .error
                    .as_ref()
                    .and_then(|problem| problem.detail.clone())
                    .unwrap_or_else(|| {
                        format!("it could not validate http://{host}/.well-known/acme-challenge/ (order {status:?})")
                    });
                return Err(OrderError::Refused(reason));
            }
            let key_pem = order.finalize().await.map_err(from_acme)?;
            let chain_pem = order.poll_certificate(&POLL).await.map_err(from_acme)?;
            Ok((chain_pem, key_pem))
        }
        .await;
        for token in &tokens {
            if let Err(error) = domains::delete_challenge(&self.store, token).await {
                tracing::warn!(%error, "an ACME challenge answer could not be withdrawn");
            }
        }
        let (chain_pem, key_pem) = result?;
        let (issuer, not_before, not_after) = leaf_facts(&chain_pem).ok_or_else(|| {
            OrderError::Unreachable("the issued certificate could not be read".to_owned())
        })?;
        Ok(Issued {
            chain_pem,
            key_pem,
            issuer,
            not_before,
            not_after,
        })
    }
}
