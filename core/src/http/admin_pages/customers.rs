//! Organizations: the list, creating one, an organization's page (people,
//! approvers, SLA policy, sections).

use super::*;

// ----- organizations -----------------------------------------------------------------

pub(super) fn split_domains(raw: &str) -> Vec<String> {
    raw.split([',', ' ', '\n', '\r', ';'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) async fn organizations_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let scope = allowed(&state, &user, "organization", "read").await?;
        let organizations = organizations::list_organizations(&user.db, scope).await?;
        let people = people::list_users(&user.db, scope).await?;
        let rows = organizations
            .iter()
            .map(|o| Row {
                cells: vec![
                    link(&o.name, format!("/admin/organizations/{}", o.id)),
                    cell(o.domains.join(", ")),
                    cell(
                        people
                            .iter()
                            .filter(|p| p.organization_id == Some(o.id))
                            .count()
                            .to_string(),
                    ),
                ],
                actions: Vec::new(),
            })
            .collect();
        let mut sections = vec![
            Section::new("organizations-list", locale.text("admin-organizations")).table(Table {
                columns: vec![
                    locale.text("admin-name"),
                    locale.text("admin-domains"),
                    locale.text("admin-people-count"),
                ],
                rows,
                empty: locale.text("admin-organizations-none"),
                ..Table::default()
            }),
        ];
        if may(&state, &user, "organization", "create").await {
            sections.push(
                Section::new("organization-new", locale.text("admin-organization-new")).form(
                    FormSpec::post(
                        "organization",
                        "/admin/organizations",
                        locale.text("admin-create"),
                        vec![
                            Input::new("name", locale.text("admin-name"), "text").required(),
                            Input::new("domains", locale.text("admin-domains"), "text")
                                .help(locale.text("admin-domains-help")),
                        ],
                    ),
                ),
            );
        }
        Ok(admin_view(
            &state,
            &user,
            "organizations",
            locale.text("admin-organizations"),
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct OrganizationForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    domains: String,
}

pub(super) async fn organization_create(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<OrganizationForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "organization", "create").await?;
        let created = organizations::create_organization(
            &user.db,
            &input.name,
            &split_domains(&input.domains),
            &user.actor(),
        )
        .await?;
        Ok(done(
            &format!("/admin/organizations/{}", created.id),
            "created",
        ))
    })
    .await
}

pub(super) async fn organization_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let scope = allowed(&state, &user, "organization", "read").await?;
        let id = parse_id(&raw)?;
        let organization = organizations::list_organizations(&user.db, scope)
            .await?
            .into_iter()
            .find(|o| o.id == id)
            .ok_or(ApiError::NotFound)?;
        let may_update = may(&state, &user, "organization", "update").await;
        let may_configure = may(&state, &user, "setting", "update").await;
        let members: Vec<User> = people::list_users(&user.db, scope)
            .await?
            .into_iter()
            .filter(|p| p.organization_id == Some(id))
            .collect();
        let approvers = approvals::approvers(&user.db, id).await?;
        let url = format!("/admin/organizations/{id}");
        // Modules are the tenant's plugins, each enabled for all organizations or
        // for some (the plugin host enforces it on every call).
        let installs = portico_tenants::plugins::installs(&user.db).await?;
        let licensed = |install: &portico_tenants::plugins::Install| {
            install.enabled
                && install
                    .organizations
                    .as_ref()
                    .is_none_or(|orgs| orgs.contains(&id))
        };
        let modules = installs
            .iter()
            .filter(|i| licensed(i))
            .map(|i| i.plugin_id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let policy = ticket_sla::organization_policy(&user.db, id).await?;
        let policies = ticket_sla::policies(&user.db).await?;
        let policy_name = policy
            .as_deref()
            .and_then(|key| policies.iter().find(|p| p.key == key))
            .map_or_else(|| locale.text("admin-policy-default"), |p| p.name.clone());
        let details = Table {
            columns: vec![locale.text("admin-field"), locale.text("admin-value")],
            rows: [
                (
                    locale.text("admin-domains"),
                    organization.domains.join(", "),
                ),
                (locale.text("admin-modules"), modules),
                (locale.text("admin-policy"), policy_name),
            ]
            .into_iter()
            .map(|(label, value)| Row {
                cells: vec![cell(label), cell(value)],
                actions: Vec::new(),
            })
            .collect(),
            ..Table::default()
        };
        let member_rows = members
            .iter()
            .map(|p| Row {
                cells: vec![
                    link(&p.email, format!("/admin/people/{}", p.id)),
                    cell(&p.display_name),
                    cell(role_label(locale, p.role)),
                    cell(yes_no(locale, approvers.contains(&p.id))),
                ],
                actions: Vec::new(),
            })
            .collect();
        let mut sections = vec![
            Section::new("organization-details", locale.text("admin-details")).table(details),
            Section::new("organization-people", locale.text("admin-people")).table(Table {
                columns: vec![
                    locale.text("admin-email"),
                    locale.text("admin-name"),
                    locale.text("admin-role"),
                    locale.text("admin-approver"),
                ],
                rows: member_rows,
                empty: locale.text("admin-people-none"),
                ..Table::default()
            }),
        ];
        if may_update {
            let contacts: Vec<Choice> = members
                .iter()
                .filter(|p| matches!(p.role, Role::Contact | Role::MainContact))
                .map(|p| choice(p.id.to_string(), &p.email, approvers.contains(&p.id)))
                .collect();
            sections.push(
                Section::new("organization-approvers", locale.text("admin-approvers"))
                    .intro(locale.text("admin-approvers-intro"))
                    .form(FormSpec::post(
                        "approvers",
                        &format!("{url}/approvers"),
                        locale.text("admin-save"),
                        vec![
                            Input::new("approver", locale.text("admin-approvers"), "checkboxes")
                                .options(contacts)
                                .help(locale.text("admin-approvers-none")),
                        ],
                    )),
            );
            let mut policy_choices = vec![choice(
                "",
                locale.text("admin-policy-default"),
                policy.is_none(),
            )];
            policy_choices.extend(
                policies
                    .iter()
                    .map(|p| choice(&p.key, &p.name, policy.as_deref() == Some(p.key.as_str()))),
            );
            sections.push(
                Section::new("organization-policy", locale.text("admin-policy"))
                    .intro(locale.text("admin-policy-intro"))
                    .form(FormSpec::post(
                        "policy",
                        &format!("{url}/policy"),
                        locale.text("admin-save"),
                        vec![
                            Input::new("policy", locale.text("admin-policy"), "select")
                                .options(policy_choices),
                        ],
                    )),
            );
        }
        if may_update {
            sections.push(
                Section::new("organization-domains", locale.text("admin-domains")).form(
                    FormSpec::post(
                        "domains",
                        &format!("{url}/domains"),
                        locale.text("admin-save"),
                        vec![
                            Input::new("domains", locale.text("admin-domains"), "text")
                                .value(organization.domains.join(", "))
                                .help(locale.text("admin-domains-help")),
                        ],
                    ),
                ),
            );
        }
        let enabled: Vec<&portico_tenants::plugins::Install> =
            installs.iter().filter(|i| i.enabled).collect();
        if !enabled.is_empty() && may(&state, &user, "plugin", "update").await {
            sections.push(
                Section::new("organization-modules", locale.text("admin-modules"))
                    .intro(locale.text("admin-modules-intro"))
                    .form(FormSpec::post(
                        "modules",
                        &format!("{url}/modules"),
                        locale.text("admin-save"),
                        vec![
                            Input::new("module", locale.text("admin-modules"), "checkboxes")
                                .options(
                                    enabled
                                        .iter()
                                        .map(|i| choice(&i.plugin_id, &i.plugin_id, licensed(i)))
                                        .collect(),
                                ),
                        ],
                    )),
            );
        }
        if may_configure {
            let switches = sections::switches_at(&user.db, SwitchScope::Organization(id)).await?;
            sections.push(switch_section(
                locale,
                "organization-sections",
                &format!("{url}/sections"),
                &switches,
                true,
            ));
        }
        Ok(admin_view(
            &state,
            &user,
            "organizations",
            organization.name.clone(),
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

pub(super) async fn organization_action(
    State(state): State<AppState>,
    Path((raw, action)): Path<(String, String)>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let id = parse_id(&raw)?;
        let scope = allowed(&state, &user, "organization", "read").await?;
        if !organizations::list_organizations(&user.db, scope)
            .await?
            .iter()
            .any(|o| o.id == id)
        {
            return Err(ApiError::NotFound);
        }
        let back = format!("/admin/organizations/{id}");
        match action.as_str() {
            "domains" => {
                allowed(&state, &user, "organization", "update").await?;
                organizations::set_domains(
                    &user.db,
                    id,
                    &split_domains(input.text("domains")),
                    &user.actor(),
                )
                .await?;
                Ok(done(&back, "domains"))
            }
            "modules" => {
                allowed(&state, &user, "plugin", "update").await?;
                let chosen: Vec<&str> = input.all("module").collect();
                let everyone: Vec<i64> = organizations::list_organizations(&user.db, scope)
                    .await?
                    .iter()
                    .map(|o| o.id)
                    .collect();
                for install in portico_tenants::plugins::installs(&user.db).await? {
                    if !install.enabled {
                        continue;
                    }
                    let wanted = chosen.contains(&install.plugin_id.as_str());
                    let organizations = match (install.organizations.clone(), wanted) {
                        (None, true) => continue,
                        (None, false) => {
                            Some(everyone.iter().copied().filter(|o| *o != id).collect())
                        }
                        (Some(list), true) if list.contains(&id) => continue,
                        (Some(mut list), true) => {
                            list.push(id);
                            Some(list)
                        }
                        (Some(list), false) if !list.contains(&id) => continue,
                        (Some(list), false) => {
                            Some(list.into_iter().filter(|o| *o != id).collect())
                        }
                    };
                    state
                        .plugins
                        .enable(&user.db, &install.plugin_id, organizations, &user.actor())
                        .await
                        .map_err(crate::http::plugins_api::api_error)?;
                }
                Ok(done(&back, "modules"))
            }
            "approvers" => {
                allowed(&state, &user, "organization", "update").await?;
                let chosen: Vec<i64> = input
                    .all("approver")
                    .filter_map(|v| v.parse().ok())
                    .collect();
                approvals::set_approvers(&user.db, id, &chosen, &user.actor()).await?;
                Ok(done(&back, "approvers"))
            }
            "policy" => {
                allowed(&state, &user, "organization", "update").await?;
                let policy = Some(input.text("policy").trim()).filter(|p| !p.is_empty());
                ticket_sla::set_organization_policy(&user.db, id, policy, &user.actor()).await?;
                Ok(done(&back, "policy"))
            }
            "sections" => {
                allowed(&state, &user, "setting", "update").await?;
                apply_switches(&user, SwitchScope::Organization(id), &input, true).await?;
                Ok(done(&back, "sections"))
            }
            _ => Err(ApiError::NotFound),
        }
    })
    .await
}
