//! The Portico plugin SDK: Rust bindings for the `portico:plugin@0.1.0` worlds
//! (through `wit-bindgen`) and small helpers over the host functions.
//!
//! Enable exactly one world feature (`ticket-hooks`, `http`, `scheduled`, `ui`,
//! `device-actions`), implement its `Guest` traits and call its export macro:
//!
//! ```ignore
//! use portico_plugin_sdk::prelude::*;
//!
//! struct Plugin;
//! impl lifecycle::Guest for Plugin {
//!     fn on_install() -> Result<(), String> { Ok(()) }
//! }
//! impl ticket_hooks::Guest for Plugin {
//!     fn on_ticket_event(event: TicketEvent) -> Result<Vec<Effect>, String> {
//!         Ok(vec![Effect::AddNote(format!("Seen #{}", event.ticket.number))])
//!     }
//! }
//! portico_plugin_sdk::export_plugin!(Plugin);
//! ```
//!
//! See `plugins/README.md` for building, signing and installing.

#[cfg(any(
    all(
        feature = "ticket-hooks",
        any(
            feature = "http",
            feature = "scheduled",
            feature = "ui",
            feature = "device-actions"
        )
    ),
    all(
        feature = "http",
        any(feature = "scheduled", feature = "ui", feature = "device-actions")
    ),
    all(feature = "scheduled", any(feature = "ui", feature = "device-actions")),
    all(feature = "ui", feature = "device-actions"),
))]
compile_error!("enable exactly one world feature of portico-plugin-sdk");

#[cfg(not(any(
    feature = "ticket-hooks",
    feature = "http",
    feature = "scheduled",
    feature = "ui",
    feature = "device-actions"
)))]
compile_error!(
    "enable one world feature of portico-plugin-sdk: ticket-hooks, http, scheduled, ui or device-actions"
);

/// The generated bindings of the world this plugin targets.
#[doc(hidden)]
pub mod bindings {
    #[cfg(feature = "ticket-hooks")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "ticket-hooks-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "portico_plugin_sdk::bindings",
    });
    #[cfg(feature = "http")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "http-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "portico_plugin_sdk::bindings",
    });
    #[cfg(feature = "scheduled")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "scheduled-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "portico_plugin_sdk::bindings",
    });
    #[cfg(feature = "ui")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "ui-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "portico_plugin_sdk::bindings",
    });
    #[cfg(feature = "device-actions")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "device-actions-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "portico_plugin_sdk::bindings",
    });
}

pub use bindings::export_plugin;
pub use bindings::portico::plugin::{config, egress, knowledge, kv, llm, log, tickets, types};

/// What a plugin usually needs.
pub mod prelude {
    #[cfg(feature = "device-actions")]
    pub use crate::bindings::exports::portico::plugin::device_actions;
    #[cfg(feature = "http")]
    pub use crate::bindings::exports::portico::plugin::http_handler;
    pub use crate::bindings::exports::portico::plugin::lifecycle;
    #[cfg(feature = "scheduled")]
    pub use crate::bindings::exports::portico::plugin::scheduled;
    #[cfg(feature = "ticket-hooks")]
    pub use crate::bindings::exports::portico::plugin::ticket_hooks;
    #[cfg(feature = "ui")]
    pub use crate::bindings::exports::portico::plugin::ui;
    pub use crate::types::{DeviceAction, Effect, Email, Field, NewTicket, Ticket, TicketEvent};
    pub use crate::{debug, error, info, warn};
}

/// The plugin's configuration in this tenant, parsed (an empty object when unset).
pub fn config_json() -> serde_json::Value {
    serde_json::from_str(&config::get()).unwrap_or(serde_json::Value::Object(Default::default()))
}

/// The plugin's configuration, deserialized into `T`.
pub fn config_as<T: serde::de::DeserializeOwned>() -> Result<T, String> {
    serde_json::from_str(&config::get()).map_err(|e| format!("invalid configuration: {e}"))
}

/// Logs at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Info, &format!($($arg)*)) };
}
/// Logs at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Debug, &format!($($arg)*)) };
}
/// Logs at warn level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Warn, &format!($($arg)*)) };
}
/// Logs at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::log($crate::log::Level::Error, &format!($($arg)*)) };
}
