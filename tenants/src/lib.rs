//! Tenant registry, provisioning, per-tenant schemas, host routing, the event
//! outbox and the durable job runner: everything in Portico that knows SQL.
//!
//! The one rule this crate exists to hold: tenant-scoped data is reachable only
//! through a [`TenantDb`] handle, which [`Store`] alone can make, and every
//! statement on it runs inside a [`TenantTx`] pinned to that tenant's schema
//! (PostgreSQL) or file (SQLite).

pub mod accounts;
pub mod approvals;
pub mod audit;
pub mod canned;
pub mod clock;
pub mod domains;
pub mod error;
pub mod ids;
pub mod import;
pub mod jobs;
pub mod kb;
pub mod kb_text;
pub mod limits;
pub mod mail;
pub mod migrate;
pub mod operators;
pub mod organizations;
pub mod outbox;
pub mod people;
pub mod plugins;
pub mod policy;
pub mod registry;
pub mod reports;
pub mod routing;
pub mod search;
pub mod sections;
pub mod sla;
pub mod sso;
pub mod store;
pub mod thread;
pub mod ticket_config;
pub mod ticket_sla;
pub mod tickets;
pub mod time_entries;
pub mod tokens;
pub mod usage;
pub mod webhooks;
pub mod work;
pub mod workflow;

pub use error::StoreError;
pub use ids::{Role, TenantId, TenantSlug, TenantStatus};
pub use store::{Backend, Store, StoreOptions, TenantDb, TenantTx};
