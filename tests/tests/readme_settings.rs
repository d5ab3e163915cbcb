//! The README documents every `TRICKLE_*` setting the code reads, and names none it does not.
//!
//! Two settings (`TRICKLE_API_URL`, `TRICKLE_FORWARD_URL`) were read but undocumented when this
//! test was written. The code side is every `"TRICKLE_…"` string literal of the settings
//! modules: the settings tree both hosts share (`shared/host/src/settings.rs`) and the `trickle`
//! command's own flags (`cli/src`: `trickle dev` and the API client commands). The architecture
//! test keeps the environment out of every other file, so nothing else can read a setting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Test code may name test-only variables; the README documents what hosts read.
            if path
                .file_name()
                .is_some_and(|n| n == "tests" || n == "target")
            {
                continue;
            }
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every `TRICKLE_[A-Z0-9_]+` in `text`; `quoted` keeps only those written as `"TRICKLE_…"`.
fn names(text: &str, quoted: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(offset) = text[at..].find("TRICKLE_") {
        let start = at + offset;
        let mut end = start + "TRICKLE_".len();
        while end < bytes.len()
            && (bytes[end].is_ascii_uppercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        let opened = start > 0 && bytes[start - 1] == b'"';
        let closed = bytes.get(end) == Some(&b'"');
        if end > start + "TRICKLE_".len() && (!quoted || (opened && closed)) {
            out.insert(text[start..end].to_string());
        }
        at = end;
    }
    out
}

#[test]
fn the_readme_names_exactly_the_settings_the_code_reads() {
    let root = repo_root();
    let mut files = vec![root.join("shared/host/src/settings.rs")];
    rust_files(&root.join("cli/src"), &mut files);
    let mut read = BTreeSet::new();
    for file in &files {
        read.extend(names(&std::fs::read_to_string(file).unwrap(), true));
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let documented = names(&readme, false);

    assert!(read.len() > 20, "the scan found the settings: {read:?}");
    let undocumented: Vec<_> = read.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&read).collect();
    assert!(
        undocumented.is_empty(),
        "read by the code but missing from the README: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "named in the README but read nowhere: {stale:?}"
    );
}
