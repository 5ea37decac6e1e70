//! The ticket pages of the portal and the console, server-rendered, on the tenant's
//! host: `/tickets` (status tabs with their counts, search, a cursor), `/tickets/new`
//! (multipart, so files go with the form, JavaScript or not), `/tickets/{n}` (the
//! thread, reply, internal note for staff, close and reopen, a status change for
//! staff), `/tickets/{n}/events` (server-sent events: the ticket changed) with the
//! thread fragment `/tickets/{n}/thread` it reloads, downloads, `/console` (the
//! technicians' views), the language switch, the embedded static assets with
//! content-hashed names and the tenant's `/brand.css`.
//!
//! Every page asks Casbin through [`WebUser`] exactly as the API asks for a token:
//! the scope of the decision goes to the data layer ([`Reader`]), which answers a
//! ticket outside it like a missing one. A form is checked against the session's
//! CSRF token and the request's origin before anything changes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use minijinja::{Value, context};
use portico_tenants::TenantDb;
use portico_tenants::accounts::SessionState;
use portico_tenants::approvals::{self, Decision};
use portico_tenants::ids::{EmailAddress, Role};
use portico_tenants::policy::Scope;
use portico_tenants::routing::TenantRoute;
use portico_tenants::thread::{self, NewMessage, StoredFile};
use portico_tenants::ticket_config::{self, FieldVisibility};
use portico_tenants::tickets::{self, NewTicket, Priority, Reader, Source, Ticket, TicketFilter};
use portico_tenants::time_entries::{self, NewTimeEntry};
use portico_tenants::{reports, sections};
use serde::Deserialize;
use sha2::Digest;

use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::http::pages::{not_found_page, render};
use crate::http::tickets_api::{attachment_limits, attachment_response, discard, store_file};
use crate::i18n::Locale;
use crate::identity::pages::{check_session_csrf, require_session};
use crate::identity::session::CurrentSession;
use crate::state::AppState;

/// The pages of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(asset))
        .route("/brand.css", get(brand_css))
        .route("/brand/logo", get(logo))
        .route("/tickets", get(list_page))
        .route("/tickets/new", get(new_page).post(new_submit))
        .route("/tickets/{number}", get(ticket_page))
        .route("/tickets/{number}/reply", post(reply_submit))
        .route("/tickets/{number}/status", post(status_submit))
        .route("/tickets/{number}/thread", get(thread_fragment))
        .route("/tickets/{number}/events", get(ticket_events))
        .route("/tickets/{number}/files/{id}", get(download))
        .route("/tickets/{number}/rating", post(rating_submit))
        .route("/tickets/{number}/approval", post(approval_submit))
        .route("/tickets/{number}/fields", post(fields_submit))
        .route("/tickets/{number}/time", post(time_submit))
        .route("/console", get(console_page))
        .route("/console/bulk", post(bulk_submit))
        .route("/account/language", post(language_submit))
}

// ----- static assets -----------------------------------------------------------

/// An embedded asset: its name, its content-hashed name, type, bytes, and the same
/// bytes gzipped once at start-up (served to browsers that accept gzip; pages
/// themselves are not compressed, so a reflected input can never be used to guess
/// a CSRF token from their size).
struct Asset {
    name: &'static str,
    hashed: String,
    content_type: &'static str,
    bytes: &'static [u8],
    gzipped: Vec<u8>,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let files: [(&str, &str, &[u8]); 4] = [
        (
            "portico.css",
            "text/css; charset=utf-8",
            include_bytes!("../../static/portico.css"),
        ),
        (
            "portico.js",
            JAVASCRIPT,
            include_bytes!("../../static/portico.js"),
        ),
        // Vendored from npm with their licences: see core/static/vendor/README.md.
        (
            "htmx.js",
            JAVASCRIPT,
            include_bytes!("../../static/vendor/htmx.min.js"),
        ),
        (
            "htmx-sse.js",
            JAVASCRIPT,
            include_bytes!("../../static/vendor/htmx-ext-sse.min.js"),
        ),
    ];
    files
        .into_iter()
        .map(|(name, content_type, bytes)| {
            let digest = hex::encode(sha2::Sha256::digest(bytes));
            let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                hashed: format!("{stem}.{}.{extension}", &digest[..12]),
                content_type,
                bytes,
                gzipped: gzip(bytes),
            }
        })
        .collect()
});

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The URL of an embedded asset (`portico.css` → `/static/portico.1a2b3c4d5e6f.css`);
/// templates call it as `asset('portico.css')`.
pub fn asset_url(name: &str) -> String {
    ASSETS.iter().find(|asset| asset.name == name).map_or_else(
        || format!("/static/{name}"),
        |a| format!("/static/{}", a.hashed),
    )
}

/// Serves an asset by its hashed name, cached for a year (the name changes with
/// the content), gzipped when the browser accepts it.
pub(crate) async fn asset(Path(file): Path<String>, headers: http::HeaderMap) -> Response {
    let Some(found) = ASSETS.iter().find(|asset| asset.hashed == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let accepts_gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        });
    let gzipped = accepts_gzip && !found.gzipped.is_empty();
    let mut response = if gzipped {
        Response::new(Body::from(found.gzipped.as_slice()))
    } else {
        Response::new(Body::from(found.bytes))
    };
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(found.content_type),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzipped {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

/// The tenant setting describing its logo: `{"key", "type", "sha256"}` of the
/// image in the blob store.
pub const BRAND_LOGO_SETTING: &str = "brand_logo";

/// The tenant's logo, if it set one: blob key, type, SHA-256.
pub(crate) async fn brand_logo(
    db: &TenantDb,
) -> Result<Option<(String, String, String)>, ApiError> {
    let value = portico_tenants::accounts::tenant_setting(db, BRAND_LOGO_SETTING).await?;
    Ok(value.and_then(|v| {
        let field = |name: &str| v.get(name).and_then(|x| x.as_str()).map(str::to_owned);
        Some((field("key")?, field("type")?, field("sha256")?))
    }))
}

/// `GET /brand/logo`: the tenant's logo (public: sign-in pages show it too), an
/// image type checked when it was uploaded, never sniffed by the browser.
async fn logo(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let Some((key, content_type, _)) = brand_logo(&db).await? else {
        return Err(ApiError::NotFound);
    };
    let bytes = state.blobs.get(&key).await.map_err(ApiError::Internal)?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

/// The tenant's branding as CSS custom properties (its `brand-color` setting) and,
/// when it has one, its logo before its name in the header.
async fn brand_css(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: http::HeaderMap,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let color = crate::mail::notify::brand(&state.hosts, &db).await.color;
    let mut sheet = brand_sheet(&color);
    if let Some((_, _, sha256)) = brand_logo(&db).await? {
        // The hash in the address: a new logo is fetched at once, not after a day.
        sheet.push_str(&format!(
            ".bar .name::before{{content:\"\";display:inline-block;width:2rem;height:2rem;margin-right:.5rem;vertical-align:middle;background:url(\"/brand/logo?v={}\") center/contain no-repeat}}\n",
            &sha256[..sha256.len().min(12)]
        ));
    }
    Ok(brand_response(sheet, &headers))
}

/// The operator host's brand sheet: Portico's own colour.
pub(crate) async fn platform_brand_css(headers: http::HeaderMap) -> Response {
    brand_response(brand_sheet(crate::mail::notify::DEFAULT_COLOR), &headers)
}

/// A brand sheet, revalidated on every use (`no-cache` with an ETag: a new colour
/// or logo shows on the next page, an unchanged sheet costs a 304).
fn brand_response(css: String, request: &http::HeaderMap) -> Response {
    let tag = format!(
        "\"{}\"",
        &hex::encode(sha2::Sha256::digest(css.as_bytes()))[..16]
    );
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(css))
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// The brand sheet for `color` (`#rrggbb`): the colour itself for borders and
/// accents, `--brand-text` darkened until text in it reaches WCAG AA (4.5:1) on
/// the lightest and the shaded background, and `--on-brand`, black or white,
/// white when it reaches AA on the colour, else whichever reads better (buttons).
fn brand_sheet(color: &str) -> String {
    let parse = |hex: &str| -> Option<[f64; 3]> {
        let hex = hex.strip_prefix('#')?;
        let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        Some([channel(0)?, channel(2)?, channel(4)?].map(f64::from))
    };
    let Some(rgb) = parse(color) else {
        return String::new();
    };
    let luminance = |[r, g, b]: [f64; 3]| {
        let linear = |c: f64| {
            let c = c / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    };
    let contrast = |a: f64, b: f64| (a.max(b) + 0.05) / (a.min(b) + 0.05);
    // The shaded background of the header (--soft, #f3f5f8) is the darker of the two.
    let soft = luminance([243.0, 245.0, 248.0]);
    let mut text = rgb;
    for _ in 0..40 {
        if contrast(luminance(text), soft) >= 4.5 {
            break;
        }
        text = text.map(|c| c * 0.92);
    }
    let hex = |[r, g, b]: [f64; 3]| format!("#{:02x}{:02x}{:02x}", r as u8, g as u8, b as u8);
    let own = luminance(rgb);
    let on_brand = if contrast(own, 1.0) >= 4.5 || contrast(own, 1.0) >= contrast(own, 0.0) {
        "#fff"
    } else {
        "#000"
    };
    format!(
        ":root{{--brand:{color};--brand-text:{};--on-brand:{on_brand}}}\n",
        hex(text)
    )
}

// ----- who is asking -----------------------------------------------------------

/// A signed-in person (an active session) on the tenant the request was routed to;
/// anyone else is sent to the step their session is at, or to `/login`.
pub(crate) struct WebUser {
    pub(crate) db: TenantDb,
    pub(crate) route: Arc<TenantRoute>,
    pub(crate) current: CurrentSession,
    pub(crate) locale: Locale,
    /// The time zone times are shown in (theirs, else the tenant's, else UTC).
    pub(crate) zone: jiff::tz::TimeZone,
    /// The portal sections switched on for this person (staff: all of them).
    sections: Vec<&'static str>,
    /// The enabled `ui` plugins whose views this person may open (`/apps`).
    pub(crate) apps: Vec<crate::http::plugin_views::App>,
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let browser: Locale = match Locale::from_request_parts(parts, state).await {
            Ok(locale) => locale,
            Err(never) => match never {},
        };
        let CurrentTenant(route) = CurrentTenant::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let db = route
            .db(&state.store)
            .map_err(|e| ApiError::from(e).into_response())?;
        match require_session(state, &db, &parts.headers, SessionState::Active).await {
            Ok(Ok(current)) => {
                let locale = Locale::from_tag(&current.user.locale).unwrap_or(browser);
                let staff = matches!(current.user.role, Role::MspAdmin | Role::Technician);
                // A customer's organization decides their sections and their apps.
                let organization = if staff {
                    None
                } else {
                    portico_tenants::policy::organization_of(&db, current.user.user_id)
                        .await
                        .map_err(|e| ApiError::from(e).into_response())?
                };
                let sections = if staff {
                    sections::SECTIONS.to_vec()
                } else {
                    sections::enabled_sections(&db, current.user.user_id, organization)
                        .await
                        .map_err(|e| ApiError::from(e).into_response())?
                };
                let apps = crate::http::plugin_views::available(state, &db, staff, organization)
                    .await
                    .map_err(IntoResponse::into_response)?;
                let zone = crate::i18n::zone_of(&db, &current.user.time_zone)
                    .await
                    .map_err(|e| ApiError::from(e).into_response())?;
                Ok(WebUser {
                    db,
                    route,
                    current,
                    locale,
                    zone,
                    sections,
                    apps,
                })
            }
            Ok(Err(redirect)) => Err(redirect),
            Err(error) => Err(error.into_response()),
        }
    }
}

impl WebUser {
    pub(crate) fn user_id(&self) -> i64 {
        self.current.user.user_id
    }

    /// Whether a portal section is on for this person.
    fn section_on(&self, section: &str) -> bool {
        self.sections.contains(&section)
    }

    /// A page of a section switched off for this person is not found.
    pub(crate) fn require_section(&self, section: &str) -> Result<(), ApiError> {
        if self.section_on(section) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    pub(crate) fn actor(&self) -> String {
        format!("user:{}", self.user_id())
    }

    /// Casbin's scope for `action` on `object`; `None` when denied.
    pub(crate) async fn scope(
        &self,
        state: &AppState,
        object: &'static str,
        action: &'static str,
    ) -> Result<Option<Scope>, ApiError> {
        let kind = state
            .permissions
            .decide(
                &state.store,
                &self.route,
                &self.db,
                &self.actor(),
                object,
                action,
            )
            .await?;
        let Some(kind) = kind else {
            return Ok(None);
        };
        let organization =
            portico_tenants::policy::organization_of(&self.db, self.user_id()).await?;
        Ok(Some(crate::permissions::scope_for(
            kind,
            Some(self.user_id()),
            organization,
        )))
    }

    /// The ticket reader for `action`; denied is [`ApiError::Forbidden`].
    async fn reader(&self, state: &AppState, action: &'static str) -> Result<Reader, ApiError> {
        self.require_section("tickets")?;
        let scope = self
            .scope(state, "ticket", action)
            .await?
            .ok_or(ApiError::Forbidden)?;
        let staff = self.scope(state, "ticket_note", "read").await?.is_some();
        Ok(Reader { scope, staff })
    }

    pub(crate) fn staff_role(&self) -> bool {
        matches!(self.current.user.role, Role::MspAdmin | Role::Technician)
    }

    /// The header navigation, with `current` marked.
    fn nav(&self, current: &str) -> Value {
        let t = |key: &str| self.locale.text(key);
        let mut links = Vec::new();
        if self.staff_role() {
            links.push(context! { href => "/console", label => t("nav-console"), current => current == "console" });
        }
        if self.section_on("tickets") {
            links.push(context! { href => "/tickets", label => t("nav-tickets"), current => current == "tickets" });
        }
        if self.section_on("knowledge_base") {
            links
                .push(context! { href => "/kb", label => t("nav-kb"), current => current == "kb" });
        }
        if matches!(
            self.current.user.role,
            Role::MspAdmin | Role::Technician | Role::MainContact
        ) {
            links.push(context! { href => "/reports", label => t("nav-reports"), current => current == "reports" });
        }
        if self.current.user.role == Role::MainContact {
            links.push(context! { href => "/colleagues", label => t("nav-colleagues"), current => current == "colleagues" });
        }
        if !self.apps.is_empty() {
            links.push(
                context! { href => "/apps", label => t("nav-apps"), current => current == "apps" },
            );
        }
        if self.staff_role() {
            links.push(context! { href => "/admin", label => t("nav-admin"), current => current == "admin" });
        }
        if self.section_on("settings") {
            links.push(context! { href => "/account/settings", label => t("nav-settings"), current => current == "settings" });
        }
        context! {
            tenant => self.route.name.to_string(),
            home => if self.staff_role() { "/console" } else { "/tickets" },
            csrf => self.current.session.csrf_token.clone(),
            links => links,
        }
    }

    /// The context every page of this module starts from.
    pub(crate) fn page(&self, current: &str) -> Value {
        context! {
            lang => self.locale.tag(),
            nav => self.nav(current),
            languages => LANGUAGES,
        }
    }
}

/// The languages of the switch, each in its own name.
const LANGUAGES: [(&str, &str); 5] = [
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("it", "Italiano"),
];

/// An error of a page: what the person may not see is the not-found page; a refused
/// or invalid input is a message page saying why; the rest as the API answers it.
pub(crate) fn page_error(state: &AppState, locale: Locale, error: ApiError) -> Response {
    match error {
        ApiError::NotFound | ApiError::Forbidden => not_found_page(state, locale),
        ApiError::Conflict(_) => render(
            state,
            StatusCode::CONFLICT,
            "message.html",
            context! { lang => locale.tag(), title => locale.text("form-refused-title"), body => locale.text("form-conflict") },
        ),
        ApiError::Invalid { reason, .. } | ApiError::Refused { reason, .. } => render(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "message.html",
            context! { lang => locale.tag(), title => locale.text("form-refused-title"), body => reason },
        ),
        other => other.into_response(),
    }
}

/// Runs a page handler's body, turning its error into a page.
pub(crate) async fn page<F>(state: &AppState, locale: Locale, body: F) -> Response
where
    F: std::future::Future<Output = Result<Response, ApiError>>,
{
    match body.await {
        Ok(response) => response,
        Err(error) => page_error(state, locale, error),
    }
}

// ----- formatting --------------------------------------------------------------

impl WebUser {
    /// A time as ISO 8601 (for `datetime`) and as shown to this reader: in their
    /// language and time zone.
    pub(crate) fn when(&self, unix_ms: i64) -> (String, String) {
        let iso = jiff::Timestamp::from_millisecond(unix_ms)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:00Z").to_string())
            .unwrap_or_default();
        (iso, self.locale.date_time(unix_ms, &self.zone))
    }
}

pub(crate) fn size(locale: Locale, bytes: i64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{} MB", locale.decimal(b * 10 / (1 << 20), 1)),
        b if b >= 1 << 10 => format!("{} KB", locale.number((b + 512) / 1024)),
        b => format!("{} B", locale.number(b)),
    }
}

pub(crate) fn status_label(locale: Locale, key: &str) -> String {
    let translated = locale.text(&format!("status-{key}"));
    if translated.starts_with("status-") {
        key.replace('_', " ")
    } else {
        translated
    }
}

fn sla_label(locale: Locale, state: &str) -> String {
    locale.text(&format!("sla-{}", state.replace('_', "-")))
}

/// A ticket as the list and the ticket page show it.
fn ticket_row(user: &WebUser, ticket: &Ticket) -> Value {
    let locale = user.locale;
    let (updated_iso, updated) = user.when(ticket.updated_at);
    let (created_iso, created) = user.when(ticket.created_at);
    let sla = ticket
        .sla_state
        .as_deref()
        .filter(|s| *s != "ok" && *s != "met");
    context! {
        number => ticket.number,
        subject => &ticket.subject,
        description => &ticket.description,
        status => status_label(locale, &ticket.status),
        priority => ticket.priority.as_deref().map(|p| locale.text(&format!("priority-{p}"))),
        sla => sla.map(|s| sla_label(locale, s)),
        sla_key => sla,
        approval => ticket.approval_state.as_deref().map(|a| locale.text(&format!("approval-{a}"))),
        updated_iso, updated, created_iso, created,
    }
}

// ----- the list ----------------------------------------------------------------

/// Query of `/tickets` and `/console`.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    after: Option<String>,
    /// The console's organization filter.
    #[serde(default)]
    organization: Option<String>,
    /// After a bulk action: how many tickets changed and how many could not.
    #[serde(default)]
    changed: Option<u32>,
    #[serde(default)]
    failed: Option<u32>,
}

/// The console's views: key, label, filter.
const VIEWS: [&str; 5] = ["mine", "unassigned", "sla", "approval", "all"];

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if !value.is_empty() {
            out.append_pair(name, value);
        }
    }
    out.finish()
}

async fn list_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<ListQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, list(&state, &user, query, "/tickets")).await
}

async fn console_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<ListQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        if !user.reader(&state, "read").await?.staff {
            return Err(ApiError::NotFound);
        }
        list(&state, &user, query, "/console").await
    })
    .await
}

async fn list(
    state: &AppState,
    user: &WebUser,
    query: ListQuery,
    base: &str,
) -> Result<Response, ApiError> {
    let locale = user.locale;
    let reader = user.reader(state, "read").await?;
    let console = base == "/console";
    let view = if console {
        VIEWS
            .iter()
            .find(|v| **v == query.view)
            .copied()
            .unwrap_or("mine")
    } else {
        ""
    };
    let status = tickets::STATUS_CLASSES
        .iter()
        .find(|s| **s == query.status)
        .copied()
        .unwrap_or(if console || query.status == "all" {
            "all"
        } else {
            "open_all"
        });
    // The portal opens on the tickets still being worked: every class before resolved.
    let mut filter = TicketFilter {
        status_class: tickets::STATUS_CLASSES
            .contains(&status)
            .then(|| status.to_owned()),
        unfinished: status == "open_all",
        text: Some(query.q.trim().to_owned()).filter(|q| !q.is_empty()),
        language: locale.tag().to_owned(),
        ..TicketFilter::default()
    };
    let organization: Option<i64> = query
        .organization
        .as_deref()
        .filter(|_| console)
        .and_then(|o| o.parse().ok());
    filter.organization_id = organization;
    match view {
        "mine" => filter.assignee = Some(Some(user.user_id())),
        "unassigned" => filter.assignee = Some(None),
        "sla" => filter.sla = Some("at_risk".to_owned()),
        "approval" => filter.approval = Some("pending".to_owned()),
        _ => {}
    }
    let page = tickets::list_tickets(&user.db, reader, &filter, query.after.as_deref(), 50).await?;
    let counts: HashMap<String, i64> = tickets::status_counts(&user.db, reader.scope)
        .await?
        .into_iter()
        .collect();
    let organization_param = organization.map(|o| o.to_string()).unwrap_or_default();
    let mut tabs = Vec::new();
    let all: i64 = counts.values().sum();
    let open: i64 = ["new", "open", "waiting", "paused"]
        .iter()
        .map(|c| counts.get(*c).copied().unwrap_or(0))
        .sum();
    let mut classes: Vec<(&str, String, i64)> = Vec::new();
    if !console {
        classes.push(("open_all", locale.text("tickets-tab-open"), open));
    }
    for class in tickets::STATUS_CLASSES {
        classes.push((
            class,
            status_label(locale, class),
            counts.get(class).copied().unwrap_or(0),
        ));
    }
    classes.push(("all", locale.text("tickets-tab-all"), all));
    for (key, label, count) in classes {
        let tab_status = if key == "open_all" { "" } else { key };
        let count_text = locale.number(count);
        tabs.push(context! {
            href => format!("{base}?{}", query_string(&[("view", view), ("organization", &organization_param), ("status", tab_status), ("q", &query.q)])),
            current => key == status,
            count_label => locale.text_with("tickets-count", &[("count", count_text.as_str())]),
            label, count => &count_text,
        });
    }
    let views: Vec<Value> = if console {
        VIEWS
            .iter()
            .map(|v| {
                context! {
                    href => format!("/console?view={v}"),
                    label => locale.text(&format!("console-view-{v}")),
                    current => *v == view,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let rows: Vec<Value> = page.tickets.iter().map(|t| ticket_row(user, t)).collect();
    let status_param = if status == "open_all" { "" } else { status };
    let next_href = page.next_cursor.as_deref().map(|cursor| {
        format!(
            "{base}?{}",
            query_string(&[
                ("view", view),
                ("organization", &organization_param),
                ("status", status_param),
                ("q", &query.q),
                ("after", cursor)
            ])
        )
    });
    let heading = if console {
        locale.text(&format!("console-view-{view}"))
    } else {
        locale.text("tickets-title")
    };
    let new_allowed = !console && new_ticket_allowed(state, user).await?;
    // The console's organization filter and bulk actions.
    let (organizations, bulk) = if console {
        let organizations: Vec<Value> = portico_tenants::organizations::list_organizations(
            &user.db,
            reader.scope,
        )
        .await?
        .into_iter()
        .map(|o| context! { current => Some(o.id) == organization, id => o.id, name => o.name })
        .collect();
        let statuses: Vec<Value> = ticket_config::statuses(&user.db)
            .await?
            .into_iter()
            .map(|s| context! { label => status_label(locale, &s.key), key => s.key })
            .collect();
        let priorities: Vec<Value> = Priority::ALL
            .iter()
            .map(|p| context! { key => p.as_str(), label => locale.text(&format!("priority-{}", p.as_str())) })
            .collect();
        let back = format!(
            "{base}?{}",
            query_string(&[
                ("view", view),
                ("organization", &organization_param),
                ("status", status_param),
                ("q", &query.q),
            ])
        );
        (organizations, Some(context! { statuses, priorities, back }))
    } else {
        (Vec::new(), None)
    };
    let notice = query.changed.map(|changed| {
        let (changed, failed) = (changed.to_string(), query.failed.unwrap_or(0).to_string());
        if failed == "0" {
            locale.text_with("console-bulk-done", &[("count", &changed)])
        } else {
            locale.text_with(
                "console-bulk-partly",
                &[("count", &changed), ("failed", &failed)],
            )
        }
    });
    let context = context! {
        heading, base, view, q => query.q, status => status_param, tabs, views,
        tickets => rows, next_href, staff => reader.staff, organizations, bulk, notice,
        organization => organization_param,
        new_href => new_allowed.then_some("/tickets/new"),
        ..user.page(if console { "console" } else { "tickets" })
    };
    Ok(render(state, StatusCode::OK, "tickets.html", context))
}

/// The tenant setting that hides manual ticket creation in the portal.
pub const HIDE_NEW_TICKET_SETTING: &str = "portal_hide_new_ticket";

/// Whether this person may open a ticket from the portal's form.
async fn new_ticket_allowed(state: &AppState, user: &WebUser) -> Result<bool, ApiError> {
    if !user.section_on("tickets") || user.scope(state, "ticket", "create").await?.is_none() {
        return Ok(false);
    }
    if user.staff_role() {
        return Ok(true);
    }
    let hidden = portico_tenants::accounts::tenant_setting(&user.db, HIDE_NEW_TICKET_SETTING)
        .await?
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Ok(!hidden)
}

// ----- forms -------------------------------------------------------------------

/// A submitted multipart form: its text fields and the files already stored.
struct Submitted {
    fields: HashMap<String, String>,
    files: Vec<StoredFile>,
}

impl Submitted {
    fn text(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// Reads a multipart form, storing its files within the tenant's limits; on any
/// error the files stored so far are removed again.
async fn read_form(
    state: &AppState,
    user: &WebUser,
    request: Request<Body>,
) -> Result<Submitted, ApiError> {
    let invalid = |reason: String| ApiError::Invalid {
        field: "form".to_owned(),
        reason,
    };
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| invalid(rejection.body_text()))?;
    let limits = attachment_limits(state, &user.db).await?;
    let mut submitted = Submitted {
        fields: HashMap::new(),
        files: Vec::new(),
    };
    let outcome: Result<(), ApiError> = async {
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| invalid(e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "file" {
                let filename = field.file_name().unwrap_or("file").to_owned();
                let bytes = field.bytes().await.map_err(|e| invalid(e.body_text()))?;
                if bytes.is_empty() {
                    continue; // an empty file input
                }
                if submitted.files.len() >= 20 {
                    return Err(invalid("at most 20 files per message".to_owned()));
                }
                submitted
                    .files
                    .push(store_file(state, &user.route, &limits, &filename, bytes).await?);
            } else {
                let value = field.text().await.map_err(|e| invalid(e.body_text()))?;
                submitted.fields.insert(name, value);
            }
        }
        Ok(())
    }
    .await;
    if let Err(error) = outcome {
        discard(state, &user.db, &submitted.files).await;
        return Err(error);
    }
    Ok(submitted)
}

// ----- new ticket --------------------------------------------------------------

async fn new_page(State(state): State<AppState>, user: WebUser) -> Response {
    let locale = user.locale;
    page(&state, locale, new_form(&state, &user, None, None)).await
}

/// The new-ticket form, with what was typed and the error when re-shown.
async fn new_form(
    state: &AppState,
    user: &WebUser,
    typed: Option<&Submitted>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    if !new_ticket_allowed(state, user).await? {
        return Err(ApiError::NotFound);
    }
    let locale = user.locale;
    let staff = user.staff_role();
    let portal = ticket_config::read_portal_fields(&user.db).await?;
    let chosen = typed.map_or("medium", |t| t.text("priority"));
    let priorities: Vec<Value> =
        if staff || portal.standard("priority") == FieldVisibility::Editable {
            Priority::ALL
                .iter()
                .map(|p| {
                    let key = p.as_str();
                    context! {
                        key, checked => key == chosen || (chosen.is_empty() && key == "medium"),
                        label => locale.text(&format!("priority-{key}")),
                        help => locale.text(&format!("priority-{key}-help")),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
    let types: Vec<Value> = if staff || portal.standard("type") == FieldVisibility::Editable {
        ticket_config::types(&user.db)
            .await?
            .into_iter()
            .map(|t| context! { key => t.key, label => t.name })
            .collect()
    } else {
        Vec::new()
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let email = typed
        .map(|t| t.text("email").to_owned())
        .filter(|e| staff && !e.is_empty())
        .unwrap_or_else(|| {
            if staff {
                String::new()
            } else {
                user.current.user.email.clone()
            }
        });
    let context = context! {
        error, staff, priorities, types, email,
        subject => typed.map_or("", |t| t.text("subject")),
        description => typed.map_or("", |t| t.text("description")),
        ..user.page("new")
    };
    Ok(render(state, status, "ticket_new.html", context))
}

async fn new_submit(
    State(state): State<AppState>,
    user: WebUser,
    request: Request<Body>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let headers = request.headers().clone();
        if !new_ticket_allowed(&state, &user).await? {
            return Err(ApiError::NotFound);
        }
        let submitted = read_form(&state, &user, request).await?;
        if let Err(error) =
            check_session_csrf(&state, &headers, &user.current, submitted.text("csrf"))
        {
            discard(&state, &user.db, &submitted.files).await;
            return Err(error);
        }
        let files = submitted.files.clone();
        match create(&state, &user, &submitted).await {
            Ok(number) => Ok(Redirect::to(&format!("/tickets/{number}")).into_response()),
            Err(error) => {
                discard(&state, &user.db, &files).await;
                match error {
                    ApiError::Invalid { reason, .. } | ApiError::Refused { reason, .. } => {
                        // The files are not kept: the form says to attach them again.
                        let message = format!("{reason} {}", locale.text("form-files-again"));
                        new_form(&state, &user, Some(&submitted), Some(message)).await
                    }
                    other => Err(other),
                }
            }
        }
    })
    .await
}

/// Opens the ticket of a submitted form; its number.
async fn create(state: &AppState, user: &WebUser, form: &Submitted) -> Result<i64, ApiError> {
    let reader = user.reader(state, "create").await?;
    let staff = user.staff_role();
    let portal = ticket_config::read_portal_fields(&user.db).await?;
    let locale = user.locale;
    let subject = form.text("subject").trim();
    if subject.is_empty() {
        return Err(ApiError::Invalid {
            field: "subject".to_owned(),
            reason: locale.text("ticket-subject-required"),
        });
    }
    let editable = |name: &str| staff || portal.standard(name) == FieldVisibility::Editable;
    let priority = match form.text("priority") {
        "" => Priority::Medium,
        given if editable("priority") => Priority::parse(given)?,
        _ => Priority::Medium,
    };
    let type_key = Some(form.text("type").to_owned()).filter(|t| !t.is_empty() && editable("type"));
    // Staff open tickets for a requester by address; a customer for themselves.
    let requester = if staff && !form.text("email").trim().is_empty() {
        let email =
            EmailAddress::parse(form.text("email").trim()).map_err(|_| ApiError::Invalid {
                field: "email".to_owned(),
                reason: locale.text("ticket-email-invalid"),
            })?;
        match portico_tenants::organizations::contact_for_email(&user.db, &email).await? {
            Some(found) => found,
            None => {
                portico_tenants::people::create_user(
                    &user.db,
                    portico_tenants::people::NewUser {
                        email,
                        display_name: String::new(),
                        role: Role::Contact,
                        invite: false,
                        organization_id: None,
                    },
                )
                .await?
            }
        }
    } else {
        portico_tenants::people::get_user(&user.db, user.user_id(), Scope::All).await?
    };
    let created = tickets::create_ticket(
        &user.db,
        NewTicket {
            subject: subject.to_owned(),
            description: form.text("description").to_owned(),
            priority,
            type_key,
            requester_id: requester.id,
            organization_id: requester.organization_id,
            device_id: None,
            source: if staff {
                Source::Console
            } else {
                Source::Portal
            },
            language: requester.locale.clone(),
            tags: Vec::new(),
            watchers: Vec::new(),
            fields: Default::default(),
            email_message_id: None,
            files: form.files.clone(),
        },
        None,
        reader,
    )
    .await?;
    Ok(created.ticket.number)
}

// ----- one ticket --------------------------------------------------------------

fn parse_number(raw: &str) -> Result<i64, ApiError> {
    raw.trim_start_matches('#')
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::NotFound)
}

/// Query of the ticket page: what the last form did.
#[derive(Debug, Default, Deserialize)]
struct TicketQuery {
    #[serde(default)]
    done: String,
    /// A canned response to start the reply with (staff).
    #[serde(default)]
    canned: String,
}

async fn ticket_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
    Query(query): Query<TicketQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let notice = match query.done.as_str() {
            "replied" => Some(locale.text("ticket-notice-replied")),
            "status" => Some(locale.text("ticket-notice-status")),
            "rated" => Some(locale.text("ticket-notice-rated")),
            "decided" => Some(locale.text("ticket-notice-decided")),
            "time" => Some(locale.text("ticket-notice-time")),
            _ => None,
        };
        let canned = query.canned.parse().ok();
        ticket_view(&state, &user, number, notice, canned).await
    })
    .await
}

/// The messages of a ticket as the thread shows them.
async fn thread_context(
    user: &WebUser,
    number: i64,
    reader: Reader,
) -> Result<Vec<Value>, ApiError> {
    let locale = user.locale;
    let messages = thread::messages(&user.db, number, reader).await?;
    Ok(messages
        .iter()
        .map(|m| {
            let (created_iso, created) = user.when(m.created_at);
            let files: Vec<Value> = m
                .attachments
                .iter()
                .map(|f| context! { id => f.id, name => &f.filename, size => size(locale, f.size) })
                .collect();
            context! {
                id => m.id,
                author => m.author.clone().unwrap_or_else(|| locale.text("ticket-author-system")),
                internal => m.internal,
                body => &m.body,
                created_iso, created, files,
            }
        })
        .collect())
}

async fn ticket_view(
    state: &AppState,
    user: &WebUser,
    number: i64,
    notice: Option<String>,
    canned: Option<i64>,
) -> Result<Response, ApiError> {
    let locale = user.locale;
    let reader = user.reader(state, "read").await?;
    let ticket = tickets::get_ticket(&user.db, number, reader).await?;
    let messages = thread_context(user, number, reader).await?;
    let can_reply = user.scope(state, "ticket", "comment").await?.is_some();
    let requester = portico_tenants::people::get_user(&user.db, ticket.requester_id, Scope::All)
        .await
        .map(|u| u.shown_name().to_owned())
        .unwrap_or_default();
    let assignee = match ticket.assignee_id {
        Some(id) if reader.staff => portico_tenants::people::get_user(&user.db, id, Scope::All)
            .await
            .map(|u| u.shown_name().to_owned())
            .unwrap_or_default(),
        _ => locale.text("ticket-unassigned"),
    };
    let finished = matches!(ticket.status_class.as_str(), "resolved" | "closed");
    let mut actions = Vec::new();
    if can_reply {
        if finished {
            if reader.staff || thread::can_reopen(&user.db).await? {
                actions.push(context! { key => "reopen", label => locale.text("ticket-reopen") });
            }
        } else {
            actions.push(context! { key => "close", label => locale.text("ticket-close") });
        }
        if reader.staff && ticket.assignee_id != Some(user.user_id()) {
            actions.push(context! { key => "take", label => locale.text("ticket-take") });
        }
    }
    let statuses: Vec<Value> = if reader.staff && can_reply {
        ticket_config::statuses(&user.db)
            .await?
            .into_iter()
            .map(|s| {
                context! {
                    label => status_label(locale, &s.key),
                    current => s.key == ticket.status,
                    key => s.key,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let me = user.user_id();
    // The requester rates the answer once the ticket is resolved or closed.
    let rating = if !reader.staff && finished && ticket.requester_id == me && can_reply {
        let given = reports::rating(&user.db, number, reader).await?;
        let chosen = given.as_ref().map_or(0, |r| r.rating);
        let choices: Vec<Value> = (1..=5)
            .map(|n| context! { value => n, checked => n == chosen, label => locale.text(&format!("rating-{n}")) })
            .collect();
        Some(context! {
            choices,
            given => given.is_some(),
            comment => given.map(|r| r.comment).unwrap_or_default(),
        })
    } else {
        None
    };
    // An approver who has not decided yet decides here.
    let decide = ticket.approval_state.as_deref() == Some("pending")
        && approvals::approval(&user.db, number, Reader::SYSTEM)
            .await
            .is_ok_and(|a| {
                a.approvers.contains(&me) && !a.votes.iter().any(|v| v.approver_id == me)
            });
    let workspace = if reader.staff && user.scope(state, "ticket", "update").await?.is_some() {
        Some(workspace(state, user, &ticket).await?)
    } else {
        None
    };
    let (canned_choices, draft) = if reader.staff
        && can_reply
        && user
            .scope(state, "canned_response", "read")
            .await?
            .is_some()
    {
        canned_responses(user, &ticket, &requester, canned).await?
    } else {
        (Vec::new(), None)
    };
    let mut row = ticket_row(user, &ticket);
    row = context! { requester, assignee, ..row };
    let context = context! {
        ticket => row, number, messages, notice, can_reply, actions, statuses,
        rating, decide, workspace, canned_choices, draft,
        error => None::<String>, staff => reader.staff,
        ..user.page("ticket")
    };
    Ok(render(state, StatusCode::OK, "ticket.html", context))
}

/// The canned responses a technician may start a reply with, and the chosen one's
/// text with its placeholders filled in for this ticket.
async fn canned_responses(
    user: &WebUser,
    ticket: &Ticket,
    requester: &str,
    chosen: Option<i64>,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let all = portico_tenants::canned::list(&user.db).await?;
    let choices = all
        .iter()
        .map(|c| context! { id => c.id, title => &c.title, selected => Some(c.id) == chosen })
        .collect();
    let Some(response) = chosen.and_then(|id| all.iter().find(|c| c.id == id)) else {
        return Ok((choices, None));
    };
    let me = portico_tenants::people::get_user(&user.db, user.user_id(), Scope::All)
        .await
        .map(|u| u.shown_name().to_owned())
        .unwrap_or_default();
    let draft = portico_tenants::canned::fill(
        &response.body,
        portico_tenants::canned::Placeholders {
            requester,
            number: ticket.number,
            subject: &ticket.subject,
            me: &me,
        },
    );
    Ok((choices, Some(draft)))
}

/// The thread alone, for the live update.
async fn thread_fragment(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let reader = user.reader(&state, "read").await?;
        let messages = thread_context(&user, number, reader).await?;
        let context = context! { lang => locale.tag(), number, messages };
        let mut response = render(&state, StatusCode::OK, "thread.html", context);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    })
    .await
}

/// How often the event stream looks at the ticket.
const EVENT_POLL: Duration = Duration::from_secs(1);

/// `GET /tickets/{n}/events`: a `changed` event whenever the ticket's last change
/// moves (a reply, a note, a status). It reads the one row by its number each
/// second, so every node of a cluster sees every change without a broker.
async fn ticket_events(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
) -> Response {
    let locale = user.locale;
    let opened = async {
        let number = parse_number(&raw)?;
        let reader = user.reader(&state, "read").await?;
        let first = tickets::get_ticket(&user.db, number, reader)
            .await?
            .updated_at;
        Ok::<_, ApiError>((number, reader, first))
    }
    .await;
    let (number, reader, first) = match opened {
        Ok(opened) => opened,
        Err(error) => return page_error(&state, locale, error),
    };
    let db = user.db.clone();
    let stream = futures::stream::unfold((db, first), move |(db, mut seen)| async move {
        loop {
            tokio::time::sleep(EVENT_POLL).await;
            match tickets::get_ticket(&db, number, reader).await {
                Ok(ticket) if ticket.updated_at != seen => {
                    seen = ticket.updated_at;
                    let event = Event::default().event("changed").data(seen.to_string());
                    return Some((Ok::<_, Infallible>(event), (db, seen)));
                }
                Ok(_) => {}
                // Gone from the reader's scope, or the tenant went away: the stream ends.
                Err(_) => return None,
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}

async fn reply_submit(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
    request: Request<Body>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let headers = request.headers().clone();
        let submitted = read_form(&state, &user, request).await?;
        let files = submitted.files.clone();
        let outcome = async {
            check_session_csrf(&state, &headers, &user.current, submitted.text("csrf"))?;
            let reader = user.reader(&state, "comment").await?;
            let internal = submitted.text("internal") == "true";
            if internal && user.scope(&state, "ticket_note", "create").await?.is_none() {
                return Err(ApiError::Forbidden);
            }
            let body = submitted.text("body").trim().to_owned();
            if body.is_empty() && submitted.files.is_empty() {
                return Err(ApiError::Invalid {
                    field: "body".to_owned(),
                    reason: locale.text("ticket-reply-empty"),
                });
            }
            let posted = thread::add_message(
                &user.db,
                number,
                NewMessage {
                    body,
                    internal,
                    author_id: Some(user.user_id()),
                    source: if reader.staff {
                        Source::Console
                    } else {
                        Source::Portal
                    },
                    language: locale.tag().to_owned(),
                    email_message_id: None,
                    files: submitted.files.clone(),
                    follow_up: true,
                },
                &user.actor(),
                reader,
            )
            .await?;
            Ok(posted.ticket.number)
        }
        .await;
        match outcome {
            Ok(shown) => {
                Ok(Redirect::to(&format!("/tickets/{shown}?done=replied")).into_response())
            }
            Err(error) => {
                discard(&state, &user.db, &files).await;
                Err(error)
            }
        }
    })
    .await
}

/// The form of a status action.
#[derive(Debug, Deserialize)]
struct StatusForm {
    action: String,
    #[serde(default)]
    status: String,
}

async fn status_submit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, input }: WebForm<StatusForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let reader = user.reader(&state, "comment").await?;
        let role = Some(user.current.user.role);
        let actor = user.actor();
        match input.action.as_str() {
            "close" => {
                tickets::change_status(&user.db, number, "closed", &actor, reader, role).await?;
            }
            "reopen" => {
                let ticket = tickets::get_ticket(&user.db, number, reader).await?;
                if !reader.staff && !thread::can_reopen(&user.db).await? {
                    return Err(ApiError::Refused {
                        code: thread::CANNOT_REOPEN,
                        reason: locale.text("ticket-cannot-reopen"),
                    });
                }
                if matches!(ticket.status_class.as_str(), "resolved" | "closed") {
                    tickets::change_status(&user.db, number, "open", &actor, reader, role).await?;
                }
            }
            "set" if reader.staff => {
                tickets::change_status(&user.db, number, &input.status, &actor, reader, role)
                    .await?;
            }
            "take" if reader.staff => {
                let reader = user.reader(&state, "update").await?;
                tickets::update_ticket(
                    &user.db,
                    number,
                    tickets::TicketChange {
                        assignee_id: Some(Some(user.user_id())),
                        ..tickets::TicketChange::default()
                    },
                    &actor,
                    reader,
                )
                .await?;
            }
            _ => return Err(ApiError::NotFound),
        }
        Ok(Redirect::to(&format!("/tickets/{number}?done=status")).into_response())
    })
    .await
}

async fn download(
    State(state): State<AppState>,
    user: WebUser,
    Path((raw, id)): Path<(String, String)>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
        let reader = user.reader(&state, "read").await?;
        let file = thread::attachment_of(&user.db, number, id, reader).await?;
        let bytes = state
            .blobs
            .get(&file.storage_key)
            .await
            .map_err(ApiError::Internal)?;
        attachment_response(&file, bytes)
    })
    .await
}

// ----- the technician's workspace -----------------------------------------------

/// What a technician works with beside the thread: priority and type, time
/// entries and the requester's other tickets.
async fn workspace(state: &AppState, user: &WebUser, ticket: &Ticket) -> Result<Value, ApiError> {
    let locale = user.locale;
    let priorities: Vec<Value> = Priority::ALL
        .iter()
        .map(|p| {
            let key = p.as_str();
            context! {
                key, current => ticket.priority.as_deref() == Some(key),
                label => locale.text(&format!("priority-{key}")),
            }
        })
        .collect();
    let types: Vec<Value> = ticket_config::types(&user.db)
        .await?
        .into_iter()
        .map(|t| context! { current => ticket.type_key.as_deref() == Some(t.key.as_str()), key => t.key, label => t.name })
        .collect();
    let time_scope = user.scope(state, "ticket_time", "read").await?;
    let time = match time_scope {
        Some(scope) => {
            let entries =
                time_entries::list(&user.db, ticket.number, Reader { scope, staff: true }).await?;
            let total: i64 = entries.iter().map(|e| e.minutes).sum();
            let rows: Vec<Value> = entries
                .iter()
                .map(|e| {
                    context! {
                        date => &e.work_date, minutes => duration(locale, e.minutes),
                        billable => e.billable, note => &e.note, invoiced => e.invoiced_at.is_some(),
                    }
                })
                .collect();
            Some(context! {
                entries => rows,
                total => duration(locale, total),
                can_add => user.scope(state, "ticket_time", "create").await?.is_some(),
                today => today(),
            })
        }
        None => None,
    };
    let reader = user.reader(state, "read").await?;
    let others = tickets::list_tickets(
        &user.db,
        reader,
        &TicketFilter {
            requester_id: Some(ticket.requester_id),
            language: locale.tag().to_owned(),
            ..TicketFilter::default()
        },
        None,
        6,
    )
    .await?
    .tickets
    .iter()
    .filter(|other| other.number != ticket.number)
    .take(5)
    .map(|other| ticket_row(user, other))
    .collect::<Vec<_>>();
    Ok(context! { priorities, types, time, others })
}

/// Minutes as the workspace shows them: "1 h 30 min".
pub(crate) fn duration(locale: Locale, minutes: i64) -> String {
    let (hours, rest) = (minutes / 60, minutes % 60);
    let (h, m) = (locale.number(hours), locale.number(rest));
    match (hours, rest) {
        (0, _) => locale.text_with("duration-minutes", &[("minutes", &m)]),
        (_, 0) => locale.text_with("duration-hours", &[("hours", &h)]),
        _ => locale.text_with("duration-hours-minutes", &[("hours", &h), ("minutes", &m)]),
    }
}

/// Today's date in UTC, `YYYY-MM-DD` (the form's default).
fn today() -> String {
    reports::day_of(portico_tenants::clock::now_ms())
}

/// Turns a form's rejection into the message page.
/// A form (`application/x-www-form-urlencoded`) submitted by a signed-in person:
/// the extractor checks the request's origin and the session's CSRF token (the
/// `csrf` field) before the handler runs, then reads the fields into `T` (a struct
/// deserialized like axum's `Form`, or [`Fields`] for repeated names). A refused
/// or unreadable form is answered with a page in the person's language.
pub(crate) struct WebForm<T> {
    pub(crate) user: WebUser,
    pub(crate) input: T,
}

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for WebForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state).await?;
        let locale = user.locale;
        let headers = parts.headers.clone();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| {
                page_error(
                    state,
                    locale,
                    ApiError::Invalid {
                        field: "form".to_owned(),
                        reason: rejection.body_text(),
                    },
                )
            })?;
        let csrf = url::form_urlencoded::parse(&bytes)
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        check_session_csrf(state, &headers, &user.current, &csrf)
            .map_err(|error| page_error(state, locale, error))?;
        let input = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            page_error(
                state,
                locale,
                ApiError::Invalid {
                    field: "form".to_owned(),
                    reason: error.to_string(),
                },
            )
        })?;
        Ok(WebForm { user, input })
    }
}

/// The fields of a form in the order sent, for forms with repeated names
/// (check boxes of a list).
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, empty when absent.
    pub(crate) fn text(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Every name and value, in the order sent.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }

    /// Every value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether a check box `name` was ticked (sent at all).
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }
}

/// The form of a rating.
#[derive(Debug, Deserialize)]
struct RatingForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

async fn rating_submit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, input }: WebForm<RatingForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let reader = user.reader(&state, "comment").await?;
        let rating: i64 = input.rating.parse().map_err(|_| ApiError::Invalid {
            field: "rating".to_owned(),
            reason: locale.text("ticket-rating-missing"),
        })?;
        reports::rate(
            &user.db,
            number,
            user.user_id(),
            rating,
            &input.comment,
            reader,
        )
        .await?;
        Ok(Redirect::to(&format!("/tickets/{number}?done=rated")).into_response())
    })
    .await
}

/// The form of an approver's decision.
#[derive(Debug, Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn approval_submit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, input }: WebForm<DecisionForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        // Approvers are people of the organization; the data layer checks this one is.
        user.scope(&state, "ticket", "comment")
            .await?
            .ok_or(ApiError::Forbidden)?;
        let decision = match input.decision.as_str() {
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            _ => return Err(ApiError::NotFound),
        };
        if decision == Decision::Reject && input.reason.trim().is_empty() {
            return Err(ApiError::Invalid {
                field: "reason".to_owned(),
                reason: locale.text("ticket-reject-reason-missing"),
            });
        }
        approvals::decide(
            &user.db,
            number,
            user.user_id(),
            decision,
            &input.reason,
            &user.actor(),
        )
        .await?;
        Ok(Redirect::to(&format!("/tickets/{number}?done=decided")).into_response())
    })
    .await
}

/// The form of the workspace's priority and type.
#[derive(Debug, Deserialize)]
struct FieldsForm {
    priority: String,
    #[serde(default, rename = "type")]
    type_key: String,
}

async fn fields_submit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, input }: WebForm<FieldsForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let reader = user.reader(&state, "update").await?;
        if !reader.staff {
            return Err(ApiError::NotFound);
        }
        let type_key = Some(input.type_key.trim().to_owned()).filter(|t| !t.is_empty());
        tickets::update_ticket(
            &user.db,
            number,
            tickets::TicketChange {
                priority: Some(Priority::parse(&input.priority)?),
                type_key: Some(type_key),
                ..tickets::TicketChange::default()
            },
            &user.actor(),
            reader,
        )
        .await?;
        Ok(Redirect::to(&format!("/tickets/{number}?done=status")).into_response())
    })
    .await
}

/// The form of a time entry.
#[derive(Debug, Deserialize)]
struct TimeForm {
    #[serde(default)]
    hours: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    billable: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    date: String,
}

async fn time_submit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, input }: WebForm<TimeForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let number = parse_number(&raw)?;
        let scope = user
            .scope(&state, "ticket_time", "create")
            .await?
            .ok_or(ApiError::NotFound)?;
        let part = |raw: &str| -> Result<i64, ApiError> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(0);
            }
            raw.parse::<i64>()
                .ok()
                .filter(|n| (0..=1440).contains(n))
                .ok_or_else(|| ApiError::Invalid {
                    field: "minutes".to_owned(),
                    reason: locale.text("ticket-time-invalid"),
                })
        };
        let minutes = part(&input.hours)? * 60 + part(&input.minutes)?;
        let work_date = if input.date.trim().is_empty() {
            today()
        } else {
            input.date.trim().to_owned()
        };
        time_entries::add(
            &user.db,
            number,
            NewTimeEntry {
                technician_id: user.user_id(),
                minutes,
                billable: input.billable == "true",
                note: input.note.trim().to_owned(),
                work_date,
            },
            &user.actor(),
            Reader { scope, staff: true },
        )
        .await?;
        Ok(Redirect::to(&format!("/tickets/{number}?done=time")).into_response())
    })
    .await
}

// ----- bulk actions -------------------------------------------------------------

/// At most this many tickets change in one bulk action (two pages of the list).
const BULK_LIMIT: usize = 100;

/// `POST /console/bulk`: the chosen tickets (repeated `number` fields) assigned to
/// the technician, closed, moved to a status or given a priority, each in its own
/// transaction through the same checks as one at a time; what could not change (a
/// ticket awaiting approval, a move the workflow forbids) is counted, not hidden.
async fn bulk_submit(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let field = |name: &str| input.text(name);
        let reader = user.reader(&state, "update").await?;
        if !reader.staff {
            return Err(ApiError::NotFound);
        }
        let numbers: Vec<i64> = input
            .all("number")
            .filter_map(|value| value.parse().ok())
            .collect();
        if numbers.is_empty() || numbers.len() > BULK_LIMIT {
            return Err(ApiError::Invalid {
                field: "number".to_owned(),
                reason: locale.text("console-bulk-choose"),
            });
        }
        let actor = user.actor();
        let role = Some(user.current.user.role);
        let comment = user.reader(&state, "comment").await?;
        let (mut changed, mut failed) = (0_u32, 0_u32);
        for number in numbers {
            let outcome = match field("action") {
                "take" => tickets::update_ticket(
                    &user.db,
                    number,
                    tickets::TicketChange {
                        assignee_id: Some(Some(user.user_id())),
                        ..tickets::TicketChange::default()
                    },
                    &actor,
                    reader,
                )
                .await
                .map(drop),
                "close" => {
                    tickets::change_status(&user.db, number, "closed", &actor, comment, role)
                        .await
                        .map(drop)
                }
                "status" => {
                    tickets::change_status(&user.db, number, field("status"), &actor, comment, role)
                        .await
                        .map(drop)
                }
                "priority" => {
                    let priority = Priority::parse(field("priority"))?;
                    tickets::update_ticket(
                        &user.db,
                        number,
                        tickets::TicketChange {
                            priority: Some(priority),
                            ..tickets::TicketChange::default()
                        },
                        &actor,
                        reader,
                    )
                    .await
                    .map(drop)
                }
                _ => return Err(ApiError::NotFound),
            };
            match outcome {
                Ok(()) => changed += 1,
                // Another tenant's or an out-of-scope number is as missing as ever.
                Err(_) => failed += 1,
            }
        }
        let back = field("back");
        let back = if back.starts_with("/console") && !back.contains("//") {
            back
        } else {
            "/console?"
        };
        let sep = match back.chars().last() {
            Some('?' | '&') => "",
            _ if back.contains('?') => "&",
            _ => "?",
        };
        Ok(Redirect::to(&format!("{back}{sep}changed={changed}&failed={failed}")).into_response())
    })
    .await
}

// ----- language ----------------------------------------------------------------

/// The form of the language switch.
#[derive(Debug, Deserialize)]
struct LanguageForm {
    language: String,
}

async fn language_submit(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<LanguageForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let chosen = Locale::from_tag(&input.language).ok_or_else(|| ApiError::Invalid {
            field: "language".to_owned(),
            reason: locale.text("language-unknown"),
        })?;
        portico_tenants::people::set_locale(&user.db, user.user_id(), chosen.tag()).await?;
        // The Referer is never sent (no-referrer), so the switch goes home.
        let back = if user.staff_role() {
            "/console"
        } else {
            "/tickets"
        };
        Ok(Redirect::to(back).into_response())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_have_content_hashed_names() {
        let css = asset_url("portico.css");
        assert!(
            css.starts_with("/static/portico.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/static/portico..css".len() + 12);
        assert_ne!(asset_url("portico.js"), "/static/portico.js");
    }

    #[test]
    fn times_are_shown_in_the_readers_language_and_zone() {
        let at = 1_795_000_000_000; // 2026-11-18 11:06:40 UTC
        let utc = jiff::tz::TimeZone::UTC;
        let english = Locale::En.date_time(at, &utc);
        assert!(
            english.contains("2026") && english.contains("Nov") && english.ends_with("UTC"),
            "{english}"
        );
        let italian = Locale::It.date_time(at, &utc);
        assert!(
            italian.contains("nov") && italian.contains("11:06"),
            "{italian}"
        );
        let german = Locale::De.date_time(at, &utc);
        assert!(
            german.contains("18.") && german.contains("11:06"),
            "{german}"
        );
        assert_ne!(english, italian);
        // Rome is an hour ahead in November; the zone's abbreviation says so.
        let rome = crate::i18n::named_zone("Europe/Rome").expect("zone");
        let roman = Locale::It.date_time(at, &rome);
        assert!(roman.contains("12:06") && roman.ends_with("CET"), "{roman}");
        let tokyo = crate::i18n::named_zone("Asia/Tokyo").expect("zone");
        assert!(Locale::De.date_time(at, &tokyo).contains("20:06"));
        assert!(crate::i18n::named_zone("Mars/Olympus").is_none());
        assert!(crate::i18n::named_zone("").is_none());
    }

    #[test]
    fn brand_text_reaches_aa_contrast_whatever_the_colour() {
        // Light brands are darkened for text; dark ones stay as they are.
        let light = brand_sheet("#7fb3ff");
        assert!(light.contains("--brand:#7fb3ff"), "{light}");
        assert!(!light.contains("--brand-text:#7fb3ff"), "{light}");
        assert!(light.contains("--on-brand:#000"), "{light}");
        let dark = brand_sheet("#123456");
        assert!(dark.contains("--brand-text:#123456"), "{dark}");
        assert!(dark.contains("--on-brand:#fff"), "{dark}");
        assert_eq!(brand_sheet("nonsense"), "");
    }

    #[test]
    fn assets_have_gzip_twins() {
        for asset in ASSETS.iter() {
            assert!(asset_url(asset.name).starts_with("/static/"));
            assert_ne!(asset_url(asset.name), format!("/static/{}", asset.name));
            assert!(!asset.gzipped.is_empty() && asset.gzipped.len() < asset.bytes.len());
        }
    }
}
