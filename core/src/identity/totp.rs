//! Authenticator-app codes (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! drift either way) and single-use recovery codes.

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// The length of a step in seconds.
const STEP: u64 = 30;

/// A fresh 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret.to_vec(),
        Some(issuer.to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// The `otpauth://` URL an authenticator app scans, and the secret in base32 for
/// typing by hand.
pub fn provisioning(secret: &[u8], issuer: &str, account: &str) -> Option<(String, String)> {
    let totp = totp(secret, &issuer.replace(':', " "), account)?;
    Some((
        totp.get_url(),
        Secret::Raw(secret.to_vec()).to_encoded().to_string(),
    ))
}

/// The QR code of `text` as an SVG element (no script, no style attribute).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// The time step a code matches (current, previous or next), compared in constant
/// time; `None` when it matches none. Accepting a step only once is the caller's job.
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: u64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "portico", "user")?;
    let current = unix_seconds / STEP;
    let mut found = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step as i64);
        }
    }
    found
}

/// Ten recovery codes like `a1b2c-3d4e5`, shown once.
pub fn recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; 5];
            rand::rng().fill_bytes(&mut bytes);
            let text = hex::encode(bytes);
            format!("{}-{}", &text[..5], &text[5..])
        })
        .collect()
}

/// Normalizes a typed recovery code for hashing.
pub fn normalize_recovery_code(input: &str) -> String {
    input.trim().to_lowercase().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let secret = new_secret();
        let totp = totp(&secret, "Portico", "anna@example.com").expect("totp");
        let now = 1_800_000_000_u64;
        let code = totp.generate(now);
        assert_eq!(matching_step(&secret, &code, now), Some((now / 30) as i64));
        assert_eq!(
            matching_step(&secret, &code, now + 30),
            Some((now / 30) as i64)
        );
        assert_eq!(
            matching_step(&secret, &code, now - 30),
            Some((now / 30) as i64)
        );
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn provisioning_gives_a_scannable_url_and_qr() {
        let secret = new_secret();
        let (url, base32) = provisioning(&secret, "Acme: IT", "anna@example.com").expect("url");
        assert!(url.starts_with("otpauth://totp/"), "{url}");
        assert!(url.contains(&base32));
        let svg = qr_svg(&url).expect("svg");
        assert!(svg.contains("<svg") && !svg.contains("<script"));
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 11));
    }
}
