//! From raw bytes to [`Parsed`]: headers, bodies, thread keys and attachments, by way of
//! `mail-parser`, which never panics and copes with broken MIME.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

use crate::{Address, Attachment, ParseError, Parsed, classify, html, reply, token};

/// Parses a raw RFC 5322 message into what Portico needs.
///
/// # Errors
///
/// [`ParseError::Empty`] when the input is only whitespace, [`ParseError::NotMail`] when no
/// header can be read from it.
pub fn parse(raw: &[u8]) -> Result<Parsed, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    // mail-parser has internal assertions (`debug_assert!`, found by fuzzing) and
    // indexing that broken MIME can trip: a panic there is this message's error, never
    // the caller's crash.
    std::panic::catch_unwind(|| parse_unguarded(raw)).unwrap_or_else(|_| {
        Err(ParseError::NotMail(
            "the MIME structure could not be read".to_owned(),
        ))
    })
}

/// The Message-ID and sender of a raw message from its headers alone (the cheap
/// reading a transport needs to queue it; [`parse`] reads everything later).
///
/// # Errors
///
/// As [`parse`].
pub fn envelope(raw: &[u8]) -> Result<(Option<String>, Option<Address>), ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    std::panic::catch_unwind(|| {
        let message = MessageParser::default()
            .parse_headers(raw)
            .filter(|m| !m.parts.is_empty() && !m.headers().is_empty())
            .ok_or_else(|| ParseError::NotMail("no header could be read".to_owned()))?;
        Ok((
            message
                .message_id()
                .map(clean_id)
                .filter(|id| !id.is_empty()),
            message.from().and_then(first_address),
        ))
    })
    .unwrap_or_else(|_| {
        Err(ParseError::NotMail(
            "the MIME structure could not be read".to_owned(),
        ))
    })
}

fn parse_unguarded(raw: &[u8]) -> Result<Parsed, ParseError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| ParseError::NotMail("no header could be read".to_owned()))?;
    // mail-parser's accessors index the root part: a message without one is not mail.
    if message.parts.is_empty() || message.headers().is_empty() {
        return Err(ParseError::NotMail("no header could be read".to_owned()));
    }

    let subject = message.subject().unwrap_or_default().trim().to_owned();
    let (text, html, reply_text) = bodies(&message);
    let mut markers = token::markers(html.as_deref().unwrap_or_default());
    for marker in token::markers(&text) {
        if !markers.contains(&marker) {
            markers.push(marker);
        }
    }

    Ok(Parsed {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        subject_token: token::subject_token(&subject),
        subject,
        markers,
        from: message.from().and_then(first_address),
        reply_to: message.reply_to().and_then(first_address),
        to: message.to().map(all_addresses).unwrap_or_default(),
        cc: message.cc().map(all_addresses).unwrap_or_default(),
        date: message
            .date()
            .filter(|date| date.is_valid())
            .map(mail_parser::DateTime::to_timestamp),
        text,
        html,
        reply_text,
        auto: classify::classify_message(&message),
        attachments: attachments(&message),
    })
}

/// The text body (text/plain preferred), the HTML body, and the new reply text.
fn bodies(message: &mail_parser::Message<'_>) -> (String, Option<String>, String) {
    let mut plain: Vec<&str> = Vec::new();
    for id in &message.text_body {
        if let Some(part) = message.parts.get(*id as usize)
            && let PartType::Text(text) = &part.body
        {
            plain.push(text.as_ref());
        }
    }
    let mut html_body: Option<String> = None;
    for id in &message.html_body {
        if let Some(part) = message.parts.get(*id as usize)
            && let PartType::Html(html) = &part.body
        {
            html_body = Some(html.as_ref().to_owned());
            break;
        }
    }
    if !plain.is_empty() {
        let text = plain.join("\n");
        let reply_text = reply::extract_reply(&text);
        return (text, html_body, reply_text);
    }
    match html_body {
        Some(html_source) => {
            let text = html::html_to_text(&html_source);
            let reply_text = reply::extract_reply(&html::html_reply_to_text(&html_source));
            (text, Some(html_source), reply_text)
        }
        None => (String::new(), None, String::new()),
    }
}

fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<String> = match value {
        HeaderValue::Text(text) => vec![text.to_string()],
        HeaderValue::TextList(list) => list.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    };
    raw.iter()
        .map(|id| clean_id(id))
        .filter(|id| !id.is_empty())
        .collect()
}

fn convert_address(address: &mail_parser::Addr<'_>) -> Option<Address> {
    let email = address.address.as_deref()?.trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    let name = address
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.eq_ignore_ascii_case(&email))
        .map(str::to_owned);
    Some(Address { name, email })
}

fn first_address(address: &mail_parser::Address<'_>) -> Option<Address> {
    address.iter().find_map(convert_address)
}

fn all_addresses(address: &mail_parser::Address<'_>) -> Vec<Address> {
    address.iter().filter_map(convert_address).collect()
}

fn attachments(message: &mail_parser::Message<'_>) -> Vec<Attachment> {
    let mut found = Vec::new();
    for (position, id) in message.attachments.iter().enumerate() {
        let Some(part) = message.parts.get(*id as usize) else {
            continue;
        };
        // mail-parser lists inline images among the body parts too: only text parts are bodies.
        let is_body_text = matches!(part.body, PartType::Text(_) | PartType::Html(_))
            && (message.text_body.contains(id) || message.html_body.contains(id));
        if is_body_text {
            continue;
        }
        let content_type = part
            .content_type()
            .map(|content_type| match content_type.subtype() {
                Some(subtype) => format!("{}/{}", content_type.ctype(), subtype),
                None => content_type.ctype().to_owned(),
            })
            .unwrap_or_else(|| match &part.body {
                PartType::Message(_) => "message/rfc822".to_owned(),
                PartType::Text(_) => "text/plain".to_owned(),
                PartType::Html(_) => "text/html".to_owned(),
                _ => "application/octet-stream".to_owned(),
            })
            .to_lowercase();
        let content_id = part.content_id().map(clean_id).filter(|id| !id.is_empty());
        let disposition_inline = part
            .content_disposition()
            .is_some_and(|disposition| disposition.ctype().eq_ignore_ascii_case("inline"));
        let disposition_attachment = part
            .content_disposition()
            .is_some_and(|disposition| disposition.ctype().eq_ignore_ascii_case("attachment"));
        let inline = disposition_inline || (content_id.is_some() && !disposition_attachment);
        let filename = part
            .attachment_name()
            .map(sanitize_filename)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| default_filename(position + 1, &content_type));
        let data = part_bytes(message, part).to_vec();
        found.push(Attachment {
            filename,
            size: data.len(),
            content_type,
            inline,
            content_id,
            data,
        });
    }
    found
}

/// Keeps the last path component and drops control characters, so a name is safe to show and
/// to offer as a download name.
fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .filter(|character| !character.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_owned()
}

fn default_filename(position: usize, content_type: &str) -> String {
    let extension = match content_type {
        "message/rfc822" => "eml",
        "text/plain" => "txt",
        "text/html" => "html",
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "text/calendar" => "ics",
        _ => "bin",
    };
    format!("attachment-{position}.{extension}")
}

/// A part's decoded contents. For an attached message, its raw bytes, read through the part's
/// offsets: `mail-parser`'s own accessor indexes the nested message's root part, which a broken
/// nested message may lack.
pub(crate) fn part_bytes<'a>(
    message: &'a mail_parser::Message<'_>,
    part: &'a mail_parser::MessagePart<'_>,
) -> &'a [u8] {
    match &part.body {
        PartType::Text(text) | PartType::Html(text) => text.as_bytes(),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => bytes.as_ref(),
        PartType::Message(nested) => {
            if let Some(root) = nested.parts.first() {
                nested
                    .raw_message
                    .get(root.offset_header as usize..root.offset_end as usize)
                    .unwrap_or_default()
            } else {
                message
                    .raw_message
                    .get(part.offset_body as usize..part.offset_end as usize)
                    .unwrap_or_default()
            }
        }
        PartType::Multipart(_) => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AutoKind, SubjectToken};

    #[test]
    fn a_reply_is_parsed_into_thread_keys_addresses_and_new_text() {
        let raw = b"Message-ID: <reply-1@example.com>\r\n\
In-Reply-To: <ticket-1042@portico.example>\r\n\
References: <ticket-1042@portico.example> <note-7@portico.example>\r\n\
From: \"Anna Rossi\" <Anna.Rossi@Example.COM>\r\n\
To: Help <help@portico.example>, bob@example.com\r\n\
Cc: <carla@example.com>\r\n\
Subject: =?utf-8?q?R=3A_AW=3A_=5B=231042-k7f2=5D_Stampante_guasta?=\r\n\
Date: Tue, 04 Mar 2025 10:02:00 +0100\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Grazie, ora funziona.\r\n\
\r\n\
Il giorno mar 4 mar 2025 alle ore 09:00 Help <help@portico.example> ha scritto:\r\n\
> ##- Rispondi sopra questa riga -##\r\n\
> portico-ref:1042-k7f2\r\n";
        let parsed = parse(raw).expect("the message parses");
        assert_eq!(parsed.message_id.as_deref(), Some("reply-1@example.com"));
        assert_eq!(parsed.in_reply_to, vec!["ticket-1042@portico.example"]);
        assert_eq!(parsed.references.len(), 2);
        assert_eq!(parsed.subject, "R: AW: [#1042-k7f2] Stampante guasta");
        let token = SubjectToken {
            number: 1042,
            tag: "k7f2".to_owned(),
        };
        assert_eq!(parsed.subject_token, Some(token.clone()));
        assert_eq!(parsed.markers, vec![token]);
        let from = parsed.from.expect("a sender");
        assert_eq!(from.email, "anna.rossi@example.com");
        assert_eq!(from.name.as_deref(), Some("Anna Rossi"));
        assert_eq!(parsed.to.len(), 2);
        assert_eq!(parsed.cc[0].email, "carla@example.com");
        assert_eq!(parsed.date, Some(1_741_078_920));
        assert_eq!(parsed.reply_text, "Grazie, ora funziona.");
        assert_eq!(parsed.auto, None);
        assert!(parsed.attachments.is_empty());
    }

    #[test]
    fn html_only_mail_is_converted_and_its_quote_dropped() {
        let raw = b"From: jean@example.fr\r\nSubject: Re: [#7-abcd] Imprimante\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<div>Merci, c&#39;est r&eacute;gl&eacute;.</div><div class=\"gmail_quote\">Le lun. 3 mars 2025, Help a \xc3\xa9crit :<blockquote>Bonjour<span style=\"display:none\">portico-ref:7-abcd</span></blockquote></div>";
        let parsed = parse(raw).expect("the message parses");
        assert_eq!(parsed.reply_text, "Merci, c'est réglé.");
        assert!(parsed.text.contains("> Bonjour"));
        assert!(parsed.html.is_some());
        assert_eq!(parsed.markers.len(), 1);
    }

    #[test]
    fn attachments_and_inline_images_are_listed_but_not_the_bodies() {
        let raw = b"From: juan@example.es\r\nSubject: Factura\r\n\
Content-Type: multipart/mixed; boundary=x\r\n\r\n\
--x\r\nContent-Type: text/plain\r\n\r\nHola, adjunto la factura.\r\n\
--x\r\nContent-Type: application/pdf; name=\"../factura.pdf\"\r\nContent-Disposition: attachment; filename=\"../factura.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n\
--x\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n\
--x--\r\n";
        let parsed = parse(raw).expect("the message parses");
        assert_eq!(parsed.reply_text, "Hola, adjunto la factura.");
        assert_eq!(parsed.attachments.len(), 2);
        let pdf = &parsed.attachments[0];
        assert_eq!(pdf.filename, "factura.pdf");
        assert_eq!(pdf.content_type, "application/pdf");
        assert_eq!(pdf.data, b"%PDF-");
        assert!(!pdf.inline);
        let logo = &parsed.attachments[1];
        assert!(logo.inline);
        assert_eq!(logo.content_id.as_deref(), Some("logo@x"));
        assert_eq!(logo.filename, "attachment-2.png");
        assert_eq!(logo.size, 4);
    }

    #[test]
    fn a_german_vacation_notice_is_an_auto_reply() {
        let raw = b"From: max@example.de\r\nSubject: Abwesenheitsnotiz: [#9-abcd] Drucker\r\nAuto-Submitted: auto-replied\r\n\r\nIch bin bis Montag nicht im B\xc3\xbcro.";
        let parsed = parse(raw).expect("the message parses");
        assert_eq!(parsed.auto, Some(AutoKind::AutoReply));
        assert_eq!(parsed.subject_token.map(|token| token.number), Some(9));
    }

    #[test]
    fn empty_and_headerless_input_is_refused() {
        assert!(matches!(parse(b""), Err(ParseError::Empty)));
        assert!(matches!(parse(b"  \r\n\t"), Err(ParseError::Empty)));
        for raw in [&b"\x00\x01\x02"[..], b"\xff", b"From", b":\r\n\r\n"] {
            // Either refused or read: never a panic.
            let _ = parse(raw);
        }
    }
}
