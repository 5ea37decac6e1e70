-- The knowledge base: articles in Markdown with a version per language, each
-- version's revision history (who wrote what, when), publication per language
-- (a translation shows its published revision while newer drafts wait), visibility
-- (public, all customers, chosen organizations, internal), categories and tags,
-- "was this helpful?" votes, view counts and the articles suggested while a
-- person writes a ticket (deflections).
CREATE TABLE kb_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL CONSTRAINT kb_categories_slug UNIQUE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE kb_articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL CONSTRAINT kb_articles_slug UNIQUE,
    category_id BIGINT REFERENCES kb_categories (id) ON DELETE SET NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'customers', 'organizations', 'internal')),
    default_language TEXT NOT NULL,
    source_ticket_id BIGINT REFERENCES tickets (id) ON DELETE SET NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    views BIGINT NOT NULL DEFAULT 0,
    helpful_yes BIGINT NOT NULL DEFAULT 0,
    helpful_no BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX kb_articles_category_idx ON kb_articles (category_id, updated_at);
CREATE INDEX kb_articles_updated_idx ON kb_articles (updated_at);

CREATE TABLE kb_article_organizations (
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, organization_id)
);
CREATE INDEX kb_article_organizations_org_idx ON kb_article_organizations (organization_id);

CREATE TABLE kb_article_tags (
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (article_id, tag)
);
CREATE INDEX kb_article_tags_tag_idx ON kb_article_tags (tag);

CREATE TABLE kb_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX kb_revisions_article_idx ON kb_revisions (article_id, language, id);

-- One row per article and language; kb_fts indexes the published revision only.
CREATE TABLE kb_translations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    latest_revision_id BIGINT NOT NULL REFERENCES kb_revisions (id),
    published_revision_id BIGINT REFERENCES kb_revisions (id),
    title TEXT NOT NULL DEFAULT '',
    body_html TEXT NOT NULL DEFAULT '',
    body_text TEXT NOT NULL DEFAULT '',
    published_at BIGINT,
    updated_at BIGINT NOT NULL,
    CONSTRAINT kb_translations_language UNIQUE (article_id, language)
);

-- The published translations' full-text index, rowid = kb_translations.id: title
-- and body stemmed beforehand (Snowball, in the translation's language), since
-- FTS5 itself stems only English.
CREATE VIRTUAL TABLE kb_fts USING fts5 (
    title,
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- One vote per person and article (anonymous readers' votes have no person).
CREATE TABLE kb_feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    helpful BIGINT NOT NULL CHECK (helpful IN (0, 1)),
    comment TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX kb_feedback_person_idx ON kb_feedback (article_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX kb_feedback_created_idx ON kb_feedback (created_at);

-- An article a person opened from the suggestions shown while writing a ticket;
-- `answered` when they then said it helped. Answered, or no ticket of theirs
-- within the hour after: a deflection (derived from the tickets when counted).
CREATE TABLE kb_suggestion_opens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    opened_at BIGINT NOT NULL,
    answered BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX kb_suggestion_opens_user_idx ON kb_suggestion_opens (user_id, opened_at);
CREATE INDEX kb_suggestion_opens_opened_idx ON kb_suggestion_opens (opened_at);
