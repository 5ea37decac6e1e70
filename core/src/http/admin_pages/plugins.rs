//! Plugins: the platform's catalogue (what each version asks for, in the
//! publisher's words) beside the tenant's installs; install or upgrade with the
//! capabilities the administrator grants and a configuration, enable, disable,
//! configure, roll back, uninstall. The same checks and plugin host as the API.

use super::*;
use crate::http::plugins_api::{api_error, catalogue, install_granted};

/// A configuration as typed: JSON, or nothing.
fn config_of(locale: Locale, raw: &str) -> Result<Option<serde_json::Value>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(raw)
        .map(Some)
        .map_err(|e| ApiError::Invalid {
            field: "config".to_owned(),
            reason: locale.text_with("admin-plugin-config-invalid", &[("reason", &e.to_string())]),
        })
}

/// The form fields a configuration schema asks for, when it is a flat object of
/// strings (or their `enum`), numbers, integers and booleans: one field each
/// (`cfg.<name>`), labelled by `title` (else the name), helped by `description`,
/// filled from `current`. Anything richer is typed as JSON instead (`None`).
fn schema_fields(
    locale: Locale,
    schema: Option<&serde_json::Value>,
    current: &serde_json::Value,
) -> Option<Vec<Input>> {
    let schema = schema?;
    if schema.get("type").and_then(|t| t.as_str()) != Some("object") {
        return None;
    }
    let properties = schema.get("properties")?.as_object()?;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let mut fields = vec![Input::new("cfg_form", String::new(), "hidden").value("1")];
    for (name, property) in properties {
        let label = property
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or(name)
            .to_owned();
        let value = current.get(name);
        let text = match value {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let field_name = format!("cfg.{name}");
        let mut input = match (
            property.get("type").and_then(|t| t.as_str()),
            property.get("enum").and_then(|e| e.as_array()),
        ) {
            (Some("string"), Some(choices)) => Input::new(&field_name, label, "select").options(
                choices
                    .iter()
                    .filter_map(|c| c.as_str())
                    .map(|c| choice(c, c, c == text))
                    .collect(),
            ),
            (Some("string"), None) => Input::new(&field_name, label, "text").value(text),
            (Some("integer" | "number"), None) => {
                Input::new(&field_name, label, "text").value(text)
            }
            (Some("boolean"), None) => Input::new(&field_name, label, "checkbox")
                .checked(value.and_then(|v| v.as_bool()).unwrap_or(false)),
            _ => return None,
        };
        if required.contains(&name.as_str()) {
            input = input.required();
        }
        let help = property
            .get("description")
            .and_then(|d| d.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| locale.text("admin-plugin-config-help"));
        fields.push(input.help(help));
    }
    Some(fields)
}

/// The configuration a submitted form gives: the schema's fields when the form was
/// generated from it, else the JSON typed.
fn submitted_config(
    locale: Locale,
    schema: Option<&serde_json::Value>,
    input: &Fields,
) -> Result<Option<serde_json::Value>, ApiError> {
    if input.text("cfg_form") != "1" {
        return config_of(locale, input.text("config"));
    }
    let properties = schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.as_object())
        .cloned()
        .unwrap_or_default();
    let mut config = serde_json::Map::new();
    for (name, property) in &properties {
        let field = format!("cfg.{name}");
        let raw = input.text(&field).trim();
        let value = match property.get("type").and_then(|t| t.as_str()) {
            Some("boolean") => serde_json::Value::Bool(input.checked(&field)),
            _ if raw.is_empty() => continue,
            Some("integer") => raw
                .parse::<i64>()
                .map(serde_json::Value::from)
                .map_err(|_| ApiError::Invalid {
                    field: field.clone(),
                    reason: locale.text_with("admin-plugin-number", &[("name", name)]),
                })?,
            Some("number") => raw
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .ok_or_else(|| ApiError::Invalid {
                    field: field.clone(),
                    reason: locale.text_with("admin-plugin-number", &[("name", name)]),
                })?,
            _ => serde_json::Value::String(raw.to_owned()),
        };
        config.insert(name.clone(), value);
    }
    Ok(Some(serde_json::Value::Object(config)))
}

/// The configuration fields of a form: generated from the schema when it can be,
/// else a JSON text area.
fn config_fields(
    locale: Locale,
    schema: Option<&serde_json::Value>,
    current: &serde_json::Value,
) -> Vec<Input> {
    schema_fields(locale, schema, current).unwrap_or_else(|| {
        let text = if current.is_null() {
            String::new()
        } else {
            serde_json::to_string_pretty(current).unwrap_or_default()
        };
        vec![
            Input::new("config", locale.text("admin-plugin-config"), "textarea")
                .value(text)
                .help(locale.text("admin-plugin-config-help")),
        ]
    })
}

/// The configuration schema of a plugin's version, from the catalogue.
async fn schema_of(
    state: &AppState,
    plugin_id: &str,
    version: &str,
) -> Result<Option<serde_json::Value>, ApiError> {
    Ok(catalogue(state)
        .await?
        .into_iter()
        .find(|e| e.plugin_id == plugin_id && e.version == version)
        .and_then(|e| e.config_schema))
}

pub(super) async fn plugins_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "plugin", "read").await?;
        let may_install = may(&state, &user, "plugin", "install").await;
        let may_update = may(&state, &user, "plugin", "update").await;
        let may_delete = may(&state, &user, "plugin", "delete").await;
        let installs = portico_tenants::plugins::installs(&user.db).await?;
        let organizations =
            organizations::list_organizations(&user.db, portico_tenants::policy::Scope::All)
                .await?;
        let rows = installs
            .iter()
            .map(|i| {
                let url = |action: &str| format!("/admin/plugins/{}/{action}", i.plugin_id);
                let mut actions = Vec::new();
                if may_update {
                    actions.push(if i.enabled {
                        Action::new(url("disable"), locale.text("admin-disable"), &i.plugin_id)
                    } else {
                        Action::new(url("enable"), locale.text("admin-enable"), &i.plugin_id)
                    });
                    if i.previous_version.is_some() {
                        actions.push(Action::new(
                            url("rollback"),
                            locale.text("admin-plugin-rollback"),
                            &i.plugin_id,
                        ));
                    }
                }
                if may_delete {
                    actions.push(
                        Action::new(
                            url("uninstall"),
                            locale.text("admin-plugin-uninstall"),
                            &i.plugin_id,
                        )
                        .danger(),
                    );
                }
                let reach = match &i.organizations {
                    None => locale.text("admin-plugin-everyone"),
                    Some(ids) => ids
                        .iter()
                        .filter_map(|id| organizations.iter().find(|o| o.id == *id))
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                let granted = i
                    .grant
                    .get("capabilities")
                    .and_then(|c| c.as_array())
                    .map(|c| {
                        c.iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                Row {
                    cells: vec![
                        code(&i.plugin_id),
                        cell(match &i.previous_version {
                            Some(previous) => format!("{} ({previous})", i.version),
                            None => i.version.clone(),
                        }),
                        cell(locale.text(if i.enabled {
                            "admin-plugin-running"
                        } else {
                            "admin-plugin-stopped"
                        })),
                        cell(reach),
                        cell(granted),
                    ],
                    actions,
                }
            })
            .collect();
        let mut sections = vec![
            Section::new("plugins-installed", locale.text("admin-plugins-installed"))
                .intro(locale.text("admin-plugins-intro"))
                .table(Table {
                    columns: vec![
                        locale.text("admin-plugin"),
                        locale.text("admin-plugin-version"),
                        locale.text("admin-state"),
                        locale.text("admin-plugin-for"),
                        locale.text("admin-plugin-granted"),
                    ],
                    rows,
                    empty: locale.text("admin-plugins-none"),
                    actions: may_update || may_delete,
                    more: None,
                }),
        ];
        let entries = if may_update || may_install {
            catalogue(&state).await?
        } else {
            Vec::new()
        };
        let schema_for = |id: &str, version: &str| {
            entries
                .iter()
                .find(|e| e.plugin_id == id && e.version == version)
                .and_then(|e| e.config_schema.clone())
        };
        if may_update {
            for install in &installs {
                let schema = schema_for(&install.plugin_id, &install.version);
                sections.push(
                    Section::new(
                        &format!("plugin-config-{}", install.plugin_id),
                        locale.text_with("admin-plugin-configure", &[("name", &install.plugin_id)]),
                    )
                    .form(FormSpec::post(
                        &format!("config-{}", install.plugin_id),
                        &format!("/admin/plugins/{}/configure", install.plugin_id),
                        locale.text("admin-save"),
                        config_fields(locale, schema.as_ref(), &install.config),
                    )),
                );
            }
        }
        if may_install {
            // The newest version of each plugin, when it is not the one installed.
            let mut newest: Vec<crate::http::plugins_api::CatalogueEntry> = Vec::new();
            for entry in entries.iter().cloned() {
                match newest.iter_mut().find(|e| e.plugin_id == entry.plugin_id) {
                    Some(known) if known.published_at < entry.published_at => *known = entry,
                    Some(_) => {}
                    None => newest.push(entry),
                }
            }
            for entry in newest {
                let installed = installs.iter().find(|i| i.plugin_id == entry.plugin_id);
                if installed.is_some_and(|i| i.version == entry.version) {
                    continue;
                }
                let hosts: Vec<String> = entry
                    .capabilities
                    .iter()
                    .flat_map(|c| c.hosts.iter().cloned())
                    .collect();
                let mut fields = vec![
                    Input::new("version", String::new(), "hidden").value(&entry.version),
                    Input::new("capability", locale.text("admin-plugin-asks"), "checkboxes")
                        .options(
                            entry
                                .capabilities
                                .iter()
                                .map(|c| choice(&c.name, format!("{}: {}", c.name, c.reason), true))
                                .collect(),
                        ),
                ];
                if !hosts.is_empty() {
                    fields.push(
                        Input::new("hosts", locale.text("admin-plugin-hosts"), "text")
                            .value(hosts.join(", "))
                            .help(locale.text("admin-plugin-hosts-help")),
                    );
                }
                fields.extend(config_fields(
                    locale,
                    entry.config_schema.as_ref(),
                    &installed.map_or(serde_json::Value::Null, |i| i.config.clone()),
                ));
                let heading = match installed {
                    Some(i) => locale.text_with(
                        "admin-plugin-upgrade",
                        &[
                            ("name", &entry.name),
                            ("body", &format!("{} → {}", i.version, entry.version)),
                        ],
                    ),
                    None => locale.text_with(
                        "admin-plugin-install",
                        &[("name", &entry.name), ("body", &entry.version)],
                    ),
                };
                sections.push(
                    Section::new(&format!("plugin-{}", entry.plugin_id), heading)
                        .intro(locale.text_with(
                            "admin-plugin-about",
                            &[("body", &entry.description), ("author", &entry.publisher)],
                        ))
                        .form(FormSpec::post(
                            &format!("install-{}", entry.plugin_id),
                            &format!("/admin/plugins/{}/install", entry.plugin_id),
                            locale.text("admin-plugin-install-submit"),
                            fields,
                        )),
                );
            }
        }
        Ok(admin_view(
            &state,
            &user,
            "plugins",
            locale.text("admin-plugins"),
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

pub(super) async fn plugin_action(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let actor = user.actor();
        let back = "/admin/plugins";
        match action.as_str() {
            "install" => {
                allowed(&state, &user, "plugin", "install").await?;
                let capabilities: Vec<String> =
                    input.all("capability").map(str::to_owned).collect();
                let hosts: Vec<String> = input
                    .text("hosts")
                    .split([',', ' '])
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .collect();
                let version = Some(input.text("version").trim()).filter(|v| !v.is_empty());
                let schema = match version {
                    Some(version) => schema_of(&state, &id, version).await?,
                    None => None,
                };
                let config = submitted_config(locale, schema.as_ref(), &input)?;
                install_granted(
                    &state,
                    &user.db,
                    &id,
                    version,
                    &capabilities,
                    &hosts,
                    config,
                    &actor,
                )
                .await?;
                Ok(done(back, "created"))
            }
            "configure" => {
                allowed(&state, &user, "plugin", "update").await?;
                let install = portico_tenants::plugins::install_of_plugin(&user.db, &id).await?;
                let schema = schema_of(&state, &id, &install.version).await?;
                let config = submitted_config(locale, schema.as_ref(), &input)?
                    .unwrap_or_else(|| serde_json::json!({}));
                state
                    .plugins
                    .configure(&user.db, &id, config, &actor)
                    .await
                    .map_err(api_error)?;
                Ok(done(back, "settings"))
            }
            "enable" => {
                allowed(&state, &user, "plugin", "update").await?;
                let install = portico_tenants::plugins::install_of_plugin(&user.db, &id).await?;
                state
                    .plugins
                    .enable(&user.db, &id, install.organizations, &actor)
                    .await
                    .map_err(api_error)?;
                Ok(done(back, "enabled"))
            }
            "disable" => {
                allowed(&state, &user, "plugin", "update").await?;
                portico_tenants::plugins::set_enabled(&user.db, &id, false, None, &actor).await?;
                Ok(done(back, "disabled"))
            }
            "rollback" => {
                allowed(&state, &user, "plugin", "update").await?;
                state
                    .plugins
                    .rollback(&user.db, &id, &actor)
                    .await
                    .map_err(api_error)?;
                Ok(done(back, "rolled-back"))
            }
            "uninstall" => {
                allowed(&state, &user, "plugin", "delete").await?;
                portico_tenants::plugins::uninstall(&user.db, &id, &actor).await?;
                Ok(done(back, "deleted"))
            }
            _ => Err(ApiError::NotFound),
        }
    })
    .await
}
