//! The GitHub Action's script (scripts/action.sh), run as a runner would run
//! it: a made-up GITHUB_* environment, the sample inputs, and a release
//! served from a directory (file://) for the install step.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("roleguard-action-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn script(dir: &Path, step: &str, env: &[(&str, String)]) -> std::process::Output {
    let mut c = Command::new("bash");
    c.arg(super::root().join("scripts/action.sh"))
        .arg(step)
        .current_dir(super::root())
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary"))
        .env("GITHUB_PATH", dir.join("path"))
        .env("RUNNER_TEMP", dir)
        .env("ROLEGUARD", env!("CARGO_BIN_EXE_roleguard"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn the_check_step_writes_sarif_outputs_and_a_summary_and_never_fails_itself() {
    let dir = temp("run");
    let sarif = dir.join("out.sarif");
    let o = script(
        &dir,
        "run",
        &[
            (
                "INPUT_PATHS",
                "events/attach-admin.noncompliant.json tests/terraform/plan.json".into(),
            ),
            ("INPUT_FAIL_ON", "high".into()),
            ("INPUT_SARIF_FILE", sarif.display().to_string()),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = read(dir.join("output"));
    assert!(out.contains("exit-code=1\n"), "{out}");
    assert!(
        out.contains(&format!("sarif-file={}\n", sarif.display())),
        "{out}"
    );
    let v: Value = serde_json::from_str(&read(sarif)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "perm-full-admin"));
    assert!(results.iter().any(|r| r["ruleId"] == "trust-any-principal"));
    let summary = read(dir.join("summary"));
    assert!(
        summary.contains("**Findings at or above high**"),
        "{summary}"
    );
    // The findings are in the log as text too.
    assert!(String::from_utf8_lossy(&o.stdout).contains("perm-full-admin"));

    // A compliant input: exit code 0.
    let dir = temp("clean");
    let o = script(
        &dir,
        "run",
        &[
            (
                "INPUT_PATHS",
                "events/attach-dynamodb-readonly.compliant.json".into(),
            ),
            (
                "INPUT_SARIF_FILE",
                dir.join("s.sarif").display().to_string(),
            ),
        ],
    );
    assert!(o.status.success());
    assert!(read(dir.join("output")).contains("exit-code=0\n"));
    assert!(read(dir.join("summary")).contains("No finding at or above high."));
}

#[test]
fn the_verdict_step_fails_the_job_with_the_check_exit_code() {
    let dir = temp("verdict");
    let o = script(&dir, "verdict", &[("EXIT_CODE", "1".into())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("::error::roleguard check exited 1"));
    let o = script(&dir, "verdict", &[("EXIT_CODE", "0".into())]);
    assert_eq!(o.status.code(), Some(0));
}

/// The install step takes the release binary for this runner, checked
/// against the release's SHA256SUMS, and refuses one that does not match.
#[test]
fn the_install_step_takes_a_checked_release_binary() {
    let target = match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    };
    let releases = temp("releases");
    let version = "v9.9.9";
    let dir = releases.join(version);
    std::fs::create_dir_all(&dir).unwrap();
    let stage = temp("stage");
    std::fs::copy(env!("CARGO_BIN_EXE_roleguard"), stage.join("roleguard")).unwrap();
    let archive = format!("roleguard-{version}-{target}.tar.gz");
    let ok = Command::new("tar")
        .args(["-czf"])
        .arg(dir.join(&archive))
        .arg("-C")
        .arg(&stage)
        .arg("roleguard")
        .status()
        .unwrap();
    assert!(ok.success());
    let sum = Command::new("sha256sum")
        .arg(&archive)
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::write(dir.join("SHA256SUMS"), &sum.stdout).unwrap();
    let env = [
        ("ROLEGUARD_REPOSITORY", "example/roleguard".to_string()),
        ("ROLEGUARD_VERSION", version.to_string()),
        (
            "ROLEGUARD_RELEASE_BASE",
            format!("file://{}", releases.display()),
        ),
    ];
    let runner = temp("runner");
    let o = script(&runner, "install", &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bin = read(runner.join("path"));
    let installed = PathBuf::from(bin.trim()).join("roleguard");
    let v = Command::new(&installed).arg("--version").output().unwrap();
    assert!(v.status.success());
    // A tampered archive is refused.
    std::fs::write(
        dir.join("SHA256SUMS"),
        format!("{}  {archive}\n", "0".repeat(64)),
    )
    .unwrap();
    let runner = temp("runner2");
    let o = script(&runner, "install", &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not match SHA256SUMS"));
}

#[test]
fn the_action_and_the_hook_name_what_exists() {
    let action: Value = serde_yaml_ng::from_str(&read(super::root().join("action.yml"))).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "paths",
        "fail-on",
        "config",
        "sarif-file",
        "upload-sarif",
        "version",
    ] {
        assert!(action["inputs"].get(input).is_some(), "{input}");
    }
    let hooks: Value =
        serde_yaml_ng::from_str(&read(super::root().join(".pre-commit-hooks.yaml"))).unwrap();
    assert_eq!(hooks[0]["id"], "roleguard");
    assert_eq!(hooks[0]["language"], "rust");
    assert!(hooks[0]["entry"]
        .as_str()
        .unwrap()
        .starts_with("roleguard check"));
}

/// The release workflow builds what the install step looks for: an archive
/// per target it maps a runner to, the Lambda zip, and SHA256SUMS.
#[test]
fn the_release_workflow_makes_what_the_action_installs() {
    let wf: Value =
        serde_yaml_ng::from_str(&read(super::root().join(".github/workflows/release.yml")))
            .unwrap();
    let targets: Vec<&str> = wf["jobs"]["cli"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    let script = read(super::root().join("scripts/action.sh"));
    for t in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(targets.contains(&t), "{t} is built");
        assert!(script.contains(&format!("target={t}")), "{t} is installed");
    }
    let text = read(super::root().join(".github/workflows/release.yml"));
    assert!(text.contains("roleguard-${GITHUB_REF_NAME}-${{ matrix.target }}.tar.gz"));
    assert!(script.contains("roleguard-$version-$target.tar.gz"));
    assert!(text.contains("sha256sum * > SHA256SUMS"));
    assert!(text.contains("--arm64") && text.contains("--output-format zip"));
}
