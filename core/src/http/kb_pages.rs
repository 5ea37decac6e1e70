//! The knowledge base as plain HTML pages on the tenant host: `/kb` (the published
//! articles, or a search with `?q=` through a GET form, so it works without
//! JavaScript) and `/kb/{slug}` (one article, in the reader's language where it has
//! that version). Signed-in people read with their permission scope; without a
//! session, the public articles when the tenant allows anonymous reading, else the
//! sign-in page. The portal issue folds these into its layout.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::StatusCode;
use minijinja::context;
use portico_tenants::TenantDb;
use portico_tenants::accounts::SessionState;
use portico_tenants::kb::{self, ArticleFilter, Viewer};
use serde::Deserialize;

use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::http::kb_api::{anonymous_may_read, section_on};
use crate::http::pages::{not_found_page, render};
use crate::i18n::Locale;
use crate::state::AppState;

/// The knowledge-base pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kb", get(kb_index))
        .route("/kb/{slug}", get(kb_article))
}

/// Who reads: their viewer and language, or the page to send them to instead.
async fn reader(
    state: &AppState,
    tenant: &std::sync::Arc<portico_tenants::routing::TenantRoute>,
    db: &TenantDb,
    headers: &http::HeaderMap,
    locale: Locale,
) -> Result<Result<(Viewer, Locale), Response>, ApiError> {
    let current = crate::identity::session::load(state, db, headers)
        .await?
        .filter(|c| c.session.state == SessionState::Active);
    let Some(current) = current else {
        if anonymous_may_read(db).await? {
            return Ok(Ok((Viewer::Anonymous, locale)));
        }
        return Ok(Err(Redirect::to("/login").into_response()));
    };
    let user_id = current.user.user_id;
    let kind = state
        .permissions
        .decide(
            &state.store,
            tenant,
            db,
            &format!("user:{user_id}"),
            "kb_article",
            "read",
        )
        .await?;
    let Some(kind) = kind else {
        return Ok(Err(not_found_page(state, locale)));
    };
    let organization = portico_tenants::policy::organization_of(db, user_id).await?;
    let viewer = Viewer::from_scope(
        crate::permissions::scope_for(kind, Some(user_id), organization),
        Some(user_id),
    );
    if viewer != Viewer::Staff && !section_on(db, Some(user_id), organization).await? {
        return Ok(Err(not_found_page(state, locale)));
    }
    let locale = Locale::from_tag(&current.user.locale).unwrap_or(locale);
    Ok(Ok((viewer, locale)))
}

/// Query of `/kb`.
#[derive(Debug, Deserialize)]
struct IndexQuery {
    #[serde(default)]
    q: Option<String>,
}

async fn kb_index(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: http::HeaderMap,
    Query(query): Query<IndexQuery>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let (viewer, locale) = match reader(&state, &tenant, &db, &headers, locale).await? {
        Ok(reader) => reader,
        Err(response) => return Ok(response),
    };
    let q = query.q.unwrap_or_default();
    let q = q.trim();
    // (title, href, snippet HTML — escaped by the highlighter, matches in <mark>)
    let items: Vec<(String, String, String)> = if q.is_empty() {
        kb::list_articles(
            &db,
            viewer,
            locale.tag(),
            &ArticleFilter::default(),
            None,
            100,
        )
        .await?
        .articles
        .into_iter()
        .filter(|a| a.published)
        .map(|a| {
            (
                minijinja::HtmlEscape(&a.title).to_string(),
                format!("/kb/{}", a.slug),
                String::new(),
            )
        })
        .collect()
    } else {
        kb::search(&db, viewer, q, locale.tag(), 20, false)
            .await?
            .into_iter()
            .map(|h| {
                (
                    h.title_html,
                    format!("/kb/{}?lang={}", h.slug, h.language),
                    h.snippet_html,
                )
            })
            .collect()
    };
    let count = items.len().to_string();
    Ok(render(
        &state,
        StatusCode::OK,
        "kb_index.html",
        context! {
            lang => locale.tag(),
            title => locale.text("kb-title"),
            search_label => locale.text("kb-search-label"),
            search_button => locale.text("kb-search-button"),
            q => q,
            searched => !q.is_empty(),
            results_label => locale.text_with("kb-results", &[("count", count.as_str())]),
            empty_label => if q.is_empty() { locale.text("kb-empty") } else { locale.text("kb-no-results") },
            items => items,
            home_label => locale.text("nav-home"),
        },
    ))
}

/// Query of `/kb/{slug}`.
#[derive(Debug, Deserialize)]
struct ArticleQuery {
    #[serde(default)]
    lang: Option<String>,
}

async fn kb_article(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: http::HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<ArticleQuery>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let (viewer, locale) = match reader(&state, &tenant, &db, &headers, locale).await? {
        Ok(reader) => reader,
        Err(response) => return Ok(response),
    };
    let language = query
        .lang
        .as_deref()
        .and_then(Locale::from_tag)
        .unwrap_or(locale);
    let found = match kb::resolve(&db, &slug, viewer).await {
        Ok(id) => kb::get_article(&db, id, viewer, language.tag(), false).await,
        Err(error) => Err(error),
    };
    let article = match found {
        Ok(article) => article,
        Err(portico_tenants::StoreError::NotFound(_)) => return Ok(not_found_page(&state, locale)),
        Err(error) => return Err(error.into()),
    };
    if viewer != Viewer::Staff {
        kb::record_view(&db, article.id, None).await?;
    }
    let other_languages: Vec<(String, String)> = article
        .translations
        .iter()
        .filter(|t| t.language != article.language && t.published_revision_id.is_some())
        .filter_map(|t| {
            Locale::from_tag(&t.language).map(|l| {
                (
                    l.tag().to_owned(),
                    format!("/kb/{}?lang={}", article.slug, l.tag()),
                )
            })
        })
        .collect();
    Ok(render(
        &state,
        StatusCode::OK,
        "kb_article.html",
        context! {
            lang => locale.tag(),
            article_lang => article.language.clone(),
            title => article.title.clone(),
            // Rendered from Markdown and sanitized by ammonia when published.
            body_html => article.body_html.clone(),
            back_label => locale.text("kb-back"),
            languages_label => locale.text("kb-other-languages"),
            other_languages => other_languages,
        },
    ))
}
