//! Suggestion box: a UI plugin. Its one view, `board`, shows an introduction (the
//! tenant's configured Markdown), the suggestions so far as a table and a form to
//! add one; a submitted suggestion is kept in the plugin's key-value store. The
//! host draws every block with its own escaped templates, so whatever a person
//! types (markup included) comes back as text.

use portico_plugin_sdk::prelude::*;
use portico_plugin_sdk::{config_json, kv};
use ui::{Block, FieldValue, Form, Input, InputKind, Table, View, ViewRequest};

struct Suggestions;

/// Where the suggestions are kept: a JSON array of [who, title, text].
const KEY: &str = "suggestions";
/// How many are kept.
const KEPT: usize = 50;

fn stored() -> Vec<[String; 3]> {
    kv::get(KEY)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// The plugin's own strings in the five languages of the portal (English when
/// the viewer's language is another).
fn t(locale: &str, key: &str) -> &'static str {
    let lang = locale.get(..2).unwrap_or("en");
    let row: [&'static str; 5] = match key {
        "title" => [
            "Suggestion box",
            "Boîte à idées",
            "Vorschlagsbox",
            "Buzón de sugerencias",
            "Cassetta dei suggerimenti",
        ],
        "heading" => [
            "Suggestions",
            "Suggestions",
            "Vorschläge",
            "Sugerencias",
            "Suggerimenti",
        ],
        "none" => [
            "No suggestions yet.",
            "Aucune suggestion pour l’instant.",
            "Noch keine Vorschläge.",
            "Todavía no hay sugerencias.",
            "Ancora nessun suggerimento.",
        ],
        "from" => ["From", "De", "Von", "De", "Da"],
        "subject" => ["Title", "Titre", "Titel", "Título", "Titolo"],
        "text" => [
            "Your suggestion",
            "Votre suggestion",
            "Ihr Vorschlag",
            "Su sugerencia",
            "Il suggerimento",
        ],
        "send" => ["Send", "Envoyer", "Senden", "Enviar", "Invia"],
        "missing" => [
            "A title is needed.",
            "Un titre est nécessaire.",
            "Ein Titel ist nötig.",
            "Hace falta un título.",
            "Serve un titolo.",
        ],
        _ => [
            "Thank you: your suggestion was added.",
            "Merci : votre suggestion a été ajoutée.",
            "Danke: Ihr Vorschlag wurde hinzugefügt.",
            "Gracias: su sugerencia se ha añadido.",
            "Grazie: il suggerimento è stato aggiunto.",
        ],
    };
    match lang {
        "fr" => row[1],
        "de" => row[2],
        "es" => row[3],
        "it" => row[4],
        _ => row[0],
    }
}

fn board(request: &ViewRequest, notice: Option<String>) -> View {
    let l = request.locale.as_str();
    let mut blocks = Vec::new();
    if let Some(intro) = config_json()["intro"].as_str().filter(|s| !s.is_empty()) {
        blocks.push(Block::Markdown(intro.to_owned()));
    }
    if let Some(notice) = notice {
        blocks.push(Block::Paragraph(notice));
    }
    let all = stored();
    blocks.push(Block::Heading(t(l, "heading").into()));
    if all.is_empty() {
        blocks.push(Block::Paragraph(t(l, "none").into()));
    } else {
        blocks.push(Block::Table(Table {
            columns: vec![
                t(l, "from").into(),
                t(l, "subject").into(),
                t(l, "text").into(),
            ],
            rows: all.iter().map(|row| row.to_vec()).collect(),
        }));
    }
    blocks.push(Block::Form(Form {
        action: "add".into(),
        inputs: vec![
            Input {
                name: "title".into(),
                label: t(l, "subject").into(),
                kind: InputKind::Text,
                value: String::new(),
                required: true,
            },
            Input {
                name: "text".into(),
                label: t(l, "text").into(),
                kind: InputKind::Textarea,
                value: String::new(),
                required: false,
            },
        ],
        submit_label: t(l, "send").into(),
    }));
    View {
        title: t(l, "title").into(),
        blocks,
    }
}

impl lifecycle::Guest for Suggestions {
    fn on_install() -> Result<(), String> {
        Ok(())
    }
}

impl ui::Guest for Suggestions {
    fn render(request: ViewRequest) -> Result<View, String> {
        if request.view != "board" {
            return Err(format!("no view {}", request.view));
        }
        Ok(board(&request, None))
    }

    fn submit(
        request: ViewRequest,
        action: String,
        values: Vec<FieldValue>,
    ) -> Result<View, String> {
        if action != "add" {
            return Err(format!("no action {action}"));
        }
        let value = |name: &str| {
            values
                .iter()
                .find(|v| v.name == name)
                .map(|v| v.value.trim().chars().take(500).collect::<String>())
                .unwrap_or_default()
        };
        let (title, text) = (value("title"), value("text"));
        if title.is_empty() {
            let missing = t(&request.locale, "missing");
            return Ok(board(&request, Some(missing.into())));
        }
        let mut all = stored();
        all.insert(0, [request.viewer.clone(), title, text]);
        all.truncate(KEPT);
        let bytes = serde_json::to_vec(&all).map_err(|e| e.to_string())?;
        kv::set(KEY, &bytes)?;
        Ok(board(&request, Some(t(&request.locale, "thanks").into())))
    }
}

portico_plugin_sdk::export_plugin!(Suggestions);
