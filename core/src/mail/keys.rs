//! The keys that thread mail back to its ticket, all signed with a key derived from
//! the platform master key, so none can be guessed from a ticket's sequential number
//! or forged to reach another ticket or tenant:
//!
//! - the Message-ID of everything Portico sends about a ticket,
//!   `<portico.<slug>.<number>.<nonce>.<sig>@<base domain>>` (nonce `0` is the
//!   thread's root, which every message references);
//! - the subject token `[#1042-k7f2q]` (a keyed tag after the number);
//! - the plus-address `<slug>+1042-k7f2q@inbound.<base domain>` in Reply-To;
//! - the hidden marker `portico-ref:1042-k7f2q` in the HTML part;
//! - the one-click close link's token (expiring, bound to the requester).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks thread keys.
#[derive(Clone)]
pub struct ThreadKeys {
    key: [u8; 32],
    base_domain: String,
}

impl std::fmt::Debug for ThreadKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadKeys")
            .field("base_domain", &self.base_domain)
            .finish_non_exhaustive()
    }
}

const BASE32: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

fn base32(bytes: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        acc = (acc << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 && out.len() < len {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
        if out.len() >= len {
            break;
        }
    }
    out
}

impl ThreadKeys {
    /// Keys for the platform on `base_domain`, from a 32-byte secret.
    pub fn new(key: [u8; 32], base_domain: &str) -> Self {
        ThreadKeys {
            key,
            base_domain: base_domain.to_ascii_lowercase(),
        }
    }

    fn mac(&self, parts: &[&str]) -> Vec<u8> {
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.key) else {
            return Vec::new();
        };
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn verify(&self, parts: &[&str], given: &str, len: usize) -> bool {
        let expected = base32(&self.mac(parts), len);
        given.len() == len
            && subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into()
    }

    /// The platform's base domain.
    pub fn base_domain(&self) -> &str {
        &self.base_domain
    }

    /// The keyed tag of ticket `number` of tenant `slug` (subject token, markers).
    pub fn tag(&self, slug: &str, number: i64) -> String {
        base32(&self.mac(&["tag", slug, &number.to_string()]), 5)
    }

    /// Whether `tag` is ticket `number`'s tag in tenant `slug`.
    pub fn check_tag(&self, slug: &str, number: i64, tag: &str) -> bool {
        self.verify(&["tag", slug, &number.to_string()], tag, 5)
    }

    /// The subject token, `[#1042-k7f2q]`.
    pub fn subject_token(&self, slug: &str, number: i64) -> String {
        format!("[#{number}-{}]", self.tag(slug, number))
    }

    /// The hidden marker of the HTML part.
    pub fn marker(&self, slug: &str, number: i64) -> String {
        format!("portico-ref:{number}-{}", self.tag(slug, number))
    }

    /// The Message-ID (without angle brackets) of a message about ticket `number`;
    /// `nonce` 0 is the thread's root.
    pub fn message_id(&self, slug: &str, number: i64, nonce: &str) -> String {
        let sig = base32(&self.mac(&["mid", slug, &number.to_string(), nonce]), 10);
        format!("portico.{slug}.{number}.{nonce}.{sig}@{}", self.base_domain)
    }

    /// The tenant and ticket a Message-ID of ours names, when its signature holds.
    pub fn parse_message_id(&self, id: &str) -> Option<(String, i64)> {
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = id.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.base_domain) {
            return None;
        }
        let rest = local.strip_prefix("portico.")?;
        let mut parts = rest.rsplitn(4, '.');
        let sig = parts.next()?;
        let nonce = parts.next()?;
        let number = parts.next()?;
        let slug = parts.next()?;
        let parsed: i64 = number.parse().ok()?;
        self.verify(&["mid", slug, number, nonce], sig, 10)
            .then(|| (slug.to_owned(), parsed))
    }

    /// The tenant's platform inbound address (`<slug>@inbound.<base>`).
    pub fn inbound_address(&self, slug: &str) -> String {
        format!("{slug}@inbound.{}", self.base_domain)
    }

    /// The reply address of ticket `number`: the inbound address plus its token.
    pub fn reply_address(&self, slug: &str, number: i64) -> String {
        format!(
            "{slug}+{number}-{}@inbound.{}",
            self.tag(slug, number),
            self.base_domain
        )
    }

    /// The tenant (and ticket, for a valid plus token) an inbound address names;
    /// `None` for an address outside `inbound.<base>`.
    pub fn parse_inbound_address(&self, address: &str) -> Option<(String, Option<i64>)> {
        let address = address
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_ascii_lowercase();
        let (local, domain) = address.rsplit_once('@')?;
        if domain != format!("inbound.{}", self.base_domain) {
            return None;
        }
        let (slug, token) = match local.split_once('+') {
            Some((slug, token)) => (slug, Some(token)),
            None => (local, None),
        };
        if slug.is_empty() {
            return None;
        }
        let number = token.and_then(|token| {
            let (number, tag) = token.split_once('-')?;
            let number: i64 = number.parse().ok()?;
            self.check_tag(slug, number, tag).then_some(number)
        });
        Some((slug.to_owned(), number))
    }

    /// The close link's token for `user` on ticket `number`, valid until `expires`
    /// (Unix seconds).
    pub fn close_token(&self, slug: &str, number: i64, user: i64, expires: i64) -> String {
        let sig = base32(
            &self.mac(&[
                "close",
                slug,
                &number.to_string(),
                &user.to_string(),
                &expires.to_string(),
            ]),
            20,
        );
        format!("{number}.{user}.{expires}.{sig}")
    }

    /// The ticket and user a close token names, when it is valid at `now`.
    pub fn check_close_token(&self, slug: &str, token: &str, now: i64) -> Option<(i64, i64)> {
        let mut parts = token.split('.');
        let (number, user, expires, sig) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let (n, u, e): (i64, i64, i64) = (
            number.parse().ok()?,
            user.parse().ok()?,
            expires.parse().ok()?,
        );
        (e >= now && self.verify(&["close", slug, number, user, expires], sig, 20))
            .then_some((n, u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ThreadKeys {
        ThreadKeys::new([7; 32], "desk.example")
    }

    #[test]
    fn message_ids_round_trip_and_resist_forgery() {
        let k = keys();
        let id = k.message_id("acme", 1042, "0");
        assert_eq!(
            k.parse_message_id(&format!("<{id}>")),
            Some(("acme".into(), 1042))
        );
        let forged = id.replace(".1042.", ".1043.");
        assert_eq!(k.parse_message_id(&forged), None);
        let other_tenant = id.replace("portico.acme.", "portico.beta.");
        assert_eq!(k.parse_message_id(&other_tenant), None);
        assert_eq!(k.parse_message_id("random@desk.example"), None);
        let other = ThreadKeys::new([8; 32], "desk.example");
        assert_eq!(other.parse_message_id(&id), None);
    }

    #[test]
    fn tags_and_plus_addresses_are_keyed() {
        let k = keys();
        let tag = k.tag("acme", 7);
        assert!(k.check_tag("acme", 7, &tag));
        assert!(!k.check_tag("acme", 8, &tag));
        assert!(!k.check_tag("beta", 7, &tag));
        assert_ne!(k.tag("acme", 7), k.tag("acme", 8));
        let reply = k.reply_address("acme", 7);
        assert_eq!(
            k.parse_inbound_address(&reply),
            Some(("acme".into(), Some(7)))
        );
        assert_eq!(
            k.parse_inbound_address("acme+7-aaaaa@inbound.desk.example"),
            Some(("acme".into(), None))
        );
        assert_eq!(
            k.parse_inbound_address("ACME@Inbound.Desk.Example"),
            Some(("acme".into(), None))
        );
        assert_eq!(k.parse_inbound_address("acme@desk.example"), None);
    }

    #[test]
    fn close_tokens_expire_and_bind_the_user() {
        let k = keys();
        let token = k.close_token("acme", 5, 9, 1_000);
        assert_eq!(k.check_close_token("acme", &token, 999), Some((5, 9)));
        assert_eq!(k.check_close_token("acme", &token, 1_001), None);
        assert_eq!(k.check_close_token("beta", &token, 999), None);
        assert_eq!(
            k.check_close_token("acme", &token.replace("5.9.", "5.8."), 999),
            None
        );
    }
}
