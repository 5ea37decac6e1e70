//! Automated mail: bounces, vacation replies, read receipts, abuse reports and list mail, which
//! Portico must never answer and never let reopen a ticket.
//!
//! The decision uses, in order: the MIME report type (RFC 6522) and report parts, the RFC 3834
//! `Auto-Submitted` header and its non-standard cousins, the sender (`MAILER-DAEMON`,
//! `postmaster`), the subject lines that bounce and vacation messages use in many languages, and
//! finally the list headers (`List-Id`, `List-Unsubscribe`, `Precedence`).

use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MimeHeaders};
use regex::Regex;

use crate::AutoKind;

fn regex(pattern: &str) -> Regex {
    // The patterns are constants exercised by the unit tests.
    Regex::new(pattern).expect("classification pattern is valid")
}

/// Subjects of non-standard delivery failure notices.
static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?ix)^\s*(
            undeliver(ed|able)\b | undelivered\smail | delivery\sstatus\snotification | delivery\snotification
          | delivery\sfail | delivery\sfailure | delivery\shas\sfailed | delivery\sproblem | delivery\sreport
          | failure\snotice | failed\sdelivery | mail\sdelivery\sfail | mail\sdelivery\sfailed | mail\sdelivery\ssystem
          | mail\sdelivery\sproblem | mail\sdelivery\swarning | mail\sfailure | mail\ssystem\serror | message\sdelivery\sfail
          | returned\smail | returned\smessage | return(ed)?\sto\ssender | non[-\s]?delivery | nondeliverable | non\sremis
          | could\snot\sdeliver | could\snot\ssend | cannot\sdeliver | unable\sto\sdeliver | message\snot\sdelivered
          | message\sdelayed | delivery\sdelayed | delayed\smail | warning:\s(could\snot|message) | mail\scould\snot\sbe\sdelivered
          | unzustellbar | nicht\szustellbar | nicht\szugestellt | zustellung\sfehlgeschlagen | fehlgeschlagene\szustellung
          | non\srecapitabile | mancata\sconsegna | impossibile\srecapitare | errore\sdi\sconsegna
          | non\sdistribuable | non\sremis | échec\sde\s(la\s)?(distribution|remise|livraison) | message\snon\sremis | remise\sen\séchec
          | no\sentregado | no\sse\spuede\sentregar | error\sde\sentrega | entrega\sfallida | notificación\sde\sestado\sde\sentrega
          | onbestelbaar | niet\sbezorgd | kan\sniet\sworden\sbezorgd | não\sentregue | falha\sna\sentrega
          | olevereringsbart | ej\slevererat | kunne\sikke\sleveres | niedostarczalna | nie\sdostarczono
          | не\sдоставлено | недоставленное | ошибка\sдоставки | 配信不能 | 未送達 | 退信 | 系统退信 | メールエラー | エラー通知 | 送信エラー
          | mail\sreturned | rejected:|\*\*\*\*\*\sspam | bounce(d)?\s(mail|message) | delivery\sstatus
        )",
    )
});

/// Subjects of vacation and other automatic replies, in many languages.
static AUTO_REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?ix)^\s*(
            (automatic|auto|automated|autoresponse|automatisk|automaattinen)[\s-]*(reply|response|answer|svar|vastaus)
          | auto[-\s]?(reply|response|responder|respond|antwort|risposta|réponse|respuesta)
          | autoreply | autoresponder | autosvar
          | out\sof\s(the\s)?office | out\sof\soffice | ooo\b | away\sfrom\s(the\s)?office | on\svacation | vacation\s(reply|notice|message|response|auto)
          | i\s(am|will\sbe)\s(currently\s)?(out|away|on\s(vacation|leave|holiday)|absent)
          | abwesenheit | abwesend | automatische\s(antwort|rückantwort|benachrichtigung) | nicht\sim\sbüro | urlaubs?(notiz|abwesenheit|antwort)
          | réponse\sautomatique | absence\s(du|de)\s | absent(e)?\s(du|jusqu) | message\sd'absence | en\scongés? | répondeur
          | risposta\sautomatica | fuori\s(sede|ufficio) | assente\s | in\sferie | messaggio\sdi\sassenza
          | respuesta\sautomática | respuesta\sautomatica | fuera\sde\s(la\s)?oficina | ausente | de\svacaciones | mensaje\sautomático
          | resposta\sautomática | fora\sdo\sescritório | ausência
          | automatisch\santwoord | afwezig | niet\saanwezig | buiten\skantoor | met\svakantie
          | odpowiedź\sautomatyczna | nieobecność | poza\sbiurem
          | автоматический\sответ | автоответ | не\sв\sофисе | отпуск
          | frånvaro | fraværende | ikke\still\sstede | poissa
          | 自動返信 | 自动回复 | 自動回覆 | 不在
        )",
    )
});

/// Reply and forward prefixes: a subject behind them was written (or at least sent) by a person.
static REPLY_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*(re|aw|sv|vs|antw|antwort|wg|fw|fwd|tr|rif|r|i|res|enc|odp|ynt|ref)\s*(\[[0-9]+\])?\s*:",
    )
});

/// Senders that only machines use.
const DAEMON_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "mailerdaemon",
    "mailer_daemon",
    "mail-daemon",
    "maildaemon",
    "mail-delivery-subsystem",
    "mdaemon",
    "postmaster",
    "post_master",
    "post-master",
    "mailadmin",
    "bounce",
    "bounces",
    "double-bounce",
    "smtp-gateway",
    "mail.delivery.system",
    "nobody",
    "mailer",
    "mail-router",
];

/// Display names that only machines use.
static DAEMON_NAME: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*(mail\s?delivery\s(subsystem|system|service)|mailer[-\s]?daemon|post\s?master|mail\sadministrator|microsoft\soutlook|internet\smail\sdelivery|mail\sdelivery)\s*$",
    )
});

/// Subjects of abuse complaints that do not use the ARF format.
static FEEDBACK_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^\s*(complaint about message from|abuse report|spam complaint|spam report|feedback loop report)\b",
    )
});

/// Amazon SES notifications delivered as JSON by SNS e-mail subscriptions.
static SES_NOTIFICATION: LazyLock<Regex> =
    LazyLock::new(|| regex(r#""notificationType"\s*:\s*"(Bounce|Complaint|Delivery)""#));

/// Phrases that open the body of a non-standard bounce.
static BOUNCE_BODY: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?im)^.{0,40}(this\sis\sthe\smail\ssystem\sat\shost|this\sis\san\sautomatically\sgenerated\sdelivery\sstatus|delivery\sto\sthe\sfollowing\srecipients?\s(failed|was\sdelayed)|i'm\ssorry\sto\shave\sto\sinform\syou\sthat\syour\smessage\scould\snot|could\snot\sbe\sdelivered\sto\sone\sor\smore\srecipients|message\scould\snot\sbe\sdelivered|the\sfollowing\saddress(es)?\sfailed|your\smessage\s(did\snot|could\snot|wasn't|was\snot)\s(reach|be\sdelivered)|permanent\sfatal\serrors|a\smessage\sthat\syou\ssent\scould\snot\sbe\sdelivered|unable\sto\sdeliver\syour\smessage|returned\smail:|delivery\shas\sfailed\sto\sthese\srecipients|mailbox\s(unavailable|full|is\sfull)|user\sunknown|recipient\saddress\srejected|host\sunknown|----- ?(the\sfollowing\saddresses\shad\spermanent\sfatal\serrors|transcript\sof\ssession\sfollows))",
    )
});

/// Classifies a raw message from its headers and MIME structure.
///
/// Returns `None` for mail written by a person, and also for input that is not a message.
pub fn classify(raw: &[u8]) -> Option<AutoKind> {
    // See `parse`: a panic inside mail-parser is no answer, not a crash.
    std::panic::catch_unwind(|| {
        let message = MessageParser::default().parse(raw)?;
        classify_message(&message)
    })
    .unwrap_or(None)
}

pub(crate) fn classify_message(message: &Message<'_>) -> Option<AutoKind> {
    // mail-parser's header accessors index the root part, which a broken message may lack.
    if message.parts.is_empty() {
        return None;
    }
    if let Some(kind) = report_kind(message) {
        return Some(kind);
    }
    let headers = Headers::of(message);
    if headers.has("x-failed-recipients")
        || headers.get("x-ms-exchange-message-is-ndr").is_some()
        || headers.get("x-mailer-daemon-error").is_some()
    {
        return Some(AutoKind::Bounce);
    }
    if headers.has("feedback-type") || headers.get("x-hmxmroriginalrecipient").is_some() {
        return Some(AutoKind::Feedback);
    }

    let subject = message.subject().unwrap_or_default();
    if FEEDBACK_SUBJECT.is_match(subject) {
        return Some(AutoKind::Feedback);
    }
    if let Some(kind) = ses_notification(message) {
        return Some(kind);
    }
    let replied_or_forwarded = REPLY_PREFIX.is_match(subject);
    let from_daemon = message
        .from()
        .into_iter()
        .chain(message.sender())
        .flat_map(|address| address.iter())
        .any(|address| {
            let local = address
                .address
                .as_deref()
                .and_then(|address| {
                    address
                        .rsplit_once('@')
                        .map(|(local, _)| local)
                        .or(Some(address))
                })
                .unwrap_or_default()
                .to_ascii_lowercase();
            DAEMON_LOCAL_PARTS.contains(&local.as_str())
                || address
                    .name
                    .as_deref()
                    .is_some_and(|name| DAEMON_NAME.is_match(name))
        });
    let empty_return_path = headers.get("return-path").is_some_and(|path| {
        path.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim()
            .is_empty()
    });
    let auto_submitted = headers
        .get("auto-submitted")
        .map(|value| value.trim().to_ascii_lowercase())
        .filter(|value| !value.is_empty() && !value.starts_with("no"));
    let bounce_subject = !replied_or_forwarded && BOUNCE_SUBJECT.is_match(subject);
    let auto_reply_subject = AUTO_REPLY_SUBJECT.is_match(strip_reply_prefixes(subject));

    if bounce_subject && (from_daemon || empty_return_path || auto_submitted.is_some()) {
        return Some(AutoKind::Bounce);
    }
    if from_daemon {
        // A daemon that writes about a vacation is a vacation responder; anything else from it
        // is about delivery.
        if auto_reply_subject && !bounce_subject {
            return Some(AutoKind::AutoReply);
        }
        return Some(AutoKind::Bounce);
    }
    if bounce_subject {
        return Some(AutoKind::Bounce);
    }
    if (empty_return_path || auto_submitted.is_some()) && body_says_bounce(message) {
        return Some(AutoKind::Bounce);
    }
    if auto_submitted.is_some() || auto_reply_subject {
        return Some(AutoKind::AutoReply);
    }
    if headers.has("x-autoreply")
        || headers.has("x-autorespond")
        || headers.has("x-autoresponder")
        || headers.has("x-mail-autoreply")
        || headers.has("x-autoreply-from")
        || headers.has("x-vacation")
        || headers
            .get("x-autogenerated")
            .is_some_and(|value| value.to_ascii_lowercase().contains("reply"))
        || headers
            .get("x-post-messageclass")
            .is_some_and(|value| value.to_ascii_lowercase().contains("autoresponder"))
        || headers
            .get("delivered-to")
            .is_some_and(|value| value.to_ascii_lowercase().contains("autoresponder"))
    {
        return Some(AutoKind::AutoReply);
    }
    let precedence = headers
        .get("precedence")
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if precedence.starts_with("auto_reply") || precedence.starts_with("auto-reply") {
        return Some(AutoKind::AutoReply);
    }
    // Outlook sets X-Auto-Response-Suppress on ordinary mail: it counts only beside bulk
    // precedence, where it marks an automatic notice rather than a newsletter.
    if headers.has("x-auto-response-suppress")
        && (precedence == "bulk" || precedence == "junk")
        && !headers.has("list-id")
        && !headers.has("list-unsubscribe")
    {
        return Some(AutoKind::AutoReply);
    }
    if precedence == "bulk" || precedence == "junk" || precedence == "list" {
        return Some(AutoKind::List);
    }
    if headers.has("list-id") || headers.has("list-unsubscribe") {
        return Some(AutoKind::List);
    }
    if empty_return_path && body_says_bounce(message) {
        return Some(AutoKind::Bounce);
    }
    None
}

/// The kind announced by the MIME structure: `multipart/report` and its report parts.
fn report_kind(message: &Message<'_>) -> Option<AutoKind> {
    let kind_of = |subtype: &str| match subtype {
        "delivery-status" | "global-delivery-status" => Some(AutoKind::Bounce),
        "disposition-notification" | "global-disposition-notification" => Some(AutoKind::Receipt),
        "feedback-report" => Some(AutoKind::Feedback),
        _ => None,
    };
    for part in &message.parts {
        let Some(content_type) = part.content_type() else {
            continue;
        };
        let main = content_type.ctype().to_ascii_lowercase();
        let subtype = content_type
            .subtype()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if main == "multipart" && subtype == "report" {
            if let Some(kind) = content_type
                .attribute("report-type")
                .and_then(|report| kind_of(&report.to_ascii_lowercase()))
            {
                return Some(kind);
            }
        } else if main == "message"
            && let Some(kind) = kind_of(&subtype)
        {
            return Some(kind);
        }
    }
    None
}

fn ses_notification(message: &Message<'_>) -> Option<AutoKind> {
    message
        .text_bodies()
        .take(2)
        .filter_map(|part| match &part.body {
            mail_parser::PartType::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .find_map(|text| {
            let captures = SES_NOTIFICATION.captures(prefix(text, 4000))?;
            match captures.get(1).map(|kind| kind.as_str()) {
                Some("Complaint") => Some(AutoKind::Feedback),
                _ => Some(AutoKind::Bounce),
            }
        })
}

fn body_says_bounce(message: &Message<'_>) -> bool {
    message
        .text_bodies()
        .take(2)
        .filter_map(|part| match &part.body {
            mail_parser::PartType::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .any(|text| {
            let head = prefix(text, 4000);
            BOUNCE_BODY.is_match(head)
        })
}

/// At most `limit` bytes of `text`, cut at a character boundary.
fn prefix(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn strip_reply_prefixes(subject: &str) -> &str {
    let mut rest = subject;
    // Bounded: every round removes at least one character.
    while let Some(found) = REPLY_PREFIX.find(rest) {
        if found.end() == 0 {
            break;
        }
        rest = &rest[found.end()..];
    }
    rest
}

/// Case-insensitive access to the raw top-level headers.
struct Headers<'a> {
    raw: Vec<(String, &'a str)>,
}

impl<'a> Headers<'a> {
    fn of(message: &'a Message<'_>) -> Self {
        let raw = message
            .headers_raw()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        Headers { raw }
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.raw
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| *value)
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn ordinary_replies_are_not_automated() {
        let raw = mail(
            "From: Anna <anna@example.com>\r\nTo: help@example.com\r\nSubject: Re: [#1042-k7f2] Drucker\r\nX-Auto-Response-Suppress: All",
            "Danke, geht wieder.",
        );
        assert_eq!(classify(&raw), None);
    }

    #[test]
    fn rfc_3834_and_vacation_subjects_are_auto_replies() {
        for headers in [
            "From: a@example.com\r\nSubject: Re: Printer\r\nAuto-Submitted: auto-replied",
            "From: a@example.com\r\nSubject: Automatic reply: Printer",
            "From: a@example.com\r\nSubject: Abwesenheitsnotiz: Drucker",
            "From: a@example.com\r\nSubject: Réponse automatique : Imprimante",
            "From: a@example.com\r\nSubject: Risposta automatica: Stampante",
            "From: a@example.com\r\nSubject: Respuesta automática: Impresora",
            "From: a@example.com\r\nSubject: Fuera de la oficina",
            "From: a@example.com\r\nSubject: Printer\r\nX-Autoreply: yes",
            "From: a@example.com\r\nSubject: Printer\r\nPrecedence: auto_reply",
        ] {
            assert_eq!(
                classify(&mail(headers, "I am away.")),
                Some(AutoKind::AutoReply),
                "{headers}"
            );
        }
    }

    #[test]
    fn bounces_are_recognised_with_and_without_rfc_3464() {
        let dsn = mail(
            "From: MAILER-DAEMON@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b",
            "--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--",
        );
        assert_eq!(classify(&dsn), Some(AutoKind::Bounce));
        let plain = mail(
            "From: postmaster@example.com\r\nSubject: failure notice",
            "Sorry.",
        );
        assert_eq!(classify(&plain), Some(AutoKind::Bounce));
        let reply = mail(
            "From: anna@example.com\r\nSubject: Re: Undeliverable: Printer",
            "Why?",
        );
        assert_eq!(classify(&reply), None);
    }

    #[test]
    fn receipts_feedback_and_lists_are_told_apart() {
        let receipt = mail(
            "From: a@example.com\r\nSubject: Read: Printer\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b",
            "--b\r\nContent-Type: text/plain\r\n\r\nread\r\n--b--",
        );
        assert_eq!(classify(&receipt), Some(AutoKind::Receipt));
        let feedback = mail(
            "From: abuse@example.com\r\nSubject: complaint\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=b",
            "--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n--b--",
        );
        assert_eq!(classify(&feedback), Some(AutoKind::Feedback));
        let list = mail(
            "From: a@example.com\r\nSubject: News\r\nList-Id: <news.example.com>",
            "Hi",
        );
        assert_eq!(classify(&list), Some(AutoKind::List));
    }

    #[test]
    fn garbage_is_not_classified() {
        assert_eq!(classify(b""), None);
        assert_eq!(classify(b"\xff\xfe\x00"), None);
    }
}
