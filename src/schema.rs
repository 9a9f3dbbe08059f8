//! `gaterun schema`: the JSON Schema of stage files, generated from the same serde types the
//! loader parses into, so the two cannot drift apart. Good enough for an editor: put
//! `# yaml-language-server: $schema=<path or URL>` at the top of a stage file.

use crate::config::raw::RawStage;

pub fn json() -> String {
    let mut schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawStage>();
    schema.insert("title".to_owned(), "gaterun stage file".into());
    schema.insert(
        "description".to_owned(),
        "One stage of a phase: its acceptance gates as executable checks. See docs/gates.md."
            .into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// `gaterun schema --events`: the JSON Schema of a line of `--message-format json`.
pub fn events_json() -> String {
    let mut text = serde_json::to_string_pretty(&crate::reporter::events_schema())
        .expect("a schema serializes");
    text.push('\n');
    text
}
