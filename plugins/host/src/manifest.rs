//! `plugin.toml`: what a plugin is, which world it targets, the capabilities it
//! asks for (each with a reason), the limits it needs and how its hooks fail.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The interface version this host implements (`plugins/wit/plugin.wit`).
pub const INTERFACE_VERSION: semver::Version = semver::Version::new(0, 1, 0);

/// What a plugin does: the WIT world its component targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Reacts to ticket events.
    TicketHooks,
    /// Answers HTTP requests under `/plugins/<id>/…`.
    Http,
    /// Runs on a schedule.
    Scheduled,
    /// Contributes declarative views to the portal and the console.
    Ui,
    /// Proposes device actions.
    DeviceActions,
}

impl World {
    /// Its name in `plugin.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            World::TicketHooks => "ticket-hooks",
            World::Http => "http",
            World::Scheduled => "scheduled",
            World::Ui => "ui",
            World::DeviceActions => "device-actions",
        }
    }

    /// The interface the component must export for this world.
    pub fn export(self) -> &'static str {
        match self {
            World::TicketHooks => "ticket-hooks",
            World::Http => "http-handler",
            World::Scheduled => "scheduled",
            World::Ui => "ui",
            World::DeviceActions => "device-actions",
        }
    }
}

/// Something a plugin may do beyond computing on its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Read the tenant's tickets (`tickets.get`).
    ReadTickets,
    /// Propose notes, priority, type, tags and fields on the ticket a hook runs for.
    UpdateTickets,
    /// Propose new tickets.
    CreateTickets,
    /// Search the knowledge base (`knowledge.search`).
    ReadKb,
    /// Its own key-value store (`kv.*`).
    Kv,
    /// Outbound HTTP to the hosts named in the manifest (`egress.fetch`).
    Http,
    /// The platform's language model (`llm.complete`).
    Llm,
    /// Propose device actions.
    DeviceActions,
    /// Propose e-mails.
    SendEmail,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 9] = [
        Capability::ReadTickets,
        Capability::UpdateTickets,
        Capability::CreateTickets,
        Capability::ReadKb,
        Capability::Kv,
        Capability::Http,
        Capability::Llm,
        Capability::DeviceActions,
        Capability::SendEmail,
    ];

    /// Its name in manifests, grants and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ReadTickets => "read-tickets",
            Capability::UpdateTickets => "update-tickets",
            Capability::CreateTickets => "create-tickets",
            Capability::ReadKb => "read-kb",
            Capability::Kv => "kv",
            Capability::Http => "http",
            Capability::Llm => "llm",
            Capability::DeviceActions => "device-actions",
            Capability::SendEmail => "send-email",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Capability {
    type Err = ManifestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ManifestError(format!("unknown capability '{s}'")))
    }
}

/// A capability asked for, with the reason shown to the administrator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityRequest {
    /// Which.
    pub name: Capability,
    /// Why: shown at install, required.
    pub reason: String,
    /// For `http`: the host names it may reach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// How a hook's failure is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicy {
    /// The failure is logged and the event goes on without the plugin.
    #[default]
    Open,
    /// The event is held and retried until the plugin succeeds (or is disabled).
    Closed,
}

/// Limits a plugin asks for; the platform's ceilings cap them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// All of an instance's memories together, MiB.
    pub memory_mib: u32,
    /// CPU time per call, milliseconds.
    pub cpu_ms: u32,
    /// Wall time per call (host calls included), milliseconds.
    pub wall_ms: u32,
    /// The size of what a call returns, KiB.
    pub output_kib: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 16,
            cpu_ms: 50,
            wall_ms: 2_000,
            output_kib: 256,
        }
    }
}

/// The platform's ceilings for what a manifest may ask.
pub const MAX_LIMITS: Limits = Limits {
    memory_mib: 64,
    cpu_ms: 1_000,
    wall_ms: 30_000,
    output_kib: 4_096,
};

/// A parsed and checked `plugin.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Lower-case letters, digits and dashes; unique on the platform.
    pub id: String,
    /// Shown to administrators.
    pub name: String,
    /// Semantic version of this release.
    pub version: semver::Version,
    /// Whose key signs it.
    pub publisher: String,
    /// One paragraph for the catalogue.
    #[serde(default)]
    pub description: String,
    /// The world its component targets.
    pub world: World,
    /// The interface version it was built against (this host: 0.1.x).
    pub interface: semver::Version,
    /// For ticket hooks: the events it wants (ticket.created, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// For scheduled plugins: every how many minutes it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_minutes: Option<u32>,
    /// For UI plugins: the views it renders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<String>,
    /// What it asks to be allowed.
    #[serde(default)]
    pub capabilities: Vec<CapabilityRequest>,
    /// The limits it needs.
    #[serde(default)]
    pub limits: Limits,
    /// How its hook's failures are treated.
    #[serde(default)]
    pub on_failure: FailurePolicy,
    /// A JSON Schema for its per-tenant configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<serde_json::Value>,
}

/// Why a manifest was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin.toml: {0}")]
pub struct ManifestError(pub String);

fn valid_id(id: &str) -> bool {
    (2..=48).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':')
}

impl Manifest {
    /// Parses and checks `plugin.toml`.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError(e.message().to_owned()))?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), ManifestError> {
        let fail = |m: String| Err(ManifestError(m));
        if !valid_id(&self.id) {
            return fail(format!(
                "id '{}' must be 2-48 lower-case letters, digits or dashes",
                self.id
            ));
        }
        if !valid_id(&self.publisher) {
            return fail(format!(
                "publisher '{}' must be 2-48 lower-case letters, digits or dashes",
                self.publisher
            ));
        }
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return fail("name must be 1-100 characters".into());
        }
        if self.interface.major != INTERFACE_VERSION.major
            || self.interface.minor > INTERFACE_VERSION.minor
            || (INTERFACE_VERSION.major == 0 && self.interface.minor != INTERFACE_VERSION.minor)
        {
            return fail(format!(
                "interface {} is not provided by this host (it implements portico:plugin@{})",
                self.interface, INTERFACE_VERSION
            ));
        }
        let mut seen = BTreeSet::new();
        for request in &self.capabilities {
            if !seen.insert(request.name) {
                return fail(format!("capability {} is listed twice", request.name));
            }
            if request.reason.trim().len() < 10 {
                return fail(format!(
                    "capability {} needs a reason (at least 10 characters) for the administrator",
                    request.name
                ));
            }
            if request.name == Capability::Http {
                if request.hosts.is_empty() {
                    return fail("capability http must name the hosts it reaches".into());
                }
                if let Some(bad) = request.hosts.iter().find(|h| !valid_host(h)) {
                    return fail(format!("'{bad}' is not a host name"));
                }
            } else if !request.hosts.is_empty() {
                return fail(format!(
                    "only capability http takes hosts, not {}",
                    request.name
                ));
            }
        }
        let l = self.limits;
        let m = MAX_LIMITS;
        if l.memory_mib == 0 || l.memory_mib > m.memory_mib {
            return fail(format!("limits.memory_mib must be 1-{}", m.memory_mib));
        }
        if l.cpu_ms == 0 || l.cpu_ms > m.cpu_ms {
            return fail(format!("limits.cpu_ms must be 1-{}", m.cpu_ms));
        }
        if l.wall_ms < l.cpu_ms || l.wall_ms > m.wall_ms {
            return fail(format!("limits.wall_ms must be cpu_ms-{}", m.wall_ms));
        }
        if l.output_kib == 0 || l.output_kib > m.output_kib {
            return fail(format!("limits.output_kib must be 1-{}", m.output_kib));
        }
        match self.world {
            World::TicketHooks if self.events.is_empty() => {
                return fail("a ticket-hooks plugin lists the events it wants".into());
            }
            World::Scheduled if !matches!(self.every_minutes, Some(1..=10_080)) => {
                return fail("a scheduled plugin sets every_minutes (1-10080)".into());
            }
            World::Ui if self.views.is_empty() => {
                return fail("a ui plugin lists its views".into());
            }
            _ => {}
        }
        if let Some(schema) = &self.config_schema {
            jsonschema::validator_for(schema)
                .map_err(|e| ManifestError(format!("config_schema: {e}")))?;
        }
        Ok(())
    }

    /// The capabilities asked for.
    pub fn requested(&self) -> BTreeSet<Capability> {
        self.capabilities.iter().map(|c| c.name).collect()
    }

    /// The hosts asked for under `http`.
    pub fn requested_hosts(&self) -> BTreeSet<String> {
        self.capabilities
            .iter()
            .filter(|c| c.name == Capability::Http)
            .flat_map(|c| c.hosts.iter().map(|h| h.to_ascii_lowercase()))
            .collect()
    }

    /// Checks a tenant's configuration against the schema; `{}` when there is none.
    pub fn check_config(&self, config: &serde_json::Value) -> Result<(), String> {
        let Some(schema) = &self.config_schema else {
            return Ok(());
        };
        let validator = jsonschema::validator_for(schema).map_err(|e| e.to_string())?;
        let errors: Vec<String> = validator
            .iter_errors(config)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// What a tenant's administrator granted at install.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Capabilities.
    pub capabilities: BTreeSet<Capability>,
    /// Hosts for `http`.
    #[serde(default)]
    pub hosts: BTreeSet<String>,
}

/// What the platform allows plugins at all.
#[derive(Debug, Clone)]
pub struct PlatformPolicy {
    /// Capabilities the platform offers.
    pub capabilities: BTreeSet<Capability>,
    /// Hosts no plugin may reach, whatever is granted.
    pub denied_hosts: BTreeSet<String>,
    /// Whether egress may reach loopback and private addresses (tests, on-premises).
    pub allow_private_network: bool,
    /// Whether egress may use plain http.
    pub allow_plain_http: bool,
}

impl Default for PlatformPolicy {
    fn default() -> Self {
        PlatformPolicy {
            capabilities: Capability::ALL.into_iter().collect(),
            denied_hosts: BTreeSet::new(),
            allow_private_network: false,
            allow_plain_http: false,
        }
    }
}

/// The effective grant: requested ∩ granted ∩ platform policy.
pub fn effective(manifest: &Manifest, grant: &Grant, policy: &PlatformPolicy) -> Grant {
    let capabilities: BTreeSet<Capability> = manifest
        .requested()
        .intersection(&grant.capabilities)
        .copied()
        .filter(|c| policy.capabilities.contains(c))
        .collect();
    let hosts = if capabilities.contains(&Capability::Http) {
        let granted: BTreeSet<String> =
            grant.hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        manifest
            .requested_hosts()
            .intersection(&granted)
            .filter(|h| !policy.denied_hosts.contains(*h))
            .cloned()
            .collect()
    } else {
        BTreeSet::new()
    };
    Grant {
        capabilities,
        hosts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
id = "auto-triage"
name = "Auto-triage"
version = "1.2.0"
publisher = "portico"
world = "ticket-hooks"
interface = "0.1.0"
events = ["ticket.created"]

[[capabilities]]
name = "update-tickets"
reason = "Sets type and priority and explains them in a note."

[[capabilities]]
name = "http"
reason = "Looks the requester up in the CRM."
hosts = ["crm.example.com", "api.example.com"]

[limits]
memory_mib = 8

[config_schema]
type = "object"
properties = { threshold = { type = "integer", minimum = 1 } }
additionalProperties = false
"#;

    #[test]
    fn parses_and_checks() {
        let m = Manifest::parse(MANIFEST).expect("valid");
        assert_eq!(m.world, World::TicketHooks);
        assert_eq!(m.limits.memory_mib, 8);
        assert_eq!(m.limits.cpu_ms, 50);
        assert_eq!(m.on_failure, FailurePolicy::Open);
        assert!(m.check_config(&serde_json::json!({"threshold": 3})).is_ok());
        let err = m
            .check_config(&serde_json::json!({"threshold": 0, "x": 1}))
            .expect_err("invalid");
        assert!(
            err.contains("threshold") || err.contains("minimum"),
            "{err}"
        );
    }

    #[test]
    fn refuses_bad_manifests() {
        for (change, expect) in [
            (("id = \"auto-triage\"", "id = \"Auto Triage\""), "id"),
            (
                ("interface = \"0.1.0\"", "interface = \"0.2.0\""),
                "interface",
            ),
            (
                (
                    "reason = \"Looks the requester up in the CRM.\"",
                    "reason = \"crm\"",
                ),
                "reason",
            ),
            (("memory_mib = 8", "memory_mib = 4096"), "memory_mib"),
            (("events = [\"ticket.created\"]", ""), "events"),
            (("world = \"ticket-hooks\"", "world = \"kernel\""), "kernel"),
            (("[limits]", "[limits]\nunknown = 1"), "unknown"),
        ] {
            let text = MANIFEST.replace(change.0, change.1);
            let err = Manifest::parse(&text).expect_err(expect).to_string();
            assert!(err.contains(expect), "{expect}: {err}");
        }
    }

    #[test]
    fn effective_grant_is_the_intersection() {
        let m = Manifest::parse(MANIFEST).expect("valid");
        let grant = Grant {
            capabilities: [Capability::UpdateTickets, Capability::Http, Capability::Kv]
                .into_iter()
                .collect(),
            hosts: ["CRM.example.com".to_owned(), "evil.example.com".to_owned()]
                .into_iter()
                .collect(),
        };
        let policy = PlatformPolicy::default();
        let e = effective(&m, &grant, &policy);
        // kv was granted but not asked for; evil was granted but not asked for.
        assert_eq!(
            e.capabilities,
            [Capability::UpdateTickets, Capability::Http]
                .into_iter()
                .collect()
        );
        assert_eq!(
            e.hosts,
            ["crm.example.com".to_owned()].into_iter().collect()
        );
        let strict = PlatformPolicy {
            capabilities: [Capability::UpdateTickets].into_iter().collect(),
            ..PlatformPolicy::default()
        };
        let e = effective(&m, &grant, &strict);
        assert_eq!(
            e.capabilities,
            [Capability::UpdateTickets].into_iter().collect()
        );
        assert!(e.hosts.is_empty());
    }
}
