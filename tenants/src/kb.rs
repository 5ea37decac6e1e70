//! The knowledge base: articles in Markdown with a version per language, each with
//! its revision history, drafts and publication; categories and tags; visibility
//! (public, all customers, chosen organizations, internal); full-text search in the
//! reader's language with highlighted snippets; "was this helpful?" votes, view
//! counts and deflections (an article opened from the suggestions shown while a
//! person writes a ticket, after which no ticket came).
//!
//! Who sees what is decided here from a [`Viewer`], which the caller derives from
//! the permission decision: staff see everything (drafts and internal articles too),
//! a customer sees published public and customer articles and those chosen for
//! their organization, an anonymous reader published public ones. [`search`] is the
//! service other parts of Portico (the AI assistant) call with a person's viewer.

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::kb_text::{self, Highlighter};
use crate::outbox::NewEvent;
use crate::policy::Scope;
use crate::search::{self, Language};
use crate::store::{Backend, TenantDb, TenantTx};

/// The tenant setting that lets anyone read public articles without signing in.
pub const PUBLIC_SETTING: &str = "kb_public_access";

/// How long after opening a suggested article a new ticket by the same person
/// means the article did not answer them.
pub const DEFLECTION_WINDOW_MS: i64 = 60 * 60 * 1000;

/// The languages an article may be written in (the product's five).
pub const LANGUAGES: [&str; 5] = ["en", "fr", "de", "es", "it"];

/// Who may read an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone, signed in or not (when the tenant allows anonymous reading).
    Public,
    /// Every signed-in customer.
    Customers,
    /// The people of the organizations chosen for the article.
    Organizations,
    /// Technicians and MSP admins only.
    Internal,
}

impl Visibility {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Customers => "customers",
            Visibility::Organizations => "organizations",
            Visibility::Internal => "internal",
        }
    }

    /// From its stored or typed name.
    pub fn parse(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "public" => Visibility::Public,
            "customers" => Visibility::Customers,
            "organizations" => Visibility::Organizations,
            "internal" => Visibility::Internal,
            other => {
                return Err(StoreError::Invalid {
                    field: "visibility",
                    reason: format!(
                        "`{other}` is not one of public, customers, organizations, internal"
                    ),
                });
            }
        })
    }
}

/// Who is reading: what the permission decision and the sign-in make of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Technicians and MSP admins: every article, drafts included.
    Staff,
    /// A signed-in customer of `organization` (if any), person `user_id` (if any).
    Customer {
        /// Their organization.
        organization: Option<i64>,
        /// The person.
        user_id: Option<i64>,
    },
    /// Nobody signed in: published public articles only.
    Anonymous,
}

impl Viewer {
    /// The viewer for a reading scope granted by the permission decision.
    pub fn from_scope(scope: Scope, user_id: Option<i64>) -> Self {
        match scope {
            Scope::All => Viewer::Staff,
            Scope::Organization(organization) => Viewer::Customer {
                organization,
                user_id,
            },
            Scope::Own(_) => Viewer::Customer {
                organization: None,
                user_id,
            },
        }
    }

    fn is_staff(self) -> bool {
        self == Viewer::Staff
    }

    /// The SQL condition on `a` (kb_articles) for what this viewer may read.
    fn condition(self, binds: &mut Vec<Bind>) -> String {
        match self {
            Viewer::Staff => "1 = 1".to_owned(),
            Viewer::Anonymous => "a.visibility = 'public'".to_owned(),
            Viewer::Customer { organization, .. } => {
                let p = param(binds, Bind::Int(organization.unwrap_or(-1)));
                format!(
                    "(a.visibility IN ('public', 'customers') OR (a.visibility = 'organizations' AND EXISTS \
                     (SELECT 1 FROM kb_article_organizations o WHERE o.article_id = a.id AND o.organization_id = {p})))"
                )
            }
        }
    }
}

/// Binds of a dynamically built query, in order.
#[derive(Debug, Clone)]
enum Bind {
    Int(i64),
    Text(String),
}

fn param(binds: &mut Vec<Bind>, bind: Bind) -> String {
    binds.push(bind);
    format!("${}", binds.len())
}

fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_language(language: &str) -> Result<&'static str, StoreError> {
    LANGUAGES
        .iter()
        .copied()
        .find(|l| *l == language)
        .ok_or_else(|| {
            invalid(
                "language",
                format!("`{language}` is not one of {}", LANGUAGES.join(", ")),
            )
        })
}

fn check_title(title: &str) -> Result<String, StoreError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("title", "must have 1 to 200 characters"));
    }
    Ok(title.to_owned())
}

fn check_body(body: &str) -> Result<(), StoreError> {
    if body.len() > kb_text::MAX_BODY_BYTES {
        return Err(invalid(
            "body",
            format!("is longer than {} bytes", kb_text::MAX_BODY_BYTES),
        ));
    }
    Ok(())
}

fn check_tags(tags: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > 50 {
            return Err(invalid("tags", "each tag has 1 to 50 characters"));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > 20 {
        return Err(invalid("tags", "at most 20 tags"));
    }
    Ok(out)
}

/// A category.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Category {
    /// Its id.
    pub id: i64,
    /// Its URL name.
    pub slug: String,
    /// Its name as shown.
    pub name: String,
    /// Where it sorts (smallest first).
    pub position: i64,
}

/// Creates a category, audited as `actor`.
pub async fn create_category(
    db: &TenantDb,
    slug: &str,
    name: &str,
    position: i64,
    actor: &str,
) -> Result<Category, StoreError> {
    if !kb_text::valid_slug(slug) {
        return Err(invalid(
            "slug",
            "lowercase letters, digits and hyphens, not only digits",
        ));
    }
    let name = check_title(name).map_err(|_| invalid("name", "must have 1 to 200 characters"))?;
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO kb_categories (slug, name, position, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(slug)
    .bind(&name)
    .bind(position)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "category"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "kb.category_created",
        target: format!("kb_category:{slug}"),
        details: serde_json::json!({ "name": name }),
    })
    .await?;
    tx.commit().await?;
    Ok(Category {
        id,
        slug: slug.to_owned(),
        name,
        position,
    })
}

/// Every category, in order.
pub async fn list_categories(db: &TenantDb) -> Result<Vec<Category>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, slug, name, position FROM kb_categories ORDER BY position, name",
    )
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .map(|(id, slug, name, position)| Category {
            id,
            slug,
            name,
            position,
        })
        .collect())
}

async fn category_id(tx: &mut TenantTx, slug: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT id FROM kb_categories WHERE slug = $1")
        .bind(slug)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| invalid("category", format!("no category `{slug}`")))
}

/// A new article.
#[derive(Debug, Clone)]
pub struct NewArticle {
    /// Its URL name; made from the title when `None`.
    pub slug: Option<String>,
    /// The first version's language.
    pub language: String,
    /// The first version's title.
    pub title: String,
    /// The first version's Markdown.
    pub body: String,
    /// A category's slug.
    pub category: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Who may read it.
    pub visibility: Visibility,
    /// The organizations that may read it, for [`Visibility::Organizations`].
    pub organizations: Vec<i64>,
    /// Publish the first version at once (else it is a draft).
    pub publish: bool,
    /// The ticket it was written from.
    pub source_ticket_id: Option<i64>,
}

/// Creates an article, audited as `actor`; returns its id.
pub async fn create_article(
    db: &TenantDb,
    new: NewArticle,
    actor: &str,
) -> Result<i64, StoreError> {
    let language = check_language(&new.language)?;
    let title = check_title(&new.title)?;
    check_body(&new.body)?;
    let tags = check_tags(&new.tags)?;
    let explicit_slug = match &new.slug {
        Some(slug) if !kb_text::valid_slug(slug) => {
            return Err(invalid(
                "slug",
                "lowercase letters, digits and hyphens, not only digits",
            ));
        }
        Some(slug) => Some(slug.clone()),
        None => None,
    };
    let mut tx = db.begin().await?;
    let category = match &new.category {
        Some(slug) => Some(category_id(&mut tx, slug).await?),
        None => None,
    };
    check_organizations(&mut tx, new.visibility, &new.organizations).await?;
    let slug = match explicit_slug {
        Some(slug) => slug,
        None => free_slug(&mut tx, &kb_text::slugify(&title)).await?,
    };
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO kb_articles (slug, category_id, visibility, default_language, source_ticket_id, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&slug)
    .bind(category)
    .bind(new.visibility.as_str())
    .bind(language)
    .bind(new.source_ticket_id)
    .bind(actor)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "article"))?;
    set_tags(&mut tx, id, &tags).await?;
    set_organizations(&mut tx, id, &new.organizations).await?;
    let revision = add_revision(&mut tx, id, language, &title, &new.body, "", actor).await?;
    if new.publish {
        publish_revision(&mut tx, id, language, revision).await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "kb.article_created",
        target: format!("kb_article:{id}"),
        details: serde_json::json!({
            "slug": slug, "language": language, "visibility": new.visibility,
            "published": new.publish, "source_ticket_id": new.source_ticket_id,
        }),
    })
    .await?;
    if new.publish {
        emit(&mut tx, id, "kb_article.published", language).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// `base`, or `base-2`, `base-3`… — the first one no article has.
async fn free_slug(tx: &mut TenantTx, base: &str) -> Result<String, StoreError> {
    let base = if base.bytes().all(|b| b.is_ascii_digit()) {
        format!("article-{base}")
    } else {
        base.to_owned()
    };
    let taken: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM kb_articles WHERE slug = $1 OR slug LIKE $2")
            .bind(&base)
            .bind(format!("{base}-%"))
            .fetch_all(tx.conn())
            .await?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    let mut n = 2;
    loop {
        let candidate = format!("{base}-{n}");
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
        n += 1;
    }
}

async fn check_organizations(
    tx: &mut TenantTx,
    visibility: Visibility,
    organizations: &[i64],
) -> Result<(), StoreError> {
    if visibility == Visibility::Organizations && organizations.is_empty() {
        return Err(invalid(
            "organizations",
            "an article for chosen organizations needs at least one",
        ));
    }
    if visibility != Visibility::Organizations && !organizations.is_empty() {
        return Err(invalid(
            "organizations",
            "only an article with visibility `organizations` has them",
        ));
    }
    for organization in organizations {
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1")
            .bind(organization)
            .fetch_optional(tx.conn())
            .await?;
        if known.is_none() {
            return Err(invalid(
                "organizations",
                format!("no organization {organization}"),
            ));
        }
    }
    Ok(())
}

async fn set_tags(tx: &mut TenantTx, id: i64, tags: &[String]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM kb_article_tags WHERE article_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO kb_article_tags (article_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(tag)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

async fn set_organizations(
    tx: &mut TenantTx,
    id: i64,
    organizations: &[i64],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM kb_article_organizations WHERE article_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    for organization in organizations {
        sqlx::query(
            "INSERT INTO kb_article_organizations (article_id, organization_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(organization)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Stores a revision and makes it the translation's latest (creating the
/// translation row when the language is new).
async fn add_revision(
    tx: &mut TenantTx,
    id: i64,
    language: &str,
    title: &str,
    body: &str,
    note: &str,
    actor: &str,
) -> Result<i64, StoreError> {
    let now = now_ms();
    let revision: i64 = sqlx::query_scalar(
        "INSERT INTO kb_revisions (article_id, language, title, body, note, author, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(id)
    .bind(language)
    .bind(title)
    .bind(body)
    .bind(note)
    .bind(actor)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO kb_translations (article_id, language, latest_revision_id, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (article_id, language) DO UPDATE SET latest_revision_id = excluded.latest_revision_id, \
         updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(language)
    .bind(revision)
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE kb_articles SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(revision)
}

/// Makes `revision` the published version of the translation and indexes it.
async fn publish_revision(
    tx: &mut TenantTx,
    id: i64,
    language: &str,
    revision: i64,
) -> Result<(), StoreError> {
    let (title, body): (String, String) = sqlx::query_as(
        "SELECT title, body FROM kb_revisions WHERE id = $1 AND article_id = $2 AND language = $3",
    )
    .bind(revision)
    .bind(id)
    .bind(language)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("revision"))?;
    let html = kb_text::render_html(&body);
    let text = kb_text::plain_text(&body);
    let now = now_ms();
    let translation: i64 = sqlx::query_scalar(
        "UPDATE kb_translations SET published_revision_id = $3, title = $4, body_html = $5, body_text = $6, \
         published_at = $7, updated_at = $7 WHERE article_id = $1 AND language = $2 RETURNING id",
    )
    .bind(id)
    .bind(language)
    .bind(revision)
    .bind(&title)
    .bind(&html)
    .bind(&text)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    let lang = Language::from_tag(language);
    match tx.tenant().store().backend() {
        Backend::Postgres => {
            sqlx::query(
                "UPDATE kb_translations SET title_search = to_tsvector(CAST($2 AS regconfig), $3) || to_tsvector('simple', $3), \
                 search = \
                 setweight(to_tsvector(CAST($2 AS regconfig), $3), 'A') || setweight(to_tsvector('simple', $3), 'A') || \
                 setweight(to_tsvector(CAST($2 AS regconfig), $4), 'B') || setweight(to_tsvector('simple', $4), 'B') \
                 WHERE id = $1",
            )
            .bind(translation)
            .bind(lang.pg_config())
            .bind(&title)
            .bind(&text)
            .execute(tx.conn())
            .await?;
        }
        Backend::Sqlite => {
            sqlx::query("INSERT OR REPLACE INTO kb_fts (rowid, title, body) VALUES ($1, $2, $3)")
                .bind(translation)
                .bind(search::index_text(&title, lang))
                .bind(search::index_text(&text, lang))
                .execute(tx.conn())
                .await?;
        }
    }
    sqlx::query("UPDATE kb_articles SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

async fn emit(
    tx: &mut TenantTx,
    id: i64,
    event_type: &'static str,
    language: &str,
) -> Result<(), StoreError> {
    tx.emit(NewEvent {
        aggregate_type: "kb_article",
        aggregate_id: id.to_string(),
        event_type,
        payload: serde_json::json!({ "id": id, "language": language }),
    })
    .await?;
    Ok(())
}

async fn require_article(tx: &mut TenantTx, id: i64) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_articles WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound("article"))
}

/// Saves a new revision of the `language` version (a new language adds a
/// version); published at once when `publish`, else a draft beside the published
/// one. Returns the revision's id.
#[allow(clippy::too_many_arguments)]
pub async fn save_translation(
    db: &TenantDb,
    id: i64,
    language: &str,
    title: &str,
    body: &str,
    note: &str,
    publish: bool,
    actor: &str,
) -> Result<i64, StoreError> {
    let language = check_language(language)?;
    let title = check_title(title)?;
    check_body(body)?;
    if note.chars().count() > 500 {
        return Err(invalid("note", "at most 500 characters"));
    }
    let mut tx = db.begin().await?;
    require_article(&mut tx, id).await?;
    let revision = add_revision(&mut tx, id, language, &title, body, note.trim(), actor).await?;
    if publish {
        publish_revision(&mut tx, id, language, revision).await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "kb.revision_saved",
        target: format!("kb_article:{id}"),
        details: serde_json::json!({ "language": language, "revision": revision, "published": publish }),
    })
    .await?;
    if publish {
        emit(&mut tx, id, "kb_article.published", language).await?;
    }
    tx.commit().await?;
    Ok(revision)
}

/// Publishes revision `revision` of the `language` version (its latest when
/// `None`; an older one rolls back), audited as `actor`.
pub async fn publish(
    db: &TenantDb,
    id: i64,
    language: &str,
    revision: Option<i64>,
    actor: &str,
) -> Result<(), StoreError> {
    let language = check_language(language)?;
    let mut tx = db.begin().await?;
    let latest: i64 = sqlx::query_scalar(
        "SELECT latest_revision_id FROM kb_translations WHERE article_id = $1 AND language = $2",
    )
    .bind(id)
    .bind(language)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("translation"))?;
    let revision = revision.unwrap_or(latest);
    publish_revision(&mut tx, id, language, revision).await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "kb.article_published",
        target: format!("kb_article:{id}"),
        details: serde_json::json!({ "language": language, "revision": revision }),
    })
    .await?;
    emit(&mut tx, id, "kb_article.published", language).await?;
    tx.commit().await
}

/// Takes the `language` version off the knowledge base (its revisions stay).
pub async fn unpublish(
    db: &TenantDb,
    id: i64,
    language: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let language = check_language(language)?;
    let mut tx = db.begin().await?;
    let translation: i64 = sqlx::query_scalar(
        "UPDATE kb_translations SET published_revision_id = NULL, published_at = NULL, body_html = '', body_text = '', \
         updated_at = $3 WHERE article_id = $1 AND language = $2 RETURNING id",
    )
    .bind(id)
    .bind(language)
    .bind(now_ms())
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound("translation"))?;
    unindex(&mut tx, translation).await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "kb.article_unpublished",
        target: format!("kb_article:{id}"),
        details: serde_json::json!({ "language": language }),
    })
    .await?;
    emit(&mut tx, id, "kb_article.unpublished", language).await?;
    tx.commit().await
}

async fn unindex(tx: &mut TenantTx, translation: i64) -> Result<(), StoreError> {
    match tx.tenant().store().backend() {
        Backend::Postgres => {
            sqlx::query(
                "UPDATE kb_translations SET search = NULL, title_search = NULL WHERE id = $1",
            )
            .bind(translation)
            .execute(tx.conn())
            .await?;
        }
        Backend::Sqlite => {
            sqlx::query("DELETE FROM kb_fts WHERE rowid = $1")
                .bind(translation)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

/// What to change on an article (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct ArticleChange {
    /// A new URL name.
    pub slug: Option<String>,
    /// A category's slug, or `Some(None)` for none.
    pub category: Option<Option<String>>,
    /// The tags.
    pub tags: Option<Vec<String>>,
    /// Who may read it; with [`Visibility::Organizations`], `organizations` too.
    pub visibility: Option<Visibility>,
    /// The organizations that may read it.
    pub organizations: Option<Vec<i64>>,
}

/// Changes an article's slug, category, tags or visibility, audited as `actor`.
/// A visibility change applies to the next read.
pub async fn update_article(
    db: &TenantDb,
    id: i64,
    change: ArticleChange,
    actor: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let (visibility,): (String,) =
        sqlx::query_as("SELECT visibility FROM kb_articles WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(StoreError::NotFound("article"))?;
    let now = now_ms();
    if let Some(slug) = &change.slug {
        if !kb_text::valid_slug(slug) {
            return Err(invalid(
                "slug",
                "lowercase letters, digits and hyphens, not only digits",
            ));
        }
        sqlx::query("UPDATE kb_articles SET slug = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(slug)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(|e| StoreError::from_db(e, "article"))?;
    }
    if let Some(category) = &change.category {
        let category = match category {
            Some(slug) => Some(category_id(&mut tx, slug).await?),
            None => None,
        };
        sqlx::query("UPDATE kb_articles SET category_id = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(category)
            .bind(now)
            .execute(tx.conn())
            .await?;
    }
    if let Some(tags) = &change.tags {
        let tags = check_tags(tags)?;
        set_tags(&mut tx, id, &tags).await?;
    }
    if change.visibility.is_some() || change.organizations.is_some() {
        let visibility = match change.visibility {
            Some(v) => v,
            None => Visibility::parse(&visibility)?,
        };
        let organizations =
            match &change.organizations {
                Some(organizations) => organizations.clone(),
                None if visibility == Visibility::Organizations => sqlx::query_scalar(
                    "SELECT organization_id FROM kb_article_organizations WHERE article_id = $1",
                )
                .bind(id)
                .fetch_all(tx.conn())
                .await?,
                None => Vec::new(),
            };
        check_organizations(&mut tx, visibility, &organizations).await?;
        sqlx::query("UPDATE kb_articles SET visibility = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(visibility.as_str())
            .bind(now)
            .execute(tx.conn())
            .await?;
        set_organizations(&mut tx, id, &organizations).await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "kb.article_changed",
        target: format!("kb_article:{id}"),
        details: serde_json::json!({
            "slug": change.slug, "category": change.category, "tags": change.tags,
            "visibility": change.visibility, "organizations": change.organizations,
        }),
    })
    .await?;
    tx.commit().await
}

/// Deletes an article with its versions, revisions, votes and counts.
pub async fn delete_article(db: &TenantDb, id: i64, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let slug: String = sqlx::query_scalar("SELECT slug FROM kb_articles WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound("article"))?;
    let translations: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM kb_translations WHERE article_id = $1")
            .bind(id)
            .fetch_all(tx.conn())
            .await?;
    for translation in translations {
        unindex(&mut tx, translation).await?;
    }
    sqlx::query("DELETE FROM kb_translations WHERE article_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM kb_articles WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "kb.article_deleted",
        target: format!("kb_article:{id}"),
        details: serde_json::json!({ "slug": slug }),
    })
    .await?;
    emit(&mut tx, id, "kb_article.deleted", "").await?;
    tx.commit().await
}

/// One language version of an article, as its reader sees it.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TranslationState {
    /// Its language.
    pub language: String,
    /// The latest revision (a draft when it differs from the published one).
    pub latest_revision_id: i64,
    /// The revision readers see; `None`: not published.
    pub published_revision_id: Option<i64>,
    /// When it was last published, Unix milliseconds.
    pub published_at: Option<i64>,
}

/// An article in one language.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Article {
    /// Its id.
    pub id: i64,
    /// Its URL name.
    pub slug: String,
    /// The language of the version shown.
    pub language: String,
    /// Title of the version shown.
    pub title: String,
    /// The version shown, rendered and sanitized.
    pub body_html: String,
    /// Its Markdown (staff only: what an editor starts from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_markdown: Option<String>,
    /// `true` when the version shown is the published one.
    pub published: bool,
    /// The category.
    pub category: Option<Category>,
    /// Tags.
    pub tags: Vec<String>,
    /// Who may read it.
    pub visibility: Visibility,
    /// The organizations that may read it (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<i64>>,
    /// Its versions; customers see only published ones.
    pub translations: Vec<TranslationState>,
    /// The ticket it was written from (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ticket_id: Option<i64>,
    /// How often readers opened it.
    pub views: i64,
    /// "Was this helpful?" answers.
    pub helpful_yes: i64,
    /// The noes.
    pub helpful_no: i64,
    /// When it was created and last changed, Unix milliseconds.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// language, latest revision, published revision, published at, title, HTML.
type TranslationRow = (String, i64, Option<i64>, Option<i64>, String, String);
/// id, language, title, body, note, author, created at, published (0/1).
type RevisionRow = (i64, String, String, String, String, String, i64, i64);
/// id, slug, language, visibility, views, updated at, category, title, published revision.
type TopRow = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    String,
    Option<i64>,
);

#[derive(sqlx::FromRow)]
struct ArticleRow {
    id: i64,
    slug: String,
    category_id: Option<i64>,
    visibility: String,
    default_language: String,
    source_ticket_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
    views: i64,
    helpful_yes: i64,
    helpful_no: i64,
}

/// Resolves `key` (an id or a slug) to the id of an article `viewer` may read at
/// all; not found otherwise (the same answer as a missing one).
pub async fn resolve(db: &TenantDb, key: &str, viewer: Viewer) -> Result<i64, StoreError> {
    let mut binds = Vec::new();
    let condition = viewer.condition(&mut binds);
    let sql = match key.parse::<i64>() {
        Ok(id) => {
            let p = param(&mut binds, Bind::Int(id));
            format!("SELECT a.id FROM kb_articles a WHERE a.id = {p} AND {condition}")
        }
        Err(_) => {
            let p = param(&mut binds, Bind::Text(key.to_owned()));
            format!("SELECT a.id FROM kb_articles a WHERE a.slug = {p} AND {condition}")
        }
    };
    let mut tx = db.read().await?;
    let mut statement = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    for bind in binds {
        statement = match bind {
            Bind::Int(v) => statement.bind(v),
            Bind::Text(v) => statement.bind(v),
        };
    }
    let id = statement.fetch_optional(tx.conn()).await?;
    tx.rollback().await?;
    id.ok_or(StoreError::NotFound("article"))
}

/// Article `id` for `viewer` in `language` (else the version in the article's own
/// language, else any published one). Staff see the latest revision when `draft`
/// or when no version is published; everyone else only published versions, and
/// an article with none is not found.
pub async fn get_article(
    db: &TenantDb,
    id: i64,
    viewer: Viewer,
    language: &str,
    draft: bool,
) -> Result<Article, StoreError> {
    let mut binds = Vec::new();
    let condition = viewer.condition(&mut binds);
    let p = param(&mut binds, Bind::Int(id));
    let sql = format!(
        "SELECT a.id, a.slug, a.category_id, a.visibility, a.default_language, a.source_ticket_id, a.created_at, \
         a.updated_at, a.views, a.helpful_yes, a.helpful_no FROM kb_articles a WHERE a.id = {p} AND {condition}"
    );
    let mut tx = db.read().await?;
    let mut statement = sqlx::query_as::<_, ArticleRow>(sqlx::AssertSqlSafe(sql));
    for bind in binds {
        statement = match bind {
            Bind::Int(v) => statement.bind(v),
            Bind::Text(v) => statement.bind(v),
        };
    }
    let row = statement
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound("article"))?;
    let translations: Vec<TranslationRow> = sqlx::query_as(
        "SELECT language, latest_revision_id, published_revision_id, published_at, title, body_html \
         FROM kb_translations WHERE article_id = $1 ORDER BY language",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let staff = viewer.is_staff();
    // Staff asked for the draft, or there is nothing published to show them.
    let draft = staff && (draft || translations.iter().all(|t| t.2.is_none()));
    let usable =
        |t: &&(String, i64, Option<i64>, Option<i64>, String, String)| draft || t.2.is_some();
    let chosen = translations
        .iter()
        .filter(usable)
        .find(|t| t.0 == language)
        .or_else(|| {
            translations
                .iter()
                .filter(usable)
                .find(|t| t.0 == row.default_language)
        })
        .or_else(|| translations.iter().find(usable))
        .ok_or(StoreError::NotFound("article"))?;
    let (title, body_html, body_markdown, published) = if draft {
        let (title, body): (String, String) =
            sqlx::query_as("SELECT title, body FROM kb_revisions WHERE id = $1")
                .bind(chosen.1)
                .fetch_one(tx.conn())
                .await?;
        let html = kb_text::render_html(&body);
        (title, html, Some(body), chosen.2 == Some(chosen.1))
    } else {
        let markdown = if staff {
            match chosen.2 {
                Some(revision) => Some(
                    sqlx::query_scalar::<_, String>("SELECT body FROM kb_revisions WHERE id = $1")
                        .bind(revision)
                        .fetch_one(tx.conn())
                        .await?,
                ),
                None => None,
            }
        } else {
            None
        };
        (chosen.4.clone(), chosen.5.clone(), markdown, true)
    };
    let category = match row.category_id {
        Some(category) => {
            let c: Option<(i64, String, String, i64)> =
                sqlx::query_as("SELECT id, slug, name, position FROM kb_categories WHERE id = $1")
                    .bind(category)
                    .fetch_optional(tx.conn())
                    .await?;
            c.map(|(id, slug, name, position)| Category {
                id,
                slug,
                name,
                position,
            })
        }
        None => None,
    };
    let tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM kb_article_tags WHERE article_id = $1 ORDER BY tag")
            .bind(id)
            .fetch_all(tx.conn())
            .await?;
    let organizations = if staff {
        Some(
            sqlx::query_scalar(
                "SELECT organization_id FROM kb_article_organizations WHERE article_id = $1 ORDER BY organization_id",
            )
            .bind(id)
            .fetch_all(tx.conn())
            .await?,
        )
    } else {
        None
    };
    tx.rollback().await?;
    Ok(Article {
        id: row.id,
        slug: row.slug,
        language: chosen.0.clone(),
        title,
        body_html,
        body_markdown,
        published,
        category,
        tags,
        visibility: Visibility::parse(&row.visibility)?,
        organizations,
        translations: translations
            .iter()
            .filter(|t| staff || t.2.is_some())
            .map(|t| TranslationState {
                language: t.0.clone(),
                latest_revision_id: if staff { t.1 } else { t.2.unwrap_or(t.1) },
                published_revision_id: t.2,
                published_at: t.3,
            })
            .collect(),
        source_ticket_id: if staff { row.source_ticket_id } else { None },
        views: row.views,
        helpful_yes: row.helpful_yes,
        helpful_no: row.helpful_no,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Counts a reader's view; `from_suggestion` when a signed-in person opened it from
/// the suggestions beside a new ticket (a deflection unless a ticket follows).
pub async fn record_view(
    db: &TenantDb,
    id: i64,
    from_suggestion: Option<i64>,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE kb_articles SET views = views + 1 WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    if let Some(user_id) = from_suggestion {
        sqlx::query(
            "INSERT INTO kb_suggestion_opens (article_id, user_id, opened_at) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(user_id)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await
}

/// A reader's "was this helpful?" answer: one per signed-in person (a new answer
/// replaces theirs), anonymous answers counted as they come. A "yes" after opening
/// the article from the ticket suggestions marks that open as answered.
pub async fn feedback(
    db: &TenantDb,
    id: i64,
    user_id: Option<i64>,
    language: &str,
    helpful: bool,
    comment: &str,
) -> Result<(), StoreError> {
    let language = check_language(language).unwrap_or("en");
    let comment = comment.trim();
    if comment.chars().count() > 2000 {
        return Err(invalid("comment", "at most 2,000 characters"));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    require_article(&mut tx, id).await?;
    let previous: Option<i64> = match user_id {
        Some(user) => {
            sqlx::query_scalar(
                "SELECT helpful FROM kb_feedback WHERE article_id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(user)
            .fetch_optional(tx.conn())
            .await?
        }
        None => None,
    };
    match (user_id, previous) {
        (Some(user), Some(_)) => {
            sqlx::query(
                "UPDATE kb_feedback SET helpful = $3, comment = $4, language = $5, created_at = $6 \
                 WHERE article_id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(user)
            .bind(i64::from(helpful))
            .bind(comment)
            .bind(language)
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
        _ => {
            sqlx::query(
                "INSERT INTO kb_feedback (article_id, user_id, language, helpful, comment, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(user_id)
            .bind(language)
            .bind(i64::from(helpful))
            .bind(comment)
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
    }
    let (yes, no) = match (previous.map(|p| p != 0), helpful) {
        (Some(true), true) | (Some(false), false) => (0, 0),
        (Some(true), false) => (-1, 1),
        (Some(false), true) => (1, -1),
        (None, true) => (1, 0),
        (None, false) => (0, 1),
    };
    sqlx::query(
        "UPDATE kb_articles SET helpful_yes = helpful_yes + $2, helpful_no = helpful_no + $3 WHERE id = $1",
    )
    .bind(id)
    .bind(yes)
    .bind(no)
    .execute(tx.conn())
    .await?;
    if let (Some(user), true) = (user_id, helpful) {
        sqlx::query(
            "UPDATE kb_suggestion_opens SET answered = 1 WHERE article_id = $1 AND user_id = $2 AND opened_at >= $3",
        )
        .bind(id)
        .bind(user)
        .bind(now - DEFLECTION_WINDOW_MS)
        .execute(tx.conn())
        .await?;
    }
    tx.commit().await
}

/// A revision, as the history shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Revision {
    /// Its id.
    pub id: i64,
    /// The version it belongs to.
    pub language: String,
    /// Its title.
    pub title: String,
    /// Its Markdown.
    pub body: String,
    /// What the author said about the change.
    pub note: String,
    /// Who wrote it (`user:<id>`, `token:<id>`).
    pub author: String,
    /// When, Unix milliseconds.
    pub created_at: i64,
    /// Whether readers see this one.
    pub published: bool,
}

/// Article `id`'s revisions, newest first (staff only: the caller checks).
pub async fn revisions(db: &TenantDb, id: i64) -> Result<Vec<Revision>, StoreError> {
    let mut tx = db.read().await?;
    require_article(&mut tx, id).await?;
    let rows: Vec<RevisionRow> = sqlx::query_as(
        "SELECT r.id, r.language, r.title, r.body, r.note, r.author, r.created_at, \
         CAST(CASE WHEN t.published_revision_id = r.id THEN 1 ELSE 0 END AS BIGINT) \
         FROM kb_revisions r LEFT JOIN kb_translations t ON t.article_id = r.article_id AND t.language = r.language \
         WHERE r.article_id = $1 ORDER BY r.id DESC",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, language, title, body, note, author, created_at, published)| Revision {
                id,
                language,
                title,
                body,
                note,
                author,
                created_at,
                published: published != 0,
            },
        )
        .collect())
}

/// An article in a list.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ArticleSummary {
    /// Its id.
    pub id: i64,
    /// Its URL name.
    pub slug: String,
    /// The language of the title shown.
    pub language: String,
    /// The title (the latest draft's for staff when nothing is published).
    pub title: String,
    /// Whether that version is published.
    pub published: bool,
    /// Its category's slug.
    pub category: Option<String>,
    /// Who may read it.
    pub visibility: Visibility,
    /// How often it was read.
    pub views: i64,
    /// Last change, Unix milliseconds.
    pub updated_at: i64,
}

/// What a list shows.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    /// Only this category (slug).
    pub category: Option<String>,
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Staff: `Some(true)` drafts only (no published version), `Some(false)`
    /// published only. Others always see published ones.
    pub drafts: Option<bool>,
}

/// A page of articles.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArticlePage {
    /// Newest change first.
    pub articles: Vec<ArticleSummary>,
    /// Pass as `after` for the next page.
    pub next_cursor: Option<String>,
}

/// The articles `viewer` may read, newest change first, `limit` after `cursor`,
/// each titled in `language` where it has that version.
pub async fn list_articles(
    db: &TenantDb,
    viewer: Viewer,
    language: &str,
    filter: &ArticleFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<ArticlePage, StoreError> {
    let mut binds = Vec::new();
    let condition = viewer.condition(&mut binds);
    let mut sql = format!(
        "SELECT a.id, a.slug, a.default_language, a.visibility, a.views, a.updated_at, c.slug FROM kb_articles a \
         LEFT JOIN kb_categories c ON c.id = a.category_id WHERE {condition}"
    );
    let published_exists = "EXISTS (SELECT 1 FROM kb_translations t WHERE t.article_id = a.id AND t.published_revision_id IS NOT NULL)";
    if !viewer.is_staff() || filter.drafts == Some(false) {
        sql.push_str(&format!(" AND {published_exists}"));
    } else if filter.drafts == Some(true) {
        sql.push_str(&format!(" AND NOT {published_exists}"));
    }
    if let Some(category) = &filter.category {
        let p = param(&mut binds, Bind::Text(category.clone()));
        sql.push_str(&format!(" AND c.slug = {p}"));
    }
    if let Some(tag) = &filter.tag {
        let p = param(&mut binds, Bind::Text(tag.trim().to_lowercase()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM kb_article_tags g WHERE g.article_id = a.id AND g.tag = {p})"
        ));
    }
    if let Some(cursor) = cursor {
        let (updated, id) = cursor
            .split_once('.')
            .and_then(|(u, i)| Some((u.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
            .ok_or_else(|| invalid("after", "is not a cursor from a previous page"))?;
        let u = param(&mut binds, Bind::Int(updated));
        let i = param(&mut binds, Bind::Int(id));
        sql.push_str(&format!(
            " AND (a.updated_at < {u} OR (a.updated_at = {u} AND a.id < {i}))"
        ));
    }
    let limit = limit.clamp(1, 200);
    let l = param(&mut binds, Bind::Int(limit + 1));
    sql.push_str(&format!(" ORDER BY a.updated_at DESC, a.id DESC LIMIT {l}"));
    let mut statement = sqlx::query_as::<_, (i64, String, String, String, i64, i64, Option<String>)>(
        sqlx::AssertSqlSafe(sql),
    );
    for bind in binds {
        statement = match bind {
            Bind::Int(v) => statement.bind(v),
            Bind::Text(v) => statement.bind(v),
        };
    }
    let mut tx = db.read().await?;
    let mut rows = statement.fetch_all(tx.conn()).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| format!("{}.{}", r.5, r.0))
    } else {
        None
    };
    // Every version of the page's articles in one query: (article, language,
    // published revision, published title, latest revision's title).
    let mut versions: Vec<(i64, String, Option<i64>, String, String)> = Vec::new();
    if !rows.is_empty() {
        let placeholders: Vec<String> = (1..=rows.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT t.article_id, t.language, t.published_revision_id, t.title, r.title FROM kb_translations t \
             JOIN kb_revisions r ON r.id = t.latest_revision_id WHERE t.article_id IN ({})",
            placeholders.join(", ")
        );
        let mut statement = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for row in &rows {
            statement = statement.bind(row.0);
        }
        versions = statement.fetch_all(tx.conn()).await?;
    }
    let mut articles = Vec::with_capacity(rows.len());
    for (id, slug, default_language, visibility, views, updated_at, category) in rows {
        let versions: Vec<(String, Option<i64>, String, String)> = versions
            .iter()
            .filter(|v| v.0 == id)
            .map(|v| (v.1.clone(), v.2, v.3.clone(), v.4.clone()))
            .collect();
        let usable: Vec<&(String, Option<i64>, String, String)> = versions
            .iter()
            .filter(|v| viewer.is_staff() || v.1.is_some())
            .collect();
        let pick = usable
            .iter()
            .find(|v| v.0 == language && v.1.is_some())
            .or_else(|| usable.iter().find(|v| v.0 == language))
            .or_else(|| usable.iter().find(|v| v.0 == default_language))
            .or_else(|| usable.first());
        let Some(version) = pick else { continue };
        let published = version.1.is_some();
        articles.push(ArticleSummary {
            id,
            slug,
            language: version.0.clone(),
            title: if published {
                version.2.clone()
            } else {
                version.3.clone()
            },
            published,
            category,
            visibility: Visibility::parse(&visibility)?,
            views,
            updated_at,
        });
    }
    tx.rollback().await?;
    Ok(ArticlePage {
        articles,
        next_cursor,
    })
}

/// A search hit.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Hit {
    /// The article's id.
    pub id: i64,
    /// Its URL name.
    pub slug: String,
    /// The language of the version that matched.
    pub language: String,
    /// Its title as plain text.
    pub title: String,
    /// The title as HTML with the matching words in `<mark>` (escaped otherwise).
    pub title_html: String,
    /// About 30 words around the best match, as HTML with `<mark>` (escaped).
    pub snippet_html: String,
    /// Who may read it.
    pub visibility: Visibility,
    /// Its category's slug.
    pub category: Option<String>,
    /// Last change, Unix milliseconds.
    pub updated_at: i64,
}

/// At most this many hits per search.
pub const MAX_HITS: i64 = 50;

/// The best-ranked matches SQLite's search filters for readability first.
const RANK_WINDOW: i64 = 500;

/// id, slug, language, title, text, visibility, category, updated at.
type HitRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
);

/// Versions with a matching title a search ranks (at most).
const TITLE_CANDIDATES: i64 = 200;
/// Further matching versions a search ranks (at most).
const BODY_CANDIDATES: i64 = 400;

/// Searches the published articles `viewer` may read for `query` typed in
/// `language`: the version in that language where the article has one published,
/// else its own language's; best match first (title words weigh more), at most
/// `limit` (≤ [`MAX_HITS`]). Words are stemmed in the searcher's language, and
/// exact words match in any language. Every word must match, or with `any` (for
/// a sentence such as a ticket's subject) any word of three letters or more.
pub async fn search(
    db: &TenantDb,
    viewer: Viewer,
    query: &str,
    language: &str,
    limit: i64,
    any: bool,
) -> Result<Vec<Hit>, StoreError> {
    let searcher = Language::from_tag(language);
    let language = LANGUAGES
        .iter()
        .copied()
        .find(|l| Language::from_tag(l) == searcher)
        .unwrap_or("en");
    let mut binds = Vec::new();
    let condition = viewer.condition(&mut binds);
    let lang = param(&mut binds, Bind::Text(language.to_owned()));
    let version_rule = format!(
        "(tr.language = {lang} OR (tr.language = a.default_language AND NOT EXISTS (SELECT 1 FROM kb_translations t2 \
         WHERE t2.article_id = a.id AND t2.language = {lang} AND t2.published_revision_id IS NOT NULL)))"
    );
    let limit = limit.clamp(1, MAX_HITS);
    // PostgreSQL: ranking reads every candidate's tsvector from the table, which for
    // a word in thousands of articles costs more than the search itself, so the
    // rank is computed over at most TITLE_CANDIDATES readable versions whose title
    // matches plus BODY_CANDIDATES whose text does (found through the GIN indexes,
    // unranked): exact whenever fewer versions match, and otherwise the title
    // matches — the ones that rank highest — are all there.
    let filters =
        format!("tr.published_revision_id IS NOT NULL AND {condition} AND {version_rule}");
    let mut fts_expression = None;
    let sql = match db.store().backend() {
        Backend::Postgres => {
            let words = if any {
                search::pg_any_query_text(query)
            } else {
                search::pg_query_text(query)
            };
            let Some(words) = words else {
                return Ok(Vec::new());
            };
            let config = param(&mut binds, Bind::Text(searcher.pg_config().to_owned()));
            let words = param(&mut binds, Bind::Text(words));
            let l = param(&mut binds, Bind::Int(limit));
            // Any word: the parsed query's conjunctions turned into disjunctions (its
            // lexemes are quoted, so the cast back reads them as they are).
            let parsed = |config: &str| {
                let plain = format!("plainto_tsquery({config}, {words})");
                if any {
                    format!("CAST(replace(CAST({plain} AS text), ' & ', ' | ') AS tsquery)")
                } else {
                    plain
                }
            };
            let stemmed = parsed(&format!("CAST({config} AS regconfig)"));
            let simple = parsed("'simple'");
            format!(
                "WITH qq AS (SELECT {stemmed} || {simple} AS q), \
                 candidates AS ( \
                   (SELECT tr.id FROM kb_translations tr JOIN kb_articles a ON a.id = tr.article_id, qq \
                    WHERE tr.title_search @@ qq.q AND {filters} LIMIT {TITLE_CANDIDATES}) \
                   UNION \
                   (SELECT tr.id FROM kb_translations tr JOIN kb_articles a ON a.id = tr.article_id, qq \
                    WHERE tr.search @@ qq.q AND {filters} LIMIT {BODY_CANDIDATES})) \
                 SELECT a.id, a.slug, tr.language, tr.title, tr.body_text, a.visibility, c.slug, a.updated_at \
                 FROM candidates JOIN kb_translations tr ON tr.id = candidates.id JOIN kb_articles a ON a.id = tr.article_id \
                 LEFT JOIN kb_categories c ON c.id = a.category_id, qq \
                 ORDER BY ts_rank(tr.search, qq.q) DESC, a.updated_at DESC LIMIT {l}"
            )
        }
        Backend::Sqlite => {
            let expression = if any {
                search::fts5_any_query(query, searcher)
            } else {
                search::fts5_query(query, searcher)
            };
            let Some(expression) = expression else {
                return Ok(Vec::new());
            };
            // FTS5 ranks inside the index (bm25, title weighing 4) and keeps the best
            // RANK_WINDOW; the visibility filters run on those only. Exact whenever at
            // least `limit` of them are readable; otherwise the search runs again
            // over every match (below).
            let m = param(&mut binds, Bind::Text(expression.clone()));
            fts_expression = Some(expression);
            let l = param(&mut binds, Bind::Int(limit));
            let w = param(&mut binds, Bind::Int(RANK_WINDOW));
            format!(
                "WITH ranked(id, score) AS (SELECT rowid, rank FROM kb_fts \
                   WHERE kb_fts MATCH {m} AND rank MATCH 'bm25(4.0, 1.0)' ORDER BY rank LIMIT {w}) \
                 SELECT a.id, a.slug, tr.language, tr.title, tr.body_text, a.visibility, c.slug, a.updated_at \
                 FROM ranked JOIN kb_translations tr ON tr.id = ranked.id JOIN kb_articles a ON a.id = tr.article_id \
                 LEFT JOIN kb_categories c ON c.id = a.category_id \
                 WHERE {filters} ORDER BY ranked.score, a.updated_at DESC LIMIT {l}"
            )
        }
    };
    let mut tx = db.read().await?;
    let mut rows = fetch_hits(&mut tx, &sql, &binds).await?;
    if let Some(expression) = &fts_expression
        && (rows.len() as i64) < limit
    {
        // Fewer readable hits than asked among the best-ranked window: readable
        // matches can lie beyond it only if the window was full. Then rank every
        // match (the window is the last bind; -1 is no limit).
        let matches: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT rowid FROM kb_fts WHERE kb_fts MATCH $1 LIMIT $2) AS window_rows",
        )
        .bind(expression)
        .bind(RANK_WINDOW + 1)
        .fetch_one(tx.conn())
        .await?;
        if matches > RANK_WINDOW {
            if let Some(Bind::Int(window)) = binds.last_mut() {
                *window = -1;
            }
            rows = fetch_hits(&mut tx, &sql, &binds).await?;
        }
    }
    tx.rollback().await?;
    rows.into_iter()
        .map(
            |(id, slug, version, title, text, visibility, category, updated_at)| {
                let highlighter = Highlighter::new(query, searcher, Language::from_tag(&version));
                Ok(Hit {
                    id,
                    slug,
                    title_html: highlighter.mark(&title),
                    snippet_html: highlighter.snippet(&text, 30),
                    title,
                    language: version,
                    visibility: Visibility::parse(&visibility)?,
                    category,
                    updated_at,
                })
            },
        )
        .collect()
}

/// Runs a search statement with its binds.
async fn fetch_hits(
    tx: &mut TenantTx,
    sql: &str,
    binds: &[Bind],
) -> Result<Vec<HitRow>, StoreError> {
    let mut statement = sqlx::query_as::<_, HitRow>(sqlx::AssertSqlSafe(sql.to_owned()));
    for bind in binds {
        statement = match bind {
            Bind::Int(v) => statement.bind(*v),
            Bind::Text(v) => statement.bind(v.clone()),
        };
    }
    Ok(statement.fetch_all(tx.conn()).await?)
}

/// A ticket reply turned into an article: a draft, internal until someone changes
/// its visibility, titled with the ticket's subject unless `title` is given, in the
/// reply's language, linked to the ticket. Returns the article's id.
pub async fn draft_from_message(
    db: &TenantDb,
    ticket_number: i64,
    message_id: i64,
    title: Option<&str>,
    actor: &str,
) -> Result<i64, StoreError> {
    let mut tx = db.read().await?;
    let found: Option<(i64, String, String, String)> = sqlx::query_as(
        "SELECT t.id, t.subject, m.body, m.language FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id \
         WHERE t.number = $1 AND m.id = $2",
    )
    .bind(ticket_number)
    .bind(message_id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    let (ticket_id, subject, body, language) = found.ok_or(StoreError::NotFound("message"))?;
    let language = LANGUAGES
        .iter()
        .copied()
        .find(|l| Language::from_tag(l) == Language::from_tag(&language))
        .unwrap_or("en");
    let title = title.unwrap_or(&subject);
    let body: String = body.chars().take(kb_text::MAX_BODY_BYTES / 4).collect();
    create_article(
        db,
        NewArticle {
            slug: None,
            language: language.to_owned(),
            title: title.chars().take(200).collect(),
            body,
            category: None,
            tags: Vec::new(),
            visibility: Visibility::Internal,
            organizations: Vec::new(),
            publish: false,
            source_ticket_id: Some(ticket_id),
        },
        actor,
    )
    .await
}

/// The knowledge base's use over a period.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Stats {
    /// Articles in all.
    pub articles: i64,
    /// Articles with a published version.
    pub published: i64,
    /// Views of all articles since they were written.
    pub views: i64,
    /// "Helpful" answers in the period.
    pub helpful_yes: i64,
    /// "Not helpful" answers in the period.
    pub helpful_no: i64,
    /// Suggested articles opened while writing a ticket, in the period.
    pub suggestion_opens: i64,
    /// Of those, the ones after which no ticket came within the hour, or that the
    /// person said helped: tickets the knowledge base answered.
    pub deflections: i64,
    /// Of those opened, the ones followed by a ticket within the hour anyway.
    pub tickets_after_suggestion: i64,
    /// The most read articles (up to 10).
    pub top_articles: Vec<ArticleSummary>,
}

/// Use of the knowledge base between `from` and `to` (Unix milliseconds).
pub async fn stats(db: &TenantDb, from: i64, to: i64) -> Result<Stats, StoreError> {
    let now = now_ms();
    let mut tx = db.read().await?;
    let (articles, views): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), CAST(SUM(views) AS BIGINT) FROM kb_articles")
            .fetch_one(tx.conn())
            .await?;
    let published: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT article_id) FROM kb_translations WHERE published_revision_id IS NOT NULL",
    )
    .fetch_one(tx.conn())
    .await?;
    let (yes, no): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT CAST(SUM(helpful) AS BIGINT), CAST(SUM(1 - helpful) AS BIGINT) FROM kb_feedback WHERE created_at >= $1 AND created_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(tx.conn())
    .await?;
    let followed = "EXISTS (SELECT 1 FROM tickets t WHERE t.requester_id = s.user_id AND t.created_at >= s.opened_at \
                    AND t.created_at < s.opened_at + $3)";
    let (opens, deflections, tickets): (i64, Option<i64>, Option<i64>) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*), \
         CAST(SUM(CASE WHEN s.answered = 1 OR (s.opened_at < $4 - $3 AND NOT {followed}) THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN s.answered = 0 AND {followed} THEN 1 ELSE 0 END) AS BIGINT) \
         FROM kb_suggestion_opens s WHERE s.opened_at >= $1 AND s.opened_at < $2"
    )))
    .bind(from)
    .bind(to)
    .bind(DEFLECTION_WINDOW_MS)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    tx.rollback().await?;
    let top = list_top(db).await?;
    Ok(Stats {
        articles,
        published,
        views: views.unwrap_or(0),
        helpful_yes: yes.unwrap_or(0),
        helpful_no: no.unwrap_or(0),
        suggestion_opens: opens,
        deflections: deflections.unwrap_or(0),
        tickets_after_suggestion: tickets.unwrap_or(0),
        top_articles: top,
    })
}

async fn list_top(db: &TenantDb) -> Result<Vec<ArticleSummary>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<TopRow> =
        sqlx::query_as(
            "SELECT a.id, a.slug, a.default_language, a.visibility, a.views, a.updated_at, c.slug, r.title, \
             t.published_revision_id FROM kb_articles a LEFT JOIN kb_categories c ON c.id = a.category_id \
             JOIN kb_translations t ON t.article_id = a.id AND t.language = a.default_language \
             JOIN kb_revisions r ON r.id = COALESCE(t.published_revision_id, t.latest_revision_id) \
             ORDER BY a.views DESC, a.id LIMIT 10",
        )
        .fetch_all(tx.conn())
        .await?;
    tx.rollback().await?;
    rows.into_iter()
        .map(
            |(id, slug, language, visibility, views, updated_at, category, title, published)| {
                Ok(ArticleSummary {
                    id,
                    slug,
                    language,
                    title,
                    published: published.is_some(),
                    category,
                    visibility: Visibility::parse(&visibility)?,
                    views,
                    updated_at,
                })
            },
        )
        .collect()
}

/// Whether anonymous readers may read public articles (tenant setting, default off).
pub async fn public_access(db: &TenantDb) -> Result<bool, StoreError> {
    Ok(crate::accounts::tenant_setting(db, PUBLIC_SETTING)
        .await?
        .and_then(|v| v.as_bool())
        .unwrap_or(false))
}
