//! The CloudTrail corpus (tests/cloudtrail/, written by
//! scripts/gen-cloudtrail.py): the same records in every form give the same
//! verdicts as each record checked alone, and the counts the corpus was
//! written to have; a gzipped S3 log of 10,000 records of mixed services
//! has only its IAM changes judged.

use super::records::{gzip, roleguard, temp_dir};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

const CORPUS: &str = "tests/cloudtrail";

struct Entry {
    id: String,
    stem: String,
    service: String,
    failed: bool,
    left_alone: bool,
    call: String,
    expect: Vec<String>,
}

/// The manifest, with each record's call read from its bare file.
fn manifest() -> (String, Vec<Entry>) {
    let root = super::root().join(CORPUS);
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    let entries = m["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let stem = e["stem"].as_str().unwrap().to_string();
            let bare: Value = serde_json::from_str(
                &std::fs::read_to_string(root.join("bare").join(format!("{stem}.json"))).unwrap(),
            )
            .unwrap();
            Entry {
                id: e["eventID"].as_str().unwrap().into(),
                stem,
                service: e["service"].as_str().unwrap().into(),
                failed: e["failed"].as_bool().unwrap(),
                left_alone: e["left_alone"].as_bool().unwrap(),
                call: bare["eventName"].as_str().unwrap().into(),
                expect: e["expect"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().into())
                    .collect(),
            }
        })
        .collect();
    (m["own_role"].as_str().unwrap().into(), entries)
}

/// What the corpus says becomes of a record, from its service, its error
/// code and the calls roleguard declares it judges.
fn category(e: &Entry) -> &'static str {
    if e.service != "iam" {
        "other_services"
    } else if e.failed {
        "failed"
    } else if !::roleguard::event::HANDLED.contains(&e.call.as_str()) {
        "not_judged"
    } else {
        "judged"
    }
}

fn check(own_role: &str, path: &str) -> (Option<i32>, Vec<Value>) {
    let o = roleguard(&["check", "--format", "json", "--own-role", own_role, path]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    (o.status.code(), v["results"].as_array().unwrap().clone())
}

/// A result's verdict: its rules, its plan's actions, why it is skipped.
fn verdict(r: &Value) -> Value {
    let mut rules: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    rules.sort();
    let plan: Vec<&str> = r["plan"]
        .as_array()
        .map(|p| p.iter().map(|s| s["action"].as_str().unwrap()).collect())
        .unwrap_or_default();
    json!({"rules": rules, "plan": plan, "skipped": r["skipped"], "error": r["error"]})
}

fn acted(v: &Value) -> bool {
    !v["rules"].as_array().unwrap().is_empty() || !v["plan"].as_array().unwrap().is_empty()
}

/// Each record checked alone, from a directory of single files: by event id.
fn single(own_role: &str, dir: &str, entries: &[Entry]) -> BTreeMap<String, Value> {
    let (_, results) = check(own_role, &format!("{CORPUS}/{dir}"));
    assert_eq!(results.len(), entries.len());
    entries
        .iter()
        .map(|e| {
            let path = format!("{CORPUS}/{dir}/{}.json", e.stem);
            let r = results.iter().find(|r| r["path"] == path).unwrap();
            (e.id.clone(), verdict(r))
        })
        .collect()
}

/// The event ids of a stream file, in its order, read here on its own.
fn ids_in(path: &Path) -> Vec<String> {
    let mut bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        bytes = out;
    }
    let text = String::from_utf8(bytes).unwrap();
    let id = |r: &Value| {
        r.get("detail").unwrap_or(r)["eventID"]
            .as_str()
            .unwrap()
            .to_string()
    };
    if path
        .extension()
        .is_some_and(|x| x == "jsonl" || x == "ndjson")
    {
        return text
            .lines()
            .map(|l| id(&serde_json::from_str(l).unwrap()))
            .collect();
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    match v.get("Records") {
        Some(records) => records.as_array().unwrap().iter().map(id).collect(),
        None => v["Events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["EventId"].as_str().unwrap().to_string())
            .collect(),
    }
}

/// The place a stream result names: `#Records[12]` or `#Events[3]` (from
/// 0), `:line 17` (from 1), as an index from 0.
fn index_of(path: &str, file: &str) -> Option<usize> {
    let rest = path.strip_prefix(file)?;
    if let Some(n) = rest.strip_prefix(":line ") {
        return Some(n.parse::<usize>().unwrap() - 1);
    }
    let n = rest
        .strip_prefix("#Records[")
        .or(rest.strip_prefix("#Events["))?;
    Some(n.trim_end_matches(']').parse().unwrap())
}

#[test]
fn the_corpus_covers_what_it_should() {
    let (_, entries) = manifest();
    assert!(entries.len() >= 40, "{}", entries.len());
    let root = super::root().join(CORPUS);
    let all: String = std::fs::read_to_string(root.join("lake.jsonl")).unwrap();
    for needle in [
        "\"requestParameters\":null",
        "\"errorCode\":\"AccessDenied\"",
        "\"errorCode\":\"NoSuchEntityException\"",
        "additionalEventData",
        "tlsDetails",
        "\"sessionCredentialFromConsole\":\"true\"",
        "\"eventVersion\":\"1.08\"",
        "\"eventVersion\":\"1.09\"",
        "\"eventVersion\":\"1.10\"",
        "\"eventVersion\":\"1.11\"",
    ] {
        assert!(all.contains(needle), "the corpus has no {needle}");
    }
    let calls: BTreeSet<&str> = entries.iter().map(|e| e.call.as_str()).collect();
    for call in [
        "CreateRole",
        "AttachRolePolicy",
        "PutRolePolicy",
        "UpdateAssumeRolePolicy",
        "DetachRolePolicy",
        "DeleteRole",
        "GetRole",
        "CreateUser",
        "AttachUserPolicy",
        "AddUserToGroup",
        "AssumeRole",
    ] {
        assert!(calls.contains(call), "the corpus has no {call}");
    }
    let services: BTreeSet<&str> = entries.iter().map(|e| e.service.as_str()).collect();
    for s in ["iam", "s3", "ec2", "sts", "kms", "lambda"] {
        assert!(services.contains(s), "the corpus has no {s} record");
    }
    for c in ["judged", "not_judged", "failed", "other_services"] {
        assert!(
            entries.iter().filter(|e| category(e) == c).count() >= 3,
            "few {c}"
        );
    }
}

/// Every form gives each record the verdict it has alone, results only for
/// the IAM changes with findings or a plan, and the counts the corpus was
/// written to have.
#[test]
fn every_form_gives_the_same_verdicts_and_counts() {
    let (own_role, entries) = manifest();
    let by_id: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let alone = single(&own_role, "bare", &entries);
    assert_eq!(
        alone,
        single(&own_role, "eventbridge", &entries),
        "a bare record and its EventBridge event have the same verdict"
    );
    for e in &entries {
        let v = &alone[&e.id];
        let skipped = v["skipped"].as_str().unwrap_or("");
        match category(e) {
            // A failed call of a kind roleguard judges is said to have
            // failed; a failed call of another kind is not judged at all.
            "failed" if ::roleguard::event::HANDLED.contains(&e.call.as_str()) => {
                assert!(skipped.starts_with("the call failed"), "{}: {v}", e.stem)
            }
            "failed" | "not_judged" | "other_services" => assert!(
                skipped.contains("is not a call roleguard judges"),
                "{}: {v}",
                e.stem
            ),
            _ => assert_eq!(e.left_alone, !skipped.is_empty(), "{}: {v}", e.stem),
        }
        let rules = v["rules"].as_array().unwrap();
        for want in &e.expect {
            assert!(
                rules.iter().any(|r| r == want),
                "{}: no {want} in {v}",
                e.stem
            );
        }
        assert!(v["error"].is_null(), "{}: {v}", e.stem);
    }
    let forms = [
        "s3/trail.json",
        "s3/trail.json.gz",
        "lookup-events.json",
        "lake.jsonl",
        "eventbridge.ndjson",
    ];
    for form in forms {
        let file = format!("{CORPUS}/{form}");
        let ids = ids_in(&super::root().join(&file));
        let (code, results) = check(&own_role, &file);
        assert_eq!(code, Some(1), "{form}: critical findings");
        // Results for exactly the records that have findings or a plan alone.
        let mut seen = BTreeSet::new();
        for r in &results {
            let path = r["path"].as_str().unwrap();
            if path == file {
                continue;
            }
            let i = index_of(path, &file).unwrap_or_else(|| panic!("{form}: {path}"));
            let id = &ids[i];
            assert_eq!(
                verdict(r),
                alone[id],
                "{path} ({})",
                by_id[id.as_str()].stem
            );
            seen.insert(id.clone());
        }
        let want: BTreeSet<String> = ids
            .iter()
            .filter(|id| acted(&alone[*id]))
            .cloned()
            .collect();
        assert_eq!(seen, want, "{form}");
        // The counts, from what the corpus says of each record.
        let summary = results.iter().find(|r| r["path"] == file.as_str()).unwrap();
        let counts = &summary["records"];
        let in_form: Vec<&Entry> = ids.iter().map(|id| by_id[id.as_str()]).collect();
        let n = |c: &str| in_form.iter().filter(|e| category(e) == c).count();
        assert_eq!(counts["records"], ids.len(), "{form}");
        for c in ["judged", "not_judged", "failed", "other_services"] {
            assert_eq!(counts[c], n(c), "{form}: {c}");
        }
        assert_eq!(
            counts["left_alone"],
            in_form.iter().filter(|e| e.left_alone).count(),
            "{form}"
        );
        assert_eq!(counts["errors"], 0, "{form}");
    }
}

/// A small deterministic generator (a linear congruential one).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// 10,000 records, about 1 in 40 an IAM call, the rest other services,
/// gzipped as CloudTrail delivers them: only the IAM changes are judged,
/// each with its verdict alone, and the counts are those of the records
/// picked.
#[test]
fn a_gzipped_log_of_ten_thousand_records() {
    let (own_role, entries) = manifest();
    let alone = single(&own_role, "bare", &entries);
    let root = super::root().join(CORPUS);
    let record = |e: &Entry| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(root.join("bare").join(format!("{}.json", e.stem))).unwrap(),
        )
        .unwrap()
    };
    let iam: Vec<&Entry> = entries.iter().filter(|e| e.service == "iam").collect();
    let other: Vec<&Entry> = entries.iter().filter(|e| e.service != "iam").collect();
    let mut rng = Lcg(17);
    let mut picks: Vec<&Entry> = Vec::new();
    let mut records = Vec::new();
    for i in 0..10_000 {
        let e = if rng.next(40) == 0 {
            iam[rng.next(iam.len())]
        } else {
            other[rng.next(other.len())]
        };
        let mut r = record(e);
        r["eventID"] = json!(format!("gen-{i:05}"));
        records.push(r);
        picks.push(e);
    }
    let dir = temp_dir("ten-thousand");
    let file = dir.join("111122223333_CloudTrail_us-east-1_20261120T0900Z_x.json.gz");
    let text = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    std::fs::write(&file, gzip(&text)).unwrap();
    let file = file.to_str().unwrap();
    let (code, results) = check(&own_role, file);
    assert_eq!(code, Some(1));
    let n = |c: &str| picks.iter().filter(|e| category(e) == c).count();
    assert!(
        n("judged") > 100 && n("other_services") > 9000,
        "{}",
        n("judged")
    );
    let counts = &results.iter().find(|r| r["path"] == file).unwrap()["records"];
    assert_eq!(counts["records"], 10_000);
    for c in ["judged", "not_judged", "failed", "other_services"] {
        assert_eq!(counts[c], n(c), "{c}");
    }
    let mut judged = BTreeSet::new();
    for r in &results {
        let path = r["path"].as_str().unwrap();
        if path == file {
            continue;
        }
        let i = index_of(path, file).unwrap();
        let e = picks[i];
        assert_eq!(e.service, "iam", "{path} is {}", e.stem);
        assert_eq!(verdict(r), alone[&e.id], "{path} ({})", e.stem);
        judged.insert(i);
    }
    let want: BTreeSet<usize> = (0..picks.len())
        .filter(|&i| acted(&alone[&picks[i].id]))
        .collect();
    assert_eq!(judged, want);
    std::fs::remove_dir_all(dir).ok();
}
