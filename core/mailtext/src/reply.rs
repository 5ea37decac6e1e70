//! Reply extraction: what is new in a plain-text reply, without the quoted history below it and
//! without the signature.
//!
//! The text is read line by line. A line is empty, quoted (`>`), or text; quote headers ("On …
//! wrote:" in many languages, Outlook header blocks, "-----Original Message-----", Portico's own
//! `##- … -##` line) start the history. A header followed by a `>` block and new text, with no
//! further quote below, is bottom-posting: the header and the block go, the text stays. Text
//! interleaved with several quote blocks is an inline reply and is kept with its quotes. Every
//! pattern is anchored to one line (or a few joined lines of bounded length), so the whole pass is
//! linear in the size of the text.

use std::sync::LazyLock;

use regex::Regex;

/// Lines longer than this are never taken for quote headers or signatures (they are prose).
const MAX_HEADER_LENGTH: usize = 400;
/// How many physical lines a wrapped "On … wrote:" header may span.
const MAX_HEADER_LINES: usize = 5;
/// How many lines below a `From:` line the other header fields of a header block may appear.
const HEADER_BLOCK_WINDOW: usize = 8;

fn regex(pattern: &str) -> Regex {
    // The patterns are constants checked by the unit tests; a typo is a bug caught there.
    Regex::new(pattern).expect("reply extraction pattern is valid")
}

/// Portico's "reply above this line" marker, in any language, possibly quoted.
static PORTICO_MARKER: LazyLock<Regex> = LazyLock::new(|| regex(r"^[\s>]*##-.*-##\s*$"));

/// "-----Original Message-----" and its translations.
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^[\s>*]*-{2,}\s*(original message|reply message|original|ursprüngliche nachricht|antwort nachricht|originalnachricht|message d'origine|message original|messaggio originale|messaggio di risposta|mensaje original|mensagem original|oorspronkelijk bericht|origineel bericht|oprindelig meddelelse|opprinnelig melding|ursprungligt meddelande|originalmeddelande|alkuperäinen viesti|původní zpráva|pôvodná správa|wiadomość oryginalna|oryginalna wiadomość|eredeti üzenet|исходное сообщение|оригинальное сообщение|вихідне повідомлення|orijinal ileti|αρχικό μήνυμα|原始邮件|原始郵件)\s*-{2,}[\s*]*$",
    )
});

/// A forwarded message's separator: what follows it is content, not history.
static FORWARDED: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^[\s>]*(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transféré|messaggio inoltrato|mensaje reenviado|mensaje original reenviado|doorgestuurd bericht|mensagem encaminhada|wiadomość przekazana|пересылаемое сообщение|videresendt meddelelse|vidarebefordrat meddelande)\s*-{2,}|begin forwarded message:|anfang der weitergeleiteten nachricht:|début du message réexpédié :?|début du message transféré :?|inizio messaggio inoltrato:|comienzo del mensaje reenviado:|mensaje reenviado:)\s*$",
    )
});

/// The verbs that end an attribution line ("… wrote:"), in the languages mail clients use.
const WROTE: &str = r"(wrote|writes|a écrit|a ecrit|écrit|escribió|escribio|ha scritto|scrisse|escreveu|schreef|het volgende geschreven|geschreven|napisał\(a\)|napisał|napisała|napisal|pisze|skrev|skrev følgende|kirjoitti|написал\(а\)|написал|написала|написав|написала|đã viết|yazdı|napsal|napísal|írta|schrieb|пише|пишет|sent)";

/// An attribution that starts with a localized "On"/"Am"/"Le"… and ends with a "wrote" verb.
static ATTRIBUTION_ON: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"(?i)^[\s-]*(on|am|le|el|il|il giorno|op|em|den|på|w dniu|dnia|vào|dne|el día|in data)\s.*\b{WROTE}\b[^\n]{{0,120}}?:?[\s-]*$"
    ))
});

/// An attribution ending with "wrote:" (colon required) that names a date or an address.
static ATTRIBUTION_COLON: LazyLock<Regex> =
    LazyLock::new(|| regex(&format!(r"(?i)^.*\b{WROTE}\s*:\s*$")));

/// "---- John Smith wrote ----" (Android) and "-----On … wrote-----".
static ATTRIBUTION_DASHED: LazyLock<Regex> =
    LazyLock::new(|| regex(&format!(r"(?i)^\s*-{{2,}}.*\b{WROTE}\s*:?\s*-{{2,}}\s*$")));

/// Gmail's old "2011/4/7 Name <address>" and "2014-10-17 11:28 GMT+03:00 Name <address>:".
static ATTRIBUTION_DATE_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}\b.{0,200}(<\S*@\S+>|<\s*\S*@\S+\s*>:?|<)\s*:?\s*$",
    )
});

/// "Name <address> schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:" (Gmail puts the name first in
/// several languages).
static ATTRIBUTION_NAME_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^.{1,200}\b(schrieb|wrote|escribió|a écrit|ha scritto|skrev|schreef|escreveu|napisał)\s+(am|on|le|el|il|op|em|den|w dniu)\s.{1,120}:\s*$",
    )
});

/// "26.06.2014, 14:41, "Name" <address>:" and "Thu, 26 Jun 2014 14:00:51 +0400 от Name
/// <address>:": a time, then an address and a colon at the end.
static ATTRIBUTION_TIME_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^.{0,120}\b[0-9]{1,2}:[0-9]{2}\b.{0,160}<[^<>\s]+@[^<>\s]+>\s*:\s*$"));

/// Gmail's "2016-03-03 17:21 GMT+01:00 Some One".
static ATTRIBUTION_GMAIL_DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{1,2}:[0-9]{2} GMT[+-][0-9]{1,2}(:[0-9]{2})? \S.{0,160}$",
    )
});

/// Chinese and Japanese attributions ("… 写道：").
static ATTRIBUTION_CJK: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(写道|寫道|のメッセージ|が書きました)\s*[:：]?\s*$"));

/// A reply and the attribution sharing a line: "reply On Wed, Apr 4, 2012 … wrote:".
static ATTRIBUTION_INLINE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)^(.*?\S)\s*-*\s*\bOn\s[^\n]*[0-9][^\n]*\b(wrote|sent)\s*:\s*$"));

/// The first field of an Outlook-style header block.
static HEADER_FROM: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^[\s>*]*(from|von|de|da|van|od|fra|från|frá|от|від|lähettäjä|feladó|kimden|gönderen|apo|發件人|发件人|寄件者|差出人|date|sent|datum|envoyé|enviado|gesendet)\s*\*?\s*[:：]\s*\*?\s*\S",
    )
});

/// Any field of an Outlook-style header block, with the field name captured.
static HEADER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^[\s>*]*(from|von|de|da|van|od|fra|från|frá|от|від|lähettäjä|feladó|kimden|gönderen|發件人|发件人|寄件者|差出人|sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|envoye|à|a|objet|inviato|data|oggetto|enviado|enviado el|enviada em|fecha|para|asunto|assunto|verzonden|aan|onderwerp|wysłano|wysłane|do|temat|sendt|til|emne|skickat|till|ämne|отправлено|дата|кому|тема|надіслано|lähetetty|vastaanottaja|aihe|elküldve|címzett|tárgy|gönderildi|kime|konu|收件人|主题|主旨|日期|发送时间|傳送時間|件名|宛先|送信日時)\s*\*?\s*[:：]",
    )
});

/// A separator line made of one repeated symbol (`-----`, `_____`, `=====`).
static SYMBOL_LINE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^\s*(-{2,}|_{3,}|={3,}|\*{3,}|#{3,}|~{3,}|\+{3,})\s*$"));

/// Signature delimiters: `-- `, `--`, `---`, `___`, a lone em dash.
static SIGNATURE_DELIMITER: LazyLock<Regex> = LazyLock::new(|| regex(r"^\s*(-{2,}|_{2,}|—)\s*$"));

/// A short "-Name" sign-off line.
static DASH_NAME: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^-\s?\p{L}[\p{L}.'’]*(\s\p{L}[\p{L}.'’]*){0,2}\.?\s*$"));

/// "Sent from my iPhone" and the other mobile and app signatures, in many languages.
static SENT_FROM: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?ix)^[\s(<\[]*(
            (sent|sent\swirelessly|envoyé|envoye|enviado|inviato|verzonden|gesendet|sendt|skickat|wysłane|wysłano|отправлено|надіслано|lähetetty|odesláno|gönderildi)\s
                (from|with|via|using|by|depuis|de|desde|do|da|con|met|vanaf|von|mit|fra|från|z|с|з|från)\s
                [^,;!?]{1,80}
            | von\smeinem\s[^,;:!?]{1,40}\sgesendet
            | diese\snachricht\swurde\svon\smeinem\s.{1,80}gesendet
            | envoyé\ssans\sfil\spar\s.{1,80}
            | get\s\[?outlook\sfor\s.{1,80}
            | (holen\ssie\ssich|obtenir|scarica|obtener|baixe)\s\[?outlook\s.{1,80}
            | 从我的.{1,30}发送
            | 從我的.{1,30}傳送
            | .{1,20}から送信
        )[\s.!)>\]]*$",
    )
});

/// Sign-off words that may open a signature (used by [`split_signature`] only: the reply keeps them).
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*(thanks|thank you|thanks again|many thanks|regards|best regards|kind regards|warm regards|best wishes|best|cheers|sincerely|yours|yours truly|grazie|saluti|cordiali saluti|distinti saluti|un saluto|gruß|grüße|viele grüße|beste grüße|mit freundlichen grüßen|lg|mfg|merci|cordialement|bien à vous|bonne journée|gracias|saludos|un saludo|atentamente|obrigado|obrigada|atenciosamente|groeten|met vriendelijke groet)\s*[!,.]*\s*$",
    )
});

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Empty,
    Quoted,
    Text,
}

/// The new reply text of a plain-text body: without quoted history, without the signature,
/// trimmed. Sign-offs such as "Thanks, Anna" are kept.
pub fn extract_reply(text: &str) -> String {
    let without_quotes = strip(text, Forwards::Drop);
    let (body, _) = split(&without_quotes, false);
    // A quote may sit between the reply and the signature: with the signature gone it trails.
    let lines: Vec<String> = body.split('\n').map(str::to_owned).collect();
    let last = trailing_quote_start(&lines);
    if lines[..last].iter().any(|line| !line.trim().is_empty()) {
        return lines[..last].join("\n").trim().to_owned();
    }
    body.trim().to_owned()
}

/// Removes the quoted history from a plain-text body and keeps everything else, signature
/// included. Leading empty lines and trailing whitespace are removed.
pub fn strip_quotations(text: &str) -> String {
    strip(text, Forwards::Keep)
}

/// What to do with a forwarded message inside the body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Forwards {
    /// A forward is content: keep it whole.
    Keep,
    /// A forward below new text is history; a forward with nothing above it is the content, so
    /// only its header block goes.
    Drop,
}

fn strip(text: &str, forwards: Forwards) -> String {
    let normalized = normalize(text);
    let lines: Vec<&str> = normalized.split('\n').collect();
    let kinds = line_kinds(&lines);
    let mut keep = vec![true; lines.len()];
    let mut end = lines.len();
    let mut replaced_last: Option<String> = None;
    let mut interleaved = false;
    let mut index = 0;
    while index < end {
        let line = lines[index];
        if PORTICO_MARKER.is_match(line) {
            end = index;
            break;
        }
        if kinds[index] != Kind::Text {
            index += 1;
            continue;
        }
        if ORIGINAL_MESSAGE.is_match(line) {
            end = extend_cut_upwards(&lines, index);
            break;
        }
        if FORWARDED.is_match(line) {
            if forwards == Forwards::Keep {
                // A forward is content the sender chose to include: nothing below it is history.
                break;
            }
            if keep[..index]
                .iter()
                .zip(&kinds[..index])
                .any(|(kept, kind)| *kept && *kind != Kind::Empty)
            {
                end = extend_cut_upwards(&lines, index);
                break;
            }
            // Nothing above: the forwarded message is the content; drop its separator and header.
            let mut header_end = index + 1;
            while header_end < end && kinds[header_end] == Kind::Empty {
                header_end += 1;
            }
            while header_end < end && kinds[header_end] != Kind::Empty {
                header_end += 1;
            }
            for flag in &mut keep[index..header_end] {
                *flag = false;
            }
            index = header_end;
            continue;
        }
        if is_header_block(&lines, index) {
            end = extend_cut_upwards(&lines, index);
            break;
        }
        if let Some(captures) = ATTRIBUTION_INLINE.captures(line)
            && line.len() <= MAX_HEADER_LENGTH
            && next_non_empty(&kinds, index + 1, end)
                .is_some_and(|next| kinds[next] == Kind::Quoted)
        {
            let prefix = captures
                .get(1)
                .map_or("", |prefix| prefix.as_str())
                .trim_end_matches(['-', ' ']);
            if !prefix.is_empty() && !starts_like_attribution(prefix) {
                replaced_last = Some(prefix.to_owned());
                end = index + 1;
                break;
            }
        }
        if let Some(header_end) = attribution_at(&lines, index) {
            let next = next_non_empty(&kinds, header_end + 1, end);
            let nothing_above = !keep[..index]
                .iter()
                .zip(&kinds[..index])
                .any(|(kept, kind)| *kept && *kind != Kind::Empty);
            if next.is_some_and(|next| kinds[next] == Kind::Quoted) {
                let quote_end = quote_block_end(&kinds, header_end + 1, end);
                if interleaved || is_followed_by_inline_reply(&lines, &kinds, quote_end, end) {
                    interleaved = true;
                    index = quote_end;
                    continue;
                }
                // Bottom-posting: drop the attribution, the quote and the blank lines after it.
                let mut drop_end = quote_end;
                while drop_end < end && kinds[drop_end] == Kind::Empty {
                    drop_end += 1;
                }
                for flag in &mut keep[index..drop_end] {
                    *flag = false;
                }
                index = drop_end;
                continue;
            }
            if nothing_above {
                // An attribution with nothing above it and no quote below introduces the text
                // that follows (a forward written as a reply): only the attribution goes.
                for flag in &mut keep[index..=header_end] {
                    *flag = false;
                }
                index = header_end + 1;
                continue;
            }
            end = extend_cut_upwards(&lines, index);
            break;
        }
        index += 1;
    }

    let mut kept: Vec<String> = Vec::new();
    for position in 0..end {
        if !keep[position] {
            continue;
        }
        if position + 1 == end
            && let Some(prefix) = &replaced_last
        {
            kept.push(prefix.clone());
        } else {
            kept.push(lines[position].to_owned());
        }
    }
    // A quote block (and blank lines) at the very end is history, unless it is all there is.
    let last = trailing_quote_start(&kept);
    let only_quotes = !kept[..last].iter().any(|line| !line.trim().is_empty());
    if !only_quotes || quote_opens_with_attribution(&kept) {
        kept.truncate(last);
    }
    tidy(&kept.join("\n"))
}

/// Splits a reply into its body and its signature, when one is found.
///
/// A signature starts at a delimiter (`--`, `---`, `__`), a "-Name" line, a sign-off word
/// ("Thanks", "Regards", "Cordiali saluti", …) near the end, or a mobile signature ("Sent from my
/// iPhone", "Von meinem iPhone gesendet"), and never on the first line.
pub fn split_signature(text: &str) -> (String, Option<String>) {
    split(text, true)
}

fn split(text: &str, closings: bool) -> (String, Option<String>) {
    let normalized = normalize(text);
    let lines: Vec<&str> = normalized.split('\n').collect();
    let Some(first) = lines.iter().position(|line| !is_blank(line)) else {
        return (tidy(&normalized), None);
    };
    // non_empty_from[i]: how many non-empty lines there are from line i to the end.
    let mut non_empty_from = vec![0usize; lines.len() + 1];
    for index in (0..lines.len()).rev() {
        non_empty_from[index] = non_empty_from[index + 1] + usize::from(!is_blank(lines[index]));
    }
    let mut start = None;
    let mut in_code = lines[first].trim_start().starts_with("```");
    for (index, line) in lines.iter().enumerate().skip(first + 1) {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || trimmed.is_empty() || line.len() > MAX_HEADER_LENGTH {
            continue;
        }
        let remaining = non_empty_from[index];
        let found = if SENT_FROM.is_match(trimmed) {
            true
        } else if SIGNATURE_DELIMITER.is_match(trimmed) {
            remaining <= 20
        } else if remaining <= 6 && DASH_NAME.is_match(line) {
            let next_is_bullet = lines[index + 1..]
                .iter()
                .find(|next| !is_blank(next))
                .is_some_and(|next| next.trim_start().starts_with('-'));
            let previous_is_bullet = lines[..index]
                .iter()
                .rev()
                .find(|previous| !is_blank(previous))
                .is_some_and(|previous| previous.trim_start().starts_with('-'));
            !next_is_bullet && !previous_is_bullet
        } else if closings && CLOSING.is_match(trimmed) {
            remaining <= 4
        } else {
            false
        };
        if found {
            start = Some(index);
            break;
        }
    }
    match start {
        Some(start) => {
            let body = tidy(&lines[..start].join("\n"));
            let signature = tidy(&lines[start..].join("\n"));
            (body, Some(signature))
        }
        None => (tidy(&normalized), None),
    }
}

/// Unifies line endings and drops characters that only trackers and editors insert.
fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace(['\u{feff}', '\u{1427}', '\u{200b}'], "")
}

/// Leading empty lines and trailing whitespace removed; inner lines untouched.
fn tidy(text: &str) -> String {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            start += line.len();
        } else {
            break;
        }
    }
    text[start.min(text.len())..].trim_end().to_owned()
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn line_kinds(lines: &[&str]) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = lines
        .iter()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.is_empty() {
                Kind::Empty
            } else if trimmed.starts_with('>') {
                Kind::Quoted
            } else {
                Kind::Text
            }
        })
        .collect();
    // A link broken by the sender's client inside a quote leaves an unquoted piece between two
    // quoted lines: it belongs to the quote.
    for index in 1..lines.len().saturating_sub(1) {
        if kinds[index] == Kind::Text
            && kinds[index - 1] == Kind::Quoted
            && kinds[index + 1] == Kind::Quoted
        {
            let line = lines[index].trim();
            if line.contains("://") || !line.contains(char::is_whitespace) || line.ends_with('>') {
                kinds[index] = Kind::Quoted;
            }
        }
    }
    kinds
}

fn next_non_empty(kinds: &[Kind], from: usize, end: usize) -> Option<usize> {
    (from..end).find(|index| kinds[*index] != Kind::Empty)
}

/// The end (exclusive) of the quote block starting at or after `from`: quoted lines with blank
/// lines between them, not counting blank lines after the last quoted line.
fn quote_block_end(kinds: &[Kind], from: usize, end: usize) -> usize {
    let mut last_quoted = from;
    let mut index = from;
    while index < end {
        match kinds[index] {
            Kind::Quoted => last_quoted = index + 1,
            Kind::Empty => {}
            Kind::Text => break,
        }
        index += 1;
    }
    last_quoted
}

/// Whether new text follows the quote block and another quote block follows that text.
fn is_followed_by_inline_reply(lines: &[&str], kinds: &[Kind], from: usize, end: usize) -> bool {
    let mut seen_text = false;
    for index in from..end {
        match kinds[index] {
            Kind::Text => {
                let line = lines[index];
                if PORTICO_MARKER.is_match(line)
                    || ORIGINAL_MESSAGE.is_match(line)
                    || is_header_block(lines, index)
                    || SENT_FROM.is_match(line.trim())
                    || SIGNATURE_DELIMITER.is_match(line)
                {
                    return false;
                }
                if attribution_at(lines, index).is_some() {
                    return false;
                }
                seen_text = true;
            }
            Kind::Quoted if seen_text => return true,
            _ => {}
        }
    }
    false
}

/// When an attribution ("On … wrote:") starts at `index`, the index of its last line.
fn attribution_at(lines: &[&str], index: usize) -> Option<usize> {
    let first = lines[index];
    if first.len() > MAX_HEADER_LENGTH {
        return None;
    }
    let on_like = starts_like_attribution(first);
    // Other lines may continue only when they name a date or an address, and without blank lines.
    let may_continue = on_like
        || first.contains('@')
        || first.contains('<')
        || first.bytes().any(|byte| byte.is_ascii_digit());
    let mut joined = String::with_capacity(first.len() + 64);
    for (offset, line) in lines[index..].iter().take(MAX_HEADER_LINES).enumerate() {
        if offset > 0 {
            if line.trim_start().starts_with('>') && !line.trim_start().starts_with("> wrote") {
                break;
            }
            if is_blank(line) {
                if on_like {
                    continue;
                }
                break;
            }
            if starts_like_attribution(line) {
                // A new attribution starts here: the lines above are prose, not its beginning.
                return None;
            }
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if joined.len() > MAX_HEADER_LENGTH {
            return None;
        }
        if is_attribution(&joined) {
            return Some(index + offset);
        }
        if offset == 0 && !may_continue {
            return None;
        }
    }
    None
}

/// Where the block of quoted and blank lines at the end of `lines` starts.
fn trailing_quote_start(lines: &[String]) -> usize {
    let mut last = lines.len();
    while last > 0 {
        let line = lines[last - 1].trim();
        if line.is_empty() || line.starts_with('>') {
            last -= 1;
        } else {
            break;
        }
    }
    last
}

/// Whether a body made only of quoted lines opens with a quoted attribution ("> On … wrote:"):
/// then it is only history. A bare quote without attribution is kept, as it may be all the
/// sender meant to say.
fn quote_opens_with_attribution(lines: &[String]) -> bool {
    let Some(first) = lines.iter().position(|line| !line.trim().is_empty()) else {
        return false;
    };
    let unquoted: Vec<String> = lines[first..]
        .iter()
        .take(MAX_HEADER_LINES)
        .map(|line| line.trim_start().trim_start_matches(['>', ' ']).to_owned())
        .collect();
    let borrowed: Vec<&str> = unquoted.iter().map(String::as_str).collect();
    attribution_at(&borrowed, 0).is_some()
}

fn starts_like_attribution(line: &str) -> bool {
    static START: LazyLock<Regex> = LazyLock::new(|| {
        regex(
            r"(?i)^[\s-]*(on|am|le|el|il|il giorno|op|em|den|på|w dniu|dnia|vào|dne|el día|in data)\s|^\s*[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}\b|^\s*[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{2,4}\b",
        )
    });
    START.is_match(line)
}

fn is_attribution(joined: &str) -> bool {
    let has_date_or_address =
        joined.contains('@') || joined.bytes().any(|byte| byte.is_ascii_digit());
    if ATTRIBUTION_DASHED.is_match(joined) {
        return true;
    }
    if ATTRIBUTION_ON.is_match(joined) && has_date_or_address {
        return true;
    }
    if ATTRIBUTION_COLON.is_match(joined) && has_date_or_address {
        return true;
    }
    if ATTRIBUTION_DATE_ADDRESS.is_match(joined) {
        return true;
    }
    if ATTRIBUTION_NAME_FIRST.is_match(joined) && has_date_or_address {
        return true;
    }
    if ATTRIBUTION_TIME_ADDRESS.is_match(joined) || ATTRIBUTION_GMAIL_DATE.is_match(joined) {
        return true;
    }
    if ATTRIBUTION_CJK.is_match(joined) && has_date_or_address {
        return true;
    }
    false
}

/// Whether an Outlook-style header block ("From: … Sent: … To: … Subject: …") starts at `index`.
fn is_header_block(lines: &[&str], index: usize) -> bool {
    let line = lines[index];
    if line.len() > MAX_HEADER_LENGTH || !HEADER_FROM.is_match(line) {
        return false;
    }
    let mut names: Vec<String> = Vec::new();
    let mut fields = 0;
    for candidate in lines[index..].iter().take(HEADER_BLOCK_WINDOW) {
        if candidate.len() > MAX_HEADER_LENGTH {
            break;
        }
        if let Some(captures) = HEADER_FIELD.captures(candidate) {
            let name = captures
                .get(1)
                .map_or(String::new(), |name| name.as_str().to_lowercase());
            if !names.contains(&name) {
                names.push(name);
                fields += 1;
            }
        }
    }
    fields >= 2
}

/// Moves a cut up over the blank lines and separator lines (`-----`, `_____`) just above it.
fn extend_cut_upwards(lines: &[&str], mut index: usize) -> usize {
    while index > 0 {
        let previous = lines[index - 1];
        if is_blank(previous) || SYMBOL_LINE.is_match(previous) {
            index -= 1;
        } else {
            break;
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_attribution_and_quote_are_removed() {
        let text = "Thanks, it works now.\n\nOn Tue, Mar 4, 2025 at 10:02 AM Help Desk <help@example.com> wrote:\n> Did you try turning it off and on?\n> Bye";
        assert_eq!(extract_reply(text), "Thanks, it works now.");
    }

    #[test]
    fn wrapped_attribution_is_removed() {
        let text =
            "Ok\n\nOn Tue, Mar 4, 2025 at 10:02 AM Help Desk <\nhelp@example.com> wrote:\n\n> old";
        assert_eq!(extract_reply(text), "Ok");
    }

    #[test]
    fn italian_german_french_spanish_attributions_are_removed() {
        for text in [
            "Grazie!\n\nIl giorno mar 4 mar 2025 alle ore 10:02 Help <help@example.com> ha scritto:\n> vecchio",
            "Danke!\n\nAm 04.03.2025 um 10:02 schrieb Help <help@example.com>:\n> alt",
            "Merci !\n\nLe mar. 4 mars 2025 à 10:02, Help <help@example.com> a écrit :\n> ancien",
            "¡Gracias!\n\nEl mar, 4 mar 2025 a las 10:02, Help (<help@example.com>) escribió:\n> viejo",
        ] {
            let reply = extract_reply(text);
            assert!(!reply.contains('>'), "quote kept in {reply:?}");
            assert!(!reply.contains("2025"), "attribution kept in {reply:?}");
        }
    }

    #[test]
    fn outlook_header_blocks_are_cut_in_every_language() {
        for text in [
            "Done.\n\n________________________________\nFrom: Help <help@example.com>\nSent: Tuesday, March 4, 2025 10:02\nTo: Anna\nSubject: Printer",
            "Erledigt.\n\nVon: Help <help@example.com>\nGesendet: Dienstag, 4. März 2025 10:02\nAn: Anna\nBetreff: Drucker",
            "Fait.\n\nDe : Help <help@example.com>\nEnvoyé : mardi 4 mars 2025 10:02\nÀ : Anna\nObjet : Imprimante",
            "Fatto.\n\nDa: Help <help@example.com>\nInviato: martedì 4 marzo 2025 10:02\nA: Anna\nOggetto: Stampante",
            "Hecho.\n\nDe: Help <help@example.com>\nEnviado el: martes, 4 de marzo de 2025 10:02\nPara: Anna\nAsunto: Impresora",
        ] {
            let reply = extract_reply(text);
            assert!(!reply.contains("Help"), "header kept in {reply:?}");
            assert!(!reply.contains('_'));
        }
    }

    #[test]
    fn original_message_separator_cuts() {
        let text = "Test reply\n\n-----Ursprüngliche Nachricht-----\nVon: x";
        assert_eq!(extract_reply(text), "Test reply");
    }

    #[test]
    fn portico_marker_cuts_even_when_quoted() {
        let text = "Si, funziona.\n\n> ##- Rispondi sopra questa riga -##\n> Ticket 1042";
        assert_eq!(extract_reply(text), "Si, funziona.");
        let text = "Yes\n##- Please type your reply above this line -##\nold";
        assert_eq!(extract_reply(text), "Yes");
    }

    #[test]
    fn mobile_signatures_are_removed() {
        for (text, expected) in [
            ("Hello\n\nSent from my iPhone", "Hello"),
            ("Bonjour\n\nEnvoyé de mon iPhone", "Bonjour"),
            ("Hallo\n\nVon meinem iPhone gesendet", "Hallo"),
            ("Ciao\n\nInviato da iPhone", "Ciao"),
            ("Hola\n\nEnviado desde mi iPhone", "Hola"),
            ("Hi\n\nGet Outlook for iOS", "Hi"),
            (
                "Hi\n\nSent from my desk, it is much easier.",
                "Hi\n\nSent from my desk, it is much easier.",
            ),
        ] {
            assert_eq!(extract_reply(text), expected);
        }
    }

    #[test]
    fn inline_replies_are_kept() {
        let text = "On Tue, Apr 29, 2014 at 4:22 PM, Dev <dev@example.com> wrote:\n\n> question one?\n\nanswer one\n\n> question two?\n\nanswer two\n\n> old end";
        assert_eq!(
            extract_reply(text),
            "On Tue, Apr 29, 2014 at 4:22 PM, Dev <dev@example.com> wrote:\n\n> question one?\n\nanswer one\n\n> question two?\n\nanswer two"
        );
    }

    #[test]
    fn signature_is_split_off() {
        assert_eq!(
            split_signature("Wow. Awesome!\n--\nBob Smith"),
            ("Wow. Awesome!".to_owned(), Some("--\nBob Smith".to_owned()))
        );
        assert_eq!(split_signature("--\nRoman"), ("--\nRoman".to_owned(), None));
        assert_eq!(split_signature(""), (String::new(), None));
    }

    #[test]
    fn huge_and_odd_inputs_are_fast_and_safe() {
        let long = "> quoted line that goes on and on\n".repeat(50_000);
        let started = std::time::Instant::now();
        let _ = extract_reply(&format!("Top\n{long}"));
        let _ = extract_reply(&"On ".repeat(100_000));
        let _ = extract_reply(&"From: a\n".repeat(100_000));
        let _ = extract_reply("\r\r\n\n>");
        assert!(started.elapsed().as_secs() < 5);
    }
}
