//! Passwords: the policy (8 to 128 characters, upper- and lower-case letters, a
//! digit or symbol, not among the 10,000 most common) and argon2id hashing off the
//! async runtime with a concurrency cap, verified in constant time against a dummy
//! hash when the account does not exist.
//!
//! Each hash needs 19 MiB of working memory. Allocating it per hash lets the
//! allocator keep every freed buffer in the arena of whichever blocking thread ran
//! it (measured: over 1 GiB resident after a burst of sign-ins); instead the
//! buffers are allocated once, at most one per concurrency permit, and reused.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// The most common passwords (zxcvbn's list, lower-case), shipped in the repository.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// Why a password was refused; each maps to a translated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Fewer than 8 characters.
    #[error("password-too-short")]
    TooShort,
    /// More than 128 characters.
    #[error("password-too-long")]
    TooLong,
    /// Missing an upper-case letter, a lower-case letter, or a digit or symbol.
    #[error("password-too-simple")]
    TooSimple,
    /// Among the most common passwords, or the e-mail address itself.
    #[error("password-too-common")]
    TooCommon,
}

impl PasswordProblem {
    /// The Fluent message id of the explanation.
    pub fn message_id(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "password-too-short",
            PasswordProblem::TooLong => "password-too-long",
            PasswordProblem::TooSimple => "password-too-simple",
            PasswordProblem::TooCommon => "password-too-common",
        }
    }
}

/// Why hashing failed (a bug or resource exhaustion, never the user's input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Working memory for argon2, reused across hashes: never more buffers than
/// permits, since a buffer is only taken while a permit is held.
#[derive(Default)]
struct MemoryPool {
    free: Mutex<Vec<Vec<Block>>>,
}

impl MemoryPool {
    /// A buffer of at least `blocks` blocks.
    fn take(&self, blocks: usize) -> Vec<Block> {
        let mut buffer = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::new());
        }
        buffer
    }

    /// Returns a buffer; one far larger than today's parameters need (left by a
    /// hash made with other parameters) is dropped instead of kept.
    fn give_back(&self, buffer: Vec<Block>) {
        if buffer.len() > 2 * current_params().block_count() {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            free.push(buffer);
        }
    }
}

/// Hashes `password` with `salt` under `hasher` into `out`, in pooled memory.
fn hash_into(
    pool: &MemoryPool,
    hasher: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let mut memory = pool.take(params.block_count());
    let result = hasher.hash_password_into_with_memory(password, salt, out, &mut memory[..]);
    pool.give_back(memory);
    result
}

/// A new PHC string for `password` at today's parameters.
fn hash_phc(pool: &MemoryPool, password: &[u8]) -> Result<String, HashError> {
    let params = current_params();
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| HashError(e.to_string()))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_into(pool, &hasher, &params, password, salt_bytes, &mut out)
        .map_err(|e| HashError(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| HashError(e.to_string()))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| HashError(e.to_string()))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored` (any argon2 variant and
/// parameters it names), compared in constant time; a malformed string never does.
fn verify_phc(pool: &MemoryPool, stored: &PasswordHash<'_>, password: &[u8]) -> bool {
    let (Some(expected), Some(salt)) = (stored.hash, stored.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    // Refuse parameters no hash of ours would use, so a planted string cannot make
    // verification allocate without bound.
    if params.m_cost() > 256 * 1024 || params.t_cost() > 16 || params.p_cost() > 8 {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let hasher = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    if hash_into(pool, &hasher, &params, password, salt_bytes, &mut out).is_err() {
        return false;
    }
    bool::from(expected.as_bytes().ct_eq(&out))
}

/// Checks and hashes passwords.
pub struct Passwords {
    common: HashSet<&'static str>,
    pool: Arc<MemoryPool>,
    permits: Arc<Semaphore>,
    dummy_hash: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// argon2id at the OWASP setting: 19 MiB, 2 passes, 1 lane.
fn current_params() -> Params {
    Params::new(19 * 1024, 2, 1, None).unwrap_or(Params::DEFAULT)
}

impl Passwords {
    /// A checker allowing `concurrency` hashes at once (each holds 19 MiB).
    pub fn new(concurrency: usize) -> Self {
        let pool = Arc::new(MemoryPool::default());
        let dummy_hash = hash_phc(&pool, b"portico dummy password").unwrap_or_default();
        Passwords {
            common: COMMON_PASSWORDS
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect(),
            pool,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash,
        }
    }

    /// Applies the policy. `email` is refused as a password too.
    pub fn check(&self, password: &str, email: &str) -> Result<(), PasswordProblem> {
        let length = password.chars().count();
        if length < 8 {
            return Err(PasswordProblem::TooShort);
        }
        if length > 128 {
            return Err(PasswordProblem::TooLong);
        }
        let upper = password.chars().any(char::is_uppercase);
        let lower = password.chars().any(char::is_lowercase);
        let other = password
            .chars()
            .any(|c| c.is_ascii_digit() || !c.is_alphanumeric());
        if !(upper && lower && other) {
            return Err(PasswordProblem::TooSimple);
        }
        let lowered = password.to_lowercase();
        let local_part = email.split('@').next().unwrap_or("");
        if self.common.contains(lowered.as_str())
            || lowered == email.to_lowercase()
            || (local_part.len() >= 4
                && lowered.contains(&local_part.to_lowercase())
                && lowered.len() <= local_part.len() + 4)
        {
            return Err(PasswordProblem::TooCommon);
        }
        Ok(())
    }

    /// Hashes a password as a PHC string, off the async runtime.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let pool = self.pool.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_phc(&pool, password.as_bytes()))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }

    /// Verifies `password` against `stored` (or, when `None`, against a dummy hash so
    /// the time spent does not reveal whether the account exists). Returns whether it
    /// matched and whether the stored hash should be replaced by a stronger one.
    pub async fn verify(
        &self,
        stored: Option<&str>,
        password: &str,
    ) -> Result<(bool, bool), HashError> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError(e.to_string()))?;
        let pool = self.pool.clone();
        let real = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return (false, false);
            };
            let matched = verify_phc(&pool, &parsed, password.as_bytes());
            let current = current_params();
            let weaker = parsed.algorithm.as_str() != "argon2id"
                || Params::try_from(&parsed).is_ok_and(|p| {
                    p.m_cost() < current.m_cost()
                        || p.t_cost() < current.t_cost()
                        || p.p_cost() < current.p_cost()
                });
            (matched && real, matched && real && weaker)
        })
        .await
        .map_err(|e| HashError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
    use rstest::rstest;

    #[rstest]
    #[case("Sh0rt!", PasswordProblem::TooShort)]
    #[case("alllowercase1", PasswordProblem::TooSimple)]
    #[case("ALLUPPERCASE1", PasswordProblem::TooSimple)]
    #[case("NoDigitsOrSymbols", PasswordProblem::TooSimple)]
    #[case("Password1", PasswordProblem::TooCommon)]
    #[case("Qwerty123", PasswordProblem::TooCommon)]
    #[case("Anna.Rossi@example.com", PasswordProblem::TooCommon)]
    fn weak_passwords_are_refused(#[case] password: &str, #[case] problem: PasswordProblem) {
        let passwords = Passwords::new(1);
        assert_eq!(
            passwords.check(password, "anna.rossi@example.com"),
            Err(problem)
        );
    }

    #[test]
    fn good_passwords_pass_and_length_is_bounded() {
        let passwords = Passwords::new(1);
        assert_eq!(
            passwords.check("Correct-Horse-7", "anna@example.com"),
            Ok(())
        );
        assert_eq!(
            passwords.check("Ünïcödé-Pässwort", "anna@example.com"),
            Ok(())
        );
        let long = format!("Aa1{}", "x".repeat(126));
        assert_eq!(
            passwords.check(&long, "anna@example.com"),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(passwords.common.len(), 10_000);
    }

    #[tokio::test]
    async fn hashes_verify_and_weak_parameters_ask_for_a_rehash() {
        let passwords = Passwords::new(2);
        let hash = passwords.hash("Correct-Horse-7").await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            passwords
                .verify(Some(&hash), "Correct-Horse-7")
                .await
                .expect("verify"),
            (true, false)
        );
        // The pooled computation writes standard PHC strings.
        let parsed = PasswordHash::new(&hash).expect("phc");
        assert!(
            Argon2::default()
                .verify_password(b"Correct-Horse-7", &parsed)
                .is_ok()
        );
        assert_eq!(
            passwords
                .verify(Some(&hash), "wrong")
                .await
                .expect("verify"),
            (false, false)
        );
        assert_eq!(
            passwords
                .verify(None, "Correct-Horse-7")
                .await
                .expect("verify"),
            (false, false)
        );
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).expect("params"),
        );
        let old = weak
            .hash_password(b"Correct-Horse-7", &SaltString::generate(&mut OsRng))
            .expect("hash")
            .to_string();
        assert_eq!(
            passwords
                .verify(Some(&old), "Correct-Horse-7")
                .await
                .expect("verify"),
            (true, true)
        );
        assert_eq!(
            passwords
                .verify(Some("not a phc string"), "x")
                .await
                .expect("verify"),
            (false, false)
        );
    }

    #[tokio::test]
    async fn working_memory_is_reused_and_never_exceeds_the_permits() {
        let passwords = Arc::new(Passwords::new(2));
        let hashes = futures::future::join_all((0..6).map(|_| {
            let passwords = passwords.clone();
            async move { passwords.hash("Correct-Horse-7").await.expect("hash") }
        }))
        .await;
        assert_eq!(hashes.len(), 6);
        let free = passwords.pool.free.lock().expect("pool").len();
        assert!((1..=2).contains(&free), "{free} buffers kept");
    }
}
