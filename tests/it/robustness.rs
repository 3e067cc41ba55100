//! Bad input never panics: every sample event and policy, cut short at many
//! points or with bytes flipped, gives a result or an error that names the
//! problem.

use roleguard::check::check_text;
use roleguard::config::Config;

fn samples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["events", "tests/fixtures/policies"] {
        for entry in std::fs::read_dir(super::root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn truncated_inputs_give_errors_not_panics() {
    let config = Config::default();
    let mut errors = 0;
    for (path, text) in samples() {
        let step = (text.len() / 40).max(1);
        for cut in (0..text.len()).step_by(step) {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let r = check_text(&path, &text[..cut], None, &config, Some("111122223333"));
            if let Some(e) = &r.error {
                assert!(!e.is_empty());
                assert!(
                    r.findings.is_empty(),
                    "an input with an error has no findings"
                );
                errors += 1;
            }
        }
    }
    assert!(
        errors > 500,
        "truncation should mostly fail to parse: {errors}"
    );
}

#[test]
fn altered_inputs_never_panic() {
    let config = Config::default();
    let swaps: [(&str, &str); 8] = [
        ("\"", "'"),
        ("[", "{"),
        ("Allow", "Allów"),
        ("sts:", "€€:"),
        (":", "::"),
        ("\"*\"", "42"),
        ("Statement", "Statements"),
        ("\"Effect\"", "\"Effect\": null, \"x\""),
    ];
    for (path, text) in samples() {
        for (from, to) in swaps {
            let altered = text.replacen(from, to, 3);
            let _ = check_text(&path, &altered, None, &config, None);
            for kind in [
                roleguard::check::Kind::Permissions,
                roleguard::check::Kind::Trust,
                roleguard::check::Kind::Event,
            ] {
                let _ = check_text(&path, &altered, Some(kind), &config, None);
            }
        }
    }
}
