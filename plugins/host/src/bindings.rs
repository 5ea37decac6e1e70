//! Host bindings generated from `plugins/wit/plugin.wit`.
//!
//! `base` carries every import (one linker serves all worlds); each other world
//! reuses base's import modules through `with`, so a host function is written once.

#![allow(missing_docs, clippy::all)]

pub mod base {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "base",
        imports: { default: async },
        exports: { default: async },
    });
}

macro_rules! world {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../wit",
                world: $world,
                imports: { default: async },
                exports: { default: async },
                with: {
                    "portico:plugin/types": crate::bindings::base::portico::plugin::types,
                    "portico:plugin/log": crate::bindings::base::portico::plugin::log,
                    "portico:plugin/config": crate::bindings::base::portico::plugin::config,
                    "portico:plugin/kv": crate::bindings::base::portico::plugin::kv,
                    "portico:plugin/tickets": crate::bindings::base::portico::plugin::tickets,
                    "portico:plugin/knowledge": crate::bindings::base::portico::plugin::knowledge,
                    "portico:plugin/egress": crate::bindings::base::portico::plugin::egress,
                    "portico:plugin/llm": crate::bindings::base::portico::plugin::llm,
                },
            });
        }
    };
}

world!(ticket_hooks, "ticket-hooks-plugin");
world!(http, "http-plugin");
world!(scheduled, "scheduled-plugin");
world!(ui, "ui-plugin");
world!(device_actions, "device-actions-plugin");

pub use base::portico::plugin::types::{
    DeviceAction, Effect, Email, Field, NewTicket, Ticket, TicketEvent,
};
