//! XPath expressions (`expect.xpath`) and CSS selectors (`expect.css`), checked here and
//! compiled again by the `http` step once their variables are filled in: a leaf, so the step
//! executor can name it without the validator.
//!
//! A variable in a selector is filled in as text, so its value may hold only letters, digits,
//! `-` and `_`: a quote, a bracket or a `.` in it would change what the selector means.

use crate::vars::{self, Vars};

/// An XPath 1.0 expression, compiled.
pub fn xpath(expr: &str) -> Result<sxd_xpath::XPath, String> {
    with_placeholders(expr, |e| {
        sxd_xpath::Factory::new()
            .build(e)
            .map_err(|err| format!("invalid XPath `{expr}`: {err}"))?
            .ok_or_else(|| format!("invalid XPath `{expr}`: it is empty"))
    })
}

/// A CSS selector, compiled, and the attribute it reads (`"a.next @href"`), if any.
pub fn css(sel: &str) -> Result<(scraper::Selector, Option<String>), String> {
    with_placeholders(sel, |s| {
        let (elements, attribute) = split_attribute(s)?;
        let compiled = scraper::Selector::parse(elements)
            .map_err(|err| format!("invalid CSS selector `{sel}`: {err}"))?;
        Ok((compiled, attribute.map(str::to_owned)))
    })
}

/// Issue 19. An element of a page in the browser: `text=Some text` (`text="…"` exactly), or
/// a CSS selector, which Chromium reads (checked here with the `http` step's parser).
pub fn page(sel: &str) -> Result<(), String> {
    if let Some(text) = sel.strip_prefix("text=") {
        let quoted = text.len() >= 2 && text.starts_with('"') && text.ends_with('"');
        return match text.trim() {
            "" | "\"\"" => Err(format!("`{sel}` names no text: write `text=Some text`")),
            _ if text.starts_with('"') && !quoted => Err(format!(
                "`{sel}`: a quoted text ends with `\"` (`text=\"Exact text\"`)"
            )),
            _ => Ok(()),
        };
    }
    match css(sel)? {
        (_, Some(_)) => Err(format!(
            "`{sel}` reads an attribute: an action or expectation names an element (`SELECTOR @NAME` is for `capture`)"
        )),
        (_, None) => Ok(()),
    }
}

/// `"a.next @href"`: the elements, and the attribute after ` @`.
pub fn split_attribute(sel: &str) -> Result<(&str, Option<&str>), String> {
    let Some((elements, attribute)) = sel.rsplit_once('@') else {
        return Ok((sel, None));
    };
    // `[data-x="a@b"]` holds an `@` that is no attribute suffix.
    if attribute.contains([']', '"', '\'', ')']) {
        return Ok((sel, None));
    }
    if !elements.ends_with(char::is_whitespace)
        || attribute.is_empty()
        || !attribute
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
    {
        return Err(format!(
            "invalid CSS selector `{sel}`: an attribute is read with `SELECTOR @NAME` (a space, then `@` and the name)"
        ));
    }
    Ok((elements.trim_end(), Some(attribute)))
}

/// Compile at check time: a variable stands for a name (`x`) or a number (`1`), and the
/// selector must compile with one of them.
fn with_placeholders<T>(
    written: &str,
    compile: impl Fn(&str) -> Result<T, String>,
) -> Result<T, String> {
    if !written.contains("${") {
        return compile(written);
    }
    let mut first = None;
    for placeholder in ["x", "1"] {
        let probe = vars::check_syntax(written, placeholder).map_err(|e| e.to_string())?;
        match compile(&probe) {
            Ok(c) => return Ok(c),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or_default())
}

/// A selector with its variables filled in, each value only letters, digits, `-` and `_`.
pub fn interpolate(written: &str, vars: &Vars) -> Result<String, String> {
    let bad = std::cell::RefCell::new(None);
    let out = vars::interpolate_with(written, |name| {
        let value = vars.get(name)?;
        if !value
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            bad.borrow_mut().get_or_insert_with(|| name.to_owned());
        }
        Some(value.as_str())
    });
    let out = out.map_err(|e| e.to_string())?;
    match bad.into_inner() {
        Some(name) => Err(format!(
            "`${{{name}}}` in the selector `{written}` holds characters other than letters, digits, `-` and `_`, which would change what it selects"
        )),
        None => Ok(out),
    }
}

#[cfg(test)]
mod selector_tests {
    #[test]
    fn selectors_checked_up_front() {
        assert!(super::xpath("//li[@id='${ID}']").is_ok());
        assert!(super::xpath("count(//li) = ${N}").is_ok());
        assert!(super::xpath("//li[").is_err());
        assert!(super::css("li:nth-child(${N})").is_ok());
        assert_eq!(
            super::css("a.next @href").map(|(_, a)| a),
            Ok(Some("href".to_owned()))
        );
        assert!(super::css("a[href=\"x@y\"]").is_ok_and(|(_, a)| a.is_none()));
        assert!(super::css("a.next@href").is_err());
        assert!(super::css("li >> a").is_err());
    }
}
