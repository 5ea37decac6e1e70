//! The command line: `serve`, `migrate`, and the operator's commands on tenants,
//! API tokens and first accounts.
//!
//! Exit codes: 0 success, 1 failure, 2 invalid input (also for usage errors),
//! 3 not found, 4 already exists, 5 audit chain broken.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portico_tenants::ids::EmailAddress;
use portico_tenants::migrate::{self, error_chain};
use portico_tenants::people::{self, NewUser};
use portico_tenants::{Role, Store, StoreError, TenantSlug, TenantStatus, registry, tokens};
use tokio_util::sync::CancellationToken;

use crate::app::{Application, Extensions, open_store};
use crate::settings::Settings;

/// Portico: a multi-tenant service desk for MSPs.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about)]
pub struct Cli {
    /// A TOML settings file (environment variables override it).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every tenant (the embedded default needs no other service).
    Serve,
    /// Bring the platform schema and every tenant schema to this version.
    Migrate {
        /// Tenants migrated at once (default: PORTICO_MIGRATE_PARALLELISM).
        #[arg(long)]
        parallelism: Option<usize>,
    },
    /// Create, list, suspend, resume and delete tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Create API tokens (service accounts with a role in one tenant).
    ApiToken {
        #[command(subcommand)]
        command: ApiTokenCommand,
    },
    /// Platform admins (the operator's accounts).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// People of a tenant.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The hash-chained audit logs.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Plugins: publisher keys, signed bundles, the catalogue and tenants' installs.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// The e-mail channel.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
}

/// `portico mail …`
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Print, as JSON, what Portico makes of a raw message (the intake pipeline's own
    /// reading: reply text, automated kind, thread keys, sender, attachments).
    Inspect {
        /// The `.eml` file (`-` reads standard input).
        file: PathBuf,
    },
}

/// What `portico mail inspect` prints.
pub fn inspect_mail(raw: &[u8]) -> Result<serde_json::Value, portico_mailtext::ParseError> {
    let parsed = portico_mailtext::parse(raw)?;
    Ok(serde_json::json!({
        "reply_text": crate::mail::intake::reply_text(&parsed),
        "auto": parsed.auto,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": parsed.references,
        "subject": parsed.subject,
        "subject_token": parsed.subject_token.as_ref().map(|t| format!("[#{}-{}]", t.number, t.tag)),
        "markers": parsed.markers.iter().map(|t| format!("portico-ref:{}-{}", t.number, t.tag)).collect::<Vec<_>>(),
        "sender": parsed.from,
        "reply_to": parsed.reply_to,
        "to": parsed.to,
        "cc": parsed.cc,
        "date": parsed.date,
        "close_command": portico_mailtext::close_command(&crate::mail::intake::reply_text(&parsed)),
        "attachments": parsed.attachments.iter().map(|a| serde_json::json!({
            "name": a.filename,
            "type": a.content_type,
            "size": a.size,
            "inline": a.inline,
        })).collect::<Vec<_>>(),
    }))
}

fn mail_inspect(file: &std::path::Path) -> Result<(), Failure> {
    let raw = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| Failure {
            code: 2,
            message: format!("cannot read standard input: {e}"),
        })?;
        buf
    } else {
        std::fs::read(file).map_err(|e| Failure {
            code: 2,
            message: format!("cannot read {}: {e}", file.display()),
        })?
    };
    let report = inspect_mail(&raw).map_err(|e| Failure {
        code: 2,
        message: format!("{}: {e}", file.display()),
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    Ok(())
}

/// Plugin commands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a publisher key pair: the secret key goes to a file, the public key is printed.
    Keygen {
        /// Where to write the secret key (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a plugin: a directory with plugin.toml and plugin.wasm becomes a bundle.
    Pack {
        /// The directory.
        dir: PathBuf,
        /// The publisher's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// The bundle to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Trust a publisher's public key on this platform.
    Trust {
        /// The publisher's name, as in its manifests.
        #[arg(long)]
        publisher: String,
        /// Its public key (ed25519:…).
        #[arg(long)]
        key: String,
    },
    /// Verify, compile and add a signed bundle to the platform's catalogue.
    Publish {
        /// The bundle file.
        bundle: PathBuf,
    },
    /// The catalogue, or a tenant's installed plugins.
    List {
        /// A tenant's installs instead of the catalogue.
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install a plugin in a tenant, or upgrade it (the version in use becomes the rollback target).
    Install {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's id.
        id: String,
        /// A published version (default: the newest).
        #[arg(long)]
        version: Option<String>,
        /// Capabilities granted, comma-separated (read-tickets,update-tickets,…).
        #[arg(long, value_delimiter = ',')]
        grant: Vec<String>,
        /// Hosts granted for the http capability, comma-separated.
        #[arg(long, value_delimiter = ',')]
        hosts: Vec<String>,
        /// The configuration, JSON (checked against the plugin's schema).
        #[arg(long, value_name = "JSON")]
        plugin_config: Option<String>,
    },
    /// Enable a plugin (for all organizations, or only those named).
    Enable {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's id.
        id: String,
        /// Organization ids it runs for (repeatable); none: all.
        #[arg(long = "organization")]
        organizations: Vec<i64>,
    },
    /// Disable a plugin (it stays installed with its data).
    Disable {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's id.
        id: String,
    },
    /// Replace a plugin's configuration.
    Configure {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's id.
        id: String,
        /// The configuration, JSON (checked against the plugin's schema).
        #[arg(long, value_name = "JSON")]
        plugin_config: String,
    },
    /// Set or remove a secret the plugin may name in its egress headers.
    Secret {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's id.
        id: String,
        /// The secret's name.
        name: String,
        /// Its value (read from PORTICO_PLUGIN_SECRET when omitted, so it stays out of shell history).
        #[arg(long, env = "PORTICO_PLUGIN_SECRET", hide_env_values = true)]
        value: Option<String>,
        /// Remove it instead.
        #[arg(long, conflicts_with = "value")]
        remove: bool,
    },
    /// Go back to the version used before the last upgrade.
    Rollback {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's id.
        id: String,
    },
    /// Remove a plugin from a tenant with its key-value store and secrets.
    Uninstall {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's id.
        id: String,
    },
}

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check a chain and name its first broken entry (exit code 5 when broken).
    Verify {
        /// The tenant's slug.
        #[arg(
            long,
            conflicts_with = "platform",
            required_unless_present = "platform"
        )]
        tenant: Option<String>,
        /// Check the operator's own chain instead.
        #[arg(long)]
        platform: bool,
    },
}

/// Tenant commands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and its schema.
    Create {
        /// Host label: <slug>.<base domain>.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List tenants.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Suspend a tenant (its portal answers 503; data is kept).
    Suspend {
        /// The tenant's slug.
        slug: String,
    },
    /// Resume a suspended tenant.
    Resume {
        /// The tenant's slug.
        slug: String,
    },
    /// Delete a tenant and all its data.
    Delete {
        /// The tenant's slug.
        slug: String,
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// API token commands.
#[derive(Debug, Subcommand)]
pub enum ApiTokenCommand {
    /// Create a token; it is printed once.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// A name unique in the tenant.
        #[arg(long)]
        name: String,
        /// A service account with this role: msp_admin, technician, main_contact or contact.
        #[arg(long, conflicts_with = "user", required_unless_present = "user")]
        role: Option<String>,
        /// A personal token acting as this person (their role and scope).
        #[arg(long)]
        user: Option<String>,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; every instance refuses it within a second.
    Revoke {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The token's name.
        #[arg(long)]
        name: String,
    },
}

/// Platform admin commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a platform admin and print their single-use set-up link.
    Create {
        /// Their e-mail address (their sign-in name).
        #[arg(long)]
        email: String,
    },
}

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person in a tenant and print their single-use invitation link.
    Create {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Their e-mail address (their sign-in name).
        #[arg(long)]
        email: String,
        /// msp_admin, technician, main_contact or contact.
        #[arg(long)]
        role: String,
        /// Their display name.
        #[arg(long, default_value = "")]
        name: String,
    },
}

/// A failure with its exit code.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        if let Some(store) = error.downcast_ref::<StoreError>() {
            return store_failure(store);
        }
        Failure {
            code: 1,
            message: format!("{error:#}"),
        }
    }
}

impl From<crate::plugins::PluginsError> for Failure {
    fn from(error: crate::plugins::PluginsError) -> Self {
        use crate::plugins::PluginsError as E;
        match error {
            E::Store(store) => store_failure(&store),
            E::Package(_) | E::Admission(_) | E::Invalid(_) => Failure {
                code: 2,
                message: error.to_string(),
            },
            E::Plugin(_) | E::Host(_) => Failure {
                code: 1,
                message: error.to_string(),
            },
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        store_failure(&error)
    }
}

fn store_failure(error: &StoreError) -> Failure {
    let code = match error {
        StoreError::Invalid { .. } => 2,
        StoreError::NotFound(_) => 3,
        StoreError::Conflict(_) => 4,
        _ => 1,
    };
    Failure {
        code,
        message: error_chain(error),
    }
}

/// Runs a parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve => serve(settings).await,
        Command::Mail {
            command: MailCommand::Inspect { file },
        } => mail_inspect(&file),
        command => {
            if matches!(command, Command::Migrate { .. }) {
                crate::telemetry::init(&settings);
            }
            operate(settings, command).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

async fn serve(mut settings: Settings) -> Result<(), Failure> {
    crate::telemetry::init(&settings);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("PORTICO_LISTEN: cannot bind {}", settings.listen))?;
    // With port 0 the system picks one: print and mail the real one.
    settings.listen = listener.local_addr().context("reading the bound address")?;
    let backend = if settings.is_embedded() {
        format!("the embedded database in {}", settings.data_dir.display())
    } else {
        "PostgreSQL".to_owned()
    };
    let operator_url = settings.operator_url();
    let plugins_dir = settings.plugins_dir.clone();
    let application = Application::build(settings, listener, Extensions::default()).await?;
    let report = application.report();
    // The handlers are installed before anything is printed: whoever reads the
    // links and then sends SIGTERM gets the graceful stop, never the default kill.
    let shutdown = CancellationToken::new();
    let signals = ShutdownSignals::install();
    tokio::spawn(signals.cancel_on_signal(shutdown.clone()));
    println!(
        "Portico {} is serving on {backend}",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(url) = &report.demo_url {
        println!("  Demo tenant:  {url}");
    }
    println!("  Operator:     {operator_url}");
    match &report.first_party_plugins {
        Some(ids) if !ids.is_empty() => {
            println!(
                "  Plugin components in {}: {}",
                plugins_dir.display(),
                ids.join(", ")
            );
        }
        _ => println!(
            "  No plugin components in {} (build them with plugins/build.sh; see plugins/README.md)",
            plugins_dir.display()
        ),
    }
    if let Some(link) = &report.operator_setup_link {
        println!("  Set up the first platform admin (single use, valid 72 hours):\n    {link}");
    }
    if let Some(link) = &report.demo_admin_link {
        println!(
            "  Set up the demo tenant's first MSP admin (single use, valid 72 hours):\n    {link}"
        );
    }
    application.run(shutdown).await?;
    Ok(())
}

/// SIGTERM and Ctrl-C, listened to from the moment they are installed.
struct ShutdownSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    /// Installs the handlers now (SIGINT's is installed by `ctrl_c` on first poll,
    /// and Ctrl-C comes from a person, never from a script racing the start).
    fn install() -> Self {
        ShutdownSignals {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .ok(),
        }
    }

    /// Cancels `shutdown` on the first signal.
    async fn cancel_on_signal(self, shutdown: CancellationToken) {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        match self.terminate {
            Some(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            None => {
                let _ = interrupt.await;
            }
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        tracing::info!("shutting down");
        shutdown.cancel();
    }
}

async fn operate(settings: Settings, command: Command) -> Result<(), Failure> {
    let store = open_store(&settings).await?;
    let result = match command {
        Command::Migrate { parallelism } => {
            migrate_command(&store, parallelism.unwrap_or(settings.migrate_parallelism)).await
        }
        other => {
            migrate::migrate_platform(&store).await?;
            match other {
                Command::Tenant { command } => tenant_command(&store, &settings, command).await,
                Command::ApiToken { command } => api_token_command(&store, command).await,
                Command::Plugin { command } => plugin_command(&store, &settings, command).await,
                Command::Admin {
                    command: AdminCommand::Create { email },
                } => {
                    let email = EmailAddress::parse(&email)?;
                    let token = registry::create_platform_admin(&store, &email).await?;
                    audit_operator(
                        &store,
                        "operator.created",
                        format!("email:{}", email.as_str()),
                        serde_json::json!({}),
                    )
                    .await?;
                    println!(
                        "Platform admin {} created. Single-use set-up link (valid 72 hours):",
                        email.as_str()
                    );
                    println!("{}/setup/{token}", settings.operator_url());
                    Ok(())
                }
                Command::User {
                    command:
                        UserCommand::Create {
                            tenant,
                            email,
                            role,
                            name,
                        },
                } => {
                    let db = store.tenant_by_slug(&tenant).await?;
                    let new = NewUser {
                        email: EmailAddress::parse(&email)?,
                        display_name: name,
                        role: Role::parse(&role)?,
                        invite: false,
                        organization_id: None,
                    };
                    let user = people::create_user(&db, new).await?;
                    let token = people::issue_invitation(&db, user.id).await?;
                    println!(
                        "User {} ({}) created in {tenant}. Single-use invitation link (valid 72 hours):",
                        user.email,
                        user.role.as_str()
                    );
                    println!("{}/invite/{token}", settings.tenant_url(&tenant));
                    Ok(())
                }
                Command::Audit {
                    command:
                        AuditCommand::Verify {
                            tenant,
                            platform: _,
                        },
                } => {
                    let (report, chain) = match &tenant {
                        Some(slug) => {
                            let db = store.tenant_by_slug(slug).await?;
                            (
                                portico_tenants::audit::verify(&db).await?,
                                format!("tenant {slug}"),
                            )
                        }
                        None => (
                            portico_tenants::audit::verify_platform(&store).await?,
                            "platform".to_owned(),
                        ),
                    };
                    match report.first_broken {
                        None => {
                            println!("audit chain of {chain}: {} entries, intact", report.entries);
                            Ok(())
                        }
                        Some((id, reason)) => Err(Failure {
                            code: 5,
                            message: format!(
                                "audit chain of {chain} is broken at entry {id}: {reason}"
                            ),
                        }),
                    }
                }
                Command::Serve | Command::Migrate { .. } | Command::Mail { .. } => Ok(()),
            }
        }
    };
    store.close().await;
    result
}

async fn migrate_command(store: &Store, parallelism: usize) -> Result<(), Failure> {
    let started = Instant::now();
    let mut last_print = Instant::now();
    let report = migrate::migrate_all(store, parallelism, |progress| {
        if progress.done == progress.total || last_print.elapsed().as_millis() >= 1000 {
            eprintln!(
                "migrating tenants: {}/{} ({} failed)",
                progress.done, progress.total, progress.failed
            );
            last_print = Instant::now();
        }
    })
    .await?;
    println!(
        "platform schema at version {}; {} tenant schema(s) migrated to version {} in {:.1} s",
        report.platform_version,
        report.migrated,
        report.tenant_version,
        started.elapsed().as_secs_f64()
    );
    if report.failures.is_empty() {
        Ok(())
    } else {
        for (slug, error) in &report.failures {
            eprintln!("  {slug}: {error}");
        }
        Err(Failure {
            code: 1,
            message: format!(
                "{} tenant(s) failed to migrate; rerun `portico migrate` after fixing the cause",
                report.failures.len()
            ),
        })
    }
}

async fn api_token_command(store: &Store, command: ApiTokenCommand) -> Result<(), Failure> {
    match command {
        ApiTokenCommand::Create {
            tenant,
            name,
            role,
            user,
        } => {
            let (secret, what) = match (role, user) {
                (_, Some(email)) => (
                    tokens::create_personal_token(store, &tenant, &name, &email).await?,
                    format!("acting as {email}"),
                ),
                (Some(role), None) => {
                    let role = Role::parse(&role)?;
                    (
                        tokens::create_api_token(store, &tenant, &name, role).await?,
                        format!("service account, {}", role.as_str()),
                    )
                }
                (None, None) => {
                    return Err(Failure {
                        code: 2,
                        message: "give --role or --user".to_owned(),
                    });
                }
            };
            let db = store.tenant_by_slug(&tenant).await?;
            portico_tenants::audit::append(
                &db,
                portico_tenants::audit::AuditEntry {
                    actor: "operator:cli".to_owned(),
                    action: "token.created",
                    target: format!("token:{name}"),
                    details: serde_json::json!({ "kind": what }),
                },
            )
            .await?;
            println!("{secret}");
            eprintln!("API token `{name}` for {tenant} ({what}); it is shown only this once.");
        }
        ApiTokenCommand::List { tenant, json } => {
            let list = tokens::list_api_tokens(store, &tenant).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).context("encoding JSON")?
                );
            } else {
                println!(
                    "{:<24} {:<13} {:<8} {:<14} STATE",
                    "NAME", "ROLE", "USER", "LAST USED (s)"
                );
                let now = portico_tenants::clock::now_ms();
                for token in list {
                    let used = token
                        .last_used_at
                        .map(|at| ((now - at) / 1000).to_string())
                        .unwrap_or_else(|| "never".to_owned());
                    let user = token
                        .user_id
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| "-".to_owned());
                    let state = if token.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{:<24} {:<13} {:<8} {:<14} {state}",
                        token.name,
                        token.role.as_str(),
                        user,
                        used
                    );
                }
            }
        }
        ApiTokenCommand::Revoke { tenant, name } => {
            tokens::revoke_api_token(store, &tenant, &name).await?;
            let db = store.tenant_by_slug(&tenant).await?;
            portico_tenants::audit::append(
                &db,
                portico_tenants::audit::AuditEntry {
                    actor: "operator:cli".to_owned(),
                    action: "token.revoked",
                    target: format!("token:{name}"),
                    details: serde_json::json!({}),
                },
            )
            .await?;
            println!("API token `{name}` of {tenant} revoked.");
        }
    }
    Ok(())
}

/// Records an operator command in the platform's audit chain.
async fn audit_operator(
    store: &Store,
    action: &'static str,
    target: String,
    details: serde_json::Value,
) -> Result<(), Failure> {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    portico_tenants::audit::append_platform(
        store,
        portico_tenants::audit::AuditEntry {
            actor: format!("operator:cli:{who}"),
            action,
            target,
            details,
        },
    )
    .await?;
    Ok(())
}

async fn tenant_command(
    store: &Store,
    settings: &Settings,
    command: TenantCommand,
) -> Result<(), Failure> {
    match command {
        TenantCommand::Create { slug, name } => {
            let slug = TenantSlug::parse(&slug)?;
            let started = Instant::now();
            let tenant = registry::create_tenant(store, &slug, &name).await?;
            audit_operator(
                store,
                "tenant.created",
                format!("tenant:{}", tenant.slug),
                serde_json::json!({ "name": tenant.name }),
            )
            .await?;
            println!(
                "Tenant {} ({}) created in {} ms: {}",
                tenant.slug,
                tenant.name,
                started.elapsed().as_millis(),
                settings.tenant_url(&tenant.slug)
            );
        }
        TenantCommand::List { json } => {
            let tenants = registry::list_tenants(store).await?;
            if json {
                let text = serde_json::to_string_pretty(&tenants).context("encoding JSON")?;
                println!("{text}");
            } else {
                println!("{:<24} {:<11} {:>7}  NAME", "SLUG", "STATUS", "SCHEMA");
                for tenant in tenants {
                    println!(
                        "{:<24} {:<11} {:>7}  {}",
                        tenant.slug,
                        tenant.status.as_str(),
                        tenant.schema_version,
                        tenant.name
                    );
                }
            }
        }
        TenantCommand::Suspend { slug } => {
            registry::set_status(store, &slug, TenantStatus::Suspended).await?;
            audit_operator(
                store,
                "tenant.suspended",
                format!("tenant:{slug}"),
                serde_json::json!({}),
            )
            .await?;
            println!("Tenant {slug} suspended.");
        }
        TenantCommand::Resume { slug } => {
            registry::set_status(store, &slug, TenantStatus::Active).await?;
            audit_operator(
                store,
                "tenant.resumed",
                format!("tenant:{slug}"),
                serde_json::json!({}),
            )
            .await?;
            println!("Tenant {slug} resumed.");
        }
        TenantCommand::Delete { slug, yes } => {
            if !yes {
                return Err(Failure {
                    code: 2,
                    message: format!("deleting {slug} removes all its data; pass --yes to confirm"),
                });
            }
            registry::delete_tenant(store, &slug).await?;
            audit_operator(
                store,
                "tenant.deleted",
                format!("tenant:{slug}"),
                serde_json::json!({}),
            )
            .await?;
            println!("Tenant {slug} deleted.");
        }
    }
    Ok(())
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure {
        code: 2,
        message: format!("{what}: not JSON: {e}"),
    })
}

async fn plugin_command(
    store: &Store,
    settings: &Settings,
    command: PluginCommand,
) -> Result<(), Failure> {
    use portico_plugins::package;
    const ACTOR: &str = "operator:cli";
    let invalid = |message: String| Failure { code: 2, message };
    let plugins = || -> Result<crate::plugins::Plugins, Failure> {
        let key = crate::secrets::MasterKey::load(settings).map_err(|e| Failure {
            code: 2,
            message: e.to_string(),
        })?;
        Ok(crate::plugins::Plugins::new(settings, store.clone(), &key)?)
    };
    match command {
        PluginCommand::Keygen { out } => {
            let (secret, public) = package::generate_key();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&out)
                .map_err(|e| invalid(format!("{}: {e}", out.display())))?;
            std::io::Write::write_all(&mut file, format!("{secret}\n").as_bytes())
                .map_err(|e| invalid(format!("{}: {e}", out.display())))?;
            println!("{public}");
        }
        PluginCommand::Pack { dir, key, out } => {
            let secret = std::fs::read_to_string(&key)
                .map_err(|e| invalid(format!("{}: {e}", key.display())))?;
            let bytes = crate::plugins::pack(&dir, &secret)?;
            std::fs::write(&out, &bytes).map_err(|e| invalid(format!("{}: {e}", out.display())))?;
            println!("{} ({} bytes)", out.display(), bytes.len());
        }
        PluginCommand::Trust { publisher, key } => {
            package::parse_public_key(&key).map_err(|e| invalid(e.to_string()))?;
            portico_tenants::plugins::trust_publisher(store, &publisher, key.trim(), ACTOR).await?;
            println!("Publisher {publisher} trusted.");
        }
        PluginCommand::Publish { bundle } => {
            let bytes = std::fs::read(&bundle)
                .map_err(|e| invalid(format!("{}: {e}", bundle.display())))?;
            let (package, new) = plugins()?.publish(&bytes, ACTOR).await?;
            let state = if new {
                "published"
            } else {
                "already published"
            };
            println!(
                "{}@{} ({}, {} world) {state}.",
                package.plugin_id, package.version, package.publisher, package.world
            );
        }
        PluginCommand::List { tenant, json } => match tenant {
            None => {
                let packages = portico_tenants::plugins::packages(store).await?;
                if json {
                    println!("{}", serde_json::json!(packages));
                } else {
                    for p in packages {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            p.plugin_id, p.version, p.publisher, p.world, p.name
                        );
                    }
                }
            }
            Some(slug) => {
                let db = store.tenant_by_slug(&slug).await?;
                let installs = portico_tenants::plugins::installs(&db).await?;
                if json {
                    println!("{}", serde_json::json!(installs));
                } else {
                    for i in installs {
                        let state = if i.enabled { "enabled" } else { "disabled" };
                        println!("{}\t{}\t{state}\t{}", i.plugin_id, i.version, i.grant);
                    }
                }
            }
        },
        PluginCommand::Install {
            tenant,
            id,
            version,
            grant,
            hosts,
            plugin_config: config,
        } => {
            let db = store.tenant_by_slug(&tenant).await?;
            let capabilities = grant
                .iter()
                .filter(|g| !g.trim().is_empty())
                .map(|g| g.trim().parse::<portico_plugins::Capability>())
                .collect::<Result<_, _>>()
                .map_err(|e| invalid(e.to_string()))?;
            let grant = portico_plugins::Grant {
                capabilities,
                hosts: hosts
                    .into_iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect(),
            };
            let config = config
                .map(|c| parse_json(&c, "--plugin-config"))
                .transpose()?;
            let install = plugins()?
                .install(&db, &id, version.as_deref(), grant, config, ACTOR)
                .await?;
            println!(
                "{}@{} installed in {tenant}.",
                install.plugin_id, install.version
            );
        }
        PluginCommand::Enable {
            tenant,
            id,
            organizations,
        } => {
            let db = store.tenant_by_slug(&tenant).await?;
            let list = (!organizations.is_empty()).then_some(organizations);
            plugins()?.enable(&db, &id, list, ACTOR).await?;
            println!("{id} enabled in {tenant}.");
        }
        PluginCommand::Disable { tenant, id } => {
            let db = store.tenant_by_slug(&tenant).await?;
            portico_tenants::plugins::set_enabled(&db, &id, false, None, ACTOR).await?;
            println!("{id} disabled in {tenant}.");
        }
        PluginCommand::Configure {
            tenant,
            id,
            plugin_config: config,
        } => {
            let db = store.tenant_by_slug(&tenant).await?;
            let config = parse_json(&config, "--plugin-config")?;
            plugins()?.configure(&db, &id, config, ACTOR).await?;
            println!("{id} configured in {tenant}.");
        }
        PluginCommand::Secret {
            tenant,
            id,
            name,
            value,
            remove,
        } => {
            let db = store.tenant_by_slug(&tenant).await?;
            if value.is_none() && !remove {
                return Err(invalid(
                    "give --value (or PORTICO_PLUGIN_SECRET) or --remove".into(),
                ));
            }
            plugins()?
                .set_secret(&db, &id, &name, value.as_deref(), ACTOR)
                .await?;
            println!(
                "Secret {name} of {id} {}.",
                if remove { "removed" } else { "set" }
            );
        }
        PluginCommand::Rollback { tenant, id } => {
            let db = store.tenant_by_slug(&tenant).await?;
            let install = plugins()?.rollback(&db, &id, ACTOR).await?;
            println!("{id} rolled back to {} in {tenant}.", install.version);
        }
        PluginCommand::Uninstall { tenant, id } => {
            let db = store.tenant_by_slug(&tenant).await?;
            portico_tenants::plugins::uninstall(&db, &id, ACTOR).await?;
            println!("{id} uninstalled from {tenant}.");
        }
    }
    Ok(())
}
