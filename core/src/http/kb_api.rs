//! The knowledge base under `/api/v1/kb`: articles (list, read, write, versions per
//! language, revisions, publication, visibility), categories, search with
//! highlighted snippets, the suggestions shown while a ticket is written, "was
//! this helpful?" and the use statistics with deflections.
//!
//! Reading works with an API token or, for public articles when the tenant allows
//! it, with none. What a caller sees follows from the permission decision (staff:
//! everything; customers: their organization's view) and the knowledge-base
//! section switch; the data layer applies it.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::response::IntoResponse;
use http::StatusCode;
use http::request::Parts;
use portico_tenants::kb::{
    self, Article, ArticleChange, ArticleFilter, ArticlePage, Category, Hit, NewArticle, Revision,
    Stats, Viewer, Visibility,
};
use portico_tenants::people;
use portico_tenants::policy::Scope;
use portico_tenants::sections;
use serde::{Deserialize, Serialize};

use crate::http::CurrentTenant;
use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::http::tickets_api::{json_body, number};
use crate::i18n::Locale;
use crate::state::AppState;

/// A knowledge-base reader: an API caller, or nobody (public articles only).
#[derive(Debug)]
pub(crate) enum KbCaller {
    /// With a valid API token.
    Signed(ApiCaller),
    /// Without `Authorization`.
    Anonymous {
        /// The tenant's schema.
        db: portico_tenants::TenantDb,
        /// The browser's languages.
        accept_language: Option<String>,
    },
}

impl FromRequestParts<AppState> for KbCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(http::header::AUTHORIZATION) {
            // A token that does not authenticate is refused, never read as anonymous.
            return Ok(KbCaller::Signed(
                ApiCaller::from_request_parts(parts, state).await?,
            ));
        }
        let CurrentTenant(tenant) = CurrentTenant::from_request_parts(parts, state).await?;
        Ok(KbCaller::Anonymous {
            db: tenant.db(&state.store)?,
            accept_language: parts
                .headers
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}

/// Who reads, as the data layer needs it.
struct Reading {
    viewer: Viewer,
    user_id: Option<i64>,
    language: String,
}

impl KbCaller {
    fn db(&self) -> &portico_tenants::TenantDb {
        match self {
            KbCaller::Signed(caller) => &caller.db,
            KbCaller::Anonymous { db, .. } => db,
        }
    }

    /// The viewer the permission decision and the section switches make of the
    /// caller, reading in `lang` (else their language). Customers need the
    /// knowledge-base section on for them; anonymous readers need the tenant's
    /// public access and the section on for everyone.
    async fn reading(&self, state: &AppState, lang: Option<&str>) -> Result<Reading, ApiError> {
        let chosen = lang.and_then(Locale::from_tag).map(|l| l.tag().to_owned());
        match self {
            KbCaller::Signed(caller) => {
                let scope = caller.scope(state, "kb_article", "read").await?;
                let user_id = caller.grant.user_id;
                let viewer = Viewer::from_scope(scope, user_id);
                let (locale, organization) = match user_id {
                    Some(id) => {
                        let user = people::get_user(&caller.db, id, Scope::All).await?;
                        (user.locale, user.organization_id)
                    }
                    None => ("en".to_owned(), None),
                };
                if viewer != Viewer::Staff && !section_on(&caller.db, user_id, organization).await?
                {
                    return Err(ApiError::Refused {
                        code: "section_disabled",
                        reason: "the knowledge base is switched off for you".to_owned(),
                    });
                }
                Ok(Reading {
                    viewer,
                    user_id,
                    language: chosen.unwrap_or(locale),
                })
            }
            KbCaller::Anonymous {
                db,
                accept_language,
            } => {
                if !anonymous_may_read(db).await? {
                    return Err(ApiError::Unauthorized);
                }
                let language = chosen.unwrap_or_else(|| {
                    accept_language
                        .as_deref()
                        .map(Locale::negotiate)
                        .unwrap_or(Locale::En)
                        .tag()
                        .to_owned()
                });
                Ok(Reading {
                    viewer: Viewer::Anonymous,
                    user_id: None,
                    language,
                })
            }
        }
    }
}

/// Whether the knowledge-base section is on for person `user_id` (if any) of
/// `organization` (if any); `None` and `None` ask for the switch for everyone.
pub(crate) async fn section_on(
    db: &portico_tenants::TenantDb,
    user_id: Option<i64>,
    organization: Option<i64>,
) -> Result<bool, ApiError> {
    Ok(
        sections::enabled_sections(db, user_id.unwrap_or(-1), organization)
            .await?
            .contains(&"knowledge_base"),
    )
}

/// Whether readers without a session or token may read the public articles: the
/// tenant allows it and the section is on for everyone.
pub(crate) async fn anonymous_may_read(db: &portico_tenants::TenantDb) -> Result<bool, ApiError> {
    Ok(kb::public_access(db).await? && section_on(db, None, None).await?)
}

/// An article's id, or its slug, readable by `reading`.
async fn article_id(caller: &KbCaller, key: &str, reading: &Reading) -> Result<i64, ApiError> {
    Ok(kb::resolve(caller.db(), key, reading.viewer).await?)
}

/// Query of `GET /api/v1/kb/articles`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this category (its slug).
    category: Option<String>,
    /// Only articles with this tag.
    tag: Option<String>,
    /// Staff: `true` drafts only (never published), `false` published only.
    drafts: Option<bool>,
    /// The language to show titles in (default: the caller's).
    lang: Option<String>,
    /// The cursor from the previous page.
    after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/kb/articles",
    tag = "knowledge base",
    summary = "List the articles the caller may read",
    description = "Without a token: the published public articles, when the tenant allows anonymous reading.",
    params(ListQuery),
    responses((status = 200, description = "A page of articles", body = ArticlePage), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn list_kb_articles(
    State(state): State<AppState>,
    caller: KbCaller,
    Query(query): Query<ListQuery>,
) -> Result<Json<ArticlePage>, ApiError> {
    let reading = caller.reading(&state, query.lang.as_deref()).await?;
    let filter = ArticleFilter {
        category: query.category,
        tag: query.tag,
        drafts: query.drafts,
    };
    Ok(Json(
        kb::list_articles(
            caller.db(),
            reading.viewer,
            &reading.language,
            &filter,
            query.after.as_deref(),
            query.limit.unwrap_or(50),
        )
        .await?,
    ))
}

/// Input of `POST /api/v1/kb/articles`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateArticle {
    /// The URL name (lowercase letters, digits, hyphens); made from the title if absent.
    #[serde(default)]
    slug: Option<String>,
    /// The first version's language: en, fr, de, es or it.
    language: String,
    title: String,
    /// Markdown.
    #[serde(default)]
    body: String,
    /// A category's slug.
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    visibility: Visibility,
    /// For visibility `organizations`: who may read it.
    #[serde(default)]
    organizations: Vec<i64>,
    /// Publish at once (default: a draft).
    #[serde(default)]
    publish: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/kb/articles",
    tag = "knowledge base",
    summary = "Write an article (a draft unless `publish`)",
    request_body = CreateArticle,
    responses((status = 201, description = "The article", body = Article), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn create_kb_article(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<CreateArticle>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "kb_article", "create").await?;
    let input = json_body(body)?;
    let language = input.language.clone();
    let id = kb::create_article(
        &caller.db,
        NewArticle {
            slug: input.slug,
            language: input.language,
            title: input.title,
            body: input.body,
            category: input.category,
            tags: input.tags,
            visibility: input.visibility,
            organizations: input.organizations,
            publish: input.publish,
            source_ticket_id: None,
        },
        &caller.actor(),
    )
    .await?;
    let article = kb::get_article(&caller.db, id, Viewer::Staff, &language, true).await?;
    Ok((StatusCode::CREATED, Json(article)))
}

/// Query of `GET /api/v1/kb/articles/{key}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ShowQuery {
    /// The language to read (default: the caller's; else the article's own).
    lang: Option<String>,
    /// Staff: show the latest revision, published or not.
    draft: Option<bool>,
    /// `suggestion` when opened from the suggestions beside a new ticket.
    via: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/kb/articles/{key}",
    tag = "knowledge base",
    summary = "Read an article (counts a view)",
    params(("key" = String, Path, description = "The article's id or slug"), ShowQuery),
    responses((status = 200, description = "The article", body = Article), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn show_kb_article(
    State(state): State<AppState>,
    caller: KbCaller,
    Path(key): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Json<Article>, ApiError> {
    let reading = caller.reading(&state, query.lang.as_deref()).await?;
    let id = article_id(&caller, &key, &reading).await?;
    let article = kb::get_article(
        caller.db(),
        id,
        reading.viewer,
        &reading.language,
        query.draft.unwrap_or(false),
    )
    .await?;
    if reading.viewer != Viewer::Staff {
        let from_suggestion = match query.via.as_deref() {
            Some("suggestion") => reading.user_id,
            _ => None,
        };
        kb::record_view(caller.db(), id, from_suggestion).await?;
    }
    Ok(Json(article))
}

/// Input of `PATCH /api/v1/kb/articles/{key}`: only what is given changes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateArticle {
    #[serde(default)]
    slug: Option<String>,
    /// A category's slug; `null` for none.
    #[serde(default, with = "crate::http::tickets_api::serde_with_null")]
    #[schema(value_type = Option<String>)]
    category: Option<Option<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    visibility: Option<Visibility>,
    #[serde(default)]
    organizations: Option<Vec<i64>>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/kb/articles/{key}",
    tag = "knowledge base",
    summary = "Change an article's slug, category, tags or visibility",
    params(("key" = String, Path, description = "The article's id or slug")),
    request_body = UpdateArticle,
    responses((status = 200, description = "The article", body = Article), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn update_kb_article(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
    body: Result<Json<UpdateArticle>, JsonRejection>,
) -> Result<Json<Article>, ApiError> {
    caller.scope(&state, "kb_article", "update").await?;
    let input = json_body(body)?;
    let id = kb::resolve(&caller.db, &key, Viewer::Staff).await?;
    kb::update_article(
        &caller.db,
        id,
        ArticleChange {
            slug: input.slug,
            category: input.category,
            tags: input.tags,
            visibility: input.visibility,
            organizations: input.organizations,
        },
        &caller.actor(),
    )
    .await?;
    Ok(Json(
        kb::get_article(&caller.db, id, Viewer::Staff, "en", true).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/kb/articles/{key}",
    tag = "knowledge base",
    summary = "Delete an article with every version and revision",
    params(("key" = String, Path, description = "The article's id or slug")),
    responses((status = 204, description = "Deleted"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn delete_kb_article(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "kb_article", "delete").await?;
    let id = kb::resolve(&caller.db, &key, Viewer::Staff).await?;
    kb::delete_article(&caller.db, id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Input of `PUT /api/v1/kb/articles/{key}/translations/{lang}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SaveTranslation {
    title: String,
    /// Markdown.
    #[serde(default)]
    body: String,
    /// What changed, for the history.
    #[serde(default)]
    note: String,
    /// Publish this revision at once (default: a draft beside the published one).
    #[serde(default)]
    publish: bool,
}

/// A saved revision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SavedRevision {
    /// The revision's id.
    revision_id: i64,
    /// Whether readers now see it.
    published: bool,
}

#[utoipa::path(
    put,
    path = "/api/v1/kb/articles/{key}/translations/{lang}",
    tag = "knowledge base",
    summary = "Save a new revision of one language's version (a new language adds one)",
    params(("key" = String, Path, description = "The article's id or slug"), ("lang" = String, Path, description = "en, fr, de, es or it")),
    request_body = SaveTranslation,
    responses((status = 200, description = "The revision", body = SavedRevision), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn save_kb_translation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((key, lang)): Path<(String, String)>,
    body: Result<Json<SaveTranslation>, JsonRejection>,
) -> Result<Json<SavedRevision>, ApiError> {
    caller.scope(&state, "kb_article", "update").await?;
    let input = json_body(body)?;
    if input.publish {
        caller.scope(&state, "kb_article", "publish").await?;
    }
    let id = kb::resolve(&caller.db, &key, Viewer::Staff).await?;
    let revision_id = kb::save_translation(
        &caller.db,
        id,
        &lang,
        &input.title,
        &input.body,
        &input.note,
        input.publish,
        &caller.actor(),
    )
    .await?;
    Ok(Json(SavedRevision {
        revision_id,
        published: input.publish,
    }))
}

/// Input of `POST …/publish`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishInput {
    /// The revision to publish (an older one rolls back); default the latest.
    #[serde(default)]
    revision_id: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/kb/articles/{key}/translations/{lang}/publish",
    tag = "knowledge base",
    summary = "Publish one language's latest (or a chosen) revision",
    params(("key" = String, Path, description = "The article's id or slug"), ("lang" = String, Path, description = "en, fr, de, es or it")),
    request_body(content = PublishInput, description = "Optional"),
    responses((status = 204, description = "Published"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn publish_kb_translation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((key, lang)): Path<(String, String)>,
    body: Option<Json<PublishInput>>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "kb_article", "publish").await?;
    let id = kb::resolve(&caller.db, &key, Viewer::Staff).await?;
    let revision = body.and_then(|Json(input)| input.revision_id);
    kb::publish(&caller.db, id, &lang, revision, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/kb/articles/{key}/translations/{lang}/unpublish",
    tag = "knowledge base",
    summary = "Take one language's version off the knowledge base (its revisions stay)",
    params(("key" = String, Path, description = "The article's id or slug"), ("lang" = String, Path, description = "en, fr, de, es or it")),
    responses((status = 204, description = "Unpublished"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn unpublish_kb_translation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((key, lang)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "kb_article", "publish").await?;
    let id = kb::resolve(&caller.db, &key, Viewer::Staff).await?;
    kb::unpublish(&caller.db, id, &lang, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/kb/articles/{key}/revisions",
    tag = "knowledge base",
    summary = "An article's revision history, newest first",
    params(("key" = String, Path, description = "The article's id or slug")),
    responses((status = 200, description = "Revisions", body = Vec<Revision>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn list_kb_revisions(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
) -> Result<Json<Vec<Revision>>, ApiError> {
    caller.scope(&state, "kb_article", "update").await?;
    let id = kb::resolve(&caller.db, &key, Viewer::Staff).await?;
    Ok(Json(kb::revisions(&caller.db, id).await?))
}

/// Input of `POST /api/v1/kb/articles/{key}/feedback`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedbackInput {
    /// Was this helpful?
    helpful: bool,
    #[serde(default)]
    comment: String,
    /// The version read (default: the caller's language).
    #[serde(default)]
    language: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/kb/articles/{key}/feedback",
    tag = "knowledge base",
    summary = "Say whether an article helped (one answer per person; a new one replaces it)",
    params(("key" = String, Path, description = "The article's id or slug")),
    request_body = FeedbackInput,
    responses((status = 204, description = "Recorded"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn kb_feedback(
    State(state): State<AppState>,
    caller: KbCaller,
    Path(key): Path<String>,
    body: Result<Json<FeedbackInput>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let input = json_body(body)?;
    let reading = caller.reading(&state, input.language.as_deref()).await?;
    let id = article_id(&caller, &key, &reading).await?;
    kb::feedback(
        caller.db(),
        id,
        reading.user_id,
        &reading.language,
        input.helpful,
        &input.comment,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/v1/kb/search`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// What to look for.
    q: String,
    /// The searcher's language (default: the caller's).
    lang: Option<String>,
    /// At most this many hits, 1 to 50 (default 10).
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/kb/search",
    tag = "knowledge base",
    summary = "Search the published articles the caller may read",
    description = "Words are stemmed in the searcher's language; each hit is the version in that language where there is one, with the matching words marked in `title_html` and `snippet_html` (HTML-escaped otherwise).",
    params(SearchQuery),
    responses((status = 200, description = "Best match first", body = Vec<Hit>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn search_kb(
    State(state): State<AppState>,
    caller: KbCaller,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<Hit>>, ApiError> {
    let reading = caller.reading(&state, query.lang.as_deref()).await?;
    Ok(Json(
        kb::search(
            caller.db(),
            reading.viewer,
            &query.q,
            &reading.language,
            query.limit.unwrap_or(10),
            false,
        )
        .await?,
    ))
}

/// Query of `GET /api/v1/kb/suggestions`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SuggestQuery {
    /// The subject typed so far.
    subject: String,
    /// The writer's language (default: theirs).
    lang: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/kb/suggestions",
    tag = "knowledge base",
    summary = "Articles that may answer a ticket being written (up to 5)",
    description = "Open a suggestion with `?via=suggestion` so a deflection can be counted.",
    params(SuggestQuery),
    responses((status = 200, description = "Best match first", body = Vec<Hit>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict)
)]
pub(crate) async fn suggest_kb(
    State(state): State<AppState>,
    caller: KbCaller,
    Query(query): Query<SuggestQuery>,
) -> Result<Json<Vec<Hit>>, ApiError> {
    let reading = caller.reading(&state, query.lang.as_deref()).await?;
    Ok(Json(
        kb::search(
            caller.db(),
            reading.viewer,
            &query.subject,
            &reading.language,
            5,
            true,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/kb/categories",
    tag = "knowledge base",
    summary = "The categories",
    responses((status = 200, description = "Categories in order", body = Vec<Category>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict)
)]
pub(crate) async fn list_kb_categories(
    State(state): State<AppState>,
    caller: KbCaller,
) -> Result<Json<Vec<Category>>, ApiError> {
    caller.reading(&state, None).await?;
    Ok(Json(kb::list_categories(caller.db()).await?))
}

/// Input of `POST /api/v1/kb/categories`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCategory {
    /// The URL name.
    slug: String,
    name: String,
    #[serde(default)]
    position: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/kb/categories",
    tag = "knowledge base",
    summary = "Add a category",
    request_body = CreateCategory,
    responses((status = 201, description = "The category", body = Category), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn create_kb_category(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<CreateCategory>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "kb_category", "create").await?;
    let input = json_body(body)?;
    let category = kb::create_category(
        &caller.db,
        &input.slug,
        &input.name,
        input.position,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(category)))
}

/// Query of `GET /api/v1/kb/stats`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// From this day (YYYY-MM-DD, UTC), default 30 days ago.
    from: Option<String>,
    /// Up to and including this day, default today.
    to: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/kb/stats",
    tag = "knowledge base",
    summary = "Views, votes and deflections over a period",
    params(StatsQuery),
    responses((status = 200, description = "The statistics", body = Stats), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn kb_stats(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    caller.scope(&state, "kb_article", "report").await?;
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let now = portico_tenants::clock::now_ms();
    let to = match &query.to {
        Some(day) => crate::http::reports_api::day("to", day)? + DAY,
        None => now - now.rem_euclid(DAY) + DAY,
    };
    let from = match &query.from {
        Some(day) => crate::http::reports_api::day("from", day)?,
        None => to - 30 * DAY,
    };
    if from >= to {
        return Err(ApiError::Invalid {
            field: "from".to_owned(),
            reason: "must come before `to`".to_owned(),
        });
    }
    Ok(Json(kb::stats(&caller.db, from, to).await?))
}

/// Input of `POST /api/v1/tickets/{number}/messages/{id}/kb-article`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DraftFromReply {
    /// The article's title (default: the ticket's subject).
    #[serde(default)]
    title: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/messages/{id}/kb-article",
    tag = "knowledge base",
    summary = "Turn a ticket reply into an internal article draft",
    params(("number" = String, Path, description = "The ticket's number"), ("id" = i64, Path, description = "The message's id")),
    request_body(content = DraftFromReply, description = "Optional"),
    responses((status = 201, description = "The draft", body = Article), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn draft_kb_from_message(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((ticket, message)): Path<(String, String)>,
    body: Option<Json<DraftFromReply>>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "kb_article", "create").await?;
    // Only staff read every ticket's thread, internal notes included.
    if caller.scope(&state, "ticket", "read").await? != Scope::All {
        return Err(ApiError::Forbidden);
    }
    let number = number(&ticket)?;
    let message: i64 = message.parse().map_err(|_| ApiError::NotFound)?;
    let title = body.and_then(|Json(input)| input.title);
    let id = kb::draft_from_message(
        &caller.db,
        number,
        message,
        title.as_deref(),
        &caller.actor(),
    )
    .await?;
    let article = kb::get_article(&caller.db, id, Viewer::Staff, "en", true).await?;
    Ok((StatusCode::CREATED, Json(article)))
}
