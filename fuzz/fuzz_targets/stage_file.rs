//! Stage-file parsing and validation on arbitrary bytes: never a panic, never a hang, and every
//! error located and rendered (the diagnostics are drawn with their source line and caret,
//! as `gaterun check` prints them).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // gaterun reads stage files as UTF-8 and reports other bytes as an error before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = gaterun::config::Defaults::default();
    let (stage, diagnostics) =
        gaterun::config::parse_stage(Path::new("gates/fuzz.yaml"), text, &base);
    for d in &diagnostics {
        let _ = d.to_string();
        assert!(!d.message.is_empty(), "a diagnostic without a message");
    }
    if stage.is_none() {
        assert!(
            diagnostics
                .iter()
                .any(|d| d.severity == gaterun::config::Severity::Error),
            "a stage was refused without an error"
        );
    }
});
