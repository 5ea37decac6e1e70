//! The master key and the sealing of stored secrets (TOTP seeds, SMTP and IMAP
//! passwords, certificate keys, plugin secrets) with XChaCha20-Poly1305.
//!
//! Every sealed value is bound to a context string (for example
//! `tenant:12:smtp_password`) as associated data, so a ciphertext copied into
//! another tenant's row or another field does not open.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::ExposeSecret;

use crate::settings::Settings;

/// The key every stored secret is encrypted with. Cloned only where a background
/// handler built before the shared state needs it (webhook signing).
#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

/// Why the master key could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// The configured value is not base64 of 32 bytes.
    #[error(
        "{setting}: must be the base64 encoding of 32 random bytes (generate one with `openssl rand -base64 32`)"
    )]
    Malformed {
        /// The setting that held it.
        setting: &'static str,
    },
    /// PostgreSQL means many instances: they must share one configured key.
    #[error(
        "PORTICO_MASTER_KEY or PORTICO_MASTER_KEY_FILE is required with PostgreSQL, so that every instance shares it"
    )]
    Required,
    /// The key file could not be read or written.
    #[error("{setting}: cannot use {path}")]
    File {
        /// The setting naming the file.
        setting: &'static str,
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error)]
#[error("sealed value cannot be opened (wrong key, wrong context or damaged)")]
pub struct UnsealError;

const SEALED_PREFIX: &str = "v1.";

impl MasterKey {
    /// A key from its base64 text.
    pub fn from_base64(text: &str, setting: &'static str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| MasterKeyError::Malformed { setting })?;
        if bytes.len() != 32 {
            return Err(MasterKeyError::Malformed { setting });
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| MasterKeyError::Malformed { setting })?;
        Ok(MasterKey { cipher })
    }

    /// A fresh random key, returned with its base64 text.
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let text = STANDARD.encode(bytes);
        let cipher = XChaCha20Poly1305::new(&bytes.into());
        (MasterKey { cipher }, text)
    }

    /// The configured key: `PORTICO_MASTER_KEY`, else `PORTICO_MASTER_KEY_FILE`, else
    /// (embedded default only) `<data_dir>/master.key`, created on first start.
    pub fn load(settings: &Settings) -> Result<Self, MasterKeyError> {
        if let Some(key) = &settings.master_key {
            return Self::from_base64(key.expose_secret(), "PORTICO_MASTER_KEY");
        }
        if let Some(path) = &settings.master_key_file {
            return Self::read_file(path, "PORTICO_MASTER_KEY_FILE");
        }
        if !settings.is_embedded() {
            return Err(MasterKeyError::Required);
        }
        let path = settings.data_dir.join("master.key");
        if path.exists() {
            return Self::read_file(&path, "PORTICO_DATA_DIR");
        }
        let file_error = |source| MasterKeyError::File {
            setting: "PORTICO_DATA_DIR",
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&settings.data_dir).map_err(file_error)?;
        let (key, text) = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        // Write a temporary file, then rename it into place: a crash never leaves an
        // empty or partial key behind.
        let partial = settings.data_dir.join("master.key.partial");
        let _ = std::fs::remove_file(&partial);
        let mut file = options.open(&partial).map_err(file_error)?;
        file.write_all(text.as_bytes()).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        drop(file);
        std::fs::rename(&partial, &path).map_err(file_error)?;
        if let Ok(dir) = std::fs::File::open(&settings.data_dir) {
            let _ = dir.sync_all();
        }
        Ok(key)
    }

    fn read_file(path: &Path, setting: &'static str) -> Result<Self, MasterKeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| MasterKeyError::File {
            setting,
            path: path.display().to_string(),
            source,
        })?;
        Self::from_base64(&text, setting)
    }

    /// Encrypts `plaintext` for storage, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = XNonce::from(nonce);
        // Encryption with a valid key and nonce cannot fail for inputs below 256 GiB.
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed))
    }

    /// A 32-byte key for `context`, derived deterministically from the master key
    /// (the same on every instance sharing it): for MACs such as the plugin host's
    /// compiled-code cache tags.
    pub fn derive(&self, context: &str) -> [u8; 32] {
        use sha2::Digest;
        let nonce = XNonce::default();
        let block = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &[0u8; 32],
                    aad: format!("derive:{context}").as_bytes(),
                },
            )
            .unwrap_or_default();
        sha2::Sha256::digest(&block).into()
    }

    /// Decrypts a value made by [`MasterKey::seal`] with the same `context`.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, UnsealError> {
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or(UnsealError)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| UnsealError)?;
        if bytes.len() < 24 + 16 {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| UnsealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_its_key_and_context() {
        let (key, _) = MasterKey::generate();
        let (other, _) = MasterKey::generate();
        let sealed = key.seal("tenant:1:smtp_password", b"hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(
            key.open("tenant:1:smtp_password", &sealed).ok(),
            Some(b"hunter2".to_vec())
        );
        assert!(key.open("tenant:2:smtp_password", &sealed).is_err());
        assert!(other.open("tenant:1:smtp_password", &sealed).is_err());
        assert!(key.open("tenant:1:smtp_password", "v1.garbage").is_err());
        assert_ne!(
            sealed,
            key.seal("tenant:1:smtp_password", b"hunter2"),
            "nonces differ"
        );
    }

    #[test]
    fn embedded_default_generates_and_then_reuses_its_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        let first = MasterKey::load(&settings).expect("generated");
        let sealed = first.seal("ctx", b"secret");
        let second = MasterKey::load(&settings).expect("reloaded");
        assert_eq!(second.open("ctx", &sealed).ok(), Some(b"secret".to_vec()));
        assert!(format!("{second:?}").contains("redacted"));
    }

    #[test]
    fn postgres_without_a_key_is_refused_and_bad_keys_name_their_setting() {
        let settings = Settings {
            database_url: Some("postgres://localhost/x".to_owned().into()),
            ..Settings::default()
        };
        assert!(matches!(
            MasterKey::load(&settings),
            Err(MasterKeyError::Required)
        ));
        let error =
            MasterKey::from_base64("c2hvcnQ=", "PORTICO_MASTER_KEY").expect_err("too short");
        assert!(error.to_string().contains("PORTICO_MASTER_KEY"));
    }
}
