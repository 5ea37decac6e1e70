//! `/apps`: the views the tenant's `ui` plugins contribute to the portal and the
//! console. A plugin answers with declarative blocks (headings, paragraphs,
//! Markdown, lists, tables, forms, a chat); the host draws them with its own
//! escaped template (`plugin_view.html`), Markdown through the knowledge base's
//! sanitizing renderer, so a plugin can never put markup or script on the tenant's
//! origin. Forms post back here (same origin, CSRF token) and reach the plugin's
//! `submit` as name and value pairs. A person sees a plugin's views when it is
//! enabled for them: staff for every enabled install, a contact when the plugin
//! runs for their organization (its licensed modules).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use minijinja::{Value, context};
use portico_plugins::bindings::ui::exports::portico::plugin::ui;
use portico_plugins::{LoadedPlugin, PluginError, World};
use portico_tenants::Role;
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

/// Whether `user` is staff (views in the console) or a customer (in the portal).
fn staff(user: &WebUser) -> bool {
    matches!(user.current.user.role, Role::MspAdmin | Role::Technician)
}

/// The enabled `ui` plugins `user` may use, each with its install and views.
pub(crate) async fn available(
    state: &AppState,
    user: &WebUser,
) -> Result<Vec<(Install, Arc<LoadedPlugin>)>, ApiError> {
    let installs = store_plugins::installs(&user.db).await?;
    if installs.is_empty() {
        return Ok(Vec::new());
    }
    let organization = if staff(user) {
        None
    } else {
        portico_tenants::policy::organization_of(&user.db, user.user_id()).await?
    };
    let mut found = Vec::new();
    for install in installs {
        let runs = if staff(user) {
            install.enabled
        } else {
            install.runs_for(organization)
        };
        if !runs {
            continue;
        }
        match state
            .plugins
            .load(&install.plugin_id, &install.version)
            .await
        {
            Ok(loaded) if loaded.manifest.world == World::Ui => found.push((install, loaded)),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(tenant = user.db.slug(), plugin = %install.plugin_id, error = %error, "plugin not loaded");
            }
        }
    }
    Ok(found)
}

async fn index(State(state): State<AppState>, user: WebUser) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let views: Vec<Value> = available(&state, &user)
            .await?
            .iter()
            .flat_map(|(_, loaded)| {
                let manifest = &loaded.manifest;
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
    let found = available(state, user).await?;
    let Some((install, loaded)) = found
        .into_iter()
        .find(|(install, _)| install.plugin_id == plugin)
    else {
        return Err(ApiError::NotFound);
    };
    if !loaded.manifest.views.iter().any(|v| v == view) {
        return Err(ApiError::NotFound);
    }
    let name = loaded.manifest.name.clone();
    let request = ui::ViewRequest {
        view: view.to_owned(),
        surface: if staff(user) { "console" } else { "portal" }.to_owned(),
        viewer: user.current.user.email.clone(),
        locale: user.locale.tag().to_owned(),
    };
    let invocation = state.plugins.invocation(&user.db, loaded, &install);
    let answer = match state.plugins.host().await {
        Ok(host) => host.ui(&invocation, &request, submit).await,
        Err(error) => {
            tracing::warn!(error = %error, "plugin host not running");
            Err(PluginError::Busy)
        }
    };
    let locale = user.locale;
    match answer {
        Ok(outcome) => {
            let drawn = draw(&outcome.value);
            let context = context! {
                plugin => name,
                title => outcome.value.title.clone(),
                action => format!("/apps/{plugin}/{view}"),
                blocks => drawn,
                ..user.page("apps")
            };
            Ok(render(state, StatusCode::OK, "plugin_view.html", context))
        }
        Err(error) => {
            tracing::warn!(tenant = user.db.slug(), plugin, error = %error, "plugin view failed");
            let (status, key) = match error {
                PluginError::Busy | PluginError::CircuitOpen | PluginError::BudgetExhausted => {
                    (StatusCode::SERVICE_UNAVAILABLE, "apps-unavailable")
                }
                _ => (StatusCode::BAD_GATEWAY, "apps-failed"),
            };
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
