//! Browser sessions: random 128-bit ids in an HttpOnly, SameSite=Lax cookie (with
//! the `__Host-` prefix and Secure under https), stored server-side in the tenant's
//! schema by hash — so a session exists only on the tenant host that issued it —
//! and CSRF checks (token plus Origin / Sec-Fetch-Site) on every state change.

use cookie::{Cookie, SameSite};
use http::header::{COOKIE, ORIGIN, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use portico_tenants::TenantDb;
use portico_tenants::accounts::{self, LoginRecord, SessionRecord};
use portico_tenants::tokens::{hash_token, random_token};
use subtle::ConstantTimeEq;

use crate::http::error::ApiError;
use crate::settings::Settings;
use crate::state::AppState;

/// A new session id (128 random bits, hex).
pub fn new_session_id() -> String {
    random_token(16)
}

/// A new CSRF token.
pub fn new_csrf_token() -> String {
    random_token(16)
}

/// The session cookie's name: `__Host-` prefixed when served over https.
pub fn session_cookie_name(settings: &Settings) -> &'static str {
    if settings.public_scheme == "https" {
        "__Host-portico_session"
    } else {
        "portico_session"
    }
}

/// The pre-session CSRF cookie's name (sign-in and invitation forms).
pub fn csrf_cookie_name(settings: &Settings) -> &'static str {
    if settings.public_scheme == "https" {
        "__Host-portico_csrf"
    } else {
        "portico_csrf"
    }
}

/// A `Set-Cookie` value: host-only (never `Domain=`), path `/`, HttpOnly, Lax.
pub fn set_cookie(
    settings: &Settings,
    name: &'static str,
    value: &str,
    max_age_seconds: Option<i64>,
) -> HeaderValue {
    let mut cookie = Cookie::build((name, value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.public_scheme == "https");
    if let Some(seconds) = max_age_seconds {
        cookie = cookie.max_age(cookie::time::Duration::seconds(seconds));
    }
    HeaderValue::from_str(&cookie.build().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes a cookie.
pub fn clear_cookie(settings: &Settings, name: &'static str) -> HeaderValue {
    set_cookie(settings, name, "", Some(0))
}

/// The value of cookie `name` in the request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// Adds a `Set-Cookie` header to `headers`.
pub fn append_cookie(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

/// Refuses cross-site state changes: a browser's `Sec-Fetch-Site` must say the
/// request comes from this very origin (tenant subdomains are same-site to each
/// other, so SameSite cookies alone do not stop `evil.<base>`), and an `Origin`
/// header must name this host.
///
/// Our pages send `Referrer-Policy: no-referrer`, under which browsers write
/// `Origin: null` on their own same-origin form posts: such a post is accepted only
/// when `Sec-Fetch-Site` vouches that it is same-origin.
pub fn check_origin(settings: &Settings, headers: &HeaderMap) -> Result<(), ApiError> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = site
        && site != "same-origin"
        && site != "none"
    {
        return Err(ApiError::Forbidden);
    }
    if let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
        if origin == "null" {
            return if site == Some("same-origin") {
                Ok(())
            } else {
                Err(ApiError::Forbidden)
            };
        }
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let expected = format!("{}://{}", settings.public_scheme, host.to_ascii_lowercase());
        if origin.to_ascii_lowercase() != expected {
            return Err(ApiError::Forbidden);
        }
    }
    Ok(())
}

/// Compares a submitted CSRF token with the expected one in constant time.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty()
        && expected.len() == submitted.len()
        && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// A live session with its person.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    /// The stored session.
    pub session: SessionRecord,
    /// Its person.
    pub user: LoginRecord,
}

/// The session of this request on this tenant, if any.
pub async fn load(
    state: &AppState,
    db: &TenantDb,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, ApiError> {
    let settings = &state.settings;
    let Some(id) = read_cookie(headers, session_cookie_name(settings)) else {
        return Ok(None);
    };
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let idle_ms = settings.session_idle_minutes as i64 * 60_000;
    let Some(session) = state.sessions.find(db, &hash_token(&id), idle_ms).await? else {
        return Ok(None);
    };
    let Some(user) = accounts::login_by_id(db, session.user_id)
        .await?
        .filter(|user| user.status != "disabled")
    else {
        return Ok(None);
    };
    Ok(Some(CurrentSession { session, user }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_host_only_http_only_and_lax() {
        let mut settings = Settings::default();
        let value = set_cookie(&settings, session_cookie_name(&settings), "abc", None);
        let text = value.to_str().expect("ascii");
        assert!(text.starts_with("portico_session=abc"), "{text}");
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Path=/")
        );
        assert!(!text.contains("Domain") && !text.contains("Secure"));
        settings.public_scheme = "https".into();
        let text = set_cookie(&settings, session_cookie_name(&settings), "abc", None)
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            text.starts_with("__Host-portico_session=abc") && text.contains("Secure"),
            "{text}"
        );
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let settings = Settings::default();
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::HOST,
            HeaderValue::from_static("acme.localhost:8080"),
        );
        assert!(check_origin(&settings, &headers).is_ok());
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(check_origin(&settings, &headers).is_err());
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        headers.insert(
            ORIGIN,
            HeaderValue::from_static("http://evil.localhost:8080"),
        );
        assert!(check_origin(&settings, &headers).is_err());
        headers.insert(
            ORIGIN,
            HeaderValue::from_static("http://acme.localhost:8080"),
        );
        assert!(check_origin(&settings, &headers).is_ok());
        // `Origin: null` (no-referrer policy) only with a same-origin fetch site.
        headers.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&settings, &headers).is_ok());
        headers.remove("sec-fetch-site");
        assert!(check_origin(&settings, &headers).is_err());
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(check_origin(&settings, &headers).is_err());
        assert!(
            tokens_match("abcd", "abcd") && !tokens_match("abcd", "abce") && !tokens_match("", "")
        );
    }
}
