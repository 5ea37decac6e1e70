//! How customers reach the service desk: custom domains (the records to create,
//! what the last check found, the certificate) and e-mail (the platform inbound
//! address, the tenant's own IMAP mailboxes and SMTP server).

use super::*;

/// What the last check found, in the reader's words (the stored findings are the
/// resolver's facts: the CNAME target and whether each record holds).
fn findings(locale: Locale, view: &crate::http::domains_api::DomainView) -> String {
    let host = view.domain.host.as_str();
    let Some(check) = view.domain.check_result.as_ref() else {
        return locale.text("admin-domain-unchecked");
    };
    let flag = |name: &str| check.get(name).and_then(|v| v.as_bool()).unwrap_or(false);
    let mut found = Vec::new();
    match check.get("cname").and_then(|v| v.as_str()) {
        None => found.push(locale.text_with("admin-domain-cname-missing", &[("host", host)])),
        Some(_) if !flag("cname_ok") => {
            found.push(locale.text_with("admin-domain-cname-wrong", &[("host", host)]))
        }
        Some(_) => {}
    }
    if !flag("txt_ok") {
        let name = crate::domains::dns::challenge_name(host);
        let empty = check
            .get("txt")
            .and_then(|v| v.as_array())
            .is_none_or(|values| values.is_empty());
        found.push(locale.text_with(
            if empty {
                "admin-domain-txt-missing"
            } else {
                "admin-domain-txt-wrong"
            },
            &[("host", &name)],
        ));
    }
    if found.is_empty() {
        found.push(locale.text("admin-domain-records-ok"));
    }
    found.join(" ")
}

pub(super) async fn domains_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "domain", "read").await?;
        let may_check = may(&state, &user, "domain", "create").await;
        let may_delete = may(&state, &user, "domain", "delete").await;
        let views = crate::http::domains_api::tenant_domains(&state, user.route.id).await?;
        let mut record_rows = Vec::new();
        let rows = views
            .iter()
            .map(|view| {
                let host = view.domain.host.as_str();
                let status = locale.text(&format!("admin-domain-{}", view.status));
                let certificate = match (&view.domain.certificate, &view.domain.certificate_error) {
                    (Some(cert), _) => locale.text_with(
                        "admin-domain-certificate",
                        &[
                            ("when", &user.when(cert.not_after).1),
                            ("issuer", &cert.issuer),
                        ],
                    ),
                    (None, Some(error)) => {
                        locale.text_with("admin-domain-certificate-failed", &[("reason", error)])
                    }
                    (None, None) => locale.text("admin-domain-certificate-none"),
                };
                let checked = view
                    .domain
                    .checked_at
                    .map_or_else(|| locale.text("admin-never"), |at| user.when(at).1);
                for record in &view.records {
                    record_rows.push(Row {
                        cells: vec![
                            cell(host),
                            code(record.r#type),
                            code(&record.name),
                            code(&record.value),
                        ],
                        actions: Vec::new(),
                    });
                }
                let url = |action: &str| format!("/admin/domains/{host}/{action}");
                let mut actions = Vec::new();
                if may_check {
                    actions.push(Action::new(
                        url("check"),
                        locale.text("admin-domain-check"),
                        host,
                    ));
                }
                if may_delete {
                    actions.push(
                        Action::new(url("remove"), locale.text("admin-delete"), host).danger(),
                    );
                }
                Row {
                    cells: vec![
                        cell(host),
                        cell(status),
                        cell(findings(locale, view)),
                        cell(checked),
                        cell(certificate),
                    ],
                    actions,
                }
            })
            .collect();
        let mut list = Section::new("domains-list", locale.text("admin-domains-title"))
            .intro(locale.text("admin-domains-intro-long"))
            .table(Table {
                columns: vec![
                    locale.text("admin-domain-host"),
                    locale.text("admin-state"),
                    locale.text("admin-domain-findings"),
                    locale.text("admin-domain-checked"),
                    locale.text("admin-domain-certificate-column"),
                ],
                rows,
                empty: locale.text("admin-domains-none"),
                actions: may_check || may_delete,
                more: None,
            });
        if may_check {
            list = list.form(
                FormSpec::post(
                    "domain-new",
                    "/admin/domains",
                    locale.text("admin-domain-add"),
                    vec![
                        Input::new("host", locale.text("admin-domain-host"), "text")
                            .required()
                            .help(locale.text("admin-domain-host-help")),
                    ],
                )
                .titled(locale.text("admin-domain-new")),
            );
        }
        let mut sections = vec![list];
        if !record_rows.is_empty() {
            sections.push(
                Section::new("domains-records", locale.text("admin-domain-records"))
                    .intro(locale.text("admin-domain-records-intro"))
                    .table(Table {
                        columns: vec![
                            locale.text("admin-domain-host"),
                            locale.text("admin-domain-type"),
                            locale.text("admin-domain-name"),
                            locale.text("admin-value"),
                        ],
                        rows: record_rows,
                        ..Table::default()
                    }),
            );
        }
        Ok(admin_view(
            &state,
            &user,
            "custom-domains",
            locale.text("admin-domains-title"),
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct DomainForm {
    #[serde(default)]
    host: String,
}

pub(super) async fn domain_add(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<DomainForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "domain", "create").await?;
        crate::http::domains_api::add_host(
            &state,
            &user.db,
            user.route.id,
            input.host.trim(),
            &user.actor(),
        )
        .await?;
        Ok(done("/admin/domains", "created"))
    })
    .await
}

pub(super) async fn domain_action(
    State(state): State<AppState>,
    Path((host, action)): Path<(String, String)>,
    WebForm { user, .. }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        match action.as_str() {
            "check" => {
                allowed(&state, &user, "domain", "create").await?;
                crate::http::domains_api::check_host(&state, user.route.id, &host).await?;
                Ok(done("/admin/domains", "checked"))
            }
            "remove" => {
                allowed(&state, &user, "domain", "delete").await?;
                crate::http::domains_api::remove_host(
                    &state,
                    &user.db,
                    user.route.id,
                    &host,
                    &user.actor(),
                )
                .await?;
                Ok(done("/admin/domains", "deleted"))
            }
            _ => Err(ApiError::NotFound),
        }
    })
    .await
}

// ----- e-mail ---------------------------------------------------------------------------

pub(super) async fn mail_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "mail_channel", "read").await?;
        let may_create = may(&state, &user, "mail_channel", "create").await;
        let may_update = may(&state, &user, "mail_channel", "update").await;
        let may_delete = may(&state, &user, "mail_channel", "delete").await;
        let inbound = state.mailer.keys().inbound_address(&user.route.slug);
        let mailboxes = portico_tenants::mail::list_mailboxes(&user.db).await?;
        let rows = mailboxes
            .iter()
            .map(|m| {
                let url = |action: &str| format!("/admin/mail/mailboxes/{}/{action}", m.id);
                let mut actions = Vec::new();
                if may_update {
                    actions.push(if m.enabled {
                        Action::new(url("disable"), locale.text("admin-disable"), &m.address)
                    } else {
                        Action::new(url("enable"), locale.text("admin-enable"), &m.address)
                    });
                }
                if may_delete {
                    actions.push(
                        Action::new(url("remove"), locale.text("admin-delete"), &m.address)
                            .danger(),
                    );
                }
                let state_text = match (&m.last_error, m.enabled) {
                    (_, false) => locale.text("admin-mailbox-disabled"),
                    (Some(error), true) => {
                        locale.text_with("admin-mailbox-failing", &[("reason", error)])
                    }
                    (None, true) => locale.text("admin-mailbox-reading"),
                };
                let polled = m
                    .last_polled_at
                    .map_or_else(|| locale.text("admin-never"), |at| user.when(at).1);
                Row {
                    cells: vec![
                        cell(&m.address),
                        code(format!("{}:{} ({})", m.host, m.port, m.tls)),
                        cell(&m.folder),
                        cell(state_text),
                        cell(polled),
                    ],
                    actions,
                }
            })
            .collect();
        let mut mailbox_section = Section::new("mail-mailboxes", locale.text("admin-mailboxes"))
            .intro(locale.text("admin-mailboxes-intro"))
            .table(Table {
                columns: vec![
                    locale.text("admin-email"),
                    locale.text("admin-mailbox-server"),
                    locale.text("admin-mailbox-folder"),
                    locale.text("admin-state"),
                    locale.text("admin-mailbox-read"),
                ],
                rows,
                empty: locale.text("admin-mailboxes-none"),
                actions: may_update || may_delete,
                more: None,
            });
        if may_create {
            mailbox_section = mailbox_section.form(
                FormSpec::post(
                    "mailbox-new",
                    "/admin/mail/mailboxes",
                    locale.text("admin-create"),
                    vec![
                        Input::new("address", locale.text("admin-email"), "email").required(),
                        Input::new("host", locale.text("admin-mailbox-host"), "text").required(),
                        Input::new("port", locale.text("admin-mailbox-port"), "number")
                            .value("993")
                            .range(1, 65535),
                        Input::new("tls", locale.text("admin-mailbox-tls"), "select").options(
                            ["tls", "starttls"]
                                .into_iter()
                                .map(|t| {
                                    choice(
                                        t,
                                        locale.text(&format!("admin-mailbox-security-{t}")),
                                        t == "tls",
                                    )
                                })
                                .collect(),
                        ),
                        Input::new("username", locale.text("admin-mailbox-username"), "text")
                            .required(),
                        Input::new(
                            "password",
                            locale.text("admin-mailbox-password"),
                            "password",
                        )
                        .required()
                        .help(locale.text("admin-mailbox-password-help")),
                        Input::new("folder", locale.text("admin-mailbox-folder"), "text")
                            .value("INBOX"),
                    ],
                )
                .titled(locale.text("admin-mailbox-new")),
            );
        }
        let smtp = crate::http::mail_api::smtp_view(&state, &user.db).await?;
        let smtp_text = if smtp.configured {
            locale.text_with(
                "admin-smtp-own",
                &[
                    ("host", smtp.server.as_deref().unwrap_or("")),
                    ("email", smtp.from.as_deref().unwrap_or("")),
                ],
            )
        } else {
            locale.text("admin-smtp-platform")
        };
        let mut smtp_section =
            Section::new("mail-smtp", locale.text("admin-smtp")).intro(smtp_text);
        if may_update {
            smtp_section = smtp_section.form(FormSpec::post(
                "smtp",
                "/admin/mail/smtp",
                locale.text("admin-save"),
                vec![
                    Input::new("url", locale.text("admin-smtp-url"), "password")
                        .required()
                        .help(locale.text("admin-smtp-url-help")),
                    Input::new("from", locale.text("admin-smtp-from"), "email").required(),
                ],
            ));
            if smtp.configured {
                smtp_section = smtp_section.form(FormSpec::post(
                    "smtp-clear",
                    "/admin/mail/smtp-clear",
                    locale.text("admin-smtp-clear"),
                    Vec::new(),
                ));
            }
        }
        let sections = vec![
            Section::new("mail-inbound", locale.text("admin-mail-inbound"))
                .intro(locale.text("admin-mail-inbound-intro"))
                .table(Table {
                    columns: vec![locale.text("admin-email")],
                    rows: vec![Row {
                        cells: vec![code(inbound)],
                        actions: Vec::new(),
                    }],
                    ..Table::default()
                }),
            mailbox_section,
            smtp_section,
        ];
        Ok(admin_view(
            &state,
            &user,
            "mail",
            locale.text("admin-mail"),
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

pub(super) async fn mailbox_create(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "mail_channel", "create").await?;
        let port = input
            .text("port")
            .trim()
            .parse()
            .map_err(|_| ApiError::Invalid {
                field: "port".to_owned(),
                reason: locale.text("admin-mailbox-port-invalid"),
            })?;
        let folder = match input.text("folder").trim() {
            "" => "INBOX".to_owned(),
            folder => folder.to_owned(),
        };
        crate::http::mail_api::new_mailbox(
            &state,
            &user.db,
            crate::http::mail_api::MailboxInput {
                address: input.text("address").trim().to_owned(),
                host: input.text("host").trim().to_owned(),
                port,
                tls: input.text("tls").to_owned(),
                username: input.text("username").trim().to_owned(),
                password: input.text("password").to_owned(),
                folder,
            },
            &user.actor(),
        )
        .await?;
        Ok(done("/admin/mail", "created"))
    })
    .await
}

pub(super) async fn mailbox_action(
    State(state): State<AppState>,
    Path((raw, action)): Path<(String, String)>,
    WebForm { user, .. }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let id = parse_id(&raw)?;
        let actor = user.actor();
        match action.as_str() {
            "enable" | "disable" => {
                allowed(&state, &user, "mail_channel", "update").await?;
                portico_tenants::mail::set_mailbox_enabled(
                    &user.db,
                    id,
                    action == "enable",
                    &actor,
                )
                .await?;
            }
            "remove" => {
                allowed(&state, &user, "mail_channel", "delete").await?;
                portico_tenants::mail::delete_mailbox(&user.db, id, &actor).await?;
            }
            _ => return Err(ApiError::NotFound),
        }
        state.intake.mailboxes_changed.notify_one();
        Ok(done(
            "/admin/mail",
            match action.as_str() {
                "enable" => "enabled",
                "disable" => "disabled",
                _ => "deleted",
            },
        ))
    })
    .await
}

pub(super) async fn smtp_submit(
    State(state): State<AppState>,
    Path(action): Path<String>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "mail_channel", "update").await?;
        match action.as_str() {
            "smtp" => {
                crate::http::mail_api::set_smtp_server(
                    &state,
                    &user.db,
                    input.text("url").trim(),
                    input.text("from").trim(),
                    &user.actor(),
                )
                .await?;
            }
            "smtp-clear" => {
                portico_tenants::mail::clear_tenant_smtp(&user.db, &user.actor()).await?;
            }
            _ => return Err(ApiError::NotFound),
        }
        Ok(done("/admin/mail", "settings"))
    })
    .await
}
