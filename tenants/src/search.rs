//! Full-text search text preparation, shared by tickets and (later) the knowledge
//! base. PostgreSQL stems with the text-search configuration of the document's
//! language; SQLite's FTS5 stems only English, so for it the text is stemmed here
//! (Snowball, through `rust-stemmers`) before it is indexed, and the query is
//! stemmed the same way.
//!
//! Both backends index every word twice — stemmed in the document's language and
//! as written — and a query asks for the stem in the searcher's language *or* the
//! word as written: "stampanti" finds "stampante" in Italian documents, and an
//! exact word still matches a document written in another language.

use rust_stemmers::{Algorithm, Stemmer};

/// The languages Portico stems; anything else is indexed word for word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// English.
    En,
    /// French.
    Fr,
    /// German.
    De,
    /// Spanish.
    Es,
    /// Italian.
    It,
    /// Unknown: words as written.
    Other,
}

impl Language {
    /// From a language tag such as `it`, `de-CH` or `fr_FR`.
    pub fn from_tag(tag: &str) -> Language {
        let primary = tag
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Language::En,
            "fr" => Language::Fr,
            "de" => Language::De,
            "es" => Language::Es,
            "it" => Language::It,
            _ => Language::Other,
        }
    }

    /// PostgreSQL's text-search configuration for this language.
    pub fn pg_config(self) -> &'static str {
        match self {
            Language::En => "english",
            Language::Fr => "french",
            Language::De => "german",
            Language::Es => "spanish",
            Language::It => "italian",
            Language::Other => "simple",
        }
    }

    fn stemmer(self) -> Option<Stemmer> {
        let algorithm = match self {
            Language::En => Algorithm::English,
            Language::Fr => Algorithm::French,
            Language::De => Algorithm::German,
            Language::Es => Algorithm::Spanish,
            Language::It => Algorithm::Italian,
            Language::Other => return None,
        };
        Some(Stemmer::create(algorithm))
    }
}

/// At most this many words of one document are indexed (a 1 MB message is about
/// 150,000 words; the index need not hold every one of a pasted log file).
const MAX_INDEXED_WORDS: usize = 20_000;

/// The words of a text: letters and digits, lowercased, 1 to 64 characters.
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.chars().count() <= 64)
        .map(str::to_lowercase)
}

/// A folded form for comparison: lowercase with the common Latin diacritics
/// removed (FTS5's `remove_diacritics 2` does the same on its side).
pub(crate) fn fold(word: &str) -> String {
    word.chars().map(fold_char).collect()
}

/// One lowercase character with its common Latin diacritic removed.
pub(crate) fn fold_char(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// A lowercase word's stem in `language` (the word itself where nothing stems).
pub(crate) fn stem(word: &str, language: Language) -> String {
    match language.stemmer() {
        Some(stemmer) => stemmer.stem(word).into_owned(),
        None => word.to_owned(),
    }
}

/// The text FTS5 indexes for a document in `language`: each word's stem, then the
/// word itself when it differs.
pub fn index_text(text: &str, language: Language) -> String {
    let stemmer = language.stemmer();
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for word in words(text).take(MAX_INDEXED_WORDS) {
        let stem = match &stemmer {
            Some(stemmer) => stemmer.stem(&word).into_owned(),
            None => word.clone(),
        };
        out.push_str(&stem);
        out.push(' ');
        if fold(&stem) != fold(&word) {
            out.push_str(&word);
            out.push(' ');
        }
    }
    out
}

/// At most this many words of a query are used.
const MAX_QUERY_WORDS: usize = 12;

/// An FTS5 `MATCH` expression for what a person typed, in their `language`: every
/// word must match, as its stem or as written. `None` when nothing searchable was
/// typed. Words are quoted, so no FTS5 syntax from the input is ever interpreted.
pub fn fts5_query(query: &str, language: Language) -> Option<String> {
    fts5_terms(words(query).take(MAX_QUERY_WORDS), language, " AND ")
}

/// Like [`fts5_query`], but any word may match (ranking decides), and words of one
/// or two letters are left out: for a sentence such as a ticket's subject, whose
/// articles need not hold every word of it.
pub fn fts5_any_query(query: &str, language: Language) -> Option<String> {
    let long = words(query)
        .filter(|w| w.chars().count() >= 3)
        .take(MAX_QUERY_WORDS);
    fts5_terms(long, language, " OR ").or_else(|| fts5_query(query, language))
}

fn fts5_terms(
    words: impl Iterator<Item = String>,
    language: Language,
    joiner: &str,
) -> Option<String> {
    let stemmer = language.stemmer();
    let terms: Vec<String> = words
        .map(|word| {
            let stem = match &stemmer {
                Some(stemmer) => stemmer.stem(&word).into_owned(),
                None => word.clone(),
            };
            // Only letters and digits remain, so quoting needs no escaping.
            if fold(&stem) == fold(&word) {
                format!("\"{word}\"")
            } else {
                format!("(\"{stem}\" OR \"{word}\")")
            }
        })
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(joiner))
    }
}

/// The words of a query for PostgreSQL's `plainto_tsquery`, which reads plain text
/// (no `tsquery` syntax is ever interpreted) with the parser that indexed the
/// documents: the typed words are kept as they are, so a host name or error code
/// (`srv-4567`, `0x1f2e`) splits into the same tokens as in the messages. At most
/// [`MAX_QUERY_WORDS`] words with a letter or digit; `None` when there is none.
pub fn pg_query_text(query: &str) -> Option<String> {
    let words: Vec<&str> = query
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric) && w.chars().count() <= 64)
        .take(MAX_QUERY_WORDS)
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

/// Like [`pg_query_text`] for a sentence any word of which may match: words of
/// one or two letters are left out (unless nothing else is left).
pub fn pg_any_query_text(query: &str) -> Option<String> {
    let long: Vec<&str> = query
        .split_whitespace()
        .filter(|w| {
            w.chars().filter(|c| c.is_alphanumeric()).count() >= 3 && w.chars().count() <= 64
        })
        .take(MAX_QUERY_WORDS)
        .collect();
    if long.is_empty() {
        pg_query_text(query)
    } else {
        Some(long.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_come_from_tags() {
        assert_eq!(Language::from_tag("it"), Language::It);
        assert_eq!(Language::from_tag("de-CH"), Language::De);
        assert_eq!(Language::from_tag("fr_FR"), Language::Fr);
        assert_eq!(Language::from_tag("ES"), Language::Es);
        assert_eq!(Language::from_tag("pt"), Language::Other);
        assert_eq!(Language::from_tag(""), Language::Other);
        assert_eq!(Language::Other.pg_config(), "simple");
    }

    /// The stem of a query word is among the indexed words of a document holding
    /// another form of it, in each of the five languages.
    #[test]
    fn a_query_finds_another_form_of_the_word_in_each_language() {
        let cases = [
            (Language::It, "La stampante non funziona", "stampanti"),
            (Language::De, "Der Drucker druckt nicht", "Druckern"),
            (Language::Fr, "L'imprimante est bloquée", "imprimantes"),
            (Language::Es, "La impresora no imprime", "impresoras"),
            (
                Language::En,
                "The printer is printing blank pages",
                "printers",
            ),
        ];
        for (language, document, query) in cases {
            let text = index_text(document, language);
            let indexed: Vec<&str> = text.split_whitespace().collect();
            let expression = fts5_query(query, language).expect("a query");
            let stem = expression
                .trim_start_matches("(\"")
                .split('"')
                .next()
                .expect("a stem")
                .to_owned();
            assert!(
                indexed.contains(&stem.as_str()),
                "{language:?}: {stem} not in {indexed:?}"
            );
        }
    }

    #[test]
    fn queries_are_quoted_and_bounded() {
        assert_eq!(
            fts5_query("  \"NEAR(\" * ^ - ", Language::En).as_deref(),
            Some("\"near\"")
        );
        assert_eq!(fts5_query("*** ---", Language::En), None);
        assert_eq!(
            fts5_any_query("my printers hang", Language::En).as_deref(),
            Some("(\"printer\" OR \"printers\") OR \"hang\"")
        );
        assert_eq!(
            fts5_any_query("a b", Language::En).as_deref(),
            Some("\"a\" AND \"b\"")
        );
        assert_eq!(fts5_query("", Language::It), None);
        let long = "word ".repeat(100);
        let expression = fts5_query(&long, Language::Other).expect("a query");
        assert_eq!(expression.matches(" AND ").count(), MAX_QUERY_WORDS - 1);
        assert_eq!(
            pg_query_text("a & b | !c <-> d:*").as_deref(),
            Some("a b !c d:*")
        );
        assert_eq!(pg_query_text("&|!"), None);
        assert_eq!(
            pg_any_query_text("la mia stampante").as_deref(),
            Some("mia stampante")
        );
        assert_eq!(pg_any_query_text("a b").as_deref(), Some("a b"));
    }

    #[test]
    fn unknown_languages_index_words_as_written() {
        assert_eq!(index_text("Olá Mundo", Language::Other), "olá mundo ");
        assert_eq!(
            fts5_query("Mundo", Language::Other).as_deref(),
            Some("\"mundo\"")
        );
    }

    #[test]
    fn huge_documents_index_a_bounded_number_of_words() {
        let text = "stampante ".repeat(MAX_INDEXED_WORDS * 2);
        let indexed = index_text(&text, Language::It);
        assert!(indexed.split_whitespace().count() <= MAX_INDEXED_WORDS * 2);
    }
}
