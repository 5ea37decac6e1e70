//! Page templates (minijinja, HTML escaping on for every `.html` template), embedded
//! from `core/templates/` so the binary carries them.

use minijinja::Environment;
use serde::Serialize;

/// The compiled templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("api_docs.html", include_str!("../templates/api_docs.html")),
    ("apps.html", include_str!("../templates/apps.html")),
    ("approval.html", include_str!("../templates/approval.html")),
    (
        "colleagues.html",
        include_str!("../templates/colleagues.html"),
    ),
    ("base.html", include_str!("../templates/base.html")),
    (
        "plugin_view.html",
        include_str!("../templates/plugin_view.html"),
    ),
    (
        "enrol_totp.html",
        include_str!("../templates/enrol_totp.html"),
    ),
    ("invite.html", include_str!("../templates/invite.html")),
    (
        "kb_article.html",
        include_str!("../templates/kb_article.html"),
    ),
    ("kb_index.html", include_str!("../templates/kb_index.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "mail_close.html",
        include_str!("../templates/mail_close.html"),
    ),
    (
        "mail_layout.html",
        include_str!("../templates/mail_layout.html"),
    ),
    (
        "mail_layout.txt",
        include_str!("../templates/mail_layout.txt"),
    ),
    ("message.html", include_str!("../templates/message.html")),
    ("admin.html", include_str!("../templates/admin.html")),
    (
        "operator_tenant.html",
        include_str!("../templates/operator_tenant.html"),
    ),
    (
        "operator_home.html",
        include_str!("../templates/operator_home.html"),
    ),
    (
        "portal_home.html",
        include_str!("../templates/portal_home.html"),
    ),
    (
        "recovery_codes.html",
        include_str!("../templates/recovery_codes.html"),
    ),
    (
        "reset_request.html",
        include_str!("../templates/reset_request.html"),
    ),
    (
        "second_factor.html",
        include_str!("../templates/second_factor.html"),
    ),
    ("reports.html", include_str!("../templates/reports.html")),
    ("sessions.html", include_str!("../templates/sessions.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("sms_code.html", include_str!("../templates/sms_code.html")),
    ("step_up.html", include_str!("../templates/step_up.html")),
    ("thread.html", include_str!("../templates/thread.html")),
    ("ticket.html", include_str!("../templates/ticket.html")),
    (
        "ticket_new.html",
        include_str!("../templates/ticket_new.html"),
    ),
    ("tickets.html", include_str!("../templates/tickets.html")),
];

impl Templates {
    /// Parses every embedded template; a syntax error fails start-up (and the tests).
    pub fn load() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // `t(lang, key)`: the translated message; `asset(name)`: an embedded
        // asset's content-hashed URL.
        env.add_function("t", |lang: &str, key: &str| {
            crate::i18n::Locale::from_tag(lang)
                .unwrap_or_default()
                .text(key)
        });
        env.add_function("asset", |name: &str| crate::http::web::asset_url(name));
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Templates { env })
    }

    /// Renders `name` with `context`.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_registered() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for entry in std::fs::read_dir(dir).expect("templates folder").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                TEMPLATES.iter().any(|(known, _)| *known == name),
                "{name} is not registered"
            );
        }
    }

    #[test]
    fn values_are_html_escaped() {
        let templates = Templates::load().expect("templates parse");
        let page = templates
            .render(
                "message.html",
                minijinja::context! { lang => "en", title => "<script>x</script>", body => "a & b" },
            )
            .expect("renders");
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("a &amp; b"));
    }
}
