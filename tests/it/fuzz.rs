//! The fuzz harness (examples/fuzz, docs/fuzzing.md) in the suite: every
//! target runs a fixed number of executions from a fixed seed without a
//! crash, and the harness itself is shown to catch a panic, save and
//! minimise its input, flag a slow input, and repeat itself for a seed.

// The harness's own files, as the example compiles them; the CLI parts of
// the engine are not all used here.
#[allow(dead_code)]
#[path = "../../examples/fuzz/engine.rs"]
mod engine;
#[allow(dead_code)]
#[path = "../../examples/fuzz/targets.rs"]
mod targets;

use engine::{Flavour, Options, Summary, Target};
use std::time::Duration;

fn run(target: &Target, execs: u64, out: Option<std::path::PathBuf>) -> Summary {
    let opts = Options {
        seed: 20261127,
        execs: Some(execs),
        out,
        ..Options::default()
    };
    engine::fuzz_watched(target, &opts, |_| {})
}

fn out_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("roleguard-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_target_runs_clean_for_a_fixed_seed() {
    for name in targets::NAMES {
        let target = targets::target(name, &super::root()).unwrap();
        assert!(target.seeds.len() >= 4, "{name}: seeds missing");
        // The slower targets (YAML, rendering) get fewer in the unoptimised build.
        let execs = match *name {
            "template" | "check" => 400,
            _ => 2_000,
        };
        let s = run(&target, execs, None);
        let crashes: Vec<String> = s
            .crash_sites
            .iter()
            .map(|c| format!("{}\n{}", c.message, String::from_utf8_lossy(&c.input)))
            .collect();
        assert_eq!(s.crashes, 0, "{name} crashed:\n{}", crashes.join("\n\n"));
        assert_eq!(s.executions, execs, "{name}");
        assert!(
            s.outcomes > 5,
            "{name}: the target should tell outcomes apart: {}",
            s.json()
        );
    }
}

/// A target that panics on a `#` anywhere in its input.
fn toy(text: &str) -> String {
    if text.contains('#') {
        panic!("toy: found a #");
    }
    text.len().min(3).to_string()
}

fn toy_target(name: &'static str, run: fn(&str) -> String) -> Target {
    Target {
        name,
        run,
        flavour: Flavour::Json,
        seeds: vec![br#"{"a": [1, 2], "b": "c"}"#.to_vec(), b"[true]".to_vec()],
        dictionary: vec![],
        limit: None,
    }
}

#[test]
fn a_panic_is_caught_saved_and_minimised() {
    let out = out_dir("crash");
    let target = toy_target("toy", toy);
    let s = run(&target, 2_000, Some(out.clone()));
    assert_eq!(s.executions, 2_000, "the run goes on after a crash");
    assert!(
        s.crashes > 0,
        "the mutations should reach a #: {}",
        s.json()
    );
    assert_eq!(s.crash_sites.len(), 1);
    let crash = &s.crash_sites[0];
    assert!(crash.site.contains("fuzz.rs"), "{}", crash.site);
    assert!(
        crash.message.contains("toy: found a #"),
        "{}",
        crash.message
    );
    let file = crash.file.clone().expect("the crash is saved");
    assert!(file.starts_with(out.join("crashes").join("toy")));
    assert_eq!(std::fs::read(&file).unwrap(), crash.input);
    let note = std::fs::read_to_string(file.with_extension("txt")).unwrap();
    assert!(note.contains("toy: found a #"), "{note}");
    assert_eq!(engine::minimise(toy, &crash.input, &crash.site), b"#");
    // Panics outside the harness still reach the previous hook (and are caught here).
    assert!(std::panic::catch_unwind(|| toy("#")).is_err());
    let _ = std::fs::remove_dir_all(&out);
}

/// A target that takes 5 ms over inputs that start with `[`.
fn sleepy(text: &str) -> String {
    if text.starts_with('[') {
        std::thread::sleep(Duration::from_millis(5));
    }
    String::new()
}

#[test]
fn a_slow_input_is_saved() {
    let out = out_dir("slow");
    let target = toy_target("sleepy", sleepy);
    let opts = Options {
        execs: Some(50),
        out: Some(out.clone()),
        slow: Duration::from_millis(2),
        ..Options::default()
    };
    let s = engine::fuzz_watched(&target, &opts, |_| {});
    assert!(s.slow > 0, "{}", s.json());
    assert_eq!(s.crashes, 0);
    let saved = std::fs::read_dir(out.join("slow").join("sleepy"))
        .unwrap()
        .count();
    assert!(saved > 0);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_seed_gives_the_same_run() {
    let target = targets::target("policy", &super::root()).unwrap();
    let mut inputs = vec![Vec::new(), Vec::new()];
    for seen in &mut inputs {
        let opts = Options {
            seed: 99,
            execs: Some(300),
            ..Options::default()
        };
        let s = engine::fuzz_watched(&target, &opts, |i| seen.push(engine::fnv1a(i)));
        seen.push(s.outcomes as u64);
        seen.push(s.pool as u64);
    }
    assert_eq!(inputs[0], inputs[1]);
    assert_eq!(inputs[0].len(), 302);
}

/// Every input the fuzzer once crashed on (tests/fuzz-regressions/TARGET/),
/// minimised, runs through its target without a panic, and in good time.
#[test]
fn past_crashes_stay_fixed() {
    let dir = super::root().join("tests/fuzz-regressions");
    let mut ran = 0;
    for name in targets::NAMES {
        let Ok(entries) = std::fs::read_dir(dir.join(name)) else {
            continue;
        };
        let target = targets::target(name, &super::root()).unwrap();
        for entry in entries {
            let path = entry.unwrap().path();
            let input = std::fs::read(&path).unwrap();
            let started = std::time::Instant::now();
            if let Err((site, message)) = engine::execute(target.run, &input) {
                panic!("{name}: {} panics at {site}:\n{message}", path.display());
            }
            // The slow ones (nesting bombs) took 10-30 s each before their fix.
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(5),
                "{}: {took:?}",
                path.display()
            );
            ran += 1;
        }
    }
    assert!(ran >= 2, "the regression inputs are missing: {ran}");
}
