//! The portal: sections for everyone, settings, statuses, fields and ticket types.

use super::*;
use axum::extract::{FromRequest, Multipart, Request};

/// The largest logo, bytes.
const LOGO_MAX: usize = 512 * 1024;
/// The image types a logo may be (checked on its bytes).
const LOGO_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/gif"];

// ----- the portal ----------------------------------------------------------------------

/// The tenant settings of the portal page, in order, with the input each takes.
pub(super) const PORTAL_SETTINGS: [&str; 10] = [
    portico_tenants::thread::REOPEN_SETTING,
    crate::http::web::HIDE_NEW_TICKET_SETTING,
    crate::identity::pages::CONTACTS_SECOND_FACTOR_OPTIONAL,
    portico_tenants::kb::PUBLIC_SETTING,
    portico_tenants::tickets::AUTO_CLOSE_SETTING,
    crate::http::tickets_api::ATTACHMENT_MAX_SETTING,
    crate::mail::intake::UNKNOWN_SENDERS_SETTING,
    crate::mail::notify::BRAND_COLOR_SETTING,
    crate::i18n::TIME_ZONE_SETTING,
    crate::subscribers::WELCOME_MESSAGE_SETTING,
];

/// The value a yes/no setting has while the tenant has not set it.
pub(super) fn bool_default(key: &str) -> bool {
    key == portico_tenants::thread::REOPEN_SETTING
}

pub(super) fn setting_kind(key: &str) -> Option<SettingKind> {
    SETTINGS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, kind)| *kind)
}

pub(super) fn setting_label(locale: Locale, key: &str) -> String {
    locale.text(&format!("admin-setting-{}", key.replace('_', "-")))
}

/// The input of a setting, filled with its value.
pub(super) fn setting_input(
    locale: Locale,
    key: &str,
    value: Option<&serde_json::Value>,
) -> Option<Input> {
    let label = setting_label(locale, key);
    let help = locale.text(&format!("admin-setting-{}-help", key.replace('_', "-")));
    let input = match setting_kind(key)? {
        SettingKind::Bool => Input::new(key, label, "checkbox")
            .checked(value.and_then(|v| v.as_bool()).unwrap_or(bool_default(key))),
        SettingKind::Integer(min, max) => Input::new(key, label, "number")
            .value(
                value
                    .and_then(|v| v.as_i64())
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            )
            .range(min, max),
        SettingKind::Choice(words) => {
            let current = value.and_then(|v| v.as_str()).unwrap_or(words[0]);
            Input::new(key, label, "select").options(
                words
                    .iter()
                    .map(|w| choice(*w, locale.text(&format!("admin-choice-{w}")), *w == current))
                    .collect(),
            )
        }
        SettingKind::Color => Input::new(key, label, "color").value(
            value
                .and_then(|v| v.as_str())
                .unwrap_or(crate::mail::notify::DEFAULT_COLOR),
        ),
        SettingKind::TimeZone => {
            let current = value.and_then(|v| v.as_str()).unwrap_or("UTC");
            let mut input = Input::new(key, label, "select");
            input.options_html = Some(crate::i18n::zone_options(current));
            input
        }
        SettingKind::Text(_) => Input::new(key, label, "textarea")
            .value(value.and_then(|v| v.as_str()).unwrap_or_default()),
        SettingKind::Key | SettingKind::TypeList => return None,
    };
    Some(input.help(help))
}

/// A submitted setting as the JSON value it is stored as; `None` when left empty.
pub(super) fn submitted_setting(
    locale: Locale,
    key: &str,
    input: &Fields,
) -> Result<Option<serde_json::Value>, ApiError> {
    let Some(kind) = setting_kind(key) else {
        return Ok(None);
    };
    let raw = input.text(key).trim();
    let value = match kind {
        SettingKind::Bool => serde_json::Value::Bool(input.checked(key)),
        // Text may be emptied (the message is then left out).
        SettingKind::Text(_) => serde_json::Value::String(raw.to_owned()),
        // An emptied number goes back to the default (stored as null, which every
        // reader takes as unset).
        SettingKind::Integer(..) if raw.is_empty() => return Ok(Some(serde_json::Value::Null)),
        SettingKind::Integer(..) => match raw.parse::<i64>() {
            Ok(n) => serde_json::Value::from(n),
            Err(_) => serde_json::Value::String(raw.to_owned()),
        },
        _ if raw.is_empty() => return Ok(None),
        _ => serde_json::Value::String(raw.to_owned()),
    };
    kind.check(&value).map_err(|reason| ApiError::Invalid {
        field: key.to_owned(),
        reason: format!("{}: {reason}", setting_label(locale, key)),
    })?;
    Ok(Some(value))
}

pub(super) fn visibility_key(visibility: FieldVisibility) -> &'static str {
    match visibility {
        FieldVisibility::Editable => "editable",
        FieldVisibility::ReadOnly => "read_only",
        FieldVisibility::Hidden => "hidden",
    }
}

pub(super) fn visibility_choices(
    locale: Locale,
    current: FieldVisibility,
    read_only: bool,
) -> Vec<Choice> {
    let mut all = vec![FieldVisibility::Editable];
    if read_only {
        all.push(FieldVisibility::ReadOnly);
    }
    all.push(FieldVisibility::Hidden);
    all.into_iter()
        .map(|v| {
            let key = visibility_key(v);
            choice(
                key,
                locale.text(&format!("admin-visibility-{}", key.replace('_', "-"))),
                v == current,
            )
        })
        .collect()
}

pub(super) async fn portal_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "setting", "update").await?;
        let may_config = may(&state, &user, "ticket_config", "update").await;
        let switches = sections::switches_at(&user.db, SwitchScope::All).await?;
        let mut settings = Vec::new();
        for key in PORTAL_SETTINGS {
            let value = accounts::tenant_setting(&user.db, key).await?;
            settings.extend(setting_input(locale, key, value.as_ref()));
        }
        let mut sections = vec![
            switch_section(
                locale,
                "portal-sections",
                "/admin/portal/sections",
                &switches,
                false,
            ),
            Section::new("portal-settings", locale.text("admin-settings")).form(FormSpec::post(
                "settings",
                "/admin/portal/settings",
                locale.text("admin-save"),
                settings,
            )),
        ];
        // The logo, shown before the tenant's name in the portal's header.
        let logo = crate::http::web::brand_logo(&user.db).await?;
        let mut logo_section = Section::new("portal-logo", locale.text("admin-logo"))
            .intro(locale.text(if logo.is_some() {
                "admin-logo-set"
            } else {
                "admin-logo-none"
            }))
            .form(
                FormSpec::post(
                    "logo",
                    "/admin/portal/logo",
                    locale.text("admin-logo-upload"),
                    vec![
                        Input::new("file", locale.text("admin-logo-file"), "file")
                            .required()
                            .help(locale.text("admin-logo-help")),
                    ],
                )
                .multipart(),
            );
        if logo.is_some() {
            logo_section = logo_section.form(FormSpec::post(
                "logo-remove",
                "/admin/portal/logo-remove",
                locale.text("admin-logo-remove"),
                Vec::new(),
            ));
        }
        sections.push(logo_section);
        // Statuses: whether customers see each as itself, whether it pauses the SLA.
        let statuses = ticket_config::statuses(&user.db).await?;
        let status_rows = statuses
            .iter()
            .map(|s| {
                let name = crate::http::web::status_label(locale, &s.key);
                let mut actions = Vec::new();
                if may_config {
                    let visible = s.visible_to_customers.0;
                    actions.push(
                        Action::new(
                            "/admin/portal/status".to_owned(),
                            locale.text(if visible {
                                "admin-status-hide"
                            } else {
                                "admin-status-show"
                            }),
                            &name,
                        )
                        .hidden("key", &s.key)
                        .hidden("visible", if visible { "false" } else { "true" }),
                    );
                }
                Row {
                    cells: vec![
                        cell(&name),
                        code(&s.key),
                        cell(crate::http::web::status_label(locale, &s.class)),
                        cell(yes_no(locale, s.visible_to_customers.0)),
                        cell(yes_no(locale, s.pauses_sla.0)),
                    ],
                    actions,
                }
            })
            .collect();
        let mut status_section = Section::new("portal-statuses", locale.text("admin-statuses"))
            .intro(locale.text("admin-statuses-intro"))
            .table(Table {
                columns: vec![
                    locale.text("admin-name"),
                    locale.text("admin-key"),
                    locale.text("admin-class"),
                    locale.text("admin-visible"),
                    locale.text("admin-pauses-sla"),
                ],
                rows: status_rows,
                actions: may_config,
                ..Table::default()
            });
        if may_config {
            status_section = status_section.form(
                FormSpec::post(
                    "status-new",
                    "/admin/portal/status-new",
                    locale.text("admin-create"),
                    vec![
                        Input::new("key", locale.text("admin-key"), "text")
                            .required()
                            .help(locale.text("admin-key-help")),
                        Input::new("class", locale.text("admin-class"), "select").options(
                            portico_tenants::tickets::STATUS_CLASSES
                                .iter()
                                .map(|c| {
                                    choice(
                                        *c,
                                        crate::http::web::status_label(locale, c),
                                        *c == "open",
                                    )
                                })
                                .collect(),
                        ),
                        Input::new("visible", locale.text("admin-visible"), "checkbox")
                            .checked(true),
                        Input::new("pauses_sla", locale.text("admin-pauses-sla"), "checkbox"),
                    ],
                )
                .titled(locale.text("admin-status-new")),
            );
        }
        sections.push(status_section);
        // Fields: the standard ones and the MSP's own, each with its portal visibility.
        let portal = ticket_config::read_portal_fields(&user.db).await?;
        let custom = ticket_config::fields(&user.db).await?;
        let mut field_rows: Vec<Row> = portal
            .standard_fields()
            .into_iter()
            .map(|(name, visibility)| {
                let label = locale.text(&format!("admin-standard-{name}"));
                let actions = if may_config {
                    vec![
                        Action::new(
                            "/admin/portal/field".to_owned(),
                            locale.text("admin-save"),
                            &label,
                        )
                        .hidden("name", &name)
                        .hidden("standard", "true")
                        .choice(
                            format!("field-{name}"),
                            Input::new(
                                "visibility",
                                format!("{}: {label}", locale.text("admin-visibility")),
                                "select",
                            )
                            .options(visibility_choices(locale, visibility, true)),
                        ),
                    ]
                } else {
                    Vec::new()
                };
                Row {
                    cells: vec![
                        cell(&label),
                        cell(locale.text("admin-field-standard")),
                        cell(locale.text(&format!(
                            "admin-visibility-{}",
                            visibility_key(visibility).replace('_', "-")
                        ))),
                    ],
                    actions,
                }
            })
            .collect();
        field_rows.extend(custom.iter().map(|f| {
            let actions = if may_config {
                vec![
                    Action::new(
                        "/admin/portal/field".to_owned(),
                        locale.text("admin-save"),
                        &f.label,
                    )
                    .hidden("name", &f.key)
                    .choice(
                        format!("field-custom-{}", f.key),
                        Input::new(
                            "visibility",
                            format!("{}: {}", locale.text("admin-visibility"), f.label),
                            "select",
                        )
                        .options(visibility_choices(locale, f.portal, false)),
                    ),
                ]
            } else {
                Vec::new()
            };
            Row {
                cells: vec![
                    cell(&f.label),
                    cell(locale.text(&format!("admin-kind-{}", f.kind))),
                    cell(locale.text(&format!(
                        "admin-visibility-{}",
                        visibility_key(f.portal).replace('_', "-")
                    ))),
                ],
                actions,
            }
        }));
        let mut field_section = Section::new("portal-fields", locale.text("admin-fields"))
            .intro(locale.text("admin-fields-intro"))
            .table(Table {
                columns: vec![
                    locale.text("admin-name"),
                    locale.text("admin-kind"),
                    locale.text("admin-visibility"),
                ],
                rows: field_rows,
                actions: may_config,
                ..Table::default()
            });
        if may_config {
            field_section = field_section.form(
                FormSpec::post(
                    "field-new",
                    "/admin/portal/field-new",
                    locale.text("admin-create"),
                    vec![
                        Input::new("key", locale.text("admin-key"), "text")
                            .required()
                            .help(locale.text("admin-key-help")),
                        Input::new("label", locale.text("admin-label"), "text").required(),
                        Input::new("kind", locale.text("admin-kind"), "select").options(
                            ["text", "number", "date", "select", "checkbox"]
                                .into_iter()
                                .map(|k| {
                                    choice(k, locale.text(&format!("admin-kind-{k}")), k == "text")
                                })
                                .collect(),
                        ),
                        Input::new("options", locale.text("admin-options"), "text")
                            .help(locale.text("admin-options-help")),
                        Input::new("required", locale.text("admin-required"), "checkbox"),
                        Input::new("portal", locale.text("admin-field-in-portal"), "checkbox")
                            .checked(true),
                    ],
                )
                .titled(locale.text("admin-field-new")),
            );
        }
        sections.push(field_section);
        // Ticket types and whether they wait for the organization's approvers.
        let types = ticket_config::types(&user.db).await?;
        let type_rows = types
            .iter()
            .map(|t| Row {
                cells: vec![
                    cell(&t.name),
                    code(&t.key),
                    cell(if t.requires_approval {
                        locale.text_with(
                            "admin-type-approvals",
                            &[("count", &t.approvals_needed.to_string())],
                        )
                    } else {
                        locale.text("admin-no")
                    }),
                ],
                actions: Vec::new(),
            })
            .collect();
        let mut type_section = Section::new("portal-types", locale.text("admin-types"))
            .intro(locale.text("admin-types-intro"))
            .table(Table {
                columns: vec![
                    locale.text("admin-name"),
                    locale.text("admin-key"),
                    locale.text("admin-approval"),
                ],
                rows: type_rows,
                empty: locale.text("admin-types-none"),
                ..Table::default()
            });
        if may_config {
            type_section = type_section.form(
                FormSpec::post(
                    "type-new",
                    "/admin/portal/type-new",
                    locale.text("admin-create"),
                    vec![
                        Input::new("key", locale.text("admin-key"), "text")
                            .required()
                            .help(locale.text("admin-key-help")),
                        Input::new("name", locale.text("admin-name"), "text").required(),
                        Input::new(
                            "requires_approval",
                            locale.text("admin-requires-approval"),
                            "checkbox",
                        ),
                        Input::new(
                            "approvals_needed",
                            locale.text("admin-approvals-needed"),
                            "number",
                        )
                        .value("1")
                        .range(1, 20)
                        .help(locale.text("admin-approvals-needed-help")),
                    ],
                )
                .titled(locale.text("admin-type-new")),
            );
        }
        sections.push(type_section);
        Ok(admin_view(
            &state,
            &user,
            "portal",
            locale.text("admin-portal"),
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

pub(super) async fn portal_action(
    State(state): State<AppState>,
    Path(action): Path<String>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let actor = user.actor();
        let back = "/admin/portal";
        match action.as_str() {
            "sections" => {
                allowed(&state, &user, "setting", "update").await?;
                apply_switches(&user, SwitchScope::All, &input, false).await?;
                Ok(done(back, "sections"))
            }
            "settings" => {
                allowed(&state, &user, "setting", "update").await?;
                // Every value is checked before any is written.
                let mut changes = Vec::new();
                for key in PORTAL_SETTINGS {
                    if let Some(value) = submitted_setting(locale, key, &input)? {
                        let stored = accounts::tenant_setting(&user.db, key).await?;
                        let unset = stored.as_ref().is_none_or(|v| v.is_null());
                        let unchanged = stored.as_ref() == Some(&value)
                            || (unset && value.is_null())
                            || (stored.is_none()
                                && (value == serde_json::Value::Bool(bool_default(key))
                                    || value == serde_json::Value::String(String::new())));
                        if !unchanged {
                            changes.push((key, value));
                        }
                    }
                }
                for (key, value) in changes {
                    accounts::set_tenant_setting(&user.db, key, &value, &actor).await?;
                }
                Ok(done(back, "settings"))
            }
            "logo-remove" => {
                allowed(&state, &user, "setting", "update").await?;
                if let Some((key, _, _)) = crate::http::web::brand_logo(&user.db).await? {
                    accounts::set_tenant_setting(
                        &user.db,
                        crate::http::web::BRAND_LOGO_SETTING,
                        &serde_json::Value::Null,
                        &actor,
                    )
                    .await?;
                    if let Err(error) = state.blobs.delete(&key).await {
                        tracing::warn!(%error, "the removed logo stays in the blob store");
                    }
                }
                Ok(done(back, "logo"))
            }
            "status" => {
                allowed(&state, &user, "ticket_config", "update").await?;
                let visible = input.text("visible") == "true";
                ticket_config::update_status(
                    &user.db,
                    input.text("key"),
                    Some(visible),
                    None,
                    &actor,
                )
                .await?;
                Ok(done(back, "status"))
            }
            "status-new" => {
                allowed(&state, &user, "ticket_config", "update").await?;
                ticket_config::create_status(
                    &user.db,
                    ticket_config::NewStatus {
                        key: input.text("key").trim().to_owned(),
                        class: input.text("class").to_owned(),
                        visible_to_customers: input.checked("visible"),
                        pauses_sla: input.checked("pauses_sla"),
                    },
                    &actor,
                )
                .await?;
                Ok(done(back, "status"))
            }
            "field" => {
                allowed(&state, &user, "ticket_config", "update").await?;
                let visibility = match input.text("visibility") {
                    "editable" => FieldVisibility::Editable,
                    "read_only" => FieldVisibility::ReadOnly,
                    "hidden" => FieldVisibility::Hidden,
                    _ => {
                        return Err(ApiError::Invalid {
                            field: "visibility".to_owned(),
                            reason: locale.text("admin-visibility-unknown"),
                        });
                    }
                };
                if input.text("standard") == "true" {
                    ticket_config::set_standard_visibility(
                        &user.db,
                        input.text("name"),
                        visibility,
                        &actor,
                    )
                    .await?;
                } else {
                    ticket_config::set_field_visibility(
                        &user.db,
                        input.text("name"),
                        visibility,
                        &actor,
                    )
                    .await?;
                }
                Ok(done(back, "field"))
            }
            "field-new" => {
                allowed(&state, &user, "ticket_config", "update").await?;
                let options = input
                    .text("options")
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect();
                ticket_config::create_field(
                    &user.db,
                    ticket_config::Field {
                        key: input.text("key").trim().to_owned(),
                        label: input.text("label").trim().to_owned(),
                        kind: input.text("kind").to_owned(),
                        options,
                        required: input.checked("required"),
                        portal: if input.checked("portal") {
                            FieldVisibility::Editable
                        } else {
                            FieldVisibility::Hidden
                        },
                    },
                    &actor,
                )
                .await?;
                Ok(done(back, "field"))
            }
            "type-new" => {
                allowed(&state, &user, "ticket_config", "update").await?;
                let needed = match input.text("approvals_needed").trim() {
                    "" => 1,
                    raw => raw.parse().map_err(|_| ApiError::Invalid {
                        field: "approvals_needed".to_owned(),
                        reason: locale.text("admin-approvals-needed-help"),
                    })?,
                };
                ticket_config::create_type(
                    &user.db,
                    ticket_config::TicketType {
                        key: input.text("key").trim().to_owned(),
                        name: input.text("name").trim().to_owned(),
                        requires_approval: input.checked("requires_approval"),
                        approvals_needed: needed,
                    },
                    &actor,
                )
                .await?;
                Ok(done(back, "type"))
            }
            _ => Err(ApiError::NotFound),
        }
    })
    .await
}

/// `POST /admin/portal/logo` (multipart: `csrf`, `file`): the tenant's logo, a PNG,
/// JPEG, WebP or GIF of at most 512 KB by its bytes, stored like attachments; the
/// previous one is removed once the new one is saved.
pub(super) async fn logo_submit(
    State(state): State<AppState>,
    user: WebUser,
    headers: http::HeaderMap,
    request: Request,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "setting", "update").await?;
        let invalid = |reason: String| ApiError::Invalid {
            field: "file".to_owned(),
            reason,
        };
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|rejection| invalid(rejection.body_text()))?;
        let (mut csrf, mut file) = (String::new(), None);
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| invalid(e.body_text()))?
        {
            match field.name() {
                Some("csrf") => csrf = field.text().await.map_err(|e| invalid(e.body_text()))?,
                Some("file") => {
                    let bytes = field.bytes().await.map_err(|e| invalid(e.body_text()))?;
                    if !bytes.is_empty() {
                        file = Some(bytes);
                    }
                }
                _ => {}
            }
        }
        crate::identity::pages::check_session_csrf(&state, &headers, &user.current, &csrf)?;
        let bytes = file.ok_or_else(|| invalid(locale.text("admin-logo-missing")))?;
        if bytes.len() > LOGO_MAX {
            return Err(invalid(locale.text("admin-logo-too-large")));
        }
        let kind = crate::blobs::sniff(&bytes);
        if !LOGO_TYPES.contains(&kind.as_str()) {
            return Err(invalid(locale.text("admin-logo-type")));
        }
        let previous = crate::http::web::brand_logo(&user.db).await?;
        let stored = state
            .blobs
            .put(user.route.id, "brand", bytes)
            .await
            .map_err(ApiError::Internal)?;
        let value = serde_json::json!({ "key": stored.key, "type": kind, "sha256": stored.sha256 });
        if let Err(error) = accounts::set_tenant_setting(
            &user.db,
            crate::http::web::BRAND_LOGO_SETTING,
            &value,
            &user.actor(),
        )
        .await
        {
            let _ = state.blobs.delete(&stored.key).await;
            return Err(error.into());
        }
        if let Some((old, _, _)) = previous
            && let Err(error) = state.blobs.delete(&old).await
        {
            tracing::warn!(%error, "the previous logo stays in the blob store");
        }
        Ok(done("/admin/portal", "logo"))
    })
    .await
}
