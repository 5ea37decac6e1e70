//! Signed plugin bundles: a tar archive holding `plugin.toml`, `plugin.wasm` and
//! `signature`, an ed25519 signature by the publisher over both files' SHA-256.

use std::collections::HashMap;
use std::io::Read;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::manifest::{Manifest, ManifestError};

/// The largest bundle admitted.
pub const MAX_BUNDLE_BYTES: usize = 10 * 1024 * 1024;
const DOMAIN: &[u8] = b"portico-plugin-bundle-v1\0";
const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "portico-plugin-secret-key:";

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("the bundle is {0} bytes; the limit is 10 MiB")]
    TooLarge(usize),
    /// Not a readable archive, or a file is missing or repeated.
    #[error("not a plugin bundle: {0}")]
    Malformed(String),
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Nobody trusted signs for this publisher.
    #[error("publisher '{0}' is not trusted on this platform")]
    UnknownPublisher(String),
    /// The signature does not match the contents.
    #[error(
        "the signature does not match the bundle's contents (tampered, or signed with another key)"
    )]
    BadSignature,
    /// A key could not be read.
    #[error("invalid key: {0}")]
    BadKey(String),
}

/// A bundle's parts, before its signature is checked.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// `plugin.toml`, as written.
    pub manifest_text: String,
    /// The component.
    pub wasm: Vec<u8>,
    /// The publisher's signature.
    pub signature: Vec<u8>,
}

/// A bundle whose signature a trusted key verified.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// `plugin.toml`, as written.
    pub manifest_text: String,
    /// The component.
    pub wasm: Vec<u8>,
    /// SHA-256 of the component, hex.
    pub wasm_sha256: String,
    /// The bundle's bytes, as received.
    pub bytes: Vec<u8>,
}

fn signed_message(manifest_text: &str, wasm: &[u8]) -> Vec<u8> {
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(&Sha256::digest(manifest_text.as_bytes()));
    message.extend_from_slice(&Sha256::digest(wasm));
    message
}

/// A new publisher key pair: (secret key text, public key text).
pub fn generate_key() -> (String, String) {
    let seed: [u8; 32] = rand::random();
    let key = SigningKey::from_bytes(&seed);
    (
        format!("{SECRET_PREFIX}{}", B64.encode(seed)),
        public_key_text(&key.verifying_key()),
    )
}

/// `ed25519:<base64>`.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_PREFIX}{}", B64.encode(key.as_bytes()))
}

/// Reads a secret key written by [`generate_key`].
pub fn parse_secret_key(text: &str) -> Result<SigningKey, PackageError> {
    let encoded = text
        .trim()
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| PackageError::BadKey(format!("a secret key starts with {SECRET_PREFIX}")))?;
    let bytes: [u8; 32] = B64
        .decode(encoded)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| PackageError::BadKey("not 32 bytes of base64".into()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Reads a public key `ed25519:<base64>`.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, PackageError> {
    let encoded = text
        .trim()
        .strip_prefix(PUBLIC_PREFIX)
        .ok_or_else(|| PackageError::BadKey(format!("a public key starts with {PUBLIC_PREFIX}")))?;
    let bytes: [u8; 32] = B64
        .decode(encoded)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| PackageError::BadKey("not 32 bytes of base64".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| PackageError::BadKey(e.to_string()))
}

/// Writes a signed bundle. The manifest is checked first, so a publisher cannot
/// sign something the platform will refuse to read.
pub fn build(manifest_text: &str, wasm: &[u8], key: &SigningKey) -> Result<Vec<u8>, PackageError> {
    Manifest::parse(manifest_text)?;
    let signature = key.sign(&signed_message(manifest_text, wasm));
    let mut archive = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("plugin.toml", manifest_text.as_bytes()),
        ("plugin.wasm", wasm),
        ("signature", B64.encode(signature.to_bytes()).as_bytes()),
    ] {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        archive
            .append_data(&mut header, name, data)
            .map_err(|e| PackageError::Malformed(e.to_string()))?;
    }
    let bytes = archive
        .into_inner()
        .map_err(|e| PackageError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(PackageError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

impl Bundle {
    /// Reads a bundle's three files; anything else in the archive refuses it.
    pub fn read(bytes: &[u8]) -> Result<Bundle, PackageError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(PackageError::TooLarge(bytes.len()));
        }
        let malformed = |m: String| PackageError::Malformed(m);
        let mut archive = tar::Archive::new(bytes);
        let (mut manifest, mut wasm, mut signature) = (None, None, None);
        for entry in archive.entries().map_err(|e| malformed(e.to_string()))? {
            let mut entry = entry.map_err(|e| malformed(e.to_string()))?;
            if !entry.header().entry_type().is_file() {
                return Err(malformed("only plain files belong in a bundle".into()));
            }
            let name = entry
                .path()
                .map_err(|e| malformed(e.to_string()))?
                .to_string_lossy()
                .into_owned();
            let slot = match name.as_str() {
                "plugin.toml" => &mut manifest,
                "plugin.wasm" => &mut wasm,
                "signature" => &mut signature,
                other => return Err(malformed(format!("unexpected file '{other}'"))),
            };
            if slot.is_some() {
                return Err(malformed(format!("'{name}' appears twice")));
            }
            let mut data = Vec::new();
            entry
                .by_ref()
                .take(MAX_BUNDLE_BYTES as u64)
                .read_to_end(&mut data)
                .map_err(|e| malformed(e.to_string()))?;
            *slot = Some(data);
        }
        let manifest = manifest.ok_or_else(|| malformed("plugin.toml is missing".into()))?;
        let manifest_text = String::from_utf8(manifest)
            .map_err(|_| malformed("plugin.toml is not UTF-8".into()))?;
        let wasm = wasm.ok_or_else(|| malformed("plugin.wasm is missing".into()))?;
        let signature = signature.ok_or_else(|| malformed("signature is missing".into()))?;
        let signature = B64
            .decode(String::from_utf8_lossy(&signature).trim())
            .map_err(|_| malformed("the signature is not base64".into()))?;
        Ok(Bundle {
            manifest_text,
            wasm,
            signature,
        })
    }

    /// Checks the manifest and the signature against the publisher's trusted key.
    pub fn verify(
        self,
        bytes: &[u8],
        trusted: &HashMap<String, VerifyingKey>,
    ) -> Result<VerifiedBundle, PackageError> {
        let manifest = Manifest::parse(&self.manifest_text)?;
        let key = trusted
            .get(&manifest.publisher)
            .ok_or_else(|| PackageError::UnknownPublisher(manifest.publisher.clone()))?;
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| PackageError::BadSignature)?;
        key.verify(&signed_message(&self.manifest_text, &self.wasm), &signature)
            .map_err(|_| PackageError::BadSignature)?;
        Ok(VerifiedBundle {
            manifest,
            wasm_sha256: hex::encode(Sha256::digest(&self.wasm)),
            manifest_text: self.manifest_text,
            wasm: self.wasm,
            bytes: bytes.to_vec(),
        })
    }
}

/// Reads and verifies a bundle in one step.
pub fn open(
    bytes: &[u8],
    trusted: &HashMap<String, VerifyingKey>,
) -> Result<VerifiedBundle, PackageError> {
    Bundle::read(bytes)?.verify(bytes, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "id = \"demo\"\nname = \"Demo\"\nversion = \"0.1.0\"\npublisher = \"acme\"\nworld = \"http\"\ninterface = \"0.1.0\"\n";

    fn trusted(public: &str) -> HashMap<String, VerifyingKey> {
        [("acme".to_owned(), parse_public_key(public).expect("key"))]
            .into_iter()
            .collect()
    }

    #[test]
    fn signs_and_verifies() {
        let (secret, public) = generate_key();
        let key = parse_secret_key(&secret).expect("secret");
        let bytes = build(MANIFEST, b"\0asm-not-really", &key).expect("build");
        let verified = open(&bytes, &trusted(&public)).expect("verified");
        assert_eq!(verified.manifest.id, "demo");
        assert_eq!(verified.wasm, b"\0asm-not-really");
    }

    #[test]
    fn refuses_tampering_and_strangers() {
        let (secret, public) = generate_key();
        let key = parse_secret_key(&secret).expect("secret");
        let bytes = build(MANIFEST, b"component bytes", &key).expect("build");
        // One flipped byte inside the component.
        let at = bytes
            .windows(9)
            .position(|w| w == b"component")
            .expect("found");
        let mut tampered = bytes.clone();
        tampered[at] ^= 0x20;
        assert!(matches!(
            open(&tampered, &trusted(&public)),
            Err(PackageError::BadSignature)
        ));
        // A manifest changed after signing (asks for more).
        let bundle = Bundle::read(&bytes).expect("read");
        let widened = Bundle {
            manifest_text: format!(
                "{MANIFEST}\n[[capabilities]]\nname = \"kv\"\nreason = \"quietly added later\"\n"
            ),
            ..bundle
        };
        assert!(matches!(
            widened.verify(&bytes, &trusted(&public)),
            Err(PackageError::BadSignature)
        ));
        // Signed by another key.
        let (_, other_public) = generate_key();
        assert!(matches!(
            open(&bytes, &trusted(&other_public)),
            Err(PackageError::BadSignature)
        ));
        assert!(matches!(
            open(&bytes, &HashMap::new()),
            Err(PackageError::UnknownPublisher(_))
        ));
        assert!(matches!(
            open(b"not a tar at all", &trusted(&public)),
            Err(PackageError::Malformed(_))
        ));
        let huge = vec![0u8; MAX_BUNDLE_BYTES + 1];
        assert!(matches!(
            open(&huge, &trusted(&public)),
            Err(PackageError::TooLarge(_))
        ));
    }
}
