//! Passwords: the policy (8 to 128 characters, upper- and lower-case letters, a
//! digit or symbol, not among the 10,000 most common) and argon2id hashing off the
//! async runtime with a concurrency cap, verified in constant time against a dummy
//! hash when the account does not exist.

use std::collections::HashSet;
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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

/// Checks and hashes passwords.
pub struct Passwords {
    common: HashSet<&'static str>,
    hasher: Argon2<'static>,
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
        let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, current_params());
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = hasher
            .hash_password(b"portico dummy password", &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default();
        Passwords {
            common: COMMON_PASSWORDS
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect(),
            hasher,
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
        let hasher = self.hasher.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            hasher
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| HashError(e.to_string()))
        })
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
        let hasher = self.hasher.clone();
        let real = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return (false, false);
            };
            let matched = hasher.verify_password(password.as_bytes(), &parsed).is_ok();
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
}
