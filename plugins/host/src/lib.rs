//! Portico's WebAssembly plugin host.
//!
//! Plugins are WebAssembly components targeting one of the worlds of
//! `plugins/wit/plugin.wit` (`portico:plugin@0.1.0`). They arrive as signed
//! bundles ([`package`]), are admitted and compiled off the request path
//! ([`runtime::PluginHost::prepare`]), and run in a fresh store per call with
//! hard limits on CPU, wall time, memory and output ([`runtime`], [`limits`]).
//! Everything they may reach goes through host functions that check the call's
//! effective capabilities ([`host`], [`manifest::effective`]); what they want to
//! change comes back as proposed effects the application applies with its own
//! permission checks and audit log.

pub mod bindings;
pub mod host;
pub mod limits;
pub mod manifest;
pub mod package;
pub mod runtime;

pub use host::{CallContext, PluginServices};
pub use manifest::{Capability, FailurePolicy, Grant, Manifest, PlatformPolicy, World};
pub use runtime::{HostConfig, Invocation, LoadedPlugin, Outcome, PluginError, PluginHost};
