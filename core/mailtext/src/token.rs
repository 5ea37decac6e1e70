//! Portico's own thread keys: the `[#1042-k7f2]` subject token, the hidden `portico-ref:` body
//! marker and the `#close` command a requester may put on the first line of a reply.

use std::sync::LazyLock;

use regex::Regex;

use crate::SubjectToken;

/// `[#1042-k7f2]`: the number, a dash and the 4 to 12 character tag.
static SUBJECT_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[#([0-9]{1,18})-([a-z0-9]{4,12})\]").expect("subject token pattern is valid")
});

/// `portico-ref:1042-k7f2`, not followed by another tag character (so a longer tag is not cut).
static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"portico-ref:([0-9]{1,18})-([a-z0-9]{4,12})(?:[^a-z0-9]|$)")
        .expect("marker pattern is valid")
});

/// The close commands, in the languages Portico speaks, with optional trailing punctuation.
static CLOSE_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^#(close|chiudi|schliessen|schließen|fermer|cerrar)[\s.!;:,]*$")
        .expect("close command pattern is valid")
});

/// Finds the Portico ticket token anywhere in a subject (`Re: AW: [#1042-k7f2] Printer`).
pub fn subject_token(subject: &str) -> Option<SubjectToken> {
    SUBJECT_TOKEN
        .captures_iter(subject)
        .find_map(|captures| token_from(&captures[1], &captures[2]))
}

/// Every distinct `portico-ref:<number>-<tag>` marker in `text`, in order of appearance.
pub fn markers(text: &str) -> Vec<SubjectToken> {
    let mut found: Vec<SubjectToken> = Vec::new();
    for captures in MARKER.captures_iter(text) {
        if let Some(token) = token_from(&captures[1], &captures[2])
            && !found.contains(&token)
        {
            found.push(token);
        }
    }
    found
}

/// Whether the first non-empty line of a reply is a close command such as `#close` or `#chiudi`.
pub fn close_command(reply_text: &str) -> bool {
    reply_text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .is_some_and(|line| CLOSE_COMMAND.is_match(line))
}

fn token_from(number: &str, tag: &str) -> Option<SubjectToken> {
    // The pattern allows 18 digits, which always fit an i64; parse anyway rather than assume.
    let number = number.parse::<i64>().ok()?;
    Some(SubjectToken {
        number,
        tag: tag.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(number: i64, tag: &str) -> SubjectToken {
        SubjectToken {
            number,
            tag: tag.to_owned(),
        }
    }

    #[test]
    fn subject_token_is_found_behind_reply_prefixes() {
        assert_eq!(
            subject_token("Re: AW: [#1042-k7f2] Drucker kaputt"),
            Some(token(1042, "k7f2"))
        );
        assert_eq!(
            subject_token("R: Stampante [#7-abcdef123456]"),
            Some(token(7, "abcdef123456"))
        );
    }

    #[test]
    fn subject_token_rejects_bad_tags() {
        assert_eq!(subject_token("Re: [#1042-K7F2] upper case"), None);
        assert_eq!(subject_token("Re: [#1042-k7f] too short"), None);
        assert_eq!(subject_token("Re: [#1042-abcdefghijklm] too long"), None);
        assert_eq!(subject_token("Re: [#99999999999999999999-k7f2] huge"), None);
        assert_eq!(subject_token(""), None);
    }

    #[test]
    fn markers_are_found_once_each_in_order() {
        let html = "<span style=\"display:none\">portico-ref:1042-k7f2</span>\n\
                    > portico-ref:7-abcd portico-ref:1042-k7f2 portico-ref:5-abcdefghijklmnop";
        assert_eq!(markers(html), vec![token(1042, "k7f2"), token(7, "abcd")]);
    }

    #[test]
    fn close_command_is_read_from_the_first_non_empty_line() {
        assert!(close_command("\n  #close\nthanks, it works"));
        assert!(close_command("#Chiudi!"));
        assert!(close_command("#schließen."));
        assert!(close_command("#SCHLIESSEN"));
        assert!(close_command("#fermer"));
        assert!(close_command("#cerrar  "));
        assert!(!close_command("please #close this"));
        assert!(!close_command("thanks\n#close"));
        assert!(!close_command("#closed"));
        assert!(!close_command(""));
    }
}
