//! The source's shape, held by a test: the modules' `use` graph has no cycle, `lib.rs` is a
//! module list, no file in `src/` is over 500 lines, and dispatch has no `unreachable!`.
//!
//! The graph is read from the text, the way a reader follows it: a file is a module
//! (`src/a/b.rs` and `src/a/b/mod.rs` are `crate::a::b`), and every path that names another
//! module — `crate::…`, `super::…`, `self::…` in a `use` (braces expanded) or inline in code —
//! is an edge to the deepest module file it reaches. A child naming its parent counts like any
//! other edge, so a `mod.rs` that calls its children must not hold what they import back.
//! Test modules (`#[cfg(test)] mod tests`) may name anything in their own file's module tree:
//! they are not part of the data path and are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, with its module path (`["runner", "gate"]`).
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src()).expect("under src");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let last = parts.pop().expect("a file name");
            let stem = last.trim_end_matches(".rs").to_owned();
            if stem != "mod" && !(parts.is_empty() && (stem == "lib" || stem == "main")) {
                parts.push(stem);
            }
            if parts.is_empty() && last == "main.rs" {
                // The binary is another crate: it names the library as `gaterun::`.
                continue;
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The text of a file without comments, string literals and `#[cfg(test)]` items.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r' && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#")) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            if j < b.len() && b[j] == b'"' && (i == 0 || !is_ident(b[i - 1])) {
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                j += 1;
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            } else {
                out.push('r');
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // A char literal ('a', '\n', '"') or a lifetime ('a): skip only the literal.
            if i + 2 < b.len() && b[i + 1] == b'\\' {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
            } else if i + 2 < b.len() && b[i + 2] == b'\'' {
                i += 3;
            } else if i + 1 < b.len() && !b[i + 1].is_ascii() {
                // A multi-byte char literal.
                let mut j = i + 1;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
            } else {
                out.push('\'');
                i += 1;
            }
        } else {
            let ch = text[i..].chars().next().expect("a char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    strip_test_modules(&out)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Drops every `#[cfg(test)]` item (its braces matched).
fn strip_test_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let open = after.find(['{', ';']).unwrap_or(after.len());
        if after[open..].starts_with(';') {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Expands a `use` tree (`crate::{a, b::{c, d}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// The modules a file's code names, as module paths (not yet cut to a file). `modules` tells
/// which paths are module files: a `use` of one binds its last name, so `steps::http::get`
/// after `use crate::steps;` reaches `steps::http`, and so does a child (`mod http;`) named
/// bare, as edition 2018 paths allow.
fn named_paths(module: &[String], code: &str, modules: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    let resolve = |p: &str| -> Option<Vec<String>> {
        let segs: Vec<&str> = p.split("::").map(str::trim).collect();
        let mut at: Vec<String> = match *segs.first()? {
            "crate" => Vec::new(),
            "self" => module.to_vec(),
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => return None,
        };
        let mut rest = &segs[1..];
        while rest.first() == Some(&"super") {
            at.pop();
            rest = &rest[1..];
        }
        for s in rest {
            let s = s.split(" as ").next().unwrap_or(s);
            if s == "*" || s == "self" || s.is_empty() {
                continue;
            }
            at.push(s.to_owned());
        }
        Some(at)
    };
    // Names bound to modules: children, then `use`d modules.
    let mut bound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mod_re = regex::Regex::new(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;").expect("regex");
    for cap in mod_re.captures_iter(code) {
        let mut child = module.to_vec();
        child.push(cap[1].to_owned());
        bound.insert(cap[1].to_owned(), child);
    }
    let mut paths = Vec::new();
    let use_re = regex::Regex::new(r"(?s)\buse\s+([^;]+);").expect("regex");
    let mut uses = Vec::new();
    for cap in use_re.captures_iter(code) {
        uses.extend(expand(&cap[1]));
    }
    for u in &uses {
        let (path, alias) = match u.split_once(" as ") {
            Some((p, a)) => (p.trim().to_owned(), Some(a.trim().to_owned())),
            None => (u.trim().to_owned(), None),
        };
        let first = path.split("::").next().unwrap_or("");
        let full = if let Some(m) = bound.get(first) {
            let mut m = m.clone();
            m.extend(
                path.split("::")
                    .skip(1)
                    .filter(|s| *s != "self" && *s != "*")
                    .map(str::to_owned),
            );
            Some(m)
        } else {
            resolve(&path)
        };
        let Some(full) = full else { continue };
        if modules.contains(&full) {
            let last = alias.unwrap_or_else(|| full.last().cloned().unwrap_or_default());
            if last != "_" {
                bound.insert(last, full.clone());
            }
        }
        paths.push(full);
    }
    // Inline paths in code.
    let inline =
        regex::Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)(::[A-Za-z_][A-Za-z0-9_]*)+").expect("regex");
    for m in inline.find_iter(code) {
        let text = m.as_str();
        let first = text.split("::").next().unwrap_or("");
        if let Some(base) = bound.get(first) {
            let mut p = base.clone();
            p.extend(text.split("::").skip(1).map(str::to_owned));
            paths.push(p);
        } else if let Some(p) = resolve(text) {
            paths.push(p);
        }
    }
    paths
}

/// A file's code split at its inline modules (`mod diag { … }`): each piece with the module
/// path its `self` and `super` are read from.
fn pieces(module: &[String], code: &str) -> Vec<(Vec<String>, String)> {
    let re = regex::Regex::new(r"\bmod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{").expect("regex");
    let mut out = Vec::new();
    let mut outer = String::new();
    let mut rest = code;
    while let Some(m) = re.captures(rest) {
        let whole = m.get(0).expect("match");
        outer.push_str(&rest[..whole.start()]);
        let body_start = whole.end();
        let mut depth = 1usize;
        let mut end = rest.len();
        for (k, c) in rest[body_start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = body_start + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let mut inner = module.to_vec();
        inner.push(m[1].to_owned());
        out.extend(pieces(&inner, &rest[body_start..end]));
        rest = &rest[(end + 1).min(rest.len())..];
    }
    outer.push_str(rest);
    out.push((module.to_vec(), outer));
    out
}

/// A trait impl in a file for a type of another module.
struct ForeignImpl {
    /// The type, as a path.
    ty: Vec<String>,
    /// The impl's text: header and body.
    block: std::ops::Range<usize>,
    /// Whether it names an item the file defines.
    names_own: bool,
}

/// Trait impls in a file for a type of another module (`impl From<MergeError> for
/// exit::Error` in `merge/error.rs`). As cargo-modules reads them, an impl belongs to the type
/// it implements: what its text names is the type's module's dependency, not the file's, and
/// naming the file's own items (`MergeError`) makes the type's module depend on the file.
fn foreign_impls(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
    own: &BTreeSet<String>,
) -> Vec<ForeignImpl> {
    // What the file imports by name: `use crate::exit::Error;` binds `Error`.
    let mut imported: BTreeMap<String, String> = BTreeMap::new();
    let use_re = regex::Regex::new(r"(?s)\buse\s+([^;]+);").expect("regex");
    for cap in use_re.captures_iter(code) {
        for u in expand(&cap[1]) {
            let (path, alias) = match u.split_once(" as ") {
                Some((p, a)) => (p.trim().to_owned(), a.trim().to_owned()),
                None => {
                    let last = u.rsplit("::").next().unwrap_or("").trim().to_owned();
                    (u.trim().to_owned(), last)
                }
            };
            imported.insert(alias, path);
        }
    }
    let impl_re = regex::Regex::new(r"\bimpl\b([^{;]*)\{").expect("regex");
    let word = regex::Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("regex");
    let mut out = Vec::new();
    for cap in impl_re.captures_iter(code) {
        let whole = cap.get(0).expect("match");
        let head = cap[1].split(" where ").next().unwrap_or("");
        let Some(at) = head.rfind(" for ") else {
            continue;
        };
        let ty = head[at + 5..].trim();
        let ty = ty.split('<').next().unwrap_or(ty).trim();
        let first = ty.split("::").next().unwrap_or("");
        let path = match imported.get(first) {
            Some(p) => {
                let rest: Vec<&str> = ty.split("::").skip(1).collect();
                std::iter::once(p.as_str())
                    .chain(rest)
                    .collect::<Vec<_>>()
                    .join("::")
            }
            None if ty.contains("::") => ty.to_owned(),
            // A type of this file's own, or a bare name from elsewhere in it.
            None => continue,
        };
        let Some(full) = named_paths(module, &format!("fn f() {{ {path}; }}"), modules)
            .into_iter()
            .next()
        else {
            continue;
        };
        // The block: the header and the body up to its closing brace.
        let mut depth = 1usize;
        let mut end = code.len();
        for (k, c) in code[whole.end()..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = whole.end() + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let block = &code[whole.start()..end];
        let names_own = word.find_iter(block).any(|w| own.contains(w.as_str()));
        out.push(ForeignImpl {
            ty: full,
            block: whole.start()..end,
            names_own,
        });
    }
    out
}

/// The names of the items a file defines.
fn own_items(code: &str) -> BTreeSet<String> {
    regex::Regex::new(
        r"\b(?:struct|enum|fn|trait|type|const|static|union)\s+([A-Za-z_][A-Za-z0-9_]*)",
    )
    .expect("regex")
    .captures_iter(code)
    .map(|c| c[1].to_owned())
    .collect()
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mods = modules();
    let names: BTreeSet<Vec<String>> = mods.keys().cloned().collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut back = Vec::new();
    for (module, path) in &mods {
        let text = std::fs::read_to_string(path).expect("source is UTF-8");
        let targets = edges.entry(module.clone()).or_default();
        let mut code = code(&text);
        let cut_to_file = |p: &[String]| {
            let mut cut = p.to_vec();
            while !cut.is_empty() && !mods.contains_key(&cut) {
                cut.pop();
            }
            cut
        };
        // Foreign trait impls count for their type's module, and leave the file's own text.
        let impls = foreign_impls(module, &code, &names, &own_items(&code));
        for imp in impls.iter().rev() {
            let owner = cut_to_file(&imp.ty);
            if owner == *module {
                continue;
            }
            if imp.names_own {
                back.push((owner.clone(), module.clone()));
            }
            for named in named_paths(module, &code[imp.block.clone()], &names) {
                let cut = cut_to_file(&named);
                if cut != owner {
                    back.push((owner.clone(), cut));
                }
            }
            code.replace_range(imp.block.clone(), "");
        }
        let named_all: Vec<Vec<String>> = pieces(module, &code)
            .into_iter()
            .flat_map(|(m, piece)| named_paths(&m, &piece, &names))
            .collect();
        for named in named_all {
            // The deepest module file the path reaches.
            let mut cut = named.clone();
            while !cut.is_empty() && !mods.contains_key(&cut) {
                cut.pop();
            }
            // An item of lib.rs itself (`crate::VERSION`) is an edge to the crate root.
            if cut != *module && !named.is_empty() {
                targets.insert(cut);
            }
        }
    }
    for (from, to) in back {
        edges.entry(from).or_default().insert(to);
    }
    edges
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a [String], usize>,
        low: BTreeMap<&'a [String], usize>,
        stack: Vec<&'a [String]>,
        on: BTreeSet<&'a [String]>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a [String]) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        if let Some(ws) = s.edges.get(v) {
            for w in ws {
                let w: &'a [String] = w.as_slice();
                if !s.index.contains_key(w) {
                    if s.edges.contains_key(w) {
                        visit(s, w);
                        let lw = s.low[w];
                        let lv = s.low[v];
                        s.low.insert(v, lv.min(lw));
                    }
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(name(w));
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_slice()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_module_use_graph_has_no_cycle() {
    let edges = graph();
    if std::env::var_os("GATERUN_PRINT_GRAPH").is_some() {
        for (m, ts) in &edges {
            let ts: Vec<String> = ts.iter().map(|t| name(t)).collect();
            println!("{} -> {}", name(m), ts.join(", "));
        }
    }
    let found = cycles(&edges);
    if !found.is_empty() {
        let mut msg = String::new();
        for comp in &found {
            msg.push_str(&format!("cycle of {} modules:\n", comp.len()));
            let set: BTreeSet<&String> = comp.iter().collect();
            for m in comp {
                let key: Vec<String> = if m == "crate" {
                    Vec::new()
                } else {
                    m.split("::").map(str::to_owned).collect()
                };
                let inside: Vec<String> = edges[&key]
                    .iter()
                    .map(|t| name(t))
                    .filter(|t| set.contains(t))
                    .collect();
                msg.push_str(&format!("  {m} -> {}\n", inside.join(", ")));
            }
        }
        panic!("{msg}");
    }
}

/// The reader of the graph itself: a cycle it is shown is found, a chain is not.
#[test]
fn the_graph_reader_finds_a_cycle_and_passes_a_chain() {
    let a = vec!["a".to_owned()];
    let b = vec!["b".to_owned()];
    let c = vec!["c".to_owned()];
    let mut edges = BTreeMap::new();
    edges.insert(a.clone(), BTreeSet::from([b.clone()]));
    edges.insert(b.clone(), BTreeSet::from([c.clone()]));
    edges.insert(c.clone(), BTreeSet::new());
    assert!(cycles(&edges).is_empty());
    edges.insert(c.clone(), BTreeSet::from([a.clone()]));
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);

    let m = vec!["runner".to_owned(), "gate".to_owned()];
    let code = code(
        "use crate::{steps::{http, run::Run}, text};\nuse super::Event; // crate::evidence\n\
         fn f() { crate::process::kill(); let s = \"crate::verify\"; }\n\
         mod sub;\nfn g() { http::get(); sub::x(); Vec::new(); }\n\
         #[cfg(test)]\nmod tests { use crate::plan; }",
    );
    let names: BTreeSet<Vec<String>> = [
        vec!["runner"],
        vec!["runner", "gate"],
        vec!["steps"],
        vec!["steps", "http"],
        vec!["steps", "run"],
        vec!["text"],
        vec!["process"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    let mut named = named_paths(&m, &code, &names);
    named.sort();
    named.dedup();
    let want: Vec<Vec<String>> = [
        vec!["process", "kill"],
        vec!["runner", "Event"],
        vec!["runner", "gate", "sub", "x"],
        vec!["steps", "http"],
        vec!["steps", "http", "get"],
        vec!["steps", "run", "Run"],
        vec!["text"],
    ]
    .iter()
    .map(|v| v.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(named, want);

    // An inline module's `super` is the file's module; an item of lib.rs is the root.
    let inline = self::code("mod diag { use super::Listener; fn f() { crate::VERSION; } }");
    let found: Vec<(Vec<String>, Vec<Vec<String>>)> = pieces(&m, &inline)
        .into_iter()
        .map(|(module, piece)| {
            let mut named = named_paths(&module, &piece, &names);
            named.dedup();
            (module, named)
        })
        .collect();
    let gate: Vec<String> = vec!["runner".into(), "gate".into()];
    assert!(
        found.contains(&(
            vec!["runner".into(), "gate".into(), "diag".into()],
            vec![
                [gate.clone(), vec!["Listener".into()]].concat(),
                vec!["VERSION".into()]
            ]
        )),
        "{found:?}"
    );
}

/// The trait impl cargo-modules counted for the type's module: `impl From<MergeError> for
/// Error` beside `MergeError`, `Error` being `exit`'s, is an edge exit -> merge::error; an impl
/// for the file's own type, or one naming nothing of the file, is none.
#[test]
fn a_conversion_kept_beside_the_other_type_is_an_edge_back() {
    let names: BTreeSet<Vec<String>> = [vec!["exit"], vec!["merge"], vec!["merge", "error"]]
        .iter()
        .map(|v| v.iter().map(|s| s.to_string()).collect())
        .collect();
    let m: Vec<String> = vec!["merge".into(), "error".into()];
    let text = code(
        "use crate::exit::Error;\npub enum MergeError { Refused(String) }\n\
         impl From<MergeError> for Error { fn from(e: MergeError) -> Self { todo!() } }\n\
         impl From<std::io::Error> for MergeError { fn from(e: std::io::Error) -> Self { todo!() } }\n\
         impl std::fmt::Display for crate::exit::Other { }",
    );
    let found: Vec<(Vec<String>, bool)> = foreign_impls(&m, &text, &names, &own_items(&text))
        .into_iter()
        .map(|i| (i.ty, i.names_own))
        .collect();
    assert_eq!(
        found,
        vec![
            (vec!["exit".to_owned(), "Error".to_owned()], true),
            (vec!["exit".to_owned(), "Other".to_owned()], false)
        ]
    );
}

#[test]
fn lib_rs_is_a_module_list_and_no_source_file_is_over_500_lines() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let lines = lib.lines().count();
    assert!(lines < 80, "src/lib.rs has {lines} lines (under 80 wanted)");
    let mut long = Vec::new();
    for path in modules().values() {
        let n = std::fs::read_to_string(path)
            .expect("source")
            .lines()
            .count();
        if n > 500 {
            long.push(format!("{} ({n} lines)", path.display()));
        }
    }
    let main = src().join("main.rs");
    let n = std::fs::read_to_string(&main)
        .expect("main.rs")
        .lines()
        .count();
    if n > 500 {
        long.push(format!("{} ({n} lines)", main.display()));
    }
    long.sort();
    assert!(
        long.is_empty(),
        "files over 500 lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_unreachable_in_the_source() {
    let mut found = Vec::new();
    for path in modules().values() {
        let text = std::fs::read_to_string(path).expect("source");
        if code(&text).contains("unreachable!") {
            found.push(path.display().to_string());
        }
    }
    assert!(found.is_empty(), "unreachable! in: {}", found.join(", "));
}
