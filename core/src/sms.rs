//! Text messages: the `SmsProvider` interface with a Twilio-compatible HTTP provider
//! (configurable base URL, so any compatible gateway works) and a development
//! provider that writes messages to the log.

use std::sync::Arc;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};

use crate::outbound::OutboundHttp;

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The number is not an international (E.164) number.
    #[error("not an international phone number")]
    InvalidNumber,
    /// The gateway refused or failed.
    #[error("sms gateway: {0}")]
    Gateway(String),
}

/// Sends text messages.
pub trait SmsProvider: Send + Sync + 'static {
    /// Sends `text` to `to` (E.164).
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), SmsError>>;
}

/// Normalizes a typed phone number to E.164 (`+` and 8 to 15 digits).
pub fn parse_phone(input: &str) -> Result<String, SmsError> {
    let compact: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let compact = match compact.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => compact,
    };
    let digits = compact.strip_prefix('+').ok_or(SmsError::InvalidNumber)?;
    if (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(compact)
    } else {
        Err(SmsError::InvalidNumber)
    }
}

/// Shows only the last three digits of a number.
pub fn mask_phone(phone: &str) -> String {
    let visible: String = phone
        .chars()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("•••• {visible}")
}

/// Writes each message to the log (development only: codes appear in the log).
#[derive(Debug, Default)]
pub struct LogProvider;

impl SmsProvider for LogProvider {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            tracing::warn!(to = %to, text = %text, "SMS (development provider, not sent)");
            Ok(())
        })
    }
}

/// Twilio's Messages API, or any gateway that speaks it.
pub struct TwilioProvider {
    client: OutboundHttp,
    base_url: String,
    account_sid: String,
    auth_token: SecretString,
    from: String,
}

impl std::fmt::Debug for TwilioProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioProvider")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl TwilioProvider {
    /// A provider posting to `<base_url>/2010-04-01/Accounts/<sid>/Messages.json`.
    pub fn new(
        client: OutboundHttp,
        base_url: &str,
        account_sid: &str,
        auth_token: SecretString,
        from: &str,
    ) -> Self {
        TwilioProvider {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token,
            from: from.to_owned(),
        }
    }
}

impl SmsProvider for TwilioProvider {
    fn send<'a>(&'a self, to: &'a str, text: &'a str) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base_url, self.account_sid
            );
            let response = self
                .client
                .request(reqwest::Method::POST, &url)
                .map_err(|e| SmsError::Gateway(e.to_string()))?
                .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
                .form(&[("To", to), ("From", self.from.as_str()), ("Body", text)])
                .send()
                .await
                .map_err(|e| SmsError::Gateway(e.to_string()))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(SmsError::Gateway(format!(
                    "status {}",
                    response.status().as_u16()
                )))
            }
        })
    }
}

/// The configured provider.
pub type Sms = Arc<dyn SmsProvider>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalized_to_e164() {
        assert_eq!(
            parse_phone("+39 333 123 4567").ok().as_deref(),
            Some("+393331234567")
        );
        assert_eq!(
            parse_phone("0049 (170) 123-4567").ok().as_deref(),
            Some("+491701234567")
        );
        for bad in ["3331234567", "+12", "+39abc1234567", "+0391234567", ""] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
        assert_eq!(mask_phone("+393331234567"), "•••• 567");
    }
}
