//! The knowledge base's text work, without I/O: Markdown to sanitized HTML and to
//! plain text (pulldown-cmark, then ammonia), URL slugs, and the highlighted
//! snippet of a search hit — computed here rather than by the database so both
//! backends show the same thing, and because SQLite's index holds stemmed words
//! that no reader should see.

use std::collections::HashSet;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::search::{self, Language};

/// The largest article body accepted, bytes of Markdown.
pub const MAX_BODY_BYTES: usize = 512 * 1024;

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// Markdown as HTML safe to place in any page: raw HTML in the Markdown is kept
/// only where ammonia's allow-list keeps it (no `<script>`, `<style>`, event
/// attributes, `javascript:` URLs or forms), and every link gets
/// `rel="noopener noreferrer"`.
pub fn render_html(markdown: &str) -> String {
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(markdown, options()));
    ammonia::Builder::default()
        .add_generic_attributes(["class"])
        .clean(&html)
        .to_string()
}

/// The words a reader sees, as plain text: paragraphs, list items, headings and
/// table cells on their own lines, code kept, markup and HTML tags dropped.
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_),
            ) => text.push('\n'),
            Event::Start(Tag::TableCell) => text.push(' '),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// A URL slug from a title: lowercase ASCII letters and digits joined by hyphens
/// (common accents folded), at most 80 characters; `article` when nothing is left.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        let c = if c == 'ß' { 's' } else { search::fold_char(c) };
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    let slug = slug.trim_matches('-').to_owned();
    if slug.is_empty() {
        "article".to_owned()
    } else {
        slug
    }
}

/// Whether `slug` is one [`slugify`] could produce (what the API accepts).
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 80
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.bytes().all(|b| b.is_ascii_digit())
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// What a search looks for in a text: each query word folded, and its stem in the
/// searcher's and in the document's language.
#[derive(Debug, Clone)]
pub struct Highlighter {
    wanted: HashSet<String>,
    document: Language,
}

impl Highlighter {
    /// For `query` typed in `searcher`'s language, over a text in `document`'s.
    pub fn new(query: &str, searcher: Language, document: Language) -> Self {
        let mut wanted = HashSet::new();
        for word in search::words(query).take(12) {
            wanted.insert(search::fold(&word));
            wanted.insert(search::fold(&search::stem(&word, searcher)));
            wanted.insert(search::fold(&search::stem(&word, document)));
        }
        Highlighter { wanted, document }
    }

    fn matches(&self, word: &str) -> bool {
        let lower = word.to_lowercase();
        self.wanted.contains(&search::fold(&lower))
            || self
                .wanted
                .contains(&search::fold(&search::stem(&lower, self.document)))
    }

    /// `text` escaped as HTML with every matching word in `<mark>`.
    pub fn mark(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 32);
        for (word, is_word) in split_words(text) {
            if is_word && self.matches(word) {
                out.push_str("<mark>");
                escape_into(&mut out, word);
                out.push_str("</mark>");
            } else {
                escape_into(&mut out, word);
            }
        }
        out
    }

    /// About `width` words of `text` around the place with the most matches,
    /// escaped as HTML with the matches in `<mark>`, and `…` where text was cut.
    /// Without any match, the beginning of the text.
    pub fn snippet(&self, text: &str, width: usize) -> String {
        let pieces: Vec<(&str, bool)> = split_words(text).collect();
        let words: Vec<usize> = (0..pieces.len()).filter(|&i| pieces[i].1).collect();
        if words.is_empty() {
            return String::new();
        }
        let hits: Vec<bool> = words.iter().map(|&i| self.matches(pieces[i].0)).collect();
        // The window of `width` words holding the most matches (first best).
        let width = width.max(1).min(words.len());
        let mut count = hits[..width].iter().filter(|h| **h).count();
        let (mut best, mut best_start) = (count, 0);
        for start in 1..=(words.len() - width) {
            count -= usize::from(hits[start - 1]);
            count += usize::from(hits[start + width - 1]);
            if count > best {
                best = count;
                best_start = start;
            }
        }
        // Start a few words before the first match so it reads in context.
        if best > 0 {
            let first = (best_start..best_start + width)
                .find(|&w| hits[w])
                .unwrap_or(best_start);
            best_start = first.saturating_sub(width / 4).min(words.len() - width);
        }
        let from = words[best_start];
        let to = words[best_start + width - 1];
        let mut out = String::new();
        if best_start > 0 {
            out.push('…');
        }
        for (piece, is_word) in &pieces[from..=to] {
            let piece = if *is_word {
                *piece
            } else {
                // Line breaks and runs of spaces read as one space in a snippet.
                if piece.chars().all(char::is_whitespace) {
                    " "
                } else {
                    piece
                }
            };
            if *is_word && self.matches(piece) {
                out.push_str("<mark>");
                escape_into(&mut out, piece);
                out.push_str("</mark>");
            } else {
                escape_into(&mut out, piece);
            }
        }
        if best_start + width < words.len() {
            out.push('…');
        }
        out
    }
}

/// `text` cut into alternating runs of word characters (`true`) and the rest.
fn split_words(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let is_word = first.is_alphanumeric();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_alphanumeric() != is_word)
            .map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some((piece, is_word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_script_never_survives() {
        let html = render_html(
            "# Printer\n\nRestart the **spooler**.\n\n<script>alert(1)</script>\n\n\
             [x](javascript:alert(1)) <img src=x onerror=alert(1)> <a href=\"https://example.com\">ok</a>",
        );
        assert!(html.contains("<h1>Printer</h1>"), "{html}");
        assert!(html.contains("<strong>spooler</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
    }

    #[test]
    fn plain_text_keeps_the_words_only() {
        let text =
            plain_text("# Title\n\nSome *emphasis* and `code`.\n\n- one\n- two\n\n<b>raw</b>");
        assert_eq!(text, "Title\nSome emphasis and code.\none\ntwo\nraw");
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(
            slugify("La stampante non è raggiungibile!"),
            "la-stampante-non-e-raggiungibile"
        );
        assert_eq!(slugify("Straße & Größe"), "strase-grose");
        assert_eq!(slugify("???"), "article");
        assert!(slugify(&"long title ".repeat(30)).len() <= 80);
        assert!(valid_slug("reset-your-password"));
        assert!(!valid_slug("Reset"));
        assert!(!valid_slug("-a"));
        assert!(!valid_slug("1042"), "numbers are ids");
    }

    #[test]
    fn snippets_mark_stemmed_forms_and_escape() {
        let h = Highlighter::new("stampanti", Language::It, Language::It);
        let text =
            "Introduzione. Se la stampante <HP> non stampa, riavviare lo spooler della stampante.";
        let snippet = h.snippet(text, 8);
        assert!(snippet.contains("<mark>stampante</mark>"), "{snippet}");
        assert!(snippet.contains("&lt;HP&gt;"), "{snippet}");
        assert!(
            snippet.starts_with('…') || snippet.starts_with("Introduzione"),
            "{snippet}"
        );
        assert_eq!(
            h.mark("Stampante"),
            "<mark>Stampante</mark>",
            "case and stem both match"
        );
        let none = Highlighter::new("zebra", Language::En, Language::En).snippet("a b c d e", 3);
        assert_eq!(none, "a b c…");
    }
}
