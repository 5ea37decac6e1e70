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
        if may_update {
            for install in &installs {
                sections.push(
                    Section::new(
                        &format!("plugin-config-{}", install.plugin_id),
                        locale.text_with("admin-plugin-configure", &[("name", &install.plugin_id)]),
                    )
                    .form(FormSpec::post(
                        &format!("config-{}", install.plugin_id),
                        &format!("/admin/plugins/{}/configure", install.plugin_id),
                        locale.text("admin-save"),
                        vec![
                            Input::new("config", locale.text("admin-plugin-config"), "textarea")
                                .value(
                                    serde_json::to_string_pretty(&install.config)
                                        .unwrap_or_default(),
                                )
                                .help(locale.text("admin-plugin-config-help")),
                        ],
                    )),
                );
            }
        }
        if may_install {
            // The newest version of each plugin, when it is not the one installed.
            let mut newest: Vec<crate::http::plugins_api::CatalogueEntry> = Vec::new();
            for entry in catalogue(&state).await? {
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
                fields.push(
                    Input::new("config", locale.text("admin-plugin-config"), "textarea")
                        .help(locale.text("admin-plugin-config-help")),
                );
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
                install_granted(
                    &state,
                    &user.db,
                    &id,
                    version,
                    &capabilities,
                    &hosts,
                    config_of(locale, input.text("config"))?,
                    &actor,
                )
                .await?;
                Ok(done(back, "created"))
            }
            "configure" => {
                allowed(&state, &user, "plugin", "update").await?;
                let config = config_of(locale, input.text("config"))?
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
