//! Canned responses: the team's shared answers, with the placeholders a technician's
//! reply fills in for the ticket at hand (the ticket page offers them).

use super::*;
use portico_tenants::canned;

fn body_help(locale: Locale) -> String {
    locale.text("admin-response-body-help")
}

pub(super) async fn responses_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "canned_response", "read").await?;
        let may_create = may(&state, &user, "canned_response", "create").await;
        let may_delete = may(&state, &user, "canned_response", "delete").await;
        let may_update = may(&state, &user, "canned_response", "update").await;
        let all = canned::list(&user.db).await?;
        let rows = all
            .iter()
            .map(|c| {
                let excerpt: String = c.body.chars().take(120).collect();
                let excerpt = if excerpt.len() < c.body.len() {
                    format!("{excerpt}…")
                } else {
                    excerpt
                };
                let title = if may_update {
                    link(&c.title, format!("/admin/responses/{}", c.id))
                } else {
                    cell(&c.title)
                };
                let actions = if may_delete {
                    vec![
                        Action::new(
                            format!("/admin/responses/{}/delete", c.id),
                            locale.text("admin-delete"),
                            &c.title,
                        )
                        .danger(),
                    ]
                } else {
                    Vec::new()
                };
                Row {
                    cells: vec![title, cell(excerpt), cell(user.when(c.updated_at).1)],
                    actions,
                }
            })
            .collect();
        let mut section = Section::new("responses-list", locale.text("admin-responses"))
            .intro(locale.text("admin-responses-intro"))
            .table(Table {
                columns: vec![
                    locale.text("admin-response-title"),
                    locale.text("admin-response-body"),
                    locale.text("admin-response-updated"),
                ],
                rows,
                empty: locale.text("admin-responses-none"),
                actions: may_delete,
                more: None,
            });
        if may_create {
            section = section.form(
                FormSpec::post(
                    "response-new",
                    "/admin/responses",
                    locale.text("admin-create"),
                    vec![
                        Input::new("title", locale.text("admin-response-title"), "text").required(),
                        Input::new("body", locale.text("admin-response-body"), "textarea")
                            .required()
                            .help(body_help(locale)),
                    ],
                )
                .titled(locale.text("admin-response-new")),
            );
        }
        Ok(admin_view(
            &state,
            &user,
            "responses",
            locale.text("admin-responses"),
            notice(locale, &query.done),
            vec![section],
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct ResponseForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub(super) async fn response_create(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<ResponseForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "canned_response", "create").await?;
        canned::create(
            &user.db,
            &input.title,
            &input.body,
            user.user_id(),
            &user.actor(),
        )
        .await?;
        Ok(done("/admin/responses", "created"))
    })
    .await
}

pub(super) async fn response_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "canned_response", "update").await?;
        let response = canned::get(&user.db, parse_id(&raw)?).await?;
        let url = format!("/admin/responses/{}", response.id);
        let section =
            Section::new("response-edit", locale.text("admin-response-edit")).form(FormSpec::post(
                "response",
                &url,
                locale.text("admin-save"),
                vec![
                    Input::new("title", locale.text("admin-response-title"), "text")
                        .value(&response.title)
                        .required(),
                    Input::new("body", locale.text("admin-response-body"), "textarea")
                        .value(&response.body)
                        .required()
                        .help(body_help(locale)),
                ],
            ));
        Ok(admin_view(
            &state,
            &user,
            "responses",
            response.title.clone(),
            notice(locale, &query.done),
            vec![section],
        ))
    })
    .await
}

pub(super) async fn response_update(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, input }: WebForm<ResponseForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "canned_response", "update").await?;
        let id = parse_id(&raw)?;
        canned::update(&user.db, id, &input.title, &input.body, &user.actor()).await?;
        Ok(done("/admin/responses", "saved"))
    })
    .await
}

pub(super) async fn response_delete(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    WebForm { user, .. }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "canned_response", "delete").await?;
        canned::delete(&user.db, parse_id(&raw)?, &user.actor()).await?;
        Ok(done("/admin/responses", "deleted"))
    })
    .await
}
