//! The workspace's shape, held to ARCHITECTURE.md: dependencies point down only, as its table of allowed
//! dependencies says, and a crate declares no workspace crate it does not use.

use super::*;

/// ARCHITECTURE.md's table: crate → the workspace crates it may depend on.
fn allowed() -> BTreeMap<String, Vec<String>> {
    let doc = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut table = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| settle-")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let deps = cells[1].split(',').map(str::trim).filter(|d| d.starts_with("settle-")).map(str::to_string);
        table.insert(cells[0].to_string(), deps.collect());
    }
    table
}

/// The `settle-*` names in a Cargo.toml's `[dependencies]` (not dev- or build-dependencies).
fn workspace_dependencies(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies && line.starts_with("settle-") {
            let name: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            out.push(name);
        }
    }
    out
}

/// Every Rust source text under `dir`, concatenated.
fn sources(dir: &Path) -> String {
    let mut text = String::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&fs::read_to_string(&path).unwrap());
        }
    }
    text
}

#[test]
fn crates_depend_only_downward_and_only_on_what_they_use() {
    let allowed = allowed();
    assert!(allowed.len() >= 10, "ARCHITECTURE.md's dependency table is missing: {allowed:?}");
    let mut crates = 0;
    for entry in fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        crates += 1;
        let may = allowed.get(&name).unwrap_or_else(|| panic!("{name} is not in ARCHITECTURE.md's dependency table"));
        let code = sources(&dir.join("src"));
        for dependency in workspace_dependencies(&manifest) {
            assert!(may.contains(&dependency), "{name} depends on {dependency}, which ARCHITECTURE.md does not allow");
            let path = dependency.replace('-', "_");
            let used = code.contains(&format!("{path}::")) || code.contains(&format!("use {path} as "));
            assert!(used, "{name} declares {dependency} but does not use it");
        }
    }
    assert_eq!(crates, allowed.len(), "every crate of ARCHITECTURE.md's table is in crates/, and only those");
}
