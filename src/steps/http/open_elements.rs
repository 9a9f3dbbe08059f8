//! The HTML parser's stack of open elements, as far as `nesting` needs it to count how deeply
//! a body nests and how many elements it makes: which elements a start or end tag closes (by
//! the parser's scope rules, or fewer where they are not followed), and the formatting
//! elements (`<b>`) a close left open, which the parser opens again at the next text.

pub(super) const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound",
];
/// Elements whose content is text, not tags.
pub(super) const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];
/// The formatting elements, which the parser rebuilds when a close left them open.
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];
/// Where the parser's scopes stop (the default scope, with `button` and the foreign ones).
const SCOPE: &[&str] = &[
    "applet",
    "caption",
    "html",
    "table",
    "td",
    "th",
    "marquee",
    "object",
    "template",
    "button",
    "mi",
    "mo",
    "mn",
    "ms",
    "mtext",
    "annotation-xml",
    "foreignobject",
    "desc",
    "svg",
    "math",
];
/// The parser's "special" elements (those an end tag or an `<li>` does not look past).
const SPECIAL: &[&str] = &[
    "address",
    "applet",
    "area",
    "article",
    "aside",
    "base",
    "basefont",
    "bgsound",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "iframe",
    "img",
    "input",
    "keygen",
    "li",
    "link",
    "listing",
    "main",
    "marquee",
    "menu",
    "meta",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "p",
    "param",
    "plaintext",
    "pre",
    "script",
    "search",
    "section",
    "select",
    "source",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
    "wbr",
    "xmp",
    "svg",
    "math",
];
/// Start tags that close an open `<p>` (in button scope), with the headings ([`closes_p`]).
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "header",
    "hgroup",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "search",
    "section",
    "summary",
    "ul",
    "pre",
    "listing",
    "form",
    "plaintext",
    "table",
    "hr",
    "xmp",
    "li",
    "dd",
    "dt",
];

/// Whether a start tag closes an open `<p>`.
pub(super) fn closes_p(name: &str) -> bool {
    CLOSES_P.contains(&name) || heading(name)
}

fn heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// The stack of open elements, as far as the count needs it.
#[derive(Default)]
pub(super) struct Stack {
    pub open: Vec<String>,
    /// Formatting elements a close (not their own end tag) took off the stack: the parser
    /// rebuilds them at the next tag or text.
    left_open: Vec<String>,
    pub elements: usize,
}

/// An entry's element name: a formatting element's entry is its name and its attributes'
/// text (two are the same when both are); `!` marks one the parser no longer rebuilds.
fn key(entry: &str) -> &str {
    let name = entry.split(' ').next().unwrap_or(entry);
    name.strip_prefix('!').unwrap_or(name)
}

impl Stack {
    /// Closes the nearest element `is` accepts, unless `stop` comes first.
    fn close(&mut self, is: impl Fn(&str) -> bool, stop: impl Fn(&str) -> bool) -> bool {
        for pos in (0..self.open.len()).rev() {
            let name = key(&self.open[pos]);
            if is(name) {
                // The element closed is closed for good; formatting ones above it are not.
                for gone in self.open.drain(pos + 1..) {
                    if FORMATTING.contains(&key(&gone)) && !gone.starts_with('!') {
                        self.left_open.push(gone);
                    }
                }
                self.open.truncate(pos);
                return true;
            }
            if stop(name) {
                return false;
            }
        }
        false
    }

    /// The formatting elements left open, opened again (counted as new elements).
    pub(super) fn rebuild(&mut self) {
        self.elements += self.left_open.len();
        self.open.append(&mut self.left_open);
    }

    pub(super) fn push(&mut self, name: &str, attributes: &str) {
        if !FORMATTING.contains(&name) {
            self.open.push(name.to_owned());
        } else {
            let entry = format!("{name} {}", attributes.trim());
            // Noah's ark: the parser rebuilds at most three alike.
            let alike = self.open.iter().chain(&self.left_open);
            if alike.filter(|e| **e == entry).count() >= 3
                && let Some(first) = self
                    .open
                    .iter_mut()
                    .chain(self.left_open.iter_mut())
                    .find(|e| **e == entry)
            {
                first.insert(0, '!');
            }
            self.left_open.retain(|e| !e.starts_with('!'));
            self.open.push(entry);
        }
        self.elements += 1;
    }

    /// What a start tag closes before it opens.
    pub(super) fn start(&mut self, name: &str) {
        let special_but = |keep: &'static [&'static str]| {
            move |n: &str| SPECIAL.contains(&n) && !keep.contains(&n)
        };
        if closes_p(name) {
            self.close(|n| n == "p", |n| SCOPE.contains(&n));
        }
        match name {
            "li" => {
                self.close(|n| n == "li", special_but(&["address", "div", "p"]));
            }
            "dd" | "dt" => {
                let dl = |n: &str| n == "dd" || n == "dt";
                self.close(dl, special_but(&["address", "div", "p"]));
            }
            "td" | "th" => {
                self.close(|n| n == "td" || n == "th", |n| n == "table");
            }
            "tr" => {
                self.close(|n| n == "tr", |n| n == "table");
            }
            "tbody" | "thead" | "tfoot" => {
                let body = |n: &str| matches!(n, "tbody" | "thead" | "tfoot");
                self.close(body, |n| n == "table");
            }
            // A new link or nobr closes the open one (the adoption agency, no block in it).
            "a" | "nobr" => {
                self.close(|n| n == name, |n| SPECIAL.contains(&n));
            }
            // Closed only when it is the current element.
            _ if self.open.last().is_some_and(|top| key(top) == name)
                && matches!(
                    name,
                    "option" | "optgroup" | "rb" | "rp" | "rt" | "rtc" | "caption" | "colgroup"
                ) =>
            {
                self.open.pop();
            }
            _ => {}
        }
        if heading(name) && self.open.last().is_some_and(|t| heading(key(t))) {
            self.open.pop();
        }
    }

    /// What an end tag closes: its element, unless the parser stops first. Whether it closed
    /// one.
    pub(super) fn end(&mut self, name: &str) -> bool {
        let special = SPECIAL.contains(&name);
        let formatting = FORMATTING.contains(&name);
        let closed = self.close(
            |n| n == name,
            |n| {
                if formatting || !special {
                    SPECIAL.contains(&n)
                } else {
                    SCOPE.contains(&n)
                }
            },
        );
        // Not open: the parser forgets it, if a close had left it open.
        if !closed && let Some(pos) = self.left_open.iter().rposition(|n| key(n) == name) {
            self.left_open.remove(pos);
        }
        closed
    }
}
