//! Translations (Fluent files in `core/locales/`, embedded at build time) and the
//! choice of language per request.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::extract::FromRequestParts;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use http::request::Parts;

fluent_templates::static_loader! {
    // The catalogue is static data compiled into the binary, not configuration.
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Isolation marks around arguments would end up in e-mail subjects and
        // plain-text bodies; our arguments are names and URLs, never bidi text we
        // need to protect the sentence from.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language Portico speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    /// English (the fallback).
    #[default]
    En,
    /// French.
    Fr,
    /// German.
    De,
    /// Spanish.
    Es,
    /// Italian.
    It,
}

impl Locale {
    /// Every supported language.
    pub const ALL: [Locale; 5] = [Locale::En, Locale::Fr, Locale::De, Locale::Es, Locale::It];

    /// The BCP 47 tag (also the `lang` attribute of pages).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
            Locale::De => "de",
            Locale::Es => "es",
            Locale::It => "it",
        }
    }

    /// The language of a tag such as `de-CH` (`None` for languages we lack).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Locale::ALL
            .into_iter()
            .find(|locale| locale.tag() == primary)
    }

    /// The best match for an `Accept-Language` header, by quality value.
    pub fn negotiate(accept_language: &str) -> Locale {
        let mut best: Option<(f32, Locale)> = None;
        for (position, item) in accept_language.split(',').enumerate().take(20) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("");
            let quality = parts
                .find_map(|param| param.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Earlier entries win ties, as the header lists preferences in order.
            let quality = quality - position as f32 * 1e-4;
            if let Some(locale) = Locale::from_tag(tag)
                && quality > 0.0
                && best.is_none_or(|(known, _)| quality > known)
            {
                best = Some((quality, locale));
            }
        }
        best.map(|(_, locale)| locale).unwrap_or_default()
    }

    fn langid(self) -> LanguageIdentifier {
        self.tag().parse().unwrap_or_default()
    }

    /// A time (Unix milliseconds) as people of this language write it, to the
    /// minute, in `zone` (ICU4X with CLDR's data: "3 Dec 2026, 09:12" in English,
    /// "3 dic 2026, 09:12" in Italian), followed by the zone's abbreviation ("CET",
    /// "UTC") so a reader never wonders which clock it is.
    pub fn date_time(self, unix_ms: i64, zone: &jiff::tz::TimeZone) -> String {
        use icu_datetime::input::{Date, DateTime, Time};
        let Ok(instant) = jiff::Timestamp::from_millisecond(unix_ms) else {
            return String::new();
        };
        let zoned = instant.to_zoned_datetime(zone.clone());
        let civil = zoned.datetime();
        let formatted = DATE_TIME_FORMATTERS.with(|formatters| {
            match (
                formatters[self as usize].as_ref(),
                Date::try_new_gregorian(
                    i32::from(civil.year()),
                    civil.month().unsigned_abs(),
                    civil.day().unsigned_abs(),
                ),
                Time::try_new(
                    civil.hour().unsigned_abs(),
                    civil.minute().unsigned_abs(),
                    0,
                    0,
                ),
            ) {
                (Some(formatter), Ok(date), Ok(time)) => {
                    formatter.format(&DateTime { date, time }).to_string()
                }
                _ => civil.strftime("%Y-%m-%d %H:%M").to_string(),
            }
        });
        format!("{formatted} {}", zoned.strftime("%Z"))
    }

    /// A whole number as people of this language write it ("1,234,567" in English,
    /// "1.234.567" in German and Italian, "1 234 567" in French; ICU4X, CLDR data).
    pub fn number(self, value: i64) -> String {
        self.decimal(value, 0)
    }

    /// `value / 10^scale` with `scale` digits after the separator ("12.5", "12,5").
    pub fn decimal(self, value: i64, scale: i16) -> String {
        let mut decimal = icu_decimal::input::Decimal::from(value);
        decimal.multiply_pow10(-scale);
        DECIMAL_FORMATTERS.with(|formatters| match formatters[self as usize].as_ref() {
            Some(formatter) => formatter.format(&decimal).to_string(),
            None => decimal.to_string(),
        })
    }

    /// The translated message `key`.
    pub fn text(self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.langid(), key)
            .unwrap_or_else(|| key.to_owned())
    }

    /// The translated message `key` with arguments.
    pub fn text_with(self, key: &str, args: &[(&'static str, &str)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.to_string())))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.langid(), key, &args)
            .unwrap_or_else(|| key.to_owned())
    }
}

/// The tenant setting naming the time zone of people who chose none.
pub const TIME_ZONE_SETTING: &str = "time_zone";

/// The time zone named `name` in the IANA database compiled into the binary
/// (`Europe/Rome`), or `None` for an empty or unknown name.
pub fn named_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    jiff::tz::db().get(name).ok()
}

/// Every time zone name people can choose, sorted.
pub fn zone_names() -> &'static [String] {
    static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.to_string())
            .filter(|name| name.contains('/') || name == "UTC")
            .filter(|name| {
                !name.starts_with("Etc/")
                    && !name.starts_with("posix/")
                    && !name.starts_with("right/")
            })
            .collect();
        names.sort();
        names.dedup();
        names
    });
    &NAMES
}

/// The `<option>`s of a time-zone choice, `selected` marked: built once, as plain
/// HTML (zone names are ASCII letters, digits, `_`, `-`, `+` and `/`, nothing to
/// escape), about 17 KB for the whole database.
pub fn zone_options(selected: &str) -> String {
    static OPTIONS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        zone_names()
            .iter()
            .filter(|name| {
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-+/".contains(&b))
            })
            .map(|name| format!("<option>{name}</option>"))
            .collect()
    });
    if selected.is_empty() || named_zone(selected).is_none() {
        return OPTIONS.clone();
    }
    OPTIONS.replacen(
        &format!("<option>{selected}</option>"),
        &format!("<option selected>{selected}</option>"),
        1,
    )
}

/// The zone a person reads times in: their own (`own`), else the tenant's
/// [`TIME_ZONE_SETTING`], else UTC.
pub async fn zone_of(
    db: &portico_tenants::TenantDb,
    own: &str,
) -> Result<jiff::tz::TimeZone, portico_tenants::StoreError> {
    if let Some(zone) = named_zone(own) {
        return Ok(zone);
    }
    let tenant = portico_tenants::accounts::tenant_setting(db, TIME_ZONE_SETTING).await?;
    Ok(tenant
        .as_ref()
        .and_then(|value| value.as_str())
        .and_then(named_zone)
        .unwrap_or(jiff::tz::TimeZone::UTC))
}

type DateTimeFormatter = icu_datetime::FixedCalendarDateTimeFormatter<
    icu_calendar::Gregorian,
    icu_datetime::fieldsets::YMDT,
>;

thread_local! {
    /// One number formatter per language, in the order of [`Locale::ALL`].
    static DECIMAL_FORMATTERS: Vec<Option<icu_decimal::DecimalFormatter>> = {
        Locale::ALL
            .iter()
            .map(|locale| {
                let tag: icu_locale_core::Locale = locale.tag().parse().ok()?;
                icu_decimal::DecimalFormatter::try_new(tag.into(), Default::default()).ok()
            })
            .collect()
    };

    /// One formatter per language, in the order of [`Locale::ALL`], built once per
    /// thread (ICU4X's formatters hold their data in `Rc`s).
    static DATE_TIME_FORMATTERS: Vec<Option<DateTimeFormatter>> = {
        Locale::ALL
            .iter()
            .map(|locale| {
                let tag: icu_locale_core::Locale = locale.tag().parse().ok()?;
                DateTimeFormatter::try_new(
                    tag.into(),
                    icu_datetime::fieldsets::YMDT::medium()
                        .with_time_precision(icu_datetime::options::TimePrecision::Minute),
                )
                .ok()
            })
            .collect()
    };
}

impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .headers
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .map(Locale::negotiate)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The message ids of every Fluent file of a language, each id once; a file
    /// present in one language must be present in all (the ids are compared).
    fn message_ids(locale: Locale) -> BTreeSet<String> {
        let folder = format!("{}/locales/{}", env!("CARGO_MANIFEST_DIR"), locale.tag());
        let mut ids = BTreeSet::new();
        for entry in std::fs::read_dir(folder).expect("locale folder") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "ftl") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("locale file");
            for id in text
                .lines()
                .filter(|line| !line.starts_with([' ', '#']) && line.contains(" ="))
                .filter_map(|line| line.split(" =").next())
            {
                assert!(ids.insert(id.to_owned()), "{id} twice in {}", locale.tag());
            }
        }
        ids
    }

    #[test]
    fn every_language_has_every_message() {
        let english = message_ids(Locale::En);
        assert!(english.len() > 10);
        for locale in Locale::ALL {
            assert_eq!(message_ids(locale), english, "{}", locale.tag());
            for key in &english {
                assert_ne!(
                    locale.text_with(
                        key,
                        &[
                            ("tenant", "Acme"),
                            ("portal", "p"),
                            ("email", "e"),
                            ("link", "l"),
                            ("minutes", "1"),
                            ("phone", "x"),
                            ("code", "123456"),
                            ("host", "help.example.com"),
                            ("problems", "- none"),
                            ("number", "1042"),
                            ("subject", "Printer"),
                            ("reason", "Not needed"),
                            ("rating", "1"),
                            ("comment", "Slow"),
                            ("level", "2"),
                            ("count", "3"),
                            ("description", "It is broken"),
                            ("author", "Tess"),
                            ("body", "Try again"),
                            ("status", "resolved"),
                            ("state", "at risk"),
                            ("hours", "2"),
                            ("failed", "1"),
                            ("when", "3 Dec 2026, 10:00 UTC"),
                            ("issuer", "Pebble Intermediate CA"),
                            ("name", "status-page")
                        ]
                    ),
                    *key,
                    "{} {key}",
                    locale.tag()
                );
            }
        }
    }

    #[test]
    fn numbers_are_written_the_languages_way() {
        assert_eq!(Locale::En.number(1_234_567), "1,234,567");
        assert_eq!(Locale::De.number(1_234_567), "1.234.567");
        assert_eq!(Locale::It.number(1_234_567), "1.234.567");
        assert_eq!(Locale::Es.number(1_234_567), "1.234.567");
        assert!(Locale::Fr.number(1_234_567).starts_with('1'));
        assert_eq!(Locale::Fr.number(1_234_567).chars().count(), 9);
        assert_eq!(Locale::En.decimal(125, 1), "12.5");
        assert_eq!(Locale::De.decimal(125, 1), "12,5");
        assert_eq!(Locale::En.number(-42), "-42");
        assert_eq!(Locale::En.number(0), "0");
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Locale::negotiate("de-CH,de;q=0.9,en;q=0.8"), Locale::De);
        assert_eq!(Locale::negotiate("ja,it;q=0.5,fr;q=0.4"), Locale::It);
        assert_eq!(Locale::negotiate("fr;q=0.2, es;q=0.9"), Locale::Es);
        assert_eq!(Locale::negotiate("ja"), Locale::En);
        assert_eq!(Locale::negotiate(""), Locale::En);
        assert_eq!(Locale::negotiate("en;q=0, de"), Locale::De);
    }

    #[test]
    fn arguments_are_substituted_without_isolation_marks() {
        assert_eq!(
            Locale::De.text_with("suspended-title", &[("tenant", "Acme")]),
            "Acme ist nicht verfügbar"
        );
    }
}
