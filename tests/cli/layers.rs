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

/// Module → the modules its code (not its tests or comments) names as `crate::NAME`.
fn imports() -> BTreeMap<String, Vec<(String, String)>> {
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
            let module = relative.split(['/', '.']).next().unwrap().to_owned();
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
                let name: String = code[index + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                uses.push((name, relative.clone()));
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
        let file = repo(&format!("src/{module}.rs"));
        let dir = repo(&format!("src/{module}/mod.rs"));
        assert!(file.exists() || dir.exists(), "docs/ARCHITECTURE.md names {module}, which does not exist");
    }
}
