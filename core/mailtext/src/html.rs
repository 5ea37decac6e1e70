//! HTML bodies to plain text, by hand: a single forward scan over tags and text, so any input,
//! however broken, converts in linear time. Quoted history (`<blockquote>`) becomes `> ` lines so
//! the plain-text reply extraction can recognise it.

/// Converts an HTML body to readable plain text.
///
/// Scripts, styles, comments and the document head are dropped; block elements start new lines;
/// `<blockquote>` content is prefixed with `> `; entities are decoded; runs of whitespace collapse
/// as a browser would, except inside `<pre>`.
pub fn html_to_text(html: &str) -> String {
    convert(html, false)
}

/// Converts the new part of an HTML reply to plain text: like [`html_to_text`], but stops at the
/// first element that mail clients use to wrap quoted history (Gmail's `gmail_quote`,
/// Thunderbird's `moz-cite-prefix`, `<blockquote type="cite">`, Outlook's `divRplyFwdMsg` and
/// `OLK_SRC_BODY_SECTION`, Yahoo's `yahoo_quoted`, Hotmail's `stopSpelling`).
pub fn html_reply_to_text(html: &str) -> String {
    convert(html, true)
}

/// Attribute fragments (lowercase) that mark the start of quoted history.
const QUOTE_CONTAINERS: &[&str] = &[
    "gmail_quote",
    "moz-cite-prefix",
    "yahoo_quoted",
    "divrplyfwdmsg",
    "appendonsend",
    "stopspelling",
    "olk_src_body_section",
    "type=\"cite\"",
    "type=cite",
    "type='cite'",
];

/// Elements whose whole content is dropped.
const SKIPPED: &[&str] = &[
    "script", "style", "head", "title", "xml", "template", "noscript",
];

/// Elements that end a line.
const LINE_BLOCKS: &[&str] = &[
    "div",
    "tr",
    "table",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "form",
    "address",
    "center",
    "caption",
    "tbody",
    "thead",
    "tfoot",
    "hr",
    "main",
    "aside",
    "figure",
    "figcaption",
    "fieldset",
    "legend",
    "details",
    "summary",
    "body",
    "html",
];

/// Elements that are separated from their neighbours by a blank line.
const PARAGRAPH_BLOCKS: &[&str] = &["p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"];

fn convert(html: &str, stop_at_quote: bool) -> String {
    // ASCII lowercasing keeps every byte offset, so positions found in `lower` index `html`.
    let lower = html.to_ascii_lowercase();
    let mut writer = Writer::default();
    let mut position = 0;
    let bytes = html.as_bytes();
    while position < bytes.len() {
        let Some(offset) = html[position..].find('<') else {
            writer.text(&html[position..]);
            break;
        };
        if offset > 0 {
            writer.text(&html[position..position + offset]);
        }
        position += offset;
        let rest = &lower[position..];
        if rest.starts_with("<!--") {
            position = match lower[position + 4..].find("-->") {
                Some(end) => position + 4 + end + 3,
                None => bytes.len(),
            };
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            position = match lower[position..].find('>') {
                Some(end) => position + end + 1,
                None => bytes.len(),
            };
            continue;
        }
        let closing = rest.as_bytes().get(1) == Some(&b'/');
        let name_start = position + if closing { 2 } else { 1 };
        let name_length = lower[name_start..]
            .bytes()
            .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b':' || *byte == b'-')
            .count();
        if name_length == 0 || !lower.as_bytes()[name_start].is_ascii_alphabetic() {
            // A lone `<` (as in `a < b` or `<3`) is text.
            writer.text("<");
            position += 1;
            continue;
        }
        let name = &lower[name_start..name_start + name_length];
        let tag_end = find_tag_end(bytes, name_start + name_length);
        let attributes = &lower[name_start + name_length..tag_end.min(bytes.len())];
        position = (tag_end + 1).min(bytes.len());

        if closing {
            writer.end_tag(name);
            continue;
        }
        if stop_at_quote
            && QUOTE_CONTAINERS
                .iter()
                .any(|marker| attributes.contains(marker))
        {
            break;
        }
        if SKIPPED.contains(&name) && !attributes.ends_with('/') {
            let closing_tag = format!("</{name}");
            if let Some(end) = lower[position..].find(&closing_tag) {
                let after = position + end;
                position = match lower[after..].find('>') {
                    Some(close) => after + close + 1,
                    None => bytes.len(),
                };
            }
            continue;
        }
        writer.start_tag(name);
    }
    writer.finish()
}

/// The index of the `>` that ends a tag whose attributes start at `from`, honouring quoted
/// attribute values; `bytes.len()` when the tag never ends.
fn find_tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote: Option<u8> = None;
    let mut index = from;
    let mut previous = b' ';
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            // Only a quote right after `=` opens a value; stray quotes elsewhere do not.
            None if (byte == b'"' || byte == b'\'') && previous == b'=' => quote = Some(byte),
            None if byte == b'>' => return index,
            None => {}
        }
        if !byte.is_ascii_whitespace() {
            previous = byte;
        }
        index += 1;
    }
    bytes.len()
}

#[derive(Default)]
struct Writer {
    out: String,
    pending_space: bool,
    at_line_start: bool,
    quote_depth: usize,
    preformatted: usize,
}

impl Writer {
    fn start_tag(&mut self, name: &str) {
        match name {
            "br" => self.hard_break(),
            "blockquote" => {
                self.paragraph_break();
                self.quote_depth += 1;
            }
            "pre" => {
                self.paragraph_break();
                self.preformatted += 1;
            }
            "td" | "th" => self.pending_space = true,
            "li" => {
                self.line_break();
                self.text("- ");
            }
            "img" => self.pending_space = true,
            _ if PARAGRAPH_BLOCKS.contains(&name) => self.paragraph_break(),
            _ if LINE_BLOCKS.contains(&name) => self.line_break(),
            _ => {}
        }
    }

    fn end_tag(&mut self, name: &str) {
        match name {
            "blockquote" => {
                self.paragraph_break();
                self.quote_depth = self.quote_depth.saturating_sub(1);
            }
            "pre" => {
                self.preformatted = self.preformatted.saturating_sub(1);
                self.paragraph_break();
            }
            "td" | "th" => self.pending_space = true,
            _ if PARAGRAPH_BLOCKS.contains(&name) => self.paragraph_break(),
            _ if LINE_BLOCKS.contains(&name) => self.line_break(),
            _ => {}
        }
    }

    fn text(&mut self, raw: &str) {
        let decoded = decode_entities(raw);
        for character in decoded.chars() {
            if self.preformatted > 0 {
                if character == '\n' {
                    self.hard_break();
                } else if character != '\r' {
                    self.push_visible(character);
                }
            } else if character.is_whitespace() && character != '\u{a0}' {
                self.pending_space = true;
            } else {
                let character = if character == '\u{a0}' {
                    ' '
                } else {
                    character
                };
                if self.pending_space && !self.at_line_start && !self.out.is_empty() {
                    self.out.push(' ');
                }
                self.pending_space = false;
                self.push_visible(character);
            }
        }
    }

    fn push_visible(&mut self, character: char) {
        if self.at_line_start || self.out.is_empty() {
            for _ in 0..self.quote_depth {
                self.out.push_str("> ");
            }
            self.at_line_start = false;
        }
        self.out.push(character);
    }

    fn trailing_newlines(&self) -> usize {
        self.out
            .bytes()
            .rev()
            .take_while(|byte| *byte == b'\n')
            .count()
    }

    fn hard_break(&mut self) {
        if self.out.is_empty() {
            return;
        }
        if self.at_line_start && self.quote_depth > 0 {
            for _ in 0..self.quote_depth {
                self.out.push('>');
            }
        }
        self.out.push('\n');
        self.pending_space = false;
        self.at_line_start = true;
    }

    fn line_break(&mut self) {
        if !self.out.is_empty() && self.trailing_newlines() == 0 {
            self.hard_break();
        }
        self.pending_space = false;
        self.at_line_start = true;
    }

    fn paragraph_break(&mut self) {
        if self.out.is_empty() {
            return;
        }
        while self.trailing_newlines() < 2 {
            self.out.push('\n');
        }
        self.pending_space = false;
        self.at_line_start = true;
    }

    fn finish(self) -> String {
        let mut result = String::with_capacity(self.out.len());
        let mut blank_run = 0;
        for line in self.out.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                blank_run += 1;
                if blank_run > 1 {
                    continue;
                }
            } else {
                blank_run = 0;
            }
            result.push_str(line);
            result.push('\n');
        }
        result.trim().to_owned()
    }
}

/// Decodes character references (`&amp;`, `&#233;`, `&#xE9;`) and the common named entities;
/// anything unknown is kept as written.
pub(crate) fn decode_entities(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('&') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(ampersand) = rest.find('&') {
        out.push_str(&rest[..ampersand]);
        rest = &rest[ampersand..];
        let candidate = &rest[1..];
        let end = candidate
            .char_indices()
            .take(12)
            .find(|(_, character)| !(character.is_ascii_alphanumeric() || *character == '#'))
            .map(|(index, _)| index)
            .unwrap_or(candidate.len().min(12));
        let name = &candidate[..end.min(candidate.len())];
        let has_semicolon = candidate[end.min(candidate.len())..].starts_with(';');
        match decode_entity(name) {
            Some(character) if !name.is_empty() => {
                out.push(character);
                let consumed = 1 + name.len() + usize::from(has_semicolon);
                rest = &rest[consumed..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let value = if let Some(hex) = number.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            number.parse::<u32>().ok()?
        };
        return match char::from_u32(value) {
            Some('\0') | None => Some('\u{fffd}'),
            Some(character) => Some(character),
        };
    }
    let character = match name {
        "nbsp" => '\u{a0}',
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "deg" => '°',
        "times" => '×',
        "divide" => '÷',
        "shy" => '\u{ad}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "ensp" | "emsp" | "thinsp" => ' ',
        "iexcl" => '¡',
        "iquest" => '¿',
        "szlig" => 'ß',
        "agrave" => 'à',
        "aacute" => 'á',
        "acirc" => 'â',
        "atilde" => 'ã',
        "auml" => 'ä',
        "aring" => 'å',
        "aelig" => 'æ',
        "ccedil" => 'ç',
        "egrave" => 'è',
        "eacute" => 'é',
        "ecirc" => 'ê',
        "euml" => 'ë',
        "igrave" => 'ì',
        "iacute" => 'í',
        "icirc" => 'î',
        "iuml" => 'ï',
        "ntilde" => 'ñ',
        "ograve" => 'ò',
        "oacute" => 'ó',
        "ocirc" => 'ô',
        "otilde" => 'õ',
        "ouml" => 'ö',
        "oslash" => 'ø',
        "ugrave" => 'ù',
        "uacute" => 'ú',
        "ucirc" => 'û',
        "uuml" => 'ü',
        "yacute" => 'ý',
        "yuml" => 'ÿ',
        "Agrave" => 'À',
        "Aacute" => 'Á',
        "Acirc" => 'Â',
        "Auml" => 'Ä',
        "Aring" => 'Å',
        "Ccedil" => 'Ç',
        "Egrave" => 'È',
        "Eacute" => 'É',
        "Ecirc" => 'Ê',
        "Igrave" => 'Ì',
        "Iacute" => 'Í',
        "Ntilde" => 'Ñ',
        "Ograve" => 'Ò',
        "Oacute" => 'Ó',
        "Ouml" => 'Ö',
        "Oslash" => 'Ø',
        "Ugrave" => 'Ù',
        "Uacute" => 'Ú',
        "Uuml" => 'Ü',
        _ => return None,
    };
    Some(character)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_breaks_and_entities_become_text() {
        let html = "<html><head><title>x</title><style>p{color:red}</style></head><body>\
                    <p>Ciao&nbsp;Mario,</p><p>grazie &amp; a presto<br>Luca</p></body></html>";
        assert_eq!(html_to_text(html), "Ciao Mario,\n\ngrazie & a presto\nLuca");
    }

    #[test]
    fn blockquotes_become_quoted_lines() {
        let html = "<div>Danke!</div><blockquote>Alte <b>Nachricht</b><br>Zeile 2</blockquote>";
        assert_eq!(html_to_text(html), "Danke!\n\n> Alte Nachricht\n> Zeile 2");
    }

    #[test]
    fn reply_text_stops_at_the_quote_container() {
        let html = "<div dir=\"ltr\">Merci beaucoup</div><div class=\"gmail_quote\">\
                    <div>Le lun. 3 mars 2025, Paul a écrit :</div><blockquote>Bonjour</blockquote></div>";
        assert_eq!(html_reply_to_text(html), "Merci beaucoup");
    }

    #[test]
    fn broken_html_never_panics() {
        for html in [
            "<",
            "<a",
            "<!--",
            "&",
            "&#",
            "&#x110000;",
            "<p>é&eacute",
            "a < b > c",
            "<script>",
        ] {
            let _ = html_to_text(html);
            let _ = html_reply_to_text(html);
        }
        assert_eq!(
            html_to_text("a < b &lt; c &#233;&#xE9; &bogus;"),
            "a < b < c éé &bogus;"
        );
    }
}
