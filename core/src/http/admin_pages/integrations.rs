//! What other systems use: API tokens, webhooks, and the audit log.

use super::*;

// ----- API tokens -----------------------------------------------------------------------

pub(super) async fn tokens_view(
    state: &AppState,
    user: &WebUser,
    notice_text: Option<String>,
    secret: Option<Secret>,
) -> Result<Response, ApiError> {
    let locale = user.locale;
    allowed(state, user, "api_token", "read").await?;
    let may_manage = may(state, user, "api_token", "create").await;
    let listed = tokens::list_api_tokens(&state.store, user.route.slug.as_ref()).await?;
    let rows = listed
        .iter()
        .map(|t| {
            let (_, created) = user.when(t.created_at);
            let last_used = t
                .last_used_at
                .map_or_else(|| locale.text("admin-never"), |at| user.when(at).1);
            let state_text = match t.revoked_at {
                Some(at) => locale.text_with("admin-token-revoked", &[("when", &user.when(at).1)]),
                None => locale.text("admin-token-active"),
            };
            let actions = if may_manage && t.revoked_at.is_none() {
                vec![
                    Action::new(
                        format!("/admin/tokens/{}/revoke", t.id),
                        locale.text("admin-revoke"),
                        &t.name,
                    )
                    .danger(),
                ]
            } else {
                Vec::new()
            };
            Row {
                cells: vec![
                    cell(&t.name),
                    cell(role_label(locale, t.role)),
                    cell(if t.user_id.is_some() {
                        locale.text("admin-token-personal")
                    } else {
                        locale.text("admin-token-service")
                    }),
                    cell(created),
                    cell(last_used),
                    cell(state_text),
                ],
                actions,
            }
        })
        .collect();
    let mut section = Section::new("tokens-list", locale.text("admin-tokens"))
        .intro(locale.text("admin-tokens-intro"))
        .table(Table {
            columns: vec![
                locale.text("admin-name"),
                locale.text("admin-role"),
                locale.text("admin-kind"),
                locale.text("admin-created"),
                locale.text("admin-last-used"),
                locale.text("admin-state"),
            ],
            rows,
            empty: locale.text("admin-tokens-none"),
            actions: may_manage,
            more: None,
        });
    if may_manage {
        section = section.form(
            FormSpec::post(
                "token-new",
                "/admin/tokens",
                locale.text("admin-token-create"),
                vec![
                    Input::new("name", locale.text("admin-name"), "text")
                        .required()
                        .help(locale.text("admin-token-name-help")),
                    Input::new("role", locale.text("admin-role"), "select").options(vec![
                        choice("technician", role_label(locale, Role::Technician), true),
                        choice("msp_admin", role_label(locale, Role::MspAdmin), false),
                    ]),
                ],
            )
            .titled(locale.text("admin-token-new")),
        );
    }
    Ok(admin_view_with(
        state,
        user,
        "tokens",
        locale.text("admin-tokens"),
        notice_text,
        secret,
        vec![section],
    ))
}

pub(super) async fn tokens_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(
        &state,
        locale,
        tokens_view(&state, &user, notice(locale, &query.done), None),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/tokens`: a service token; its secret is on the answer page only.
pub(super) async fn token_create(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<TokenForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "api_token", "create").await?;
        // A token never grants more than an administrator's staff roles.
        let role = match Role::parse(&input.role)? {
            role @ (Role::Technician | Role::MspAdmin) => role,
            _ => {
                return Err(ApiError::Invalid {
                    field: "role".to_owned(),
                    reason: locale.text("admin-token-role"),
                });
            }
        };
        let secret =
            tokens::create_api_token(&state.store, &user.route.slug, &input.name, role).await?;
        portico_tenants::audit::append(
            &user.db,
            portico_tenants::audit::AuditEntry {
                actor: user.actor(),
                action: "api_token.created",
                target: format!("api_token:{}", input.name.trim()),
                details: serde_json::json!({ "role": role.as_str() }),
            },
        )
        .await?;
        let shown = Secret {
            label: locale.text("admin-token-secret"),
            value: secret,
        };
        Ok(secret_page(
            tokens_view(
                &state,
                &user,
                Some(locale.text("admin-done-created")),
                Some(shown),
            )
            .await?,
        ))
    })
    .await
}

pub(super) async fn token_revoke(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, .. }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "api_token", "delete").await?;
        let id = parse_id(&raw)?;
        let name = tokens::list_api_tokens(&state.store, user.route.slug.as_ref())
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.name)
            .ok_or(ApiError::NotFound)?;
        tokens::revoke_api_token(&state.store, &user.route.slug, &name).await?;
        portico_tenants::audit::append(
            &user.db,
            portico_tenants::audit::AuditEntry {
                actor: user.actor(),
                action: "api_token.revoked",
                target: format!("api_token:{name}"),
                details: serde_json::json!({}),
            },
        )
        .await?;
        Ok(done("/admin/tokens", "revoked"))
    })
    .await
}

// ----- webhooks ----------------------------------------------------------------------------

pub(super) async fn webhooks_view(
    state: &AppState,
    user: &WebUser,
    notice_text: Option<String>,
    secret: Option<Secret>,
) -> Result<Response, ApiError> {
    let locale = user.locale;
    allowed(state, user, "webhook", "read").await?;
    let may_update = may(state, user, "webhook", "update").await;
    let may_delete = may(state, user, "webhook", "delete").await;
    let endpoints = webhooks::list_endpoints(&user.db).await?;
    let rows = endpoints
        .iter()
        .map(|e| {
            let url = |action: &str| format!("/admin/webhooks/{}/{action}", e.id);
            let mut actions = Vec::new();
            if may_update {
                actions.push(if e.enabled {
                    Action::new(url("disable"), locale.text("admin-disable"), &e.url)
                } else {
                    Action::new(url("enable"), locale.text("admin-enable"), &e.url)
                });
                actions.push(Action::new(
                    url("rotate"),
                    locale.text("admin-rotate"),
                    &e.url,
                ));
            }
            if may_delete {
                actions
                    .push(Action::new(url("delete"), locale.text("admin-delete"), &e.url).danger());
            }
            let state_text = match (e.enabled, e.disabled_reason.as_deref()) {
                (true, _) => locale.text("admin-webhook-enabled"),
                (false, Some("gone")) => locale.text("admin-webhook-gone"),
                (false, _) => locale.text("admin-webhook-disabled"),
            };
            Row {
                cells: vec![
                    code(&e.url),
                    cell(&e.description),
                    cell(e.event_types.join(", ")),
                    cell(state_text),
                ],
                actions,
            }
        })
        .collect();
    let mut section = Section::new("webhooks-list", locale.text("admin-webhooks"))
        .intro(locale.text("admin-webhooks-intro"))
        .table(Table {
            columns: vec![
                locale.text("admin-url"),
                locale.text("admin-description"),
                locale.text("admin-events"),
                locale.text("admin-state"),
            ],
            rows,
            empty: locale.text("admin-webhooks-none"),
            actions: may_update || may_delete,
            more: None,
        });
    if may(state, user, "webhook", "create").await {
        section = section.form(
            FormSpec::post(
                "webhook-new",
                "/admin/webhooks",
                locale.text("admin-create"),
                vec![
                    Input::new("url", locale.text("admin-url"), "url").required(),
                    Input::new("description", locale.text("admin-description"), "text"),
                    Input::new("events", locale.text("admin-events"), "text")
                        .value("*")
                        .help(locale.text("admin-events-help")),
                ],
            )
            .titled(locale.text("admin-webhook-new")),
        );
    }
    Ok(admin_view_with(
        state,
        user,
        "webhooks",
        locale.text("admin-webhooks"),
        notice_text,
        secret,
        vec![section],
    ))
}

pub(super) async fn webhooks_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(
        &state,
        locale,
        webhooks_view(&state, &user, notice(locale, &query.done), None),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct WebhookForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    events: String,
}

/// A page showing a secret once: never cached, never stored by the browser.
pub(super) fn secret_page(mut response: Response) -> Response {
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

pub(super) async fn webhook_create(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<WebhookForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "webhook", "create").await?;
        let events = input
            .events
            .split([',', ' '])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        let created = crate::http::webhooks_api::new_endpoint(
            &state,
            &user.db,
            input.url.trim(),
            input.description,
            events,
            &user.actor(),
        )
        .await?;
        let shown = Secret {
            label: locale.text("admin-webhook-secret"),
            value: created.secret,
        };
        Ok(secret_page(
            webhooks_view(
                &state,
                &user,
                Some(locale.text("admin-done-created")),
                Some(shown),
            )
            .await?,
        ))
    })
    .await
}

pub(super) async fn webhook_action(
    State(state): State<AppState>,
    Path((raw, action)): Path<(String, String)>,
    WebForm { user, .. }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let id = parse_id(&raw)?;
        let actor = user.actor();
        match action.as_str() {
            "enable" => {
                allowed(&state, &user, "webhook", "update").await?;
                webhooks::set_enabled(&user.db, id, None, &actor).await?;
                Ok(done("/admin/webhooks", "enabled"))
            }
            "disable" => {
                allowed(&state, &user, "webhook", "update").await?;
                webhooks::set_enabled(&user.db, id, Some("admin"), &actor).await?;
                Ok(done("/admin/webhooks", "disabled"))
            }
            "delete" => {
                allowed(&state, &user, "webhook", "delete").await?;
                webhooks::delete_endpoint(&user.db, id, &actor).await?;
                Ok(done("/admin/webhooks", "deleted"))
            }
            "rotate" => {
                allowed(&state, &user, "webhook", "update").await?;
                let rotated =
                    crate::http::webhooks_api::rotate_secret(&state, &user.db, id, &actor).await?;
                let shown = Secret {
                    label: locale.text("admin-webhook-secret"),
                    value: rotated.secret,
                };
                Ok(secret_page(
                    webhooks_view(
                        &state,
                        &user,
                        Some(locale.text("admin-done-rotated")),
                        Some(shown),
                    )
                    .await?,
                ))
            }
            _ => Err(ApiError::NotFound),
        }
    })
    .await
}

// ----- the audit log --------------------------------------------------------------------------

/// The most recent entries the page shows; the export has them all.
pub(super) const AUDIT_SHOWN: i64 = 200;

/// `?verify=1`: check the whole chain (it reads every entry, so only when asked).
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    verify: String,
}

pub(super) async fn audit_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<AuditQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "audit", "read").await?;
        let entries = audit::recent(&user.db, AUDIT_SHOWN).await?;
        let chain = if query.verify.is_empty() {
            locale.text("admin-audit-verify-intro")
        } else {
            let report = audit::verify(&user.db).await?;
            match report.first_broken {
                None => locale.text_with(
                    "admin-audit-intact",
                    &[("count", &report.entries.to_string())],
                ),
                Some((id, reason)) => locale.text_with(
                    "admin-audit-broken",
                    &[("count", &id.to_string()), ("reason", reason)],
                ),
            }
        };
        let rows = entries
            .iter()
            .map(|e| {
                let (_, at) = user.when(e.at);
                Row {
                    cells: vec![
                        cell(at),
                        code(&e.actor),
                        code(&e.action),
                        code(&e.target),
                        code(&e.details),
                    ],
                    actions: Vec::new(),
                }
            })
            .collect();
        let section = Section::new("audit-log", locale.text("admin-audit-recent"))
            .intro(chain)
            .table(Table {
                columns: vec![
                    locale.text("admin-when"),
                    locale.text("admin-actor"),
                    locale.text("admin-action"),
                    locale.text("admin-target"),
                    locale.text("admin-details"),
                ],
                rows,
                empty: locale.text("admin-audit-none"),
                ..Table::default()
            })
            .form(FormSpec::get(
                "audit-verify",
                "/admin/audit",
                locale.text("admin-audit-verify"),
                vec![Input::new("verify", String::new(), "hidden").value("1")],
            ))
            .form(FormSpec::get(
                "audit-export",
                "/admin/audit/export",
                locale.text("admin-audit-export"),
                Vec::new(),
            ));
        Ok(admin_view(
            &state,
            &user,
            "audit",
            locale.text("admin-audit"),
            None,
            vec![section],
        ))
    })
    .await
}

pub(super) async fn audit_export(State(state): State<AppState>, user: WebUser) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "audit", "read").await?;
        audit_download(&user.db).await
    })
    .await
}
