//! Turns `data/actions.tsv` into static tables (`$OUT_DIR/catalog_data.rs`),
//! so the catalog costs nothing to load: no parsing or hashing at start-up,
//! which the Lambda's cold start would pay.

// A build script reports a failure by panicking (cargo prints the
// message and stops); its inputs are the crate's own data files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::Path;

/// Must match `catalog::folded_hash`.
fn folded_hash(service: &str, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in service.bytes().chain([b':']).chain(name.bytes()) {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn main() {
    println!("cargo:rerun-if-changed=data/actions.tsv");
    println!("cargo:rerun-if-changed=data/resources.tsv");
    println!("cargo:rerun-if-changed=data/condition-keys.tsv");
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string("data/actions.tsv").expect("read data/actions.tsv");
    let resources_text =
        std::fs::read_to_string("data/resources.tsv").expect("read data/resources.tsv");
    let key_types_text =
        std::fs::read_to_string("data/condition-keys.tsv").expect("read data/condition-keys.tsv");
    // Condition keys, interned: every key an action or a resource type names.
    let mut keys: Vec<String> = Vec::new();
    let mut key_ids: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
    let mut intern = |k: &str| -> u16 {
        let folded = k.to_ascii_lowercase();
        if let Some(id) = key_ids.get(&folded) {
            return *id;
        }
        let id = u16::try_from(keys.len()).expect("under 65,536 condition keys");
        keys.push(k.to_string());
        key_ids.insert(folded, id);
        id
    };
    let split = |field: &str| -> Vec<String> {
        field
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    // Resource types: (service, name, ARN template, first key, key count).
    let mut resources: Vec<(String, String, String, Vec<u16>)> = Vec::new();
    let mut resource_ids: std::collections::HashMap<(String, String), u16> =
        std::collections::HashMap::new();
    for (i, line) in resources_text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert!(
            f.len() == 4,
            "data/resources.tsv line {}: expected 4 fields",
            i + 1
        );
        let ks: Vec<u16> = split(f[3]).iter().map(|k| intern(k)).collect();
        let id = u16::try_from(resources.len()).expect("under 65,536 resource types");
        resource_ids.insert((f[0].to_string(), f[1].to_ascii_lowercase()), id);
        resources.push((f[0].to_string(), f[1].to_string(), f[2].to_string(), ks));
    }
    let mut rows = Vec::new();
    let mut action_resources: Vec<(u16, bool)> = Vec::new();
    let mut action_keys: Vec<u16> = Vec::new();
    let mut spans: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert!(
            f.len() == 6,
            "data/actions.tsv line {}: expected 6 fields",
            i + 1
        );
        let (r0, k0) = (action_resources.len(), action_keys.len());
        for rt in split(f[4]) {
            let (name, required) = match rt.strip_suffix('*') {
                Some(n) => (n.to_string(), true),
                None => (rt.clone(), false),
            };
            let id = *resource_ids
                .get(&(f[0].to_string(), name.to_ascii_lowercase()))
                .unwrap_or_else(|| {
                    panic!(
                        "data/actions.tsv line {}: unknown resource type {name}",
                        i + 1
                    )
                });
            action_resources.push((id, required));
        }
        for k in split(f[5]) {
            action_keys.push(intern(&k));
        }
        spans.push((r0, action_resources.len() - r0, k0, action_keys.len() - k0));
        let level = match f[2] {
            "L" => 0,
            "R" => 1,
            "W" => 2,
            "P" => 3,
            "T" => 4,
            other => panic!("data/actions.tsv line {}: unknown level {other:?}", i + 1),
        };
        rows.push((f[0], f[1], level, f[3] == "1"));
    }
    let n = rows.len();
    let words = n.div_ceil(64);
    let mut out = String::new();
    writeln!(out, "pub const ACTION_COUNT: usize = {n};").unwrap();
    writeln!(out, "pub const WORDS: usize = {words};").unwrap();
    out += "pub static ACTIONS: [Action; ACTION_COUNT] = [\n";
    const LEVELS: [&str; 5] = ["List", "Read", "Write", "PermissionsManagement", "Tagging"];
    for ((s, a, l, scoped), (r0, rn, k0, kn)) in rows.iter().zip(&spans) {
        writeln!(
            out,
            "    Action {{ service: {s:?}, name: {a:?}, level: Level::{}, scoped: {scoped}, resources: ({r0}, {rn}), keys: ({k0}, {kn}) }},",
            LEVELS[*l]
        )
        .unwrap();
    }
    out += "];\n";
    // Resource types, their keys, and each action's resource types and keys.
    let mut resource_keys: Vec<u16> = Vec::new();
    writeln!(
        out,
        "pub static RESOURCES: [ResourceType; {}] = [",
        resources.len()
    )
    .unwrap();
    for (service, name, arn, ks) in &resources {
        writeln!(
            out,
            "    ResourceType {{ service: {service:?}, name: {name:?}, arn: {arn:?}, keys: ({}, {}) }},",
            resource_keys.len(),
            ks.len()
        )
        .unwrap();
        resource_keys.extend(ks);
    }
    out += "];\n";
    let list = |v: &[u16]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    writeln!(
        out,
        "pub static RESOURCE_KEYS: [u16; {}] = [{}];",
        resource_keys.len(),
        list(&resource_keys)
    )
    .unwrap();
    writeln!(
        out,
        "pub static ACTION_KEYS: [u16; {}] = [{}];",
        action_keys.len(),
        list(&action_keys)
    )
    .unwrap();
    writeln!(
        out,
        "pub static ACTION_RESOURCES: [(u16, bool); {}] = [{}];",
        action_resources.len(),
        action_resources
            .iter()
            .map(|(r, req)| format!("({r},{req})"))
            .collect::<Vec<_>>()
            .join(",")
    )
    .unwrap();
    // Key names and types (service keys from data/condition-keys.tsv; the
    // global aws: keys are typed by src/eval/keys.rs, String here).
    let types: std::collections::HashMap<String, String> = key_types_text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, t)| (k.to_ascii_lowercase(), t.to_string()))
        .collect();
    // Each key with its type and where its variable part begins (`${...}`,
    // `<...>`, a `tag-key` after a slash, or nothing after a trailing slash;
    // u16::MAX when the whole name is literal): see `catalog::key_matches`.
    writeln!(
        out,
        "pub static KEYS: [(&str, &str, u16); {}] = [",
        keys.len()
    )
    .unwrap();
    for k in &keys {
        let t = types
            .get(&k.to_ascii_lowercase())
            .map_or("String", String::as_str);
        let variable = k
            .find("${")
            .or_else(|| k.find('<'))
            .or_else(|| {
                k.strip_suffix("tag-key")
                    .filter(|t| t.ends_with('/'))
                    .map(str::len)
            })
            .or_else(|| k.ends_with('/').then_some(k.len()))
            .map_or(u16::MAX, |i| i as u16);
        writeln!(out, "    ({k:?}, {t:?}, {variable}),").unwrap();
    }
    out += "];\n";
    // Services: (prefix, first id, end id), sorted by prefix for binary search.
    let mut services: Vec<(&str, usize, usize)> = Vec::new();
    for (i, (s, ..)) in rows.iter().enumerate() {
        match services.last_mut() {
            Some((p, _, end)) if p == s => *end = i + 1,
            _ => services.push((s, i, i + 1)),
        }
    }
    services.sort();
    for w in services.windows(2) {
        assert!(
            w[0].0 != w[1].0,
            "data/actions.tsv: service {} is not contiguous",
            w[0].0
        );
    }
    writeln!(
        out,
        "pub static SERVICES: [(&str, ActionId, ActionId); {}] = [",
        services.len()
    )
    .unwrap();
    for (s, a, b) in &services {
        writeln!(out, "    ({s:?}, {a}, {b}),").unwrap();
    }
    out += "];\n";
    // Case-folded name hashes in an open-addressing table (linear probing,
    // load under 2/3): a look-up is one or two probes.
    let size = (n * 3 / 2).next_power_of_two();
    let mut table: Vec<(u64, u32)> = vec![(0, u32::MAX); size];
    for (i, (s, a, ..)) in rows.iter().enumerate() {
        let h = folded_hash(s, a);
        let mut slot = (h as usize) & (size - 1);
        while table[slot].1 != u32::MAX {
            assert!(
                table[slot].0 != h,
                "data/actions.tsv: two actions share a folded hash"
            );
            slot = (slot + 1) & (size - 1);
        }
        table[slot] = (h, i as u32);
    }
    writeln!(out, "pub static BY_HASH: [(u64, ActionId); {size}] = [").unwrap();
    for (h, i) in &table {
        writeln!(out, "    ({h:#x}, {i:#x}),").unwrap();
    }
    out += "];\n";
    // Bitsets: one per access level, and the resource-scoped actions.
    let mut levels = vec![vec![0u64; words]; 5];
    let mut scoped = vec![0u64; words];
    for (i, (_, _, l, sc)) in rows.iter().enumerate() {
        levels[*l][i / 64] |= 1 << (i % 64);
        if *sc {
            scoped[i / 64] |= 1 << (i % 64);
        }
    }
    let words_literal = |w: &[u64]| {
        w.iter()
            .map(|x| format!("{x:#x}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out += "pub static LEVEL_WORDS: [[u64; WORDS]; 5] = [\n";
    for l in &levels {
        writeln!(out, "    [{}],", words_literal(l)).unwrap();
    }
    out += "];\n";
    writeln!(
        out,
        "pub static SCOPED_WORDS: [u64; WORDS] = [{}];",
        words_literal(&scoped)
    )
    .unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("catalog_data.rs");
    std::fs::write(dest, out).unwrap();
}
