//! Reminder: a scheduled plugin. On each run it proposes an e-mail with the
//! configured text to the configured address, numbered from its key-value store.

use portico_plugin_sdk::prelude::*;
use portico_plugin_sdk::{config_json, kv};

struct Reminder;

impl lifecycle::Guest for Reminder {
    fn on_install() -> Result<(), String> {
        let config = config_json();
        if config["to"].as_str().is_none_or(|to| !to.contains('@')) {
            return Err("configure an address to remind (\"to\")".into());
        }
        Ok(())
    }
}

impl scheduled::Guest for Reminder {
    fn run(now: i64) -> Result<Vec<Effect>, String> {
        let config = config_json();
        let to = config["to"]
            .as_str()
            .ok_or("no address configured")?
            .to_owned();
        let text = config["text"].as_str().unwrap_or("Reminder").to_owned();
        let count = kv::get("runs")?
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        kv::set("runs", count.to_string().as_bytes())?;
        info!("reminder {count} at {now}");
        Ok(vec![Effect::SendEmail(Email {
            to,
            subject: format!("Reminder #{count}"),
            text,
        })])
    }
}

portico_plugin_sdk::export_plugin!(Reminder);
