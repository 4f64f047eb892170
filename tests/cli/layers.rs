//! The layering docs/ARCHITECTURE.md draws is the code's: each module imports only from
//! layers below its own, so there is no import cycle.

use std::collections::BTreeMap;
use std::path::Path;

fn repo(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Module → layer, from the table between `<!-- layers -->` markers.
fn documented_layers() -> BTreeMap<String, u32> {
    let doc = std::fs::read_to_string(repo("docs/ARCHITECTURE.md")).unwrap();
    let table = doc.split("<!-- layers -->").nth(1).unwrap().split("<!-- /layers -->").next().unwrap();
    let mut layers = BTreeMap::new();
    for row in table.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| layer")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let layer: u32 = cells[1].parse().unwrap_or_else(|_| panic!("a layer number: {row}"));
        for module in cells[2].split(',') {
            layers.insert(module.trim().trim_matches('`').to_owned(), layer);
        }
    }
    layers
}

/// The documented module a path (`a::b::c`, or a file's `a/b/c`) belongs to: its longest
/// prefix the table names (`keys::signer`, or a whole folder such as `commands`).
fn owner(path: &[&str], layers: &BTreeMap<String, u32>) -> Option<String> {
    (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|name| layers.contains_key(name))
}

/// Module → the modules its code (not its tests or comments) names as `crate::PATH`, each
/// with the file that names it. A module missing from the table is keyed by its file's path.
fn imports() -> BTreeMap<String, Vec<(String, String)>> {
    let layers = documented_layers();
    let mut found: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut dirs = vec![repo("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let relative = path.strip_prefix(repo("src")).unwrap().to_string_lossy().into_owned();
            if matches!(relative.as_str(), "lib.rs" | "main.rs") {
                continue;
            }
            let segments: Vec<&str> =
                relative.trim_end_matches(".rs").split('/').filter(|s| *s != "mod").collect();
            let module = match owner(&segments, &layers) {
                Some(module) => module,
                // A folder's mod.rs that only declares the folder's modules is no module of its own.
                None if relative.ends_with("mod.rs")
                    && !std::fs::read_to_string(&path).unwrap().contains("crate::") =>
                {
                    continue;
                }
                None => segments.join("::"),
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let uses = found.entry(module).or_default();
            for (index, _) in code.match_indices("crate::") {
                let named: String = code[index + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':')
                    .collect();
                let segments: Vec<&str> = named.split("::").filter(|s| !s.is_empty()).collect();
                let used = owner(&segments, &layers).unwrap_or(named.trim_end_matches(':').to_owned());
                uses.push((used, relative.clone()));
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_from_below() {
    let layers = documented_layers();
    let mut wrong = Vec::new();
    for (module, uses) in imports() {
        let Some(&layer) = layers.get(&module) else {
            wrong.push(format!("{module} is in no layer of docs/ARCHITECTURE.md"));
            continue;
        };
        for (used, file) in uses {
            match layers.get(&used) {
                None => wrong.push(format!("src/{file} uses crate::{used}, which is in no layer")),
                Some(&below) if below < layer => {}
                Some(&other) => wrong.push(format!(
                    "src/{file} (layer {layer}) uses crate::{used} (layer {other}): only lower layers may be used"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "the layering is broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_table_names_every_module_once() {
    let layers = documented_layers();
    for module in imports().keys() {
        assert!(layers.contains_key(module), "{module} is missing from docs/ARCHITECTURE.md");
    }
    for module in layers.keys() {
        let path = module.replace("::", "/");
        let file = repo(&format!("src/{path}.rs"));
        let dir = repo(&format!("src/{path}/mod.rs"));
        assert!(file.exists() || dir.exists(), "docs/ARCHITECTURE.md names {module}, which does not exist");
    }
}

/// Every test file is part of a test binary: a file its main.rs forgets never runs.
#[test]
fn no_test_file_is_forgotten() {
    for binary in ["tests/cli", "tests/portable"] {
        let main = std::fs::read_to_string(repo(&format!("{binary}/main.rs"))).unwrap();
        let declared: Vec<&str> = main
            .lines()
            .filter_map(|line| line.strip_prefix("mod ").and_then(|rest| rest.strip_suffix(';')))
            .collect();
        for entry in std::fs::read_dir(repo(binary)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(module) = name.strip_suffix(".rs").filter(|module| *module != "main") {
                assert!(declared.contains(&module), "{binary}/{name} is not declared in {binary}/main.rs");
            }
        }
    }
}
