//! The MSP's administration pages on the tenant host (`/admin/…`): people
//! (invite, resend, disable, reset the second factor, remove the phone, end
//! sessions, sections per person), organizations (domains, approvers, SLA policy,
//! sections per organization), the portal (sections for everyone, settings,
//! statuses visible to customers, field visibility, custom fields, ticket types
//! and approvals), API tokens, webhooks and the audit log.
//!
//! Every page and every form asks Casbin through [`WebUser::scope`] for the same
//! object and action as the API route doing the same thing, and calls the same
//! data-layer function, so a page can never do what the API would refuse. What a
//! person may not administer is not found. Pages are built as data — sections
//! holding a table and forms — and drawn by one template (`admin.html`), so every
//! screen has the same accessible structure.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
use minijinja::context;
use portico_tenants::ids::{EmailAddress, Role};
use portico_tenants::organizations::{self, Organization};
use portico_tenants::people::{self, NewUser, User};
use portico_tenants::sections::{self, SwitchScope};
use portico_tenants::ticket_config::{self, FieldVisibility};
use portico_tenants::{accounts, approvals, audit, ticket_sla, tokens, webhooks};
use serde::{Deserialize, Serialize};

use crate::http::api::{AccountAction, SETTINGS, SettingKind, audit_download, change_account};
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::http::web::{Fields, WebForm, WebUser, page};
use crate::i18n::Locale;
use crate::state::AppState;

mod channels;
mod customers;
mod integrations;
mod persons;
mod plugins;
mod portal;
mod responses;
mod sla;

use channels::*;
use customers::*;
use integrations::*;
use persons::*;
use plugins::*;
use portal::*;
use responses::*;
use sla::*;

/// The routes of the administration pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(hub))
        .route("/admin/people", get(people_page).post(invite_submit))
        .route("/admin/people/{id}", get(person_page))
        .route("/admin/people/{id}/{action}", post(person_action))
        .route(
            "/admin/organizations",
            get(organizations_page).post(organization_create),
        )
        .route("/admin/organizations/{id}", get(organization_page))
        .route(
            "/admin/organizations/{id}/{action}",
            post(organization_action),
        )
        .route("/admin/portal", get(portal_page))
        .route("/admin/portal/logo", post(logo_submit))
        .route("/admin/portal/{action}", post(portal_action))
        .route("/admin/sla", get(sla_page))
        .route("/admin/sla/calendars", post(calendar_create))
        .route("/admin/sla/policies", post(policy_create))
        .route("/admin/mail", get(mail_page))
        .route("/admin/mail/mailboxes", post(mailbox_create))
        .route("/admin/mail/mailboxes/{id}/{action}", post(mailbox_action))
        .route("/admin/mail/{action}", post(smtp_submit))
        .route("/admin/domains", get(domains_page).post(domain_add))
        .route("/admin/domains/{host}/{action}", post(domain_action))
        .route(
            "/admin/responses",
            get(responses_page).post(response_create),
        )
        .route(
            "/admin/responses/{id}",
            get(response_page).post(response_update),
        )
        .route("/admin/responses/{id}/delete", post(response_delete))
        .route("/admin/plugins", get(plugins_page))
        .route("/admin/plugins/{id}/{action}", post(plugin_action))
        .route("/admin/tokens", get(tokens_page).post(token_create))
        .route("/admin/tokens/{id}/revoke", post(token_revoke))
        .route("/admin/webhooks", get(webhooks_page).post(webhook_create))
        .route("/admin/webhooks/{id}/{action}", post(webhook_action))
        .route("/admin/audit", get(audit_page))
        .route("/admin/audit/export", get(audit_export))
}

// ----- the page model ------------------------------------------------------------

/// A part of a page: a heading, an introduction, a table and forms.
#[derive(Debug, Default, Serialize)]
struct Section {
    id: String,
    heading: String,
    intro: Option<String>,
    table: Option<Table>,
    forms: Vec<FormSpec>,
}

impl Section {
    fn new(id: &str, heading: String) -> Section {
        Section {
            id: id.to_owned(),
            heading,
            ..Section::default()
        }
    }

    fn intro(mut self, intro: String) -> Section {
        self.intro = Some(intro);
        self
    }

    fn table(mut self, table: Table) -> Section {
        self.table = Some(table);
        self
    }

    fn form(mut self, form: FormSpec) -> Section {
        self.forms.push(form);
        self
    }
}

/// A table: the first cell of a row heads it; actions are small forms.
#[derive(Debug, Default, Serialize)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Row>,
    /// Shown instead of an empty table.
    empty: String,
    /// Whether rows have an actions column.
    actions: bool,
    /// Shown under a table cut short.
    more: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct Row {
    cells: Vec<Cell>,
    actions: Vec<Action>,
}

#[derive(Debug, Default, Serialize)]
struct Cell {
    text: String,
    href: Option<String>,
    code: bool,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        ..Cell::default()
    }
}

fn link(text: impl Into<String>, href: String) -> Cell {
    Cell {
        text: text.into(),
        href: Some(href),
        code: false,
    }
}

fn code(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        href: None,
        code: true,
    }
}

/// A button posting to `url`, with hidden fields and at most one choice.
#[derive(Debug, Serialize)]
struct Action {
    id: String,
    url: String,
    label: String,
    /// The accessible name: the label and what it applies to.
    name: String,
    hidden: Vec<(String, String)>,
    field: Option<Input>,
    danger: bool,
}

impl Action {
    fn new(url: String, label: String, target: &str) -> Action {
        Action {
            id: String::new(),
            name: format!("{label}: {target}"),
            url,
            label,
            hidden: Vec::new(),
            field: None,
            danger: false,
        }
    }

    fn danger(mut self) -> Action {
        self.danger = true;
        self
    }

    fn hidden(mut self, name: &str, value: &str) -> Action {
        self.hidden.push((name.to_owned(), value.to_owned()));
        self
    }

    fn choice(mut self, id: String, field: Input) -> Action {
        self.id = id;
        self.field = Some(field);
        self
    }
}

/// A form of a section.
#[derive(Debug, Serialize)]
struct FormSpec {
    id: String,
    /// Sent as `multipart/form-data` (a file goes with it).
    multipart: bool,
    /// A heading of its own, for a form under a table (`h3`).
    heading: Option<String>,
    action: String,
    method: &'static str,
    search: bool,
    submit: String,
    fields: Vec<Input>,
}

impl FormSpec {
    fn post(id: &str, action: &str, submit: String, fields: Vec<Input>) -> FormSpec {
        FormSpec {
            id: id.to_owned(),
            multipart: false,
            heading: None,
            action: action.to_owned(),
            method: "post",
            search: false,
            submit,
            fields,
        }
    }

    fn multipart(mut self) -> FormSpec {
        self.multipart = true;
        self
    }

    fn titled(mut self, heading: String) -> FormSpec {
        self.heading = Some(heading);
        self
    }

    fn get(id: &str, action: &str, submit: String, fields: Vec<Input>) -> FormSpec {
        FormSpec {
            method: "get",
            ..FormSpec::post(id, action, submit, fields)
        }
    }

    fn search(id: &str, action: &str, submit: String, fields: Vec<Input>) -> FormSpec {
        FormSpec {
            method: "get",
            search: true,
            ..FormSpec::post(id, action, submit, fields)
        }
    }
}

/// A form field: `text`, `email`, `url`, `number`, `color`, `textarea`, `select`,
/// `checkbox`, `checkboxes` (a group of boxes with one name) or `hidden`.
#[derive(Debug, Clone, Serialize)]
struct Input {
    name: String,
    label: String,
    kind: &'static str,
    value: String,
    options: Vec<Choice>,
    required: bool,
    checked: bool,
    help: Option<String>,
    min: Option<i64>,
    max: Option<i64>,
    /// Options as ready HTML (the time zones: hundreds of them, built once).
    options_html: Option<String>,
}

impl Input {
    fn new(name: &str, label: String, kind: &'static str) -> Input {
        Input {
            name: name.to_owned(),
            label,
            kind,
            value: String::new(),
            options: Vec::new(),
            required: false,
            checked: false,
            help: None,
            min: None,
            max: None,
            options_html: None,
        }
    }

    fn value(mut self, value: impl Into<String>) -> Input {
        self.value = value.into();
        self
    }

    fn required(mut self) -> Input {
        self.required = true;
        self
    }

    fn help(mut self, help: String) -> Input {
        self.help = Some(help);
        self
    }

    fn checked(mut self, checked: bool) -> Input {
        self.checked = checked;
        self
    }

    fn range(mut self, min: i64, max: i64) -> Input {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    fn options(mut self, options: Vec<Choice>) -> Input {
        self.options = options;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choice(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Choice {
    Choice {
        value: value.into(),
        label: label.into(),
        selected,
    }
}

/// The administration pages, in the order of the tabs.
const PAGES: [(&str, &str); 11] = [
    ("people", "/admin/people"),
    ("organizations", "/admin/organizations"),
    ("portal", "/admin/portal"),
    ("sla", "/admin/sla"),
    ("mail", "/admin/mail"),
    ("custom-domains", "/admin/domains"),
    ("responses", "/admin/responses"),
    ("plugins", "/admin/plugins"),
    ("tokens", "/admin/tokens"),
    ("webhooks", "/admin/webhooks"),
    ("audit", "/admin/audit"),
];

/// The pages technicians may read.
const TECHNICIAN_PAGES: [&str; 4] = ["people", "organizations", "sla", "responses"];

/// A secret shown once (a token, a webhook's signing secret).
#[derive(Debug, Serialize)]
struct Secret {
    label: String,
    value: String,
}

/// Draws an administration page.
fn admin_view(
    state: &AppState,
    user: &WebUser,
    current: &str,
    title: String,
    notice: Option<String>,
    sections: Vec<Section>,
) -> Response {
    admin_view_with(state, user, current, title, notice, None, sections)
}

fn admin_view_with(
    state: &AppState,
    user: &WebUser,
    current: &str,
    title: String,
    notice: Option<String>,
    secret: Option<Secret>,
    sections: Vec<Section>,
) -> Response {
    let locale = user.locale;
    // Technicians read people, organizations and service levels; the rest is the
    // administrators' (and answers 404 to anyone else).
    let everything = user.current.user.role == Role::MspAdmin;
    let subnav: Vec<minijinja::Value> = PAGES
        .iter()
        .filter(|(key, _)| everything || TECHNICIAN_PAGES.contains(key))
        .map(|(key, href)| {
            context! {
                href, label => locale.text(&format!("admin-{key}")), current => *key == current,
            }
        })
        .collect();
    render(
        state,
        StatusCode::OK,
        "admin.html",
        context! { title, notice, secret, subnav, sections, ..user.page("admin") },
    )
}

/// `?done=…` after a change: the notice saying what happened.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
}

fn notice(locale: Locale, done: &str) -> Option<String> {
    // A notice is the catalogue's `admin-done-…` message; anything else typed into
    // the address shows none.
    if done.is_empty() || !done.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        return None;
    }
    let key = format!("admin-done-{done}");
    let text = locale.text(&key);
    (text != key).then_some(text)
}

/// The scope of `action` on `object`, or not found: administration a person may
/// not do does not exist for them.
async fn allowed(
    state: &AppState,
    user: &WebUser,
    object: &'static str,
    action: &'static str,
) -> Result<portico_tenants::policy::Scope, ApiError> {
    if !matches!(user.current.user.role, Role::MspAdmin | Role::Technician) {
        return Err(ApiError::NotFound);
    }
    user.scope(state, object, action)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn may(state: &AppState, user: &WebUser, object: &'static str, action: &'static str) -> bool {
    matches!(user.scope(state, object, action).await, Ok(Some(_)))
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

fn done(path: &str, what: &str) -> Response {
    Redirect::to(&format!("{path}?done={what}")).into_response()
}

fn role_label(locale: Locale, role: Role) -> String {
    locale.text(&format!("role-{}", role.as_str().replace('_', "-")))
}

fn yes_no(locale: Locale, value: bool) -> String {
    locale.text(if value { "admin-yes" } else { "admin-no" })
}

// ----- the hub -------------------------------------------------------------------

async fn hub(State(state): State<AppState>, user: WebUser) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "tenant", "read").await?;
        let everything = user.current.user.role == Role::MspAdmin;
        let rows = PAGES
            .iter()
            .filter(|(key, _)| everything || TECHNICIAN_PAGES.contains(key))
            .map(|(key, href)| Row {
                cells: vec![
                    link(locale.text(&format!("admin-{key}")), (*href).to_owned()),
                    cell(locale.text(&format!("admin-{key}-intro"))),
                ],
                actions: Vec::new(),
            })
            .collect();
        let table = Table {
            columns: vec![locale.text("admin-page"), locale.text("admin-what")],
            rows,
            ..Table::default()
        };
        Ok(admin_view(
            &state,
            &user,
            "",
            locale.text("admin-title"),
            None,
            vec![Section::new("admin-pages", locale.text("admin-pages")).table(table)],
        ))
    })
    .await
}

// ----- section switches ------------------------------------------------------------

/// The switches of one scope as a form: for everyone each section is on or off;
/// for an organization or a person it may also follow the wider setting.
fn switch_section(
    locale: Locale,
    id: &str,
    action: &str,
    switches: &[(&'static str, Option<bool>)],
    inherits: bool,
) -> Section {
    let fields = switches
        .iter()
        .map(|(section, state)| {
            let label = locale.text(&format!("section-{}", section.replace('_', "-")));
            let name = format!("section-{section}");
            if inherits {
                let current = match state {
                    None => "inherit",
                    Some(true) => "on",
                    Some(false) => "off",
                };
                Input::new(&name, label, "select").options(
                    ["inherit", "on", "off"]
                        .into_iter()
                        .map(|v| choice(v, locale.text(&format!("admin-switch-{v}")), v == current))
                        .collect(),
                )
            } else {
                Input::new(&name, label, "checkbox").checked(state.unwrap_or(true))
            }
        })
        .collect();
    Section::new(id, locale.text("admin-sections"))
        .intro(locale.text(if inherits {
            "admin-sections-inherit-intro"
        } else {
            "admin-sections-intro"
        }))
        .form(FormSpec::post(
            &format!("{id}-form"),
            action,
            locale.text("admin-save"),
            fields,
        ))
}

/// Applies a submitted switch form at `scope`.
async fn apply_switches(
    user: &WebUser,
    scope: SwitchScope,
    input: &Fields,
    inherits: bool,
) -> Result<(), ApiError> {
    let current = sections::switches_at(&user.db, scope).await?;
    let actor = user.actor();
    for (section, state) in current {
        let name = format!("section-{section}");
        let wanted = if inherits {
            match input.text(&name) {
                "on" => Some(true),
                "off" => Some(false),
                _ => None,
            }
        } else {
            Some(input.checked(&name))
        };
        if wanted == state || (!inherits && state.is_none() && wanted == Some(true)) {
            continue;
        }
        match wanted {
            Some(enabled) => {
                sections::set_switch(&user.db, section, scope, enabled, &actor).await?
            }
            None => sections::clear_switch(&user.db, section, scope, &actor).await?,
        }
    }
    Ok(())
}
