//! The one HTTP client for every URL a tenant configures (webhooks, OIDC issuers,
//! plugins). It refuses loopback, private, link-local and other internal addresses —
//! at DNS resolution, for IP literals and on every redirect — so a tenant cannot
//! make the platform reach its own network (SSRF). Tests may allow them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder, Url, redirect};

/// Why an outbound request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not absolute http(s).
    #[error("only absolute http and https URLs are allowed")]
    Scheme,
    /// The address is internal to the platform's network.
    #[error("address {0} is not allowed")]
    Forbidden(String),
    /// The client could not be built.
    #[error("http client: {0}")]
    Client(String),
}

/// Whether `ip` is an address a tenant-configured URL must never reach.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden_v4(v4);
            }
            let segments = v6.segments();
            let first = segments[0];
            // Addresses that carry an IPv4 address inside: judge that one.
            let embedded = |high: u16, low: u16| {
                Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8)
            };
            if segments[..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks).
                return is_forbidden_v4(embedded(segments[6], segments[7]));
            }
            if first == 0x2002 && is_forbidden_v4(embedded(segments[1], segments[2])) {
                return true; // 6to4
            }
            if first == 0x2001 && segments[1] == 0 {
                return true; // Teredo tunnels reach arbitrary IPv4 hosts
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || (first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 to anything
                || v6 == Ipv6Addr::from([0, 0, 0, 0, 0, 0, 0, 1])
        }
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Resolves names with the system resolver, then refuses the whole answer if any
/// address is internal (a name resolving to both is a rebinding attempt).
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addresses.iter().find(|a| is_forbidden(a.ip())) {
                return Err(
                    Box::new(OutboundError::Forbidden(format!("{host} ({})", bad.ip())))
                        as Box<dyn std::error::Error + Send + Sync>,
                );
            }
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

fn check_url(url: &Url, allow_private: bool) -> Result<(), OutboundError> {
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(OutboundError::Scheme);
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(OutboundError::Scheme),
    };
    match literal {
        Some(ip) if !allow_private && is_forbidden(ip) => {
            Err(OutboundError::Forbidden(ip.to_string()))
        }
        _ => Ok(()),
    }
}

/// The guarded client.
#[derive(Debug, Clone)]
pub struct OutboundHttp {
    client: reqwest::Client,
    allow_private: bool,
}

impl OutboundHttp {
    /// A client; `allow_private` is for test configurations only.
    pub fn new(allow_private: bool) -> Result<Self, OutboundError> {
        Self::build(allow_private, true)
    }

    /// A client that follows no redirect at all (identity providers' endpoints).
    pub fn without_redirects(allow_private: bool) -> Result<Self, OutboundError> {
        Self::build(allow_private, false)
    }

    fn build(allow_private: bool, follow: bool) -> Result<Self, OutboundError> {
        let policy = redirect::Policy::custom(move |attempt| {
            if !follow {
                return attempt.stop();
            }
            if attempt.previous().len() >= 5 {
                return attempt.error("too many redirects");
            }
            match check_url(attempt.url(), allow_private) {
                Ok(()) => attempt.follow(),
                Err(error) => attempt.error(error),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .redirect(policy)
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("Portico/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OutboundError::Client(e.to_string()))?;
        Ok(OutboundHttp {
            client,
            allow_private,
        })
    }

    /// A request to a tenant-configured URL, refused at once if the URL is not allowed.
    pub fn request(&self, method: Method, url: &str) -> Result<RequestBuilder, OutboundError> {
        let url = Url::parse(url).map_err(|_| OutboundError::Scheme)?;
        check_url(&url, self.allow_private)?;
        Ok(self.client.request(method, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(is_forbidden(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(!is_forbidden(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn literal_and_non_http_urls_are_refused_before_sending() {
        let client = OutboundHttp::new(false).expect("client");
        for url in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://169.254.169.254/latest",
            "file:///etc/passwd",
            "gopher://x",
        ] {
            assert!(client.request(Method::GET, url).is_err(), "{url}");
        }
        assert!(
            client
                .request(Method::POST, "https://hooks.example.com/x")
                .is_ok()
        );
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_and_allowed_in_tests() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        let url = format!("http://localhost:{port}/hook");
        let strict = OutboundHttp::new(false).expect("client");
        let refused = strict
            .request(Method::GET, &url)
            .expect("builder")
            .send()
            .await;
        assert!(refused.is_err());
        let relaxed = OutboundHttp::new(true).expect("client");
        let response = relaxed
            .request(Method::GET, &url)
            .expect("builder")
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 204);
    }
}
