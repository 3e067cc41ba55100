//! Turns `data/actions.tsv` into static tables (`$OUT_DIR/catalog_data.rs`),
//! so the catalog costs nothing to load: no parsing or hashing at start-up,
//! which the Lambda's cold start would pay.

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
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string("data/actions.tsv").expect("read data/actions.tsv");
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        assert!(
            f.len() == 4,
            "data/actions.tsv line {}: expected 4 fields",
            i + 1
        );
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
    for (s, a, l, scoped) in &rows {
        writeln!(
            out,
            "    Action {{ service: {s:?}, name: {a:?}, level: Level::{}, scoped: {scoped} }},",
            LEVELS[*l]
        )
        .unwrap();
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
