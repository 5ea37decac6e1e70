//! The knowledge base through the API, on both backends: the visibility matrix
//! (public, all customers, chosen organization, internal × anonymous, a contact of
//! another organization, a contact, a technician) over list, read and search;
//! drafts, revisions, publication and rollback; stemmed search in each of the five
//! languages with highlighted snippets and the reader's version; the section
//! switch; "was this helpful?", views and deflections; a ticket reply turned into
//! a draft; Markdown sanitized.

use portico_tenants::Role;
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

const HOST: &str = "acme.localhost";

struct Kb {
    app: TestApp,
    admin: String,
}

impl Kb {
    async fn new(backend: Backend) -> (std::sync::Arc<TestEnv>, Kb) {
        let env = TestEnv::new(backend).await;
        let app = env.spawn().await;
        app.create_tenant("acme", "Acme IT").await;
        let admin = app.token("acme", Role::MspAdmin).await;
        (env, Kb { app, admin })
    }

    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.app.api(HOST, method, token, path, body).await
    }

    /// A GET with `token`, or anonymous without.
    async fn get_as(&self, token: Option<&str>, path: String) -> (u16, Value) {
        match token {
            Some(token) => self.call(token, Method::GET, &path, None).await,
            None => self.anonymous(&path).await,
        }
    }

    /// A call without any token.
    async fn anonymous(&self, path: &str) -> (u16, Value) {
        let response = self
            .app
            .request(Method::GET, HOST, path)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn article(&self, body: Value) -> i64 {
        let (status, article) = self
            .call(&self.admin, Method::POST, "/api/v1/kb/articles", Some(body))
            .await;
        assert_eq!(status, 201, "{article}");
        article["id"].as_i64().expect("id")
    }

    async fn setting(&self, key: &str, value: Value) {
        let (status, body) = self
            .call(
                &self.admin,
                Method::PUT,
                &format!("/api/v1/settings/{key}"),
                Some(value),
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }
}

fn ids(list: &Value) -> Vec<i64> {
    let items = list
        .get("articles")
        .and_then(Value::as_array)
        .or_else(|| list.as_array())
        .expect("a list");
    let mut ids: Vec<i64> = items
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect();
    ids.sort_unstable();
    ids
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn each_reader_sees_exactly_what_the_visibility_allows(#[case] backend: Backend) {
    let (_env, kb) = Kb::new(backend).await;
    let ours = kb.app.organization("acme", "Ours", "ours.example").await;
    let theirs = kb
        .app
        .organization("acme", "Theirs", "theirs.example")
        .await;
    let (_, contact) = kb
        .app
        .person("acme", "anna@ours.example", Role::Contact, Some(ours))
        .await;
    let (_, other) = kb
        .app
        .person("acme", "otto@theirs.example", Role::Contact, Some(theirs))
        .await;
    let (_, technician) = kb
        .app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    let article = |visibility: &str, organizations: Vec<i64>, title: &str| {
        json!({ "language": "en", "title": title, "body": format!("How to fix the printer queue: {title}."),
                "visibility": visibility, "organizations": organizations, "publish": true })
    };
    let public = kb
        .article(article("public", vec![], "Public printer guide"))
        .await;
    let customers = kb
        .article(article("customers", vec![], "Customer printer guide"))
        .await;
    let chosen = kb
        .article(article("organizations", vec![ours], "Ours printer guide"))
        .await;
    let internal = kb
        .article(article("internal", vec![], "Internal printer guide"))
        .await;
    let draft = kb
        .article(
            json!({ "language": "en", "title": "Draft printer guide", "body": "printer",
                          "visibility": "customers" }),
        )
        .await;

    // Anonymous reading is off until the tenant allows it.
    assert_eq!(kb.anonymous("/api/v1/kb/articles").await.0, 401);
    assert_eq!(
        kb.anonymous(&format!("/api/v1/kb/articles/{public}"))
            .await
            .0,
        401
    );
    kb.setting("kb_public_access", json!(true)).await;

    let expected: [(&str, Option<&str>, Vec<i64>); 4] = [
        ("anonymous", None, vec![public]),
        (
            "contact of another organization",
            Some(&other),
            vec![public, customers],
        ),
        ("contact", Some(&contact), vec![public, customers, chosen]),
        (
            "technician",
            Some(&technician),
            vec![public, customers, chosen, internal],
        ),
    ];
    let all = [public, customers, chosen, internal];
    for (who, token, visible) in &expected {
        let get = |path: String| kb.get_as(*token, path);
        let (status, list) = get("/api/v1/kb/articles?drafts=false".to_owned()).await;
        assert_eq!(status, 200, "{who}: {list}");
        assert_eq!(ids(&list), *visible, "{who}: list");
        let (status, hits) = get("/api/v1/kb/search?q=printer&limit=50".to_owned()).await;
        assert_eq!(status, 200, "{who}: {hits}");
        assert_eq!(ids(&hits), *visible, "{who}: search");
        for id in all {
            let (status, body) = get(format!("/api/v1/kb/articles/{id}")).await;
            let want = if visible.contains(&id) { 200 } else { 404 };
            assert_eq!(status, want, "{who}: article {id}: {body}");
        }
        // Drafts are staff-only.
        let (status, _) = get(format!("/api/v1/kb/articles/{draft}")).await;
        assert_eq!(
            status,
            if *who == "technician" { 200 } else { 404 },
            "{who}: draft"
        );
    }
    // Staff see drafts in the list, customers never.
    let (_, list) = kb
        .call(
            &technician,
            Method::GET,
            "/api/v1/kb/articles?drafts=true",
            None,
        )
        .await;
    assert_eq!(ids(&list), vec![draft]);
    let (_, list) = kb
        .call(
            &contact,
            Method::GET,
            "/api/v1/kb/articles?drafts=true",
            None,
        )
        .await;
    assert_eq!(ids(&list), vec![public, customers, chosen]);

    // A change of visibility applies to the next read.
    let (status, body) = kb
        .call(
            &kb.admin,
            Method::PATCH,
            &format!("/api/v1/kb/articles/{chosen}"),
            Some(json!({ "organizations": [theirs] })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        kb.call(
            &contact,
            Method::GET,
            &format!("/api/v1/kb/articles/{chosen}"),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        kb.call(
            &other,
            Method::GET,
            &format!("/api/v1/kb/articles/{chosen}"),
            None
        )
        .await
        .0,
        200
    );
    // "organizations" without any is refused; internal with organizations too.
    let (status, _) = kb
        .call(
            &kb.admin,
            Method::PATCH,
            &format!("/api/v1/kb/articles/{chosen}"),
            Some(json!({ "organizations": [] })),
        )
        .await;
    assert_eq!(status, 422);

    // The section switch: off for one organization, their contact is refused, others not.
    let (status, body) = kb
        .call(
            &kb.admin,
            Method::PUT,
            "/api/v1/sections/knowledge_base",
            Some(json!({ "enabled": false, "organization_id": ours })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = kb
        .call(&contact, Method::GET, "/api/v1/kb/search?q=printer", None)
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "section_disabled", "{body}");
    assert_eq!(
        kb.call(&other, Method::GET, "/api/v1/kb/search?q=printer", None)
            .await
            .0,
        200
    );
    // Off for everyone: anonymous readers lose it too; staff keep it.
    kb.call(
        &kb.admin,
        Method::PUT,
        "/api/v1/sections/knowledge_base",
        Some(json!({ "enabled": false })),
    )
    .await;
    assert_eq!(kb.anonymous("/api/v1/kb/search?q=printer").await.0, 401);
    assert_eq!(
        kb.call(
            &technician,
            Method::GET,
            "/api/v1/kb/search?q=printer",
            None
        )
        .await
        .0,
        200
    );
    // A wrong token is refused, never read as anonymous.
    let (status, _) = kb
        .call("not-a-token", Method::GET, "/api/v1/kb/articles", None)
        .await;
    assert_eq!(status, 401);
    // Writing is for staff.
    let (status, _) = kb
        .call(
            &contact,
            Method::POST,
            "/api/v1/kb/articles",
            Some(article("public", vec![], "Mine")),
        )
        .await;
    assert_eq!(status, 403);
    kb.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn search_finds_a_stemmed_form_in_each_language_and_marks_it(#[case] backend: Backend) {
    let (_env, kb) = Kb::new(backend).await;
    let (_, technician) = kb
        .app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    let cases = [
        (
            "it",
            "La stampante non stampa",
            "Riavviare lo spooler se la stampante è bloccata.",
            "stampanti",
            "stampante",
        ),
        (
            "de",
            "Der Drucker druckt nicht",
            "Den Druckerdienst neu starten, wenn der Drucker hängt.",
            "Druckern",
            "Drucker",
        ),
        (
            "fr",
            "L'imprimante n'imprime pas",
            "Redémarrer le spouleur si l'imprimante est bloquée.",
            "imprimantes",
            "imprimante",
        ),
        (
            "es",
            "La impresora no imprime",
            "Reiniciar la cola si la impresora está bloqueada.",
            "impresoras",
            "impresora",
        ),
        (
            "en",
            "The printer prints blank pages",
            "Restart the spooler when the printer hangs.",
            "printers",
            "printer",
        ),
    ];
    let mut made = Vec::new();
    for (lang, title, body, _, _) in cases {
        made.push(
            kb.article(
                json!({ "language": lang, "title": title, "body": format!("# {title}\n\n{body}"),
                               "visibility": "customers", "publish": true }),
            )
            .await,
        );
    }
    for (n, (lang, _, _, query, word)) in cases.iter().enumerate() {
        let (status, hits) = kb
            .call(
                &technician,
                Method::GET,
                &format!("/api/v1/kb/search?q={query}&lang={lang}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{hits}");
        let hits = hits.as_array().expect("hits");
        // The best hit is the version in the searcher's language (a stem may also
        // match another language's word: French "imprim" is Spanish "imprime").
        assert!(!hits.is_empty(), "{lang} '{query}'");
        assert_eq!(hits[0]["id"].as_i64(), Some(made[n]), "{lang}: {hits:?}");
        assert_eq!(hits[0]["language"], *lang);
        let snippet = hits[0]["snippet_html"].as_str().expect("snippet");
        assert!(
            snippet
                .to_lowercase()
                .contains(&format!("<mark>{}</mark>", word.to_lowercase())),
            "{lang}: {snippet}"
        );
        assert!(
            hits[0]["title_html"]
                .as_str()
                .expect("title")
                .contains("<mark>"),
            "{lang}"
        );
    }
    // A word as written matches in another language too; nothing matches nothing.
    let (_, hits) = kb
        .call(
            &technician,
            Method::GET,
            "/api/v1/kb/search?q=spooler&lang=en",
            None,
        )
        .await;
    assert!(!hits.as_array().expect("hits").is_empty());
    let (status, hits) = kb
        .call(
            &technician,
            Method::GET,
            "/api/v1/kb/search?q=%22%20*%20NEAR(&lang=en",
            None,
        )
        .await;
    assert_eq!(status, 200, "FTS syntax is never interpreted: {hits}");

    // One article in two languages: each searcher gets their version, others the
    // article's own language; the title is weighed above the body.
    let both = kb
        .article(json!({ "language": "en", "title": "VPN connection drops", "body": "Reinstall the VPN client.",
                         "visibility": "customers", "publish": true }))
        .await;
    let (status, saved) = kb
        .call(
            &kb.admin,
            Method::PUT,
            &format!("/api/v1/kb/articles/{both}/translations/it"),
            Some(json!({ "title": "La connessione VPN cade", "body": "Reinstallare il client VPN.", "publish": true })),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    for (lang, expected) in [("it", "it"), ("en", "en"), ("de", "en")] {
        let (_, hits) = kb
            .call(
                &technician,
                Method::GET,
                &format!("/api/v1/kb/search?q=vpn&lang={lang}"),
                None,
            )
            .await;
        let hits = hits.as_array().expect("hits");
        assert_eq!(hits.len(), 1, "{lang}: one hit per article: {hits:?}");
        assert_eq!(hits[0]["language"], expected, "{lang}");
        let (_, article) = kb
            .call(
                &technician,
                Method::GET,
                &format!("/api/v1/kb/articles/{both}?lang={lang}"),
                None,
            )
            .await;
        assert_eq!(article["language"], expected, "{lang}");
    }
    // Suggestions for a ticket being written.
    let (status, hits) = kb
        .call(
            &technician,
            Method::GET,
            "/api/v1/kb/suggestions?subject=my%20printers%20hang&lang=en",
            None,
        )
        .await;
    assert_eq!(status, 200, "{hits}");
    assert_eq!(hits[0]["id"].as_i64(), Some(made[4]), "{hits}");
    kb.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn drafts_revisions_publication_and_rollback(#[case] backend: Backend) {
    let (_env, kb) = Kb::new(backend).await;
    let org = kb.app.organization("acme", "Ours", "ours.example").await;
    let (_, contact) = kb
        .app
        .person("acme", "anna@ours.example", Role::Contact, Some(org))
        .await;
    let (status, category) = kb
        .call(
            &kb.admin,
            Method::POST,
            "/api/v1/kb/categories",
            Some(json!({ "slug": "printing", "name": "Printing" })),
        )
        .await;
    assert_eq!(status, 201, "{category}");
    let id = kb
        .article(json!({ "language": "en", "title": "Toner replacement", "category": "printing",
                         "tags": ["Toner", "printer", "toner"], "visibility": "customers",
                         "body": "Open the **front** door.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))" }))
        .await;
    let path = format!("/api/v1/kb/articles/{id}");
    // A draft: customers do not see it.
    assert_eq!(kb.call(&contact, Method::GET, &path, None).await.0, 404);
    let (status, _) = kb
        .call(
            &kb.admin,
            Method::POST,
            &format!("{path}/translations/en/publish"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, first) = kb
        .call(
            &contact,
            Method::GET,
            "/api/v1/kb/articles/toner-replacement",
            None,
        )
        .await;
    assert_eq!(status, 200, "by slug: {first}");
    let html = first["body_html"].as_str().expect("html");
    assert!(html.contains("<strong>front</strong>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("javascript:"),
        "{html}"
    );
    assert!(
        first.get("body_markdown").is_none(),
        "customers get no Markdown"
    );
    assert_eq!(first["tags"], json!(["printer", "toner"]));
    assert_eq!(first["category"]["slug"], "printing");

    // A new revision saved as a draft: readers keep the published one.
    let (status, saved) = kb
        .call(
            &kb.admin,
            Method::PUT,
            &format!("{path}/translations/en"),
            Some(json!({ "title": "Replacing the toner", "body": "Open the side door.", "note": "new model" })),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let (_, read) = kb.call(&contact, Method::GET, &path, None).await;
    assert_eq!(read["title"], "Toner replacement");
    let (_, preview) = kb
        .call(&kb.admin, Method::GET, &format!("{path}?draft=true"), None)
        .await;
    assert_eq!(preview["title"], "Replacing the toner");
    assert_eq!(preview["published"], false);
    assert_eq!(preview["body_markdown"], "Open the side door.");
    kb.call(
        &kb.admin,
        Method::POST,
        &format!("{path}/translations/en/publish"),
        None,
    )
    .await;
    let (_, read) = kb.call(&contact, Method::GET, &path, None).await;
    assert_eq!(read["title"], "Replacing the toner");
    // Only the published text is found.
    let (_, hits) = kb
        .call(&contact, Method::GET, "/api/v1/kb/search?q=side", None)
        .await;
    assert_eq!(ids(&hits), vec![id]);
    let (_, hits) = kb
        .call(&contact, Method::GET, "/api/v1/kb/search?q=front", None)
        .await;
    assert_eq!(ids(&hits), Vec::<i64>::new());

    // The history, newest first, with authors; the first revision can come back.
    let (status, revisions) = kb
        .call(&kb.admin, Method::GET, &format!("{path}/revisions"), None)
        .await;
    assert_eq!(status, 200, "{revisions}");
    let revisions = revisions.as_array().expect("revisions").clone();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0]["note"], "new model");
    assert_eq!(revisions[0]["published"], true);
    assert!(
        revisions[1]["author"]
            .as_str()
            .expect("author")
            .starts_with("token:")
    );
    let first_revision = revisions[1]["id"].as_i64().expect("id");
    kb.call(
        &kb.admin,
        Method::POST,
        &format!("{path}/translations/en/publish"),
        Some(json!({ "revision_id": first_revision })),
    )
    .await;
    let (_, read) = kb.call(&contact, Method::GET, &path, None).await;
    assert_eq!(read["title"], "Toner replacement", "rolled back");
    assert_eq!(
        kb.call(&contact, Method::GET, "/api/v1/kb/search?q=front", None)
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Unpublished: gone for readers and for search, kept for staff.
    let (status, _) = kb
        .call(
            &kb.admin,
            Method::POST,
            &format!("{path}/translations/en/unpublish"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(kb.call(&contact, Method::GET, &path, None).await.0, 404);
    assert_eq!(
        kb.call(&contact, Method::GET, "/api/v1/kb/search?q=front", None)
            .await
            .1,
        json!([])
    );
    let (status, unpublished) = kb.call(&kb.admin, Method::GET, &path, None).await;
    assert_eq!(
        status, 200,
        "staff see the latest draft when nothing is published"
    );
    assert_eq!(unpublished["published"], false);
    assert_eq!(
        kb.call(&kb.admin, Method::GET, &format!("{path}?draft=true"), None)
            .await
            .0,
        200
    );

    // Bad input gets clear errors.
    for (body, field) in [
        (
            json!({ "language": "pt", "title": "x", "visibility": "public" }),
            "language",
        ),
        (
            json!({ "language": "en", "title": " ", "visibility": "public" }),
            "title",
        ),
        (
            json!({ "language": "en", "title": "x", "visibility": "public", "slug": "Bad Slug" }),
            "slug",
        ),
        (
            json!({ "language": "en", "title": "x", "visibility": "public", "category": "nope" }),
            "category",
        ),
        (
            json!({ "language": "en", "title": "x", "visibility": "organizations" }),
            "organizations",
        ),
    ] {
        let (status, answer) = kb
            .call(&kb.admin, Method::POST, "/api/v1/kb/articles", Some(body))
            .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    // The same slug twice: the second gets a free one.
    let again = kb
        .article(json!({ "language": "en", "title": "Toner replacement", "visibility": "public" }))
        .await;
    let (_, article) = kb
        .call(
            &kb.admin,
            Method::GET,
            &format!("/api/v1/kb/articles/{again}?draft=true"),
            None,
        )
        .await;
    assert_eq!(article["slug"], "toner-replacement-2");

    // Deleting removes it everywhere; every change was audited.
    let (status, _) = kb.call(&kb.admin, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        kb.call(&kb.admin, Method::GET, &format!("{path}?draft=true"), None)
            .await
            .0,
        404
    );
    let (_, audit) = kb.call(&kb.admin, Method::GET, "/api/v1/audit", None).await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "kb.category_created",
        "kb.article_created",
        "kb.article_published",
        "kb.revision_saved",
        "kb.article_unpublished",
        "kb.article_deleted",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    kb.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn feedback_views_and_deflections_are_counted(#[case] backend: Backend) {
    let (_env, kb) = Kb::new(backend).await;
    let org = kb.app.organization("acme", "Ours", "ours.example").await;
    let (_, anna) = kb
        .app
        .person("acme", "anna@ours.example", Role::Contact, Some(org))
        .await;
    let (_, bert) = kb
        .app
        .person("acme", "bert@ours.example", Role::Contact, Some(org))
        .await;
    let (carl_id, _) = kb
        .app
        .person("acme", "carl@ours.example", Role::Contact, Some(org))
        .await;
    let (_, technician) = kb
        .app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    let id = kb
        .article(json!({ "language": "en", "title": "Reset your password", "body": "Use the link on the sign-in page.",
                         "visibility": "customers", "publish": true }))
        .await;
    let path = format!("/api/v1/kb/articles/{id}");
    // Anna opens the suggestion and says it helped: a deflection.
    let (_, hits) = kb
        .call(
            &anna,
            Method::GET,
            "/api/v1/kb/suggestions?subject=password%20reset",
            None,
        )
        .await;
    assert_eq!(ids(&hits), vec![id]);
    kb.call(&anna, Method::GET, &format!("{path}?via=suggestion"), None)
        .await;
    let feedback = |helpful: bool| Some(json!({ "helpful": helpful, "comment": "thanks" }));
    assert_eq!(
        kb.call(
            &anna,
            Method::POST,
            &format!("{path}/feedback"),
            feedback(false)
        )
        .await
        .0,
        204
    );
    assert_eq!(
        kb.call(
            &anna,
            Method::POST,
            &format!("{path}/feedback"),
            feedback(true)
        )
        .await
        .0,
        204
    );
    // Bert opens it from the suggestions and writes a ticket anyway.
    kb.call(&bert, Method::GET, &format!("{path}?via=suggestion"), None)
        .await;
    let (status, ticket) = kb
        .call(
            &bert,
            Method::POST,
            "/api/v1/tickets",
            Some(json!({ "subject": "Password still broken" })),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(
        kb.call(
            &bert,
            Method::POST,
            &format!("{path}/feedback"),
            feedback(false)
        )
        .await
        .0,
        204
    );
    // Carl opened it two hours ago and wrote no ticket: a deflection too.
    let db = kb.app.tenant("acme").await;
    let mut tx = db.begin().await.expect("tx");
    sqlx::query(
        "INSERT INTO kb_suggestion_opens (article_id, user_id, opened_at) VALUES ($1, $2, $3)",
    )
    .bind(id)
    .bind(carl_id)
    .bind(portico_tenants::clock::now_ms() - 2 * 3_600_000)
    .execute(tx.conn())
    .await
    .expect("open");
    tx.commit().await.expect("commit");
    // A plain view by staff is not counted.
    kb.call(&technician, Method::GET, &path, None).await;

    let (status, article) = kb.call(&technician, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(article["views"], 2, "two customers' views: {article}");
    assert_eq!(
        article["helpful_yes"], 1,
        "Anna's answer replaced: {article}"
    );
    assert_eq!(article["helpful_no"], 1, "{article}");
    let (status, stats) = kb
        .call(&technician, Method::GET, "/api/v1/kb/stats", None)
        .await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["suggestion_opens"], 3, "{stats}");
    assert_eq!(
        stats["deflections"], 2,
        "Anna (helped) and Carl (no ticket): {stats}"
    );
    assert_eq!(stats["tickets_after_suggestion"], 1, "Bert: {stats}");
    assert_eq!(stats["helpful_yes"], 1);
    assert_eq!(stats["helpful_no"], 1);
    assert_eq!(stats["top_articles"][0]["id"].as_i64(), Some(id));
    assert_eq!(
        kb.call(&anna, Method::GET, "/api/v1/kb/stats", None)
            .await
            .0,
        403
    );
    kb.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_technician_turns_a_reply_into_a_draft(#[case] backend: Backend) {
    let (_env, kb) = Kb::new(backend).await;
    let org = kb.app.organization("acme", "Ours", "ours.example").await;
    let (_, contact) = kb
        .app
        .person("acme", "anna@ours.example", Role::Contact, Some(org))
        .await;
    let (_, technician) = kb
        .app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    let (_, ticket) = kb
        .call(
            &contact,
            Method::POST,
            "/api/v1/tickets",
            Some(json!({ "subject": "Outlook asks for the password" })),
        )
        .await;
    let number = ticket["number"].as_i64().expect("number");
    let (status, reply) = kb
        .call(
            &technician,
            Method::POST,
            &format!("/api/v1/tickets/{number}/messages"),
            Some(json!({ "body": "Remove the saved credentials in the Windows Credential Manager, then restart Outlook." })),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let message = reply["message_id"].as_i64().expect("message id");
    let path = format!("/api/v1/tickets/{number}/messages/{message}/kb-article");
    assert_eq!(kb.call(&contact, Method::POST, &path, None).await.0, 403);
    let (status, draft) = kb.call(&technician, Method::POST, &path, None).await;
    assert_eq!(status, 201, "{draft}");
    assert_eq!(draft["title"], "Outlook asks for the password");
    assert_eq!(draft["visibility"], "internal");
    assert_eq!(draft["published"], false);
    assert!(
        draft["body_markdown"]
            .as_str()
            .expect("markdown")
            .contains("Credential Manager")
    );
    assert!(draft["source_ticket_id"].as_i64().is_some());
    let (status, _) = kb
        .call(
            &technician,
            Method::POST,
            &format!("/api/v1/tickets/{number}/messages/999999/kb-article"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    kb.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_pages_read_and_search_without_javascript(#[case] backend: Backend) {
    let (_env, kb) = Kb::new(backend).await;
    let page = |path: &'static str, language: &'static str| {
        let app = &kb.app;
        async move {
            let response = app
                .request(Method::GET, HOST, path)
                .header("Accept-Language", language)
                .send()
                .await
                .expect("sent");
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (status, location, response.text().await.expect("text"))
        }
    };
    let (status, location, _) = page("/kb", "en").await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/login")),
        "off by default"
    );
    kb.setting("kb_public_access", json!(true)).await;
    kb.article(json!({ "language": "it", "title": "La stampante è bloccata",
                       "body": "Riavviare lo **spooler** della stampante.\n\n<script>alert(1)</script>",
                       "visibility": "public", "publish": true }))
        .await;
    kb.article(
        json!({ "language": "it", "title": "Solo per i clienti", "body": "stampante",
                       "visibility": "customers", "publish": true }),
    )
    .await;
    let (status, _, html) = page("/kb", "it").await;
    assert_eq!(status, 200);
    assert!(html.contains("Base di conoscenza"), "Italian page: {html}");
    assert!(html.contains("La stampante è bloccata"), "{html}");
    assert!(
        !html.contains("Solo per i clienti"),
        "customers' article hidden from anonymous readers"
    );
    assert!(
        html.contains("<form method=\"get\" action=\"/kb\""),
        "a plain GET form"
    );
    let (status, _, html) = page("/kb?q=stampanti", "it").await;
    assert_eq!(status, 200);
    assert!(html.contains("Articoli trovati: 1"), "{html}");
    assert!(html.contains("<mark>stampante</mark>"), "{html}");
    let (status, _, html) = page("/kb?q=%3Cscript%3E", "it").await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>"), "the query is escaped");
    let (status, _, html) = page("/kb/la-stampante-e-bloccata", "en").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<strong>spooler</strong>"), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("lang=\"it\""),
        "the article says its language"
    );
    let (status, _, _) = page("/kb/solo-per-i-clienti", "it").await;
    assert_eq!(status, 404);
    let (status, _, _) = page("/kb/nothing-here", "it").await;
    assert_eq!(status, 404);
    kb.app.stop().await;
}

/// More matching versions than a search ranks at once, nearly all unreadable for
/// the searcher and ranking above the one they may read: it is still found.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_readable_hit_is_found_behind_many_better_ranked_unreadable_ones(
    #[case] backend: Backend,
) {
    let (_env, kb) = Kb::new(backend).await;
    let org = kb.app.organization("acme", "Ours", "ours.example").await;
    let (_, contact) = kb
        .app
        .person("acme", "anna@ours.example", Role::Contact, Some(org))
        .await;
    let db = kb.app.tenant("acme").await;
    for n in 0..620 {
        portico_tenants::kb::create_article(
            &db,
            portico_tenants::kb::NewArticle {
                slug: None,
                language: "en".to_owned(),
                title: format!("Printer printer notes {n}"),
                body: "printer printer printer".to_owned(),
                category: None,
                tags: Vec::new(),
                visibility: portico_tenants::kb::Visibility::Internal,
                organizations: Vec::new(),
                publish: true,
                source_ticket_id: None,
            },
            "test",
        )
        .await
        .expect("article");
    }
    let readable = kb
        .article(json!({ "language": "en", "title": "Toner", "body": "Replace the toner, then the printer works.",
                         "visibility": "customers", "publish": true }))
        .await;
    let (status, hits) = kb
        .call(&contact, Method::GET, "/api/v1/kb/search?q=printer", None)
        .await;
    assert_eq!(status, 200, "{hits}");
    assert_eq!(ids(&hits), vec![readable]);
    kb.app.stop().await;
}
