//! Black-box tests of the whole application, each on both backends.

mod domains;
mod health;
mod http_surface;
mod identity;
mod import;
mod instances;
mod isolation;
mod jobs;
mod kb;
mod lifecycle;
mod migrations;
mod openapi;
mod operator;
mod outbox;
mod permissions;
mod reports;
mod routing;
mod sla_approvals;
mod sso;
mod stepup;
mod storage;
mod ticket_scope;
mod ticket_work;
mod tickets;
mod webhooks;
mod workflow;
