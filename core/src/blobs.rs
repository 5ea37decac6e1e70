//! Files stored outside the database — ticket attachments now, raw e-mails later —
//! through `object_store`: a local folder by default (`<data_dir>/blobs`), or any
//! S3-compatible bucket when `PORTICO_STORAGE_URL` is `s3://bucket/prefix` (the
//! credentials and endpoint come from the usual `AWS_*` variables).
//!
//! A key is `t<tenant id>/<kind>/<uuid>`; only a row in the tenant's own schema names
//! it, and a download is always resolved through that row, so a tenant can never
//! name another's file. Content is sniffed from its bytes, never trusted from the
//! upload's name or declared type.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use portico_tenants::TenantId;
use sha2::{Digest, Sha256};

use crate::settings::Settings;

/// Where files live.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    description: String,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs")
            .field("at", &self.description)
            .finish()
    }
}

/// A stored file.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its key.
    pub key: String,
    /// Bytes.
    pub size: usize,
    /// SHA-256, hex.
    pub sha256: String,
}

impl Blobs {
    /// The store the settings name.
    pub fn open(settings: &Settings) -> anyhow::Result<Blobs> {
        match settings.storage_url.as_deref() {
            None | Some("") => {
                let folder = settings.data_dir.join("blobs");
                std::fs::create_dir_all(&folder)
                    .with_context(|| format!("cannot create {}", folder.display()))?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&folder)
                    .with_context(|| format!("cannot use {}", folder.display()))?;
                Ok(Blobs {
                    store: Arc::new(store),
                    description: folder.display().to_string(),
                })
            }
            Some(url) if url.starts_with("s3://") => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_url(url);
                if let Some(endpoint) = &settings.storage_endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(region) = &settings.storage_region {
                    builder = builder.with_region(region);
                }
                if let Some(key) = &settings.storage_access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = &settings.storage_secret_access_key {
                    use secrecy::ExposeSecret;
                    builder = builder.with_secret_access_key(secret.expose_secret());
                }
                if settings.storage_allow_http {
                    builder = builder.with_allow_http(true);
                }
                let store = builder
                    .build()
                    .context("PORTICO_STORAGE_URL: cannot configure the S3 bucket")?;
                // A prefix after the bucket is kept by the builder's URL parsing only
                // for the bucket; keys carry it themselves.
                let prefix = url
                    .trim_start_matches("s3://")
                    .split_once('/')
                    .map(|(_, p)| p.trim_matches('/').to_owned())
                    .unwrap_or_default();
                Ok(Blobs {
                    store: Arc::new(object_store::prefix::PrefixStore::new(store, prefix)),
                    description: url.to_owned(),
                })
            }
            Some(other) => anyhow::bail!(
                "PORTICO_STORAGE_URL must be empty (a local folder) or s3://bucket/prefix, not {other:?}"
            ),
        }
    }

    /// Stores `bytes` for `tenant` under a fresh key of `kind` (e.g. `attachments`).
    pub async fn put(&self, tenant: TenantId, kind: &str, bytes: Bytes) -> anyhow::Result<Stored> {
        let key = format!("t{}/{kind}/{}", tenant.0, uuid::Uuid::new_v4().simple());
        let size = bytes.len();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        self.store
            .put(&StorePath::from(key.as_str()), bytes.into())
            .await
            .with_context(|| format!("cannot store {key}"))?;
        Ok(Stored { key, size, sha256 })
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, key: &str) -> anyhow::Result<Bytes> {
        let found = self
            .store
            .get(&StorePath::from(key))
            .await
            .with_context(|| format!("cannot read {key}"))?;
        found
            .bytes()
            .await
            .with_context(|| format!("cannot read {key}"))
    }

    /// Removes `key` (a file whose row never committed).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error).with_context(|| format!("cannot remove {key}")),
        }
    }
}

/// Types whose content a browser could run: always served as
/// `application/octet-stream`, whatever they are stored as.
const ACTIVE_TYPES: [&str; 6] = [
    "text/html",
    "image/svg+xml",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
];

/// The type of a file from its bytes: magic numbers first, then a look at text
/// (markup is recognised as HTML, SVG or XML however the file is named).
pub fn sniff(bytes: &[u8]) -> String {
    if let Some(kind) = infer::get(bytes) {
        let mime = kind.mime_type();
        // infer calls any markup text/xml or text/html; look closer below.
        if !mime.starts_with("text/") {
            return mime.to_owned();
        }
    }
    let head = &bytes[..bytes.len().min(8192)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut in the middle of a character at the 8 KiB boundary.
        Err(error) if error.valid_up_to() + 4 >= head.len() && error.valid_up_to() > 0 => {
            std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return "application/octet-stream".to_owned(),
    };
    if text.contains('\0') {
        return "application/octet-stream".to_owned();
    }
    let lower = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_lowercase();
    if lower.contains("<svg") {
        "image/svg+xml".to_owned()
    } else if lower.starts_with("<!doctype html")
        || lower.contains("<html")
        || lower.contains("<script")
        || lower.contains("<body")
        || lower.contains("<iframe")
    {
        "text/html".to_owned()
    } else if lower.starts_with("<?xml") {
        "application/xml".to_owned()
    } else {
        "text/plain".to_owned()
    }
}

/// The type a download is served as: the sniffed one, except for active content.
pub fn served_type(stored: &str) -> &str {
    if ACTIVE_TYPES.contains(&stored) || stored.starts_with("text/html") {
        "application/octet-stream"
    } else {
        stored
    }
}

/// Whether `content_type` matches one of `patterns` (`image/*`, `application/pdf`).
pub fn type_allowed(content_type: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim();
        pattern == "*/*"
            || pattern == content_type
            || pattern
                .strip_suffix("/*")
                .is_some_and(|major| content_type.split('/').next() == Some(major))
    })
}

/// A file name safe to store and show: no folders, no control characters, at most
/// 200 characters; `file` when nothing is left.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\u{202e}' | '\u{202d}'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    }
}

/// A `Content-Disposition: attachment` value for `filename` (RFC 6266: an ASCII
/// fallback and the UTF-8 name percent-encoded).
pub fn disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(byte) {
            encoded.push(*byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_the_type_not_the_name() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ];
        assert_eq!(sniff(&png), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n..."), "application/pdf");
        assert_eq!(sniff(b"<!DOCTYPE html><p>hi"), "text/html");
        assert_eq!(sniff(b"  <html><script>alert(1)</script>"), "text/html");
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>x</script></svg>"),
            "image/svg+xml"
        );
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><a/>"), "application/xml");
        assert_eq!(sniff("Il PC non si accende.\n".as_bytes()), "text/plain");
        assert_eq!(sniff(&[0, 1, 2, 3, 255, 254]), "application/octet-stream");
        assert_eq!(sniff(b""), "text/plain");
    }

    #[test]
    fn active_content_is_never_served_as_itself() {
        for active in [
            "text/html",
            "image/svg+xml",
            "application/xml",
            "text/html; charset=utf-8",
        ] {
            assert_eq!(served_type(active), "application/octet-stream");
        }
        assert_eq!(served_type("image/png"), "image/png");
    }

    #[test]
    fn types_match_patterns() {
        let patterns = vec!["image/*".to_owned(), "application/pdf".to_owned()];
        assert!(type_allowed("image/png", &patterns));
        assert!(type_allowed("application/pdf", &patterns));
        assert!(!type_allowed("text/html", &patterns));
        assert!(!type_allowed("imagex/png", &patterns));
        assert!(type_allowed("text/html", &["*/*".to_owned()]));
    }

    #[test]
    fn file_names_are_cleaned_and_encoded() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\x\\report.pdf"), "report.pdf");
        assert_eq!(clean_filename("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_filename("..."), "file");
        assert_eq!(clean_filename("evil\u{202e}gpj.exe"), "evilgpj.exe");
        assert_eq!(
            disposition("Stampa è rotta.pdf"),
            "attachment; filename=\"Stampa _ rotta.pdf\"; filename*=UTF-8''Stampa%20%C3%A8%20rotta.pdf"
        );
    }
}
