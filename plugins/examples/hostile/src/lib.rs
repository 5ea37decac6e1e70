//! A plugin that misbehaves on purpose, for the host's containment tests. Its
//! configuration's `mode` picks the misbehaviour.

use portico_plugin_sdk::prelude::*;
use portico_plugin_sdk::{config_json, egress, kv};

struct Hostile;

impl lifecycle::Guest for Hostile {
    fn on_install() -> Result<(), String> {
        Ok(())
    }
}

#[inline(never)]
fn recurse(depth: u64, trail: &mut [u64; 64]) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    trail[(depth % 64) as usize] = depth;
    let below = recurse(depth + 1, trail);
    below.wrapping_add(trail[(depth % 7) as usize])
}

impl ticket_hooks::Guest for Hostile {
    fn on_ticket_event(event: TicketEvent) -> Result<Vec<Effect>, String> {
        let mode = config_json()["mode"].as_str().unwrap_or("fine").to_owned();
        match mode.as_str() {
            "loop" => {
                let mut x: u64 = event.ticket.number as u64;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut block = vec![0u8; 1 << 20];
                    block[0] = hoard.len() as u8;
                    hoard.push(std::hint::black_box(block));
                }
            }
            "panic" => panic!("hostile plugin panics on #{}", event.ticket.number),
            "recursion" => {
                let mut trail = [0u64; 64];
                Ok(vec![Effect::AddNote(recurse(0, &mut trail).to_string())])
            }
            "ungranted" => {
                let kv = kv::set("k", b"v").err().unwrap_or_default();
                let http = egress::fetch(&egress::Request {
                    method: "GET".into(),
                    url: "https://example.com/".into(),
                    headers: Vec::new(),
                    body: Vec::new(),
                })
                .err()
                .unwrap_or_default();
                Ok(vec![
                    Effect::AddNote(format!("kv: {kv}; http: {http}")),
                    Effect::OpenTicket(NewTicket {
                        subject: "spawned".into(),
                        description: "a ticket nobody allowed".into(),
                        priority: None,
                        organization_id: None,
                    }),
                ])
            }
            "compute" => {
                let rounds = config_json()["rounds"].as_u64().unwrap_or(1_000_000);
                let mut x: u64 = event.ticket.number as u64;
                for i in 0..rounds {
                    x = std::hint::black_box(x ^ i)
                        .wrapping_mul(6364136223846793005)
                        .rotate_left(17);
                }
                Ok(vec![Effect::AddNote(format!("computed {x}"))])
            }
            "fetch" => {
                let config = config_json();
                let headers = config["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .map(|(name, value)| egress::Header {
                                name: name.clone(),
                                value: value.as_str().unwrap_or_default().to_owned(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let answer = egress::fetch(&egress::Request {
                    method: "GET".into(),
                    url: config["url"].as_str().unwrap_or_default().to_owned(),
                    headers,
                    body: Vec::new(),
                });
                let note = match answer {
                    Ok(response) => format!(
                        "{} {}",
                        response.status,
                        String::from_utf8_lossy(&response.body)
                    ),
                    Err(e) => format!("refused: {e}"),
                };
                Ok(vec![Effect::AddNote(note)])
            }
            "huge-output" => Ok(vec![Effect::AddNote("x".repeat(8 << 20))]),
            _ => Ok(vec![Effect::AddNote(format!(
                "hostile plugin behaved on #{}",
                event.ticket.number
            ))]),
        }
    }
}

portico_plugin_sdk::export_plugin!(Hostile);
