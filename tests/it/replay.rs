//! `roleguard replay`: what roleguard would have done over a history of
//! CloudTrail, counted per rule, response, actor and account; checked
//! against `check`'s results for the same records and against the records
//! themselves.

use super::records::{roleguard, temp_dir};
use serde_json::Value;
use std::collections::BTreeMap;

const OWN: &str = "arn:aws:iam::111122223333:role/roleguard-function";

fn json_of(args: &[&str]) -> (Option<i32>, Value, String) {
    let o = roleguard(args);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    (
        o.status.code(),
        v,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The replay of the corpus's S3 log counts what `check` finds in it: per
/// rule, per response (from each plan's steps), per actor and account (from
/// the records), with the examples capped.
#[test]
fn replay_counts_what_check_finds() {
    let log = "tests/cloudtrail/s3/trail.json.gz";
    let (code, replay, stderr) = json_of(&[
        "replay",
        "--format",
        "json",
        "--own-role",
        OWN,
        "--examples",
        "2",
        log,
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(
        stderr, "",
        "no progress line when standard error is no terminal"
    );
    let (_, check, _) = json_of(&["check", "--format", "json", "--own-role", OWN, log]);
    let records: Value = {
        let mut text = String::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(std::fs::File::open(super::root().join(log)).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let mut rules: BTreeMap<String, u64> = BTreeMap::new();
    let mut responses: BTreeMap<&str, u64> = BTreeMap::new();
    let mut actors: BTreeMap<String, u64> = BTreeMap::new();
    let mut accounts: BTreeMap<String, u64> = BTreeMap::new();
    let mut acted = 0;
    for r in check["results"].as_array().unwrap() {
        let path = r["path"].as_str().unwrap();
        let Some(i) = path.strip_prefix(&format!("{log}#Records[")) else {
            continue;
        };
        let plan: Vec<&str> = r["plan"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["action"].as_str().unwrap())
            .collect();
        if plan.is_empty() {
            continue;
        }
        acted += 1;
        let response = if plan.iter().any(|a| *a != "tag_role" && *a != "notify") {
            "revert"
        } else if plan.contains(&"tag_role") {
            "tag"
        } else {
            "notify"
        };
        *responses.entry(response).or_default() += 1;
        for f in r["findings"].as_array().unwrap() {
            *rules.entry(f["rule"].as_str().unwrap().into()).or_default() += 1;
        }
        let record = &records["Records"][i.trim_end_matches(']').parse::<usize>().unwrap()];
        let who = &record["userIdentity"];
        let actor = who["sessionContext"]["sessionIssuer"]["arn"]
            .as_str()
            .or(who["arn"].as_str())
            .unwrap();
        *actors.entry(actor.into()).or_default() += 1;
        *accounts
            .entry(record["recipientAccountId"].as_str().unwrap().into())
            .or_default() += 1;
    }
    assert!(acted >= 10, "{acted}");
    assert_eq!(replay["acted"], acted);
    let counts = |key: &str| -> BTreeMap<String, u64> {
        replay[key]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, t)| {
                let examples = t["examples"].as_array().unwrap();
                assert!(
                    !examples.is_empty() && examples.len() <= 2,
                    "{key} {k}: {t}"
                );
                (k.clone(), t["count"].as_u64().unwrap())
            })
            .collect()
    };
    assert_eq!(counts("rules"), rules);
    let responses: BTreeMap<String, u64> =
        responses.into_iter().map(|(k, v)| (k.into(), v)).collect();
    assert_eq!(counts("responses"), responses);
    assert!(
        responses.len() == 3,
        "revert, tag and notify all seen: {responses:?}"
    );
    assert_eq!(counts("actors"), actors);
    assert_eq!(counts("accounts"), accounts);
    assert_eq!(replay["left_alone"]["count"], 1);
    let example = &replay["rules"]["trust-oidc-unconstrained"]["examples"][0];
    assert_eq!(example["role"], "role ci-deploy");
    assert_eq!(example["call"], "UpdateAssumeRolePolicy");
    assert_eq!(example["response"], "revert");
    assert_eq!(example["time"], "2026-11-20T09:00:42Z");
    assert!(example["source"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{log}#Records[")));
    assert_eq!(replay["totals"]["records"], 46);
    assert_eq!(replay["inputs"][0]["form"], "records");
}

/// Every form of the corpus, directories walked, replays to the same
/// answers; single events count as one record each.
#[test]
fn every_form_replays_alike() {
    let run = |paths: &[&str]| {
        let mut args = vec!["replay", "--format", "json", "--own-role", OWN];
        args.extend_from_slice(paths);
        let (code, v, _) = json_of(&args);
        assert_eq!(code, Some(0), "{paths:?}: {v}");
        v
    };
    let answer = |v: &Value| {
        let mut v = v.clone();
        for key in ["rules", "responses", "actors", "accounts"] {
            for (_, t) in v[key].as_object_mut().unwrap() {
                t.as_object_mut().unwrap().remove("examples");
            }
        }
        (
            v["acted"].clone(),
            v["rules"].clone(),
            v["responses"].clone(),
            v["actors"].clone(),
            v["accounts"].clone(),
            v["left_alone"]["count"].clone(),
        )
    };
    let s3 = run(&["tests/cloudtrail/s3/trail.json"]);
    for other in [
        vec!["tests/cloudtrail/s3/trail.json.gz"],
        vec!["tests/cloudtrail/lake.jsonl"],
        vec!["tests/cloudtrail/eventbridge.ndjson"],
        vec!["tests/cloudtrail/bare"],
        vec!["tests/cloudtrail/eventbridge"],
    ] {
        assert_eq!(answer(&run(&other)), answer(&s3), "{other:?}");
    }
    let bare = run(&["tests/cloudtrail/bare"]);
    assert_eq!(bare["inputs"].as_array().unwrap().len(), 46);
    assert_eq!(bare["totals"], s3["totals"]);
    // lookup-events holds the management events only: the same IAM answers.
    let lookup = run(&["tests/cloudtrail/lookup-events.json"]);
    assert_eq!(answer(&lookup), answer(&s3));
    assert_eq!(lookup["totals"]["judged"], s3["totals"]["judged"]);
    let both = run(&["tests/cloudtrail/s3"]);
    assert_eq!(both["acted"], 2 * s3["acted"].as_u64().unwrap());
    assert_eq!(both["totals"]["records"], 92);
}

/// Text by default; a cut input is reported and exits 2, with what was read
/// before the break still counted.
#[test]
fn text_and_broken_inputs() {
    let o = roleguard(&["replay", "--own-role", OWN, "tests/cloudtrail/lake.jsonl"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("Replayed 1 input, 2026-11-20T09:00:00Z to 2026-11-20T09:05:15Z: roleguard would have acted on "),
        "{text}"
    );
    for heading in [
        "\nBy response",
        "\nBy rule:",
        "\nBy actor:",
        "\nBy account:",
        "\nInputs:",
    ] {
        assert!(text.contains(heading), "{heading}: {text}");
    }
    let dir = temp_dir("replay-cut");
    let full = std::fs::read(super::root().join("tests/cloudtrail/s3/trail.json")).unwrap();
    let cut = dir.join("cut.json");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let (code, v, _) = json_of(&["replay", "--format", "json", cut.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    let input = &v["inputs"][0];
    assert!(
        input["error"]
            .as_str()
            .unwrap()
            .contains("cut short at byte"),
        "{input}"
    );
    assert!(input["counts"]["records"].as_u64().unwrap() > 10);
    let (code, v, _) = json_of(&["replay", "--format", "json", "no-such-file.json.gz"]);
    assert_eq!(code, Some(2));
    assert!(v["inputs"][0]["error"]
        .as_str()
        .unwrap()
        .starts_with("cannot read no-such-file.json.gz"));
    std::fs::remove_dir_all(dir).ok();
}
