//! The house rules a newcomer relies on, checked on the source tree:
//!
//! - no two sibling modules of a `shared/` crate need each other (no import circles), which is
//!   what keeps each module readable on its own;
//! - no file in `shared/` is over 500 lines unless its opening comment says why it is one file;
//! - the environment is read only by the settings module of each host kind.
//!
//! The module graph is read from the `crate::`, `super::` and `self::` paths of each file's
//! non-test code; a child naming its parent does not count (the parent declares the child).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The crates under `shared/`, each with its `src/` folder.
fn shared_crates() -> Vec<PathBuf> {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(repo_root().join("shared"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    crates.sort();
    crates
}

/// The module path of a file under `src/` (`audience/mod.rs` → `["audience"]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file's code without comments and without its `#[cfg(test)] mod tests` block.
fn production_code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands a use tree (`super::{a, b::{c, d}}`) into its paths.
fn expand_use(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    // Split at the top-level `::{`, if any.
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .trim_end_matches("::")
            .split("::")
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string())
            .collect();
        let close = tree.rfind('}').unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let mut base = prefix.to_vec();
        base.extend(head);
        out.push(base.clone());
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_use(&inner[start..], &base, out);
    } else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        if path.is_empty() {
            return;
        }
        let mut full = prefix.to_vec();
        full.extend(
            path.split("::")
                .map(|s| s.trim().to_string())
                .filter(|s| s != "self" || prefix.is_empty()),
        );
        out.push(full);
    }
}

/// Every `crate::…`, `super::…` and `self::…` path a file's code names.
fn paths_named(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let boundary = i == 0 || !is_ident(chars[i - 1].1);
        if boundary && c == 'u' && code[at..].starts_with("use ") {
            let end = code[at..].find(';').map_or(code.len(), |e| at + e);
            let tree = code[at + 4..end].trim();
            if ["crate::", "super::", "self::"]
                .iter()
                .any(|p| tree.starts_with(p))
            {
                expand_use(tree, &[], &mut out);
            }
            while i < chars.len() && chars[i].0 < end {
                i += 1;
            }
            continue;
        }
        if boundary
            && ["crate::", "super::", "self::"]
                .iter()
                .any(|p| code[at..].starts_with(p))
        {
            let mut end = at;
            let rest = &code[at..];
            let mut seen = 0;
            for (j, ch) in rest.char_indices() {
                if is_ident(ch) || ch == ':' {
                    seen = j + ch.len_utf8();
                } else {
                    break;
                }
            }
            end += seen;
            let path: Vec<String> = code[at..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            out.push(path);
            while i < chars.len() && chars[i].0 < end {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    out
}

/// The longest known module a path names, from the module `from`.
fn resolve(
    from: &[String],
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut base: Vec<String>;
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base = Vec::new();
            rest = &rest[1..];
        }
        Some("super") => {
            base = from.to_vec();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some("self") => {
            base = from.to_vec();
            rest = &rest[1..];
        }
        _ => return None,
    }
    for take in (0..=rest.len()).rev() {
        let mut candidate = base.clone();
        candidate.extend(rest[..take].iter().cloned());
        if modules.contains(&candidate) {
            return Some(candidate);
        }
    }
    None
}

type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let files: Vec<(Vec<String>, PathBuf)> = files
        .into_iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "bin"))
        .map(|f| (module_of(src, &f), f))
        .collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph = Graph::new();
    for (module, file) in &files {
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        let edges = graph.entry(module.clone()).or_default();
        for path in paths_named(&code) {
            let Some(target) = resolve(module, &path, &modules) else {
                continue;
            };
            // The crate root, the module itself and its ancestors are not dependencies.
            if target.is_empty() || &target == module || module.starts_with(&target) {
                continue;
            }
            edges.insert(target);
        }
    }
    graph
}

/// The strongly connected groups of more than one module (Tarjan).
fn circles(graph: &Graph) -> Vec<Vec<Vec<String>>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        next: usize,
        found: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a Vec<String>) {
        w.index.insert(v, w.next);
        w.low.insert(v, w.next);
        w.next += 1;
        w.stack.push(v);
        w.on_stack.insert(v);
        let graph = w.graph;
        for t in graph.get(v).into_iter().flatten() {
            let Some((t, _)) = graph.get_key_value(t) else {
                continue;
            };
            if !w.index.contains_key(t) {
                visit(w, t);
                let low = w.low[v].min(w.low[t]);
                w.low.insert(v, low);
            } else if w.on_stack.contains(t) {
                let low = w.low[v].min(w.index[t]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut group = Vec::new();
            while let Some(t) = w.stack.pop() {
                w.on_stack.remove(t);
                group.push(t.clone());
                if t == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                w.found.push(group);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            visit(&mut walk, v);
        }
    }
    walk.found
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let code_a = "use super::b::Thing;\nfn f() { crate::c::go(); }";
    let code_b = "use super::{a::{self, Other}, c};";
    let modules: BTreeSet<Vec<String>> = ["a", "b", "c"]
        .iter()
        .map(|m| vec![m.to_string()])
        .collect();
    let mut graph = Graph::new();
    for (name, code) in [("a", code_a), ("b", code_b), ("c", "")] {
        let from = vec![name.to_string()];
        let edges = graph.entry(from.clone()).or_default();
        for path in paths_named(code) {
            if let Some(t) = resolve(&from, &path, &modules) {
                if t != from {
                    edges.insert(t);
                }
            }
        }
    }
    let found = circles(&graph);
    assert_eq!(
        found,
        vec![vec![vec!["a".to_string()], vec!["b".to_string()]]]
    );
}

#[test]
fn no_shared_crate_has_an_import_circle() {
    let mut report = Vec::new();
    for src in shared_crates() {
        let graph = module_graph(&src);
        assert!(graph.len() > 1, "{} has modules", src.display());
        for group in circles(&graph) {
            let names: Vec<String> = group.iter().map(|m| m.join("::")).collect();
            report.push(format!("{}: {}", src.display(), names.join(" ↔ ")));
        }
    }
    assert!(report.is_empty(), "import circles:\n{}", report.join("\n"));
}

#[test]
fn long_files_in_shared_say_why_they_are_one_file() {
    let mut long = Vec::new();
    for src in shared_crates() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            if text.lines().count() <= 500 {
                continue;
            }
            let opening: String = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .collect::<Vec<_>>()
                .join("\n")
                .to_lowercase();
            if !opening.contains("one file") {
                long.push(format!(
                    "{} ({} lines)",
                    file.display(),
                    text.lines().count()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over 500 lines whose opening comment does not say why they are one file:\n{}",
        long.join("\n")
    );
}

#[test]
fn only_the_settings_modules_read_the_environment() {
    let root = repo_root();
    let allowed: Vec<PathBuf> = ["shared/host/src/settings.rs", "cli/src/settings.rs"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    let mut files = Vec::new();
    for dir in ["shared", "functions", "cli/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut readers = Vec::new();
    for file in files {
        // Test code and bench binaries are not hosts.
        if allowed.iter().any(|a| file.starts_with(a))
            || file
                .components()
                .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "benches")
        {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(&file).unwrap());
        if code.contains("env::var") || code.contains("env::vars") {
            readers.push(file.strip_prefix(&root).unwrap().display().to_string());
        }
    }
    assert!(
        readers.is_empty(),
        "these files read the environment outside a settings module:\n{}",
        readers.join("\n")
    );
}
