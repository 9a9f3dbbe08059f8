//! A template's key: SHA-256 of the init's definition (the database kind, the workdir it runs
//! in, the command or the list of SQL files) and of the content of every file it names — the
//! `inputs` (directories walked in name order), the `sql` files, and each word of the command
//! that names a file in the workdir (`./migrate`, `python3 migrate.py`). A changed migration
//! changes the key, so the template is built again; an unchanged one is found by the same key
//! (on `GATERUN_POSTGRES_URL`, by a later run).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::config::{DatabaseKind, DbInit};

/// The key, in hex. `workdir`: where the init runs, `rel` the same relative to the project.
pub fn template_key(
    kind: DatabaseKind,
    init: &DbInit,
    workdir: &Path,
    rel: &str,
) -> Result<String, String> {
    let mut h = Sha256::new();
    let field = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    field(&mut h, "gaterun template 1");
    field(&mut h, &format!("{kind:?}"));
    field(&mut h, rel);
    match init {
        DbInit::Run { command, inputs } => {
            field(&mut h, "run");
            field(&mut h, command);
            for word in command.split_whitespace() {
                let word = word.trim_matches(|c| c == '"' || c == '\'');
                if named_file(word) && workdir.join(word).is_file() {
                    field(&mut h, word);
                    content(&mut h, &workdir.join(word), word)?;
                }
            }
            for input in inputs {
                field(&mut h, "input");
                field(&mut h, input);
                let path = workdir.join(input);
                if !path.exists() {
                    return Err(format!("input `{input}` not found (workdir `{rel}`)"));
                }
                content(&mut h, &path, input)?;
            }
        }
        DbInit::Sql(files) => {
            field(&mut h, "sql");
            for file in files {
                field(&mut h, file);
                let path = workdir.join(file);
                if !path.is_file() {
                    return Err(format!("sql file `{file}` not found (workdir `{rel}`)"));
                }
                content(&mut h, &path, file)?;
            }
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A word of a command that may name a file below the workdir.
fn named_file(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('-')
        && !Path::new(word).is_absolute()
        && !Path::new(word)
            .components()
            .any(|c| c == std::path::Component::ParentDir)
}

/// The content of a file, or of every entry of a directory in name order (a symbolic link
/// inside it by its target, never followed; anything but files and directories by its kind).
fn content(h: &mut Sha256, path: &Path, shown: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("failed to read init input `{shown}`: {e}");
    let meta = std::fs::metadata(path).map_err(fail)?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(fail)?
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            h.update(b"\0entry\0");
            h.update(name.as_bytes());
            let kind = e.file_type().map_err(fail)?;
            let child = format!("{shown}/{name}");
            if kind.is_symlink() {
                let target = std::fs::read_link(e.path()).map_err(fail)?;
                h.update(b"\0link\0");
                h.update(target.as_os_str().as_encoded_bytes());
            } else if kind.is_dir() || kind.is_file() {
                content(h, &e.path(), &child)?;
            } else {
                h.update(b"\0special\0");
            }
        }
        return Ok(());
    }
    if !meta.is_file() {
        h.update(b"\0special\0");
        return Ok(());
    }
    h.update(b"\0file\0");
    h.update(meta.len().to_le_bytes());
    let mut file = std::fs::File::open(path).map_err(fail)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_definition_and_every_file_it_names() {
        let dir = tempfile::tempdir().expect("dir");
        let d = dir.path();
        std::fs::create_dir(d.join("migrations")).expect("mkdir");
        std::fs::write(d.join("migrations/001.sql"), "CREATE TABLE a (x int);").expect("w");
        std::fs::write(d.join("migrate.sh"), "echo up").expect("w");
        let run = |command: &str| DbInit::Run {
            command: command.to_owned(),
            inputs: vec!["migrations/".to_owned()],
        };
        let sql = DbInit::Sql(vec!["migrations/001.sql".to_owned()]);
        let key = |init: &DbInit| template_key(DatabaseKind::Postgres, init, d, ".").expect("key");
        let (a, s) = (key(&run("sh migrate.sh")), key(&sql));
        assert_eq!(
            a,
            key(&run("sh migrate.sh")),
            "the same definition, the same key"
        );
        assert_ne!(a, key(&run("sh  migrate.sh --all")));
        assert_ne!(a, s);
        let sqlite = template_key(DatabaseKind::Sqlite, &sql, d, ".").expect("key");
        assert_ne!(s, sqlite, "the kind is part of the key");
        assert_ne!(
            s,
            template_key(DatabaseKind::Postgres, &sql, d, "sub").expect("key")
        );
        // A changed migration (one byte), a new one, a changed script: new keys.
        std::fs::write(d.join("migrations/001.sql"), "CREATE TABLE a (y int);").expect("w");
        let (a2, s2) = (key(&run("sh migrate.sh")), key(&sql));
        assert_ne!(a, a2);
        assert_ne!(s, s2);
        std::fs::write(d.join("migrations/002.sql"), "").expect("w");
        assert_ne!(a2, key(&run("sh migrate.sh")));
        assert_eq!(
            s2,
            key(&sql),
            "a file the sql list does not name is not read"
        );
        let a3 = key(&run("sh migrate.sh"));
        std::fs::write(d.join("migrate.sh"), "echo down").expect("w");
        assert_ne!(a3, key(&run("sh migrate.sh")));
        // A named file that is missing is an error, said with its name.
        let missing = DbInit::Sql(vec!["migrations/009.sql".to_owned()]);
        let err = template_key(DatabaseKind::Postgres, &missing, d, ".").expect_err("missing");
        assert_eq!(err, "sql file `migrations/009.sql` not found (workdir `.`)");
    }
}
