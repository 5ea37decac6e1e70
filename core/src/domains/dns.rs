//! The DNS check of a custom domain: `help.customer.com` must be a CNAME to the
//! platform's edge name, and `_portico-challenge.help.customer.com` must hold a TXT
//! record with the domain's random token (a name holding a CNAME can hold no other
//! record, hence the separate name). Uses hickory-resolver against the configured
//! resolver (or the system's), with its cache off so every check sees fresh data.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use serde::Serialize;

/// The name that holds a domain's TXT proof.
pub fn challenge_name(host: &str) -> String {
    format!("_portico-challenge.{host}")
}

/// What a check found, as shown to the MSP admin.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    /// The CNAME target found at the host (lower case, no trailing dot).
    pub cname: Option<String>,
    /// Whether it is the platform's edge name.
    pub cname_ok: bool,
    /// TXT values found at the challenge name.
    pub txt: Vec<String>,
    /// Whether one of them is the domain's token.
    pub txt_ok: bool,
    /// A lookup error in words, if one failed outright.
    pub error: Option<String>,
}

impl CheckResult {
    /// Both records hold.
    pub fn holds(&self) -> bool {
        self.cname_ok && self.txt_ok
    }
}

/// Resolves the records of custom domains.
#[derive(Clone)]
pub struct DomainResolver {
    resolver: TokioResolver,
    edge_host: String,
}

impl std::fmt::Debug for DomainResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainResolver")
            .field("edge_host", &self.edge_host)
            .finish_non_exhaustive()
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DomainResolver {
    /// A resolver asking `server` (UDP and TCP), or the system's resolvers when
    /// `None`; CNAMEs must point at `edge_host`.
    pub fn new(server: Option<SocketAddr>, edge_host: &str) -> anyhow::Result<Self> {
        let mut options = ResolverOpts::default();
        options.cache_size = 0;
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        let builder = match server {
            Some(address) => {
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(address, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(address, Protocol::Tcp));
                TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
            }
            None => TokioResolver::builder(TokioConnectionProvider::default())
                .map_err(|e| anyhow::anyhow!("reading the system's resolver configuration: {e}"))?,
        };
        Ok(DomainResolver {
            resolver: builder.with_options(options).build(),
            edge_host: normalize(edge_host),
        })
    }

    /// The name CNAMEs must point at.
    pub fn edge_host(&self) -> &str {
        &self.edge_host
    }

    /// Checks `host` against `token`.
    pub async fn check(&self, host: &str, token: &str) -> CheckResult {
        let mut result = CheckResult {
            cname: None,
            cname_ok: false,
            txt: Vec::new(),
            txt_ok: false,
            error: None,
        };
        let fqdn = format!("{host}.");
        match self.resolver.lookup(fqdn.as_str(), RecordType::CNAME).await {
            Ok(lookup) => {
                result.cname = lookup.record_iter().find_map(|record| match record.data() {
                    RData::CNAME(target) => Some(normalize(&target.0.to_utf8())),
                    _ => None,
                });
            }
            Err(error) if !error.is_no_records_found() => {
                result.error = Some(format!("CNAME lookup for {host} failed: {error}"));
            }
            Err(_) => {}
        }
        result.cname_ok = result.cname.as_deref() == Some(self.edge_host.as_str());
        let name = format!("{}.", challenge_name(host));
        match self.resolver.txt_lookup(name.as_str()).await {
            Ok(lookup) => {
                result.txt = lookup
                    .iter()
                    .map(|txt| {
                        txt.txt_data()
                            .iter()
                            .map(|part| String::from_utf8_lossy(part).into_owned())
                            .collect::<String>()
                    })
                    .collect();
            }
            Err(error) if !error.is_no_records_found() => {
                result.error.get_or_insert(format!(
                    "TXT lookup for {} failed: {error}",
                    challenge_name(host)
                ));
            }
            Err(_) => {}
        }
        result.txt_ok = result.txt.iter().any(|value| value.trim() == token);
        result
    }
}
