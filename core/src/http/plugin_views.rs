//! `/apps`: the views the tenant's `ui` plugins contribute to the portal and the
//! console. A plugin answers with declarative blocks (headings, paragraphs,
//! Markdown, lists, tables, forms, a chat); the host draws them with its own
//! escaped template (`plugin_view.html`), Markdown through the knowledge base's
//! sanitizing renderer, so a plugin can never put markup or script on the tenant's
//! origin. Forms post back here (same origin, CSRF token) and reach the plugin's
//! `submit` as name and value pairs. A person sees a plugin's views when it is
//! enabled for them: staff for every enabled install, a contact when the plugin
//! runs for their organization (its licensed modules).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use minijinja::{Value, context};
use portico_plugins::bindings::ui::exports::portico::plugin::ui;
use portico_plugins::{Manifest, PluginError, World};
use portico_tenants::TenantDb;
use portico_tenants::plugins::{self as store_plugins, Install};

use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::http::web::{Fields, WebForm, WebUser, page};
use crate::state::AppState;

/// The routes of the plugin views.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apps", get(index))
        .route("/apps/{plugin}/{view}", get(show).post(submit))
}

/// Form fields the host itself sends, never passed to the plugin.
const HOST_FIELDS: [&str; 2] = ["csrf", "_action"];

/// An enabled `ui` plugin: its install and its signed manifest (with the views
/// it lists). Its component is loaded only when one of its views is opened.
pub(crate) type App = (Install, Manifest);

/// The enabled `ui` plugins a person may use: staff every enabled install, a
/// customer those running for `organization` (read once per request, with the
/// person, by [`WebUser`]). Which installs are `ui` plugins, and their views, come
/// from the catalogue's manifests, so an ordinary page loads no component.
pub(crate) async fn available(
    state: &AppState,
    db: &TenantDb,
    staff: bool,
    organization: Option<i64>,
) -> Result<Vec<App>, ApiError> {
    let installs: Vec<Install> = store_plugins::installs(db)
        .await?
        .into_iter()
        .filter(|install| {
            if staff {
                install.enabled
            } else {
                install.runs_for(organization)
            }
        })
        .collect();
    if installs.is_empty() {
        return Ok(Vec::new());
    }
    let catalogue = store_plugins::packages(&state.store).await?;
    Ok(installs
        .into_iter()
        .filter_map(|install| {
            let package = catalogue.iter().find(|p| {
                p.plugin_id == install.plugin_id
                    && p.version == install.version
                    && p.world == World::Ui.as_str()
            })?;
            // Admitted when published: a manifest that no longer parses is skipped.
            let manifest = Manifest::parse(&package.manifest).ok()?;
            Some((install, manifest))
        })
        .collect())
}

async fn index(State(state): State<AppState>, user: WebUser) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let views: Vec<Value> = user
            .apps
            .iter()
            .flat_map(|(_, manifest)| {
                manifest.views.iter().map(move |view| {
                    context! {
                        href => format!("/apps/{}/{view}", manifest.id),
                        plugin => manifest.name.clone(),
                        description => manifest.description.clone(),
                        view => view.clone(),
                    }
                })
            })
            .collect();
        let context = context! { views, ..user.page("apps") };
        Ok(render(&state, StatusCode::OK, "apps.html", context))
    })
    .await
}

async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Path((plugin, view)): Path<(String, String)>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        call(&state, &user, &plugin, &view, None).await
    })
    .await
}

async fn submit(
    State(state): State<AppState>,
    Path((plugin, view)): Path<(String, String)>,
    form: WebForm<Fields>,
) -> Response {
    let WebForm { user, input } = form;
    let locale = user.locale;
    page(&state, locale, async {
        let action = input.text("_action").to_owned();
        let values: Vec<ui::FieldValue> = input
            .pairs()
            .filter(|(name, _)| !HOST_FIELDS.contains(&name.as_str()))
            .map(|(name, value)| ui::FieldValue {
                name: name.clone(),
                value: value.clone(),
            })
            .collect();
        call(
            &state,
            &user,
            &plugin,
            &view,
            Some((action.as_str(), values.as_slice())),
        )
        .await
    })
    .await
}

/// Renders `view` of `plugin` for `user`, or submits a form to it, and draws the
/// answer.
async fn call(
    state: &AppState,
    user: &WebUser,
    plugin: &str,
    view: &str,
    submit: Option<(&str, &[ui::FieldValue])>,
) -> Result<Response, ApiError> {
    let Some((install, manifest)) = user
        .apps
        .iter()
        .find(|(install, _)| install.plugin_id == plugin)
    else {
        return Err(ApiError::NotFound);
    };
    if !manifest.views.iter().any(|v| v == view) {
        return Err(ApiError::NotFound);
    }
    let name = manifest.name.clone();
    let request = ui::ViewRequest {
        view: view.to_owned(),
        surface: if user.staff_role() {
            "console"
        } else {
            "portal"
        }
        .to_owned(),
        viewer: user.current.user.email.clone(),
        locale: user.locale.tag().to_owned(),
    };
    // What went wrong is logged; the person reads whether to wait or not.
    let unavailable = (StatusCode::SERVICE_UNAVAILABLE, "apps-unavailable");
    let failed = (StatusCode::BAD_GATEWAY, "apps-failed");
    let answer = match (
        state.plugins.load(plugin, &install.version).await,
        state.plugins.host().await,
    ) {
        (Ok(loaded), Ok(host)) => {
            let invocation = state.plugins.invocation(&user.db, loaded, install);
            host.ui(&invocation, &request, submit)
                .await
                .map(|outcome| outcome.value)
                .map_err(|error| {
                    tracing::warn!(tenant = user.db.slug(), plugin, error = %error, "plugin view failed");
                    match error {
                        PluginError::Busy
                        | PluginError::CircuitOpen
                        | PluginError::BudgetExhausted => unavailable,
                        _ => failed,
                    }
                })
        }
        (Err(error), _) => {
            tracing::warn!(tenant = user.db.slug(), plugin, error = %error, "plugin not loaded");
            Err(failed)
        }
        (_, Err(error)) => {
            tracing::warn!(error = %error, "plugin host not running");
            Err(unavailable)
        }
    };
    let locale = user.locale;
    match answer {
        Ok(view) => {
            let context = context! {
                plugin => name,
                title => view.title.clone(),
                action => format!("/apps/{plugin}/{view_name}", view_name = request.view),
                blocks => draw(&view),
                ..user.page("apps")
            };
            Ok(render(state, StatusCode::OK, "plugin_view.html", context))
        }
        Err((status, key)) => {
            let context = context! {
                plugin => name,
                title => name,
                failure => locale.text(key),
                blocks => Vec::<Value>::new(),
                ..user.page("apps")
            };
            Ok(render(state, status, "plugin_view.html", context))
        }
    }
}

/// The blocks as the template draws them: text stays text (the template escapes
/// it); Markdown becomes HTML through the knowledge base's sanitizer.
fn draw(view: &ui::View) -> Vec<Value> {
    view.blocks
        .iter()
        .map(|block| match block {
            ui::Block::Heading(text) => context! { kind => "heading", text },
            ui::Block::Paragraph(text) => context! { kind => "paragraph", text },
            ui::Block::Markdown(markdown) => context! {
                kind => "markdown",
                html => Value::from_safe_string(portico_tenants::kb_text::render_html(markdown)),
            },
            ui::Block::Items(items) => context! { kind => "items", items },
            ui::Block::Table(table) => context! {
                kind => "table",
                columns => table.columns,
                rows => table.rows,
            },
            ui::Block::Form(form) => context! {
                kind => "form",
                form_action => form.action,
                submit_label => form.submit_label,
                inputs => form.inputs.iter().enumerate().map(|(i, input)| context! {
                    id => format!("plugin-input-{i}"),
                    name => input.name,
                    label => input.label,
                    kind => match input.kind {
                        ui::InputKind::Text => "text",
                        ui::InputKind::Textarea => "textarea",
                        ui::InputKind::Number => "number",
                        ui::InputKind::Checkbox => "checkbox",
                        ui::InputKind::Email => "email",
                    },
                    value => input.value,
                    required => input.required,
                }).collect::<Vec<_>>(),
            },
            ui::Block::Chat(messages) => context! {
                kind => "chat",
                messages => messages.iter().map(|m| context! {
                    assistant => m.author == "assistant",
                    text => m.text,
                }).collect::<Vec<_>>(),
            },
        })
        .collect()
}
