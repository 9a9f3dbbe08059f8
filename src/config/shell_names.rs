//! The variables a shell string reads and the ones it sets itself, for `check`'s warning on a
//! misspelt name in a `run:` string (config/undefined.rs). gaterun hands a shell string to
//! `sh -c` untouched and the shell leaves an unset name empty, so `"${GATE_TEMP}/out"` is
//! `/out`: a name the gate does not define, close to one it does, is most likely a typo. This
//! is a reading of the usual forms, not a shell parser: it only ever lowers what is reported
//! (a name it takes as assigned is never warned about).

/// The names a shell string reads as `${NAME}` or `$NAME`, each as written (`${NAME}`,
/// `$NAME`), outside single quotes and not escaped. `${NAME:-x}` and the other forms with an
/// operator are left out: they say what an unset name means.
pub fn read(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut single, mut double) = (0, false, false);
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\'' if !double => single = !single,
            _ if single => {}
            '"' => double = !double,
            '\\' => i += 1,
            '$' => {
                if chars.get(i) == Some(&'{') {
                    let end = chars[i..].iter().position(|&c| c == '}');
                    let Some(end) = end.map(|e| i + e) else { break };
                    let inner: String = chars[i + 1..end].iter().collect();
                    if crate::vars::is_name(&inner) {
                        out.push((inner.clone(), format!("${{{inner}}}")));
                    }
                    i = end + 1;
                } else if chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_')
                {
                    let len = chars[i..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                        .count();
                    let name: String = chars[i..i + len].iter().collect();
                    out.push((name.clone(), format!("${name}")));
                    i += len;
                } else {
                    // `$$`, `$?`, `$1`, `$(…)`: not a name.
                    i += 1;
                }
            }
            _ => {}
        }
    }
    out
}

/// The names a shell string sets itself: `NAME=…` (also after `export`, `local`, `readonly`),
/// `export NAME`, `for NAME in`, `read [-r] NAME…`, `getopts OPTS NAME`, and the shell's own
/// (`RANDOM`, `OPTARG`, …).
pub fn assigned(text: &str) -> Vec<String> {
    let mut out: Vec<String> = SHELL_OWN.iter().map(|s| (*s).to_owned()).collect();
    let commands = text.split(['\n', ';', '&', '|', '(', ')', '{', '}']);
    for command in commands {
        set_by(command, &mut out);
    }
    out
}

/// The names one simple command sets. After a setter, `for` names one word, the others each
/// name until a word that is neither a name nor an option.
fn set_by(command: &str, out: &mut Vec<String>) {
    let (mut naming, mut only_one) = (false, false);
    for word in command.split_whitespace() {
        let name = word.split_once('=').map_or(word, |(n, _)| n);
        let is_name = crate::vars::is_name(name);
        if is_name && (word.contains('=') || naming) {
            out.push(name.to_owned());
        }
        let goes_on = naming && !only_one && (is_name || word.starts_with('-'));
        if !goes_on {
            naming = SETTERS.contains(&word);
            only_one = word == "for";
        }
    }
}

/// The words after which names are set: the shell's builtins that take variable names.
const SETTERS: &[&str] = &[
    "export", "local", "readonly", "declare", "typeset", "for", "read", "getopts", "unset",
];

/// What the shell sets itself, whether or not the environment has it.
const SHELL_OWN: &[&str] = &[
    "HOME", "PATH", "PWD", "OLDPWD", "IFS", "PS1", "PS2", "PS4", "OPTARG", "OPTIND", "LINENO",
    "PPID", "RANDOM", "SECONDS", "REPLY", "HOSTNAME", "UID", "EUID", "SHELL", "USER",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_names_the_shell_expands() {
        let names: Vec<String> = read(
            r#"mkdir -p "${GATE_TEMP}/out" $HOME '${NOT}' \$ESC ${D:-x} $$ $? $1 ${#N} "it's $X""#,
        )
        .into_iter()
        .map(|(_, written)| written)
        .collect();
        assert_eq!(names, ["${GATE_TEMP}", "$HOME", "$X"]);
    }

    #[test]
    fn finds_what_the_string_sets_itself() {
        let set = assigned(
            "X=1; export Y; local Z=2; for i in 1 2; do :; done; read -r a b <f; getopts ab opt",
        );
        for name in ["X", "Y", "Z", "i", "a", "b", "opt"] {
            assert!(set.iter().any(|s| s == name), "{name} in {set:?}");
        }
        assert!(
            !set.iter().any(|s| s == "in" || s == "do" || s == "f"),
            "{set:?}"
        );
    }
}
