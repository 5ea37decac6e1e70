//! The tenant-aware Portico application: settings, the HTTP surface, the CLI,
//! translations, outbound mail and HTTP. Storage and tenancy live in
//! `portico-tenants`; this crate never writes SQL.

pub mod app;
pub mod blobs;
pub mod cli;
pub mod domains;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod mail;
pub mod metrics;
pub mod outbound;
pub mod permissions;
pub mod plugins;
pub mod ratelimit;
pub mod secrets;
pub mod settings;
pub mod sms;
pub mod state;
pub mod subscribers;
pub mod telemetry;
pub mod templates;
pub mod webhooks;
