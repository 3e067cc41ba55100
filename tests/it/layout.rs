//! The architecture as the code states it: no import cycle between the
//! crate's top-level modules, the core free of the shell, and each binary's
//! `main` short (the work lives in the library and the command functions).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level modules each top-level module names through `crate::`
/// (code only: comments, doc links and `#[cfg(test)]` items are left out).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = super::root().join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![];
    walk(&src, &mut files);
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        if first == "bin" || first == "lib.rs" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let code = code_of(&text);
        let deps = graph.entry(module.clone()).or_default();
        for name in crate_paths(&code) {
            if name != module {
                deps.insert(name);
            }
        }
    }
    graph
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text before the first `#[cfg(test)]`, without line comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment after every `crate::`, including each of a group's
/// (`crate::{a::X, b}`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// A cycle in the graph, if any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            if !graph.contains_key(m) {
                continue;
            }
            match state.get(m.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if !state.contains_key(n) {
            if let Some(c) = visit(n, graph, &mut state, &mut vec![]) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_import_cycle_between_modules() {
    let graph = module_graph();
    assert!(graph.len() > 20, "modules found: {:?}", graph.keys());
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g = module_graph();
    g.get_mut("policy").unwrap().insert("engine".into());
    let cycle = find_cycle(&g).expect("policy -> engine -> ... -> policy");
    assert!(cycle.contains(&"policy".to_string()) && cycle.contains(&"engine".to_string()));
    let groups = crate_paths("use crate::{a::X, b};\nlet x = crate::c::y;");
    assert_eq!(groups, ["a", "b", "c"].map(String::from).into());
}

/// The pure core names no shell module: no ports, engine, adapters, wiring,
/// handler, and no AWS SDK, async runtime or clock.
#[test]
fn the_core_is_free_of_the_shell() {
    const SHELL: &[&str] = &["adapters", "engine", "lambda", "ports", "wiring", "process"];
    const CORE: &[&str] = &[
        "audit",
        "catalog",
        "check",
        "config",
        "eval",
        "event",
        "fleet",
        "member",
        "notify",
        "outcome",
        "pattern",
        "plan",
        "policy",
        "principal",
        "records",
        "replay",
        "report",
        "rule_id",
        "rules",
        "scan",
        "scan_report",
        "sessions",
        "severity",
        "snapshot",
        "template",
        "terraform",
        "verdict",
    ];
    let graph = module_graph();
    for m in CORE {
        let deps = graph.get(*m).unwrap_or_else(|| panic!("no module {m}"));
        for s in SHELL {
            assert!(!deps.contains(*s), "core module {m} uses shell module {s}");
        }
    }
    let src = super::root().join("src");
    let mut files = vec![];
    walk(&src, &mut files);
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().to_string();
        let module = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if !CORE.contains(&module) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&f).unwrap());
        for io in [
            "aws_sdk_",
            "aws_config",
            "tokio::",
            "async fn",
            "SystemTime::now",
            "std::fs::",
            "TcpStream",
            "std::env::",
        ] {
            assert!(!code.contains(io), "core file {rel} uses {io}");
        }
    }
}

/// Each binary's `main` stays under 80 lines.
#[test]
fn binaries_have_short_mains() {
    for bin in ["roleguard.rs", "roleguard-lambda.rs"] {
        let text = std::fs::read_to_string(super::root().join("src/bin").join(bin)).unwrap();
        let start = text
            .find("async fn main(")
            .or_else(|| text.find("fn main("))
            .unwrap();
        let body = &text[start..];
        let end = body.find("\n}\n").unwrap();
        let lines = body[..end].lines().count() + 1;
        assert!(lines < 80, "{bin}: main is {lines} lines");
    }
}
