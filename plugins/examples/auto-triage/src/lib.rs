//! Auto-triage: on `ticket.created`, picks a priority and a type from the words of
//! the ticket's subject and description, proposes them with an internal note that
//! says which words decided, and counts its work in its key-value store.
//!
//! The rules come from the tenant's configuration; without one it uses the
//! priority guidance of the Italian manual (critical: an outage affecting several
//! users or a security problem; high: one user blocked; low: not urgent) in
//! English, Italian, German, French and Spanish.

use portico_plugin_sdk::prelude::*;
use portico_plugin_sdk::{config_as, kv};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct Rule {
    words: Vec<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default, rename = "type")]
    ticket_type: Option<String>,
}

fn default_rules() -> Vec<Rule> {
    let rule = |words: &[&str], priority: &str| Rule {
        words: words.iter().map(|w| (*w).to_owned()).collect(),
        priority: Some(priority.to_owned()),
        ticket_type: None,
    };
    vec![
        rule(
            &[
                "outage",
                "all users",
                "everyone",
                "ransomware",
                "virus",
                "phishing",
                "hacked",
                "security",
                "down for",
                "nobody can",
                "tutti gli utenti",
                "sicurezza",
                "alle benutzer",
                "sicherheit",
                "tous les utilisateurs",
                "sécurité",
                "todos los usuarios",
                "seguridad",
            ],
            "critical",
        ),
        rule(
            &[
                "cannot work",
                "can't work",
                "blocked",
                "cannot log in",
                "can't log in",
                "locked out",
                "non riesco a lavorare",
                "bloccato",
                "kann nicht arbeiten",
                "gesperrt",
                "bloqué",
                "bloqueado",
            ],
            "high",
        ),
        rule(
            &[
                "when you have time",
                "not urgent",
                "no rush",
                "non urgente",
                "nicht dringend",
                "pas urgent",
                "no es urgente",
            ],
            "low",
        ),
    ]
}

struct AutoTriage;

impl lifecycle::Guest for AutoTriage {
    fn on_install() -> Result<(), String> {
        config_as::<Config>().map(|_| ())
    }
}

impl ticket_hooks::Guest for AutoTriage {
    fn on_ticket_event(event: TicketEvent) -> Result<Vec<Effect>, String> {
        if event.event_type != "ticket.created" {
            return Ok(Vec::new());
        }
        let config: Config = config_as().unwrap_or_default();
        let rules = if config.rules.is_empty() {
            default_rules()
        } else {
            config.rules
        };
        let text = format!("{}\n{}", event.ticket.subject, event.ticket.description).to_lowercase();
        let mut priority: Option<(String, String)> = None;
        let mut ticket_type: Option<(String, String)> = None;
        for rule in &rules {
            let Some(word) = rule.words.iter().find(|w| text.contains(&w.to_lowercase())) else {
                continue;
            };
            if priority.is_none()
                && let Some(p) = &rule.priority
            {
                priority = Some((p.clone(), word.clone()));
            }
            if ticket_type.is_none()
                && let Some(t) = &rule.ticket_type
            {
                ticket_type = Some((t.clone(), word.clone()));
            }
        }
        let mut effects = Vec::new();
        let mut reasons = Vec::new();
        if let Some((p, word)) = priority
            && p != event.ticket.priority
        {
            reasons.push(format!(
                "priority {p} (the text mentions \u{201c}{word}\u{201d})"
            ));
            effects.push(Effect::SetPriority(p));
        }
        if let Some((t, word)) = ticket_type
            && event.ticket.ticket_type.as_deref() != Some(t.as_str())
        {
            reasons.push(format!(
                "type {t} (the text mentions \u{201c}{word}\u{201d})"
            ));
            effects.push(Effect::SetType(t));
        }
        if reasons.is_empty() {
            return Ok(effects);
        }
        effects.push(Effect::AddNote(format!(
            "Auto-triage set {}.",
            reasons.join(" and ")
        )));
        // Statistics are best effort: a full quota must not stop the triage.
        let count = kv::get("triaged")
            .ok()
            .flatten()
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        if let Err(e) = kv::set("triaged", (count + 1).to_string().as_bytes()) {
            warn!("could not count the triage: {e}");
        }
        info!(
            "ticket #{} triaged: {}",
            event.ticket.number,
            reasons.join(", ")
        );
        Ok(effects)
    }
}

portico_plugin_sdk::export_plugin!(AutoTriage);
