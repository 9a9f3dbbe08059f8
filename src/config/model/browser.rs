//! A `browser` step, validated (issue 19): the page it opens, its actions in order, what the
//! page must show, and when a screenshot is kept. A leaf of the model: it names nothing of its
//! parent. Selectors are kept as written (`text=…` or CSS, may hold `${VAR}`); `validate`
//! checked their form, the step fills in their variables.

use crate::expect::Pattern;
use crate::expect::value::ValueCheck;

#[derive(Debug, Clone)]
pub struct BrowserStep {
    /// Absolute, or relative to the page the gate's browser is on; may hold `${VAR}`.
    pub url: String,
    pub actions: Vec<BrowserAction>,
    pub expect: BrowserExpect,
    pub screenshot: Screenshot,
}

/// One action; each waits for its target (a visible element) within the step's time.
#[derive(Debug, Clone)]
pub enum BrowserAction {
    Click(String),
    /// Selector and text, in order; the text may hold `${VAR}`.
    Fill(Vec<(String, String)>),
    /// A key name (`Enter`, `Tab`, `ArrowDown`, …) or one character, to the focused element.
    Press(String),
    WaitFor(String),
}

/// The keys `press` names (besides one character); `steps::browser` knows their codes.
pub const NAMED_KEYS: &[&str] = &[
    "Enter",
    "Tab",
    "Escape",
    "Backspace",
    "Delete",
    "Space",
    "ArrowUp",
    "ArrowDown",
    "ArrowLeft",
    "ArrowRight",
    "Home",
    "End",
    "PageUp",
    "PageDown",
];

#[derive(Debug, Clone, Default)]
pub struct BrowserExpect {
    pub title: Vec<Pattern>,
    pub url: Vec<Pattern>,
    /// On the page's visible text (`innerText` of the body).
    pub text: Vec<Pattern>,
    /// Selectors with a visible element; `!SELECTOR`: none visible.
    pub visible: Vec<String>,
    /// Selector and how many elements it must match.
    pub count: Vec<(String, ValueCheck)>,
    /// Console errors, uncaught exceptions and failed requests during the step.
    pub console_errors: Option<ValueCheck>,
}

impl BrowserExpect {
    /// Nothing to wait for: the step passes once its actions are done.
    pub fn is_empty(&self) -> bool {
        self.title.is_empty()
            && self.url.is_empty()
            && self.text.is_empty()
            && self.visible.is_empty()
            && self.count.is_empty()
            && self.console_errors.is_none()
    }
}

/// `screenshot:` when the page is kept as `logs/<gate>/NN.png`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screenshot {
    #[default]
    OnFailure,
    Always,
    Never,
}

impl Screenshot {
    pub const NAMES: &[&str] = &["on_failure", "always", "never"];

    pub fn parse(s: &str) -> Option<Screenshot> {
        Some(match s {
            "on_failure" => Screenshot::OnFailure,
            "always" => Screenshot::Always,
            "never" => Screenshot::Never,
            _ => return None,
        })
    }
}
