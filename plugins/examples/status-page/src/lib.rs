//! Status page: an HTTP plugin. `GET /plugins/status-page/status` answers the
//! tenant's configured message as JSON; `/plugins/status-page/echo` answers what it
//! received (method, path, query, header names, body length), which the tests use
//! to show what the host passes on and what it keeps back.

use portico_plugin_sdk::config_json;
use portico_plugin_sdk::prelude::*;

struct StatusPage;

impl lifecycle::Guest for StatusPage {
    fn on_install() -> Result<(), String> {
        Ok(())
    }
}

fn json(status: u16, value: serde_json::Value) -> http_handler::Response {
    http_handler::Response {
        status,
        content_type: "application/json".into(),
        body: value.to_string().into_bytes(),
    }
}

impl http_handler::Guest for StatusPage {
    fn handle(request: http_handler::Request) -> Result<http_handler::Response, String> {
        match request.path.as_str() {
            "/status" => {
                let message = config_json()["message"]
                    .as_str()
                    .unwrap_or("All systems operational")
                    .to_owned();
                Ok(json(
                    200,
                    serde_json::json!({ "status": "ok", "message": message }),
                ))
            }
            "/echo" => {
                let names: Vec<String> = request.headers.iter().map(|h| h.name.clone()).collect();
                Ok(json(
                    200,
                    serde_json::json!({
                        "method": request.method,
                        "path": request.path,
                        "query": request.query,
                        "headers": names,
                        "body_length": request.body.len(),
                    }),
                ))
            }
            "/html" => Ok(http_handler::Response {
                status: 200,
                content_type: "text/html".into(),
                body: b"<script>alert(1)</script>".to_vec(),
            }),
            _ => Ok(json(404, serde_json::json!({ "error": "no such page" }))),
        }
    }
}

portico_plugin_sdk::export_plugin!(StatusPage);
