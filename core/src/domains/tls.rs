//! The HTTPS side: a certificate store consulted by SNI in every handshake, and
//! the listener that terminates TLS (rustls, ALPN h2 and http/1.1) in front of
//! the same router as plain HTTP.
//!
//! The platform's own names (`<base>` and `*.<base>`) are served with the wildcard
//! certificate the operator provides (files, reloaded when they change); each
//! verified custom domain with its own certificate from the database. Any other
//! name — unknown, pending, disabled — gets no certificate, so the handshake fails
//! at once: the verified set is the allow-list, and no name ever triggers an ACME
//! order from a handshake. Lookups are one hash-map read behind an `ArcSwap`.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use portico_tenants::Store;
use portico_tenants::domains;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::secrets::MasterKey;

/// The sealing context of a certificate's private key.
pub fn key_context(host: &str) -> String {
    format!("platform:certificate:{host}")
}

/// Builds a serving key from PEM (leaf first) and a PKCS#8/SEC1/PKCS#1 key.
pub fn certified_key(chain_pem: &str, key_pem: &str) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("certificate chain: {e}"))?;
    anyhow::ensure!(!chain.is_empty(), "certificate chain: no certificate");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("private key: {e}"))?;
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| anyhow::anyhow!("private key: {e}"))?;
    Ok(CertifiedKey::new(chain, signing))
}

/// The wildcard certificate files of the platform's own names.
#[derive(Debug, Clone)]
struct WildcardFiles {
    cert: PathBuf,
    key: PathBuf,
    loaded: Option<(SystemTime, SystemTime)>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Every certificate this instance serves, by host name.
pub struct CertStore {
    base_domain: String,
    by_host: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
    /// What `by_host` was loaded from: (host, issued_at), sorted.
    versions: tokio::sync::Mutex<Vec<(String, i64)>>,
    wildcard: ArcSwap<Option<Arc<CertifiedKey>>>,
    files: std::sync::Mutex<Option<WildcardFiles>>,
    loaded_epoch: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore")
            .field("hosts", &self.by_host.load().len())
            .field("wildcard", &self.wildcard.load().is_some())
            .finish()
    }
}

impl CertStore {
    /// An empty store for `base_domain`, with the wildcard files if configured.
    pub fn new(base_domain: &str, wildcard: Option<(PathBuf, PathBuf)>) -> Self {
        CertStore {
            base_domain: base_domain.to_ascii_lowercase(),
            by_host: ArcSwap::from_pointee(HashMap::new()),
            versions: tokio::sync::Mutex::new(Vec::new()),
            wildcard: ArcSwap::from_pointee(None),
            files: std::sync::Mutex::new(wildcard.map(|(cert, key)| WildcardFiles {
                cert,
                key,
                loaded: None,
            })),
            loaded_epoch: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// How many custom-domain certificates are loaded.
    pub fn len(&self) -> usize {
        self.by_host.load().len()
    }

    /// Whether no custom-domain certificate is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The certificate for a TLS server name, if this instance may serve it.
    pub fn lookup(&self, server_name: &str) -> Option<Arc<CertifiedKey>> {
        let name = server_name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(key) = self.by_host.load().get(&name) {
            return Some(key.clone());
        }
        // The wildcard covers the base name and one label under it.
        let own = name == self.base_domain
            || name
                .strip_suffix(&self.base_domain)
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.'));
        if own {
            return self.wildcard.load().as_ref().clone();
        }
        None
    }

    /// Replaces the custom-domain certificates (benchmarks and tests).
    pub fn replace(&self, certificates: HashMap<String, Arc<CertifiedKey>>) {
        self.by_host.store(Arc::new(certificates));
    }

    /// Reloads the wildcard files if they changed since the last load.
    pub fn reload_wildcard(&self) -> anyhow::Result<()> {
        let Ok(mut files) = self.files.lock() else {
            return Ok(());
        };
        let Some(files) = files.as_mut() else {
            return Ok(());
        };
        let stamp = (modified(&files.cert), modified(&files.key));
        let (Some(cert_time), Some(key_time)) = stamp else {
            anyhow::bail!(
                "PORTICO_TLS_CERT_FILE / PORTICO_TLS_KEY_FILE: cannot read {} or {}",
                files.cert.display(),
                files.key.display()
            );
        };
        if files.loaded == Some((cert_time, key_time)) {
            return Ok(());
        }
        let chain = std::fs::read_to_string(&files.cert)?;
        let key = std::fs::read_to_string(&files.key)?;
        let certified = certified_key(&chain, &key)
            .map_err(|e| anyhow::anyhow!("PORTICO_TLS_CERT_FILE / PORTICO_TLS_KEY_FILE: {e}"))?;
        self.wildcard.store(Arc::new(Some(Arc::new(certified))));
        files.loaded = Some((cert_time, key_time));
        tracing::info!(cert = %files.cert.display(), "wildcard certificate loaded");
        Ok(())
    }

    /// Reloads the custom-domain certificates when the routing epoch moved past the
    /// one loaded (every certificate change moves it, on any instance). The epoch
    /// moves for other routing changes too (a new tenant), so the served set is
    /// first compared by (host, issued_at), and only new or renewed certificates are
    /// unsealed and parsed; the others are kept as loaded.
    pub async fn reload_if_changed(
        &self,
        store: &Store,
        master_key: &MasterKey,
        epoch: i64,
    ) -> anyhow::Result<bool> {
        use std::sync::atomic::Ordering;
        if self.loaded_epoch.load(Ordering::Acquire) == epoch {
            return Ok(false);
        }
        let mut versions = self.versions.lock().await;
        let current = domains::served_certificate_versions(store).await?;
        if current == *versions {
            self.loaded_epoch.store(epoch, Ordering::Release);
            return Ok(false);
        }
        let loaded_before = self.by_host.load_full();
        let unchanged: std::collections::HashSet<&(String, i64)> = versions.iter().collect();
        let mut loaded = HashMap::with_capacity(current.len());
        for certificate in domains::served_certificates(store).await? {
            let version = (certificate.host.clone(), certificate.issued_at);
            if unchanged.contains(&version)
                && let Some(key) = loaded_before.get(&certificate.host)
            {
                loaded.insert(certificate.host, key.clone());
                continue;
            }
            let key = match master_key
                .open(&key_context(&certificate.host), &certificate.key_sealed)
            {
                Ok(key) => key,
                Err(_) => {
                    tracing::error!(host = %certificate.host, "a certificate key does not open with the master key");
                    continue;
                }
            };
            let key = String::from_utf8_lossy(&key).into_owned();
            match certified_key(&certificate.chain_pem, &key) {
                Ok(certified) => {
                    loaded.insert(certificate.host, Arc::new(certified));
                }
                Err(error) => {
                    tracing::error!(host = %certificate.host, %error, "a stored certificate is unusable")
                }
            }
        }
        self.by_host.store(Arc::new(loaded));
        *versions = current;
        self.loaded_epoch.store(epoch, Ordering::Release);
        Ok(true)
    }
}

/// The rustls hook: the certificate for the handshake's server name, or none.
#[derive(Debug)]
pub struct SniResolver(pub Arc<CertStore>);

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.lookup(hello.server_name()?)
    }
}

/// The server configuration: certificates by SNI, ALPN h2 then http/1.1.
pub fn server_config(certs: Arc<CertStore>) -> rustls::ServerConfig {
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver(certs)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// A TLS listener for `axum::serve`: TCP connections are accepted and their
/// handshakes run concurrently (bounded by a timeout), so a slow or failing client
/// never holds up the others; finished handshakes come out of `accept`.
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsListener {
    /// Starts accepting on `listener` until `stop`.
    pub fn start(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        stop: CancellationToken,
    ) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (sender, ready) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let (tcp, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        tracing::debug!(%error, "TLS listener accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = sender.send((stream, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake refused"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { local_addr, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(pair) => pair,
            // The accept loop stopped (shutdown): wait for the server to notice.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
