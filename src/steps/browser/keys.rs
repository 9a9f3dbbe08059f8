//! `press`: the key events Chromium needs for a key name (`config::NAMED_KEYS`) or one
//! character.

use serde_json::{Value, json};

/// `keyDown` parameters for `key` (its `keyUp` is the same without `text`).
pub fn key_down(key: &str) -> Option<Value> {
    let (code, vk, text): (&str, u32, &str) = match key {
        "Enter" => ("Enter", 13, "\r"),
        "Tab" => ("Tab", 9, ""),
        "Escape" => ("Escape", 27, ""),
        "Backspace" => ("Backspace", 8, ""),
        "Delete" => ("Delete", 46, ""),
        "Space" => ("Space", 32, " "),
        "ArrowUp" => ("ArrowUp", 38, ""),
        "ArrowDown" => ("ArrowDown", 40, ""),
        "ArrowLeft" => ("ArrowLeft", 37, ""),
        "ArrowRight" => ("ArrowRight", 39, ""),
        "Home" => ("Home", 36, ""),
        "End" => ("End", 35, ""),
        "PageUp" => ("PageUp", 33, ""),
        "PageDown" => ("PageDown", 34, ""),
        _ => {
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None;
            };
            let upper = c.to_ascii_uppercase();
            let vk = if upper.is_ascii_alphanumeric() {
                upper as u32
            } else {
                0
            };
            return Some(json!({
                "type": "keyDown", "key": key, "text": key, "unmodifiedText": key,
                "windowsVirtualKeyCode": vk,
            }));
        }
    };
    let name = if key == "Space" { " " } else { key };
    let mut down = json!({
        "type": if text.is_empty() { "rawKeyDown" } else { "keyDown" },
        "key": name, "code": code, "windowsVirtualKeyCode": vk,
    });
    if !text.is_empty() {
        down["text"] = json!(text);
        down["unmodifiedText"] = json!(text);
    }
    Some(down)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_named_key_has_its_events() {
        for k in crate::config::NAMED_KEYS {
            assert!(super::key_down(k).is_some(), "{k}");
        }
        assert!(super::key_down("a").is_some());
        assert!(super::key_down("ab").is_none());
    }
}
