//! People: the list with its search, invitations, a person's page and account actions.

use super::*;

// ----- people --------------------------------------------------------------------

/// At most this many people are listed at once; a search narrows the list.
pub(super) const PEOPLE_SHOWN: usize = 200;

pub(super) const ROLES: [Role; 4] = [
    Role::Contact,
    Role::MainContact,
    Role::Technician,
    Role::MspAdmin,
];

pub(super) fn organization_name(organizations: &[Organization], id: Option<i64>) -> String {
    id.and_then(|id| organizations.iter().find(|o| o.id == id))
        .map(|o| o.name.clone())
        .unwrap_or_default()
}

pub(super) fn status_text(locale: Locale, status: &str) -> String {
    locale.text(&format!("admin-person-{status}"))
}

/// The buttons of a person's account, by what the viewer may do and the account's
/// state.
pub(super) fn person_actions(
    locale: Locale,
    person: &User,
    may_create: bool,
    may_update: bool,
) -> Vec<Action> {
    let target = person.email.as_str();
    let url = |action: &str| format!("/admin/people/{}/{action}", person.id);
    let mut actions = Vec::new();
    if may_create && person.status == "invited" {
        actions.push(Action::new(
            url("resend"),
            locale.text("admin-resend"),
            target,
        ));
    }
    if may_update && person.status != "disabled" {
        actions.push(Action::new(
            url("reset-factor"),
            locale.text("admin-reset-factor"),
            target,
        ));
        actions.push(Action::new(
            url("remove-phone"),
            locale.text("admin-remove-phone"),
            target,
        ));
        actions.push(Action::new(
            url("end-sessions"),
            locale.text("admin-end-sessions"),
            target,
        ));
        actions.push(Action::new(url("disable"), locale.text("admin-disable"), target).danger());
    }
    actions
}

pub(super) async fn people_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let scope = allowed(&state, &user, "user", "read").await?;
        let may_create = may(&state, &user, "user", "create").await;
        let organizations = organizations::list_organizations(&user.db, scope).await?;
        let needle = query.q.trim().to_lowercase();
        let role = Role::parse(&query.role).ok();
        let matching: Vec<User> = people::list_users(&user.db, scope)
            .await?
            .into_iter()
            .filter(|p| role.is_none_or(|r| p.role == r))
            .filter(|p| {
                needle.is_empty()
                    || p.email.contains(&needle)
                    || p.display_name.to_lowercase().contains(&needle)
            })
            .collect();
        let more = (matching.len() > PEOPLE_SHOWN).then(|| {
            locale.text_with("admin-people-more", &[("count", &PEOPLE_SHOWN.to_string())])
        });
        let rows = matching
            .iter()
            .take(PEOPLE_SHOWN)
            .map(|person| Row {
                cells: vec![
                    link(person.shown_name(), format!("/admin/people/{}", person.id)),
                    cell(&person.email),
                    cell(role_label(locale, person.role)),
                    cell(organization_name(&organizations, person.organization_id)),
                    cell(status_text(locale, &person.status)),
                ],
                // The list offers what is done to many people in a row; the rest
                // of an account's actions are on the person's page.
                actions: person_actions(locale, person, may_create, false),
            })
            .collect::<Vec<Row>>();
        let any_action = rows.iter().any(|r| !r.actions.is_empty());
        let table = Table {
            columns: vec![
                locale.text("admin-name"),
                locale.text("admin-email"),
                locale.text("admin-role"),
                locale.text("admin-organization"),
                locale.text("admin-state"),
            ],
            rows,
            empty: locale.text("admin-people-none"),
            actions: any_action,
            more,
        };
        let role_choices = |selected: Option<Role>, any: bool| {
            let mut choices = Vec::new();
            if any {
                choices.push(choice(
                    "",
                    locale.text("admin-role-any"),
                    selected.is_none(),
                ));
            }
            choices.extend(
                ROLES
                    .iter()
                    .map(|r| choice(r.as_str(), role_label(locale, *r), selected == Some(*r))),
            );
            choices
        };
        let search = FormSpec::search(
            "people-search",
            "/admin/people",
            locale.text("admin-search"),
            vec![
                Input::new("q", locale.text("admin-search-people"), "search").value(&query.q),
                Input::new("role", locale.text("admin-role"), "select")
                    .options(role_choices(role, true)),
            ],
        );
        let mut sections = vec![
            Section::new("people-list", locale.text("admin-people"))
                .form(search)
                .table(table),
        ];
        if may_create {
            let mut organization_choices =
                vec![choice("", locale.text("admin-organization-none"), true)];
            organization_choices.extend(
                organizations
                    .iter()
                    .map(|o| choice(o.id.to_string(), &o.name, false)),
            );
            sections.push(
                Section::new("people-invite", locale.text("admin-invite"))
                    .intro(locale.text("admin-invite-intro"))
                    .form(FormSpec::post(
                        "invite",
                        "/admin/people",
                        locale.text("admin-invite-submit"),
                        vec![
                            Input::new("email", locale.text("admin-email"), "email").required(),
                            Input::new("name", locale.text("admin-name"), "text"),
                            Input::new("role", locale.text("admin-role"), "select")
                                .options(role_choices(Some(Role::Contact), false))
                                .help(locale.text("admin-role-help")),
                            Input::new("organization", locale.text("admin-organization"), "select")
                                .options(organization_choices)
                                .help(locale.text("admin-organization-help")),
                        ],
                    )),
            );
        }
        Ok(admin_view(
            &state,
            &user,
            "people",
            locale.text("admin-people"),
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    organization: String,
}

pub(super) async fn invite_submit(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<InviteForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "user", "create").await?;
        let email = EmailAddress::parse(input.email.trim()).map_err(|_| ApiError::Invalid {
            field: "email".to_owned(),
            reason: locale.text("admin-email-invalid"),
        })?;
        let organization_id = match input.organization.trim() {
            "" => None,
            raw => Some(raw.parse().map_err(|_| ApiError::Invalid {
                field: "organization".to_owned(),
                reason: locale.text("admin-organization-unknown"),
            })?),
        };
        people::create_user(
            &user.db,
            NewUser {
                email,
                display_name: input.name.trim().to_owned(),
                role: Role::parse(&input.role)?,
                invite: true,
                organization_id,
            },
        )
        .await?;
        Ok(done("/admin/people", "invited"))
    })
    .await
}

pub(super) async fn person_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let scope = allowed(&state, &user, "user", "read").await?;
        let person = people::get_user(&user.db, parse_id(&raw)?, scope).await?;
        let may_create = may(&state, &user, "user", "create").await;
        let may_update = may(&state, &user, "user", "update").await;
        let may_configure = may(&state, &user, "setting", "update").await;
        let organizations = organizations::list_organizations(&user.db, scope).await?;
        let (_, created) = user.when(person.created_at);
        let details = Table {
            columns: vec![locale.text("admin-field"), locale.text("admin-value")],
            rows: [
                (locale.text("admin-email"), person.email.clone()),
                (locale.text("admin-role"), role_label(locale, person.role)),
                (
                    locale.text("admin-organization"),
                    organization_name(&organizations, person.organization_id),
                ),
                (
                    locale.text("admin-state"),
                    status_text(locale, &person.status),
                ),
                (locale.text("admin-created"), created),
            ]
            .into_iter()
            .map(|(label, value)| Row {
                cells: vec![cell(label), cell(value)],
                actions: Vec::new(),
            })
            .collect(),
            ..Table::default()
        };
        let url = format!("/admin/people/{}", person.id);
        let actions = person_actions(locale, &person, may_create, may_update);
        let mut sections =
            vec![Section::new("person-details", locale.text("admin-details")).table(details)];
        if !actions.is_empty() {
            sections.push(
                Section::new("person-account", locale.text("admin-account"))
                    .intro(locale.text("admin-account-intro"))
                    .table(Table {
                        columns: vec![locale.text("admin-email")],
                        rows: vec![Row {
                            cells: vec![cell(&person.email)],
                            actions,
                        }],
                        actions: true,
                        ..Table::default()
                    }),
            );
        }
        // One's own role is changed by another administrator, never by oneself.
        if may_update && person.id != user.user_id() {
            let mut organization_choices = vec![choice(
                "",
                locale.text("admin-organization-none"),
                person.organization_id.is_none(),
            )];
            organization_choices.extend(organizations.iter().map(|o| {
                choice(
                    o.id.to_string(),
                    &o.name,
                    person.organization_id == Some(o.id),
                )
            }));
            sections.push(
                Section::new("person-role", locale.text("admin-role"))
                    .intro(locale.text("admin-role-change-intro"))
                    .form(FormSpec::post(
                        "role",
                        &format!("{url}/role"),
                        locale.text("admin-save"),
                        vec![
                            Input::new("role", locale.text("admin-role"), "select").options(
                                ROLES
                                    .iter()
                                    .map(|r| {
                                        choice(
                                            r.as_str(),
                                            role_label(locale, *r),
                                            *r == person.role,
                                        )
                                    })
                                    .collect(),
                            ),
                            Input::new("organization", locale.text("admin-organization"), "select")
                                .options(organization_choices)
                                .help(locale.text("admin-organization-help")),
                        ],
                    )),
            );
        }
        if may_configure && !matches!(person.role, Role::MspAdmin | Role::Technician) {
            let switches = sections::switches_at(&user.db, SwitchScope::User(person.id)).await?;
            sections.push(switch_section(
                locale,
                "person-sections",
                &format!("{url}/sections"),
                &switches,
                true,
            ));
        }
        let title = person.shown_name().to_owned();
        Ok(admin_view(
            &state,
            &user,
            "people",
            title,
            notice(locale, &query.done),
            sections,
        ))
    })
    .await
}

pub(super) async fn person_action(
    State(state): State<AppState>,
    Path((raw, action)): Path<(String, String)>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let id = parse_id(&raw)?;
        let actor = user.actor();
        let back = format!("/admin/people/{id}");
        match action.as_str() {
            "resend" => {
                allowed(&state, &user, "user", "create").await?;
                people::request_invitation(&user.db, id, &actor).await?;
                Ok(done(&back, "resent"))
            }
            "disable" => {
                allowed(&state, &user, "user", "update").await?;
                change_account(&state, &user.db, id, AccountAction::Disable, &actor).await?;
                Ok(done(&back, "disabled"))
            }
            "reset-factor" => {
                allowed(&state, &user, "user", "update").await?;
                change_account(
                    &state,
                    &user.db,
                    id,
                    AccountAction::ResetSecondFactor,
                    &actor,
                )
                .await?;
                Ok(done(&back, "factor-reset"))
            }
            "end-sessions" => {
                // As the API's `end-sessions`: Casbin's `session` `revoke`.
                allowed(&state, &user, "session", "revoke").await?;
                change_account(&state, &user.db, id, AccountAction::EndSessions, &actor).await?;
                Ok(done(&back, "sessions-ended"))
            }
            "remove-phone" => {
                allowed(&state, &user, "user", "update").await?;
                accounts::remove_phone(&user.db, id, &actor).await?;
                Ok(done(&back, "phone-removed"))
            }
            "role" => {
                allowed(&state, &user, "user", "update").await?;
                if id == user.user_id() {
                    return Err(ApiError::Refused {
                        code: "own_role",
                        reason: locale.text("admin-role-own"),
                    });
                }
                let organization = match input.text("organization").trim() {
                    "" => None,
                    raw => Some(raw.parse().map_err(|_| ApiError::Invalid {
                        field: "organization".to_owned(),
                        reason: locale.text("admin-organization-unknown"),
                    })?),
                };
                people::set_role(
                    &user.db,
                    id,
                    Role::parse(input.text("role"))?,
                    organization,
                    &actor,
                )
                .await?;
                Ok(done(&back, "role"))
            }
            "sections" => {
                allowed(&state, &user, "setting", "update").await?;
                let scope = allowed(&state, &user, "user", "read").await?;
                people::get_user(&user.db, id, scope).await?;
                apply_switches(&user, SwitchScope::User(id), &input, true).await?;
                Ok(done(&back, "sections"))
            }
            _ => Err(ApiError::NotFound),
        }
    })
    .await
}
