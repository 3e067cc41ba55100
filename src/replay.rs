//! Replay before enforcing: what roleguard would have done over a history
//! of CloudTrail. Each IAM change is judged by the Lambda's own decision
//! ([`crate::plan::assess`], nothing changed), and the answers are counted
//! per rule, per response, per actor and per account, with the first few
//! examples of each. Pure: the shell reads the inputs
//! ([`crate::records::read`]) and hands each record's outcome here.

use crate::config::Response;
use crate::plan::Step;
use crate::records::{self, Counts, Form, Outcome};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// How many examples each count keeps by default.
pub const EXAMPLES: usize = 3;

/// One change roleguard would have acted on, as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    /// Where it was read: `trail.json.gz#Records[12]`, `export.jsonl:line 3`.
    pub source: String,
    pub event_id: Option<String>,
    pub time: Option<String>,
    pub account: Option<String>,
    pub actor: Option<String>,
    pub call: String,
    /// The principal the change is about: `role NAME`, `user NAME` or `group NAME`.
    pub role: Option<String>,
    /// The rules it raised, the most severe first.
    pub rules: Vec<String>,
    pub response: String,
}

/// A count and its first examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub count: u64,
    pub examples: Vec<Example>,
}

impl Tally {
    fn add(&mut self, example: &Example, keep: usize) {
        self.count += 1;
        if self.examples.len() < keep {
            self.examples.push(example.clone());
        }
    }
}

/// A record that could not be read or judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    pub source: String,
    pub error: String,
}

/// One input's part of the replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Input {
    pub path: String,
    /// `None`: a single event (or a document that is not CloudTrail).
    pub form: Option<Form>,
    pub counts: Counts,
    /// Why the input could not be read to its end (the records before
    /// stand counted), or read at all.
    pub error: Option<String>,
}

/// What roleguard would have done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Replay {
    #[serde(skip)]
    keep: usize,
    pub inputs: Vec<Input>,
    pub totals: Counts,
    /// The span of the IAM changes judged (event times, as CloudTrail
    /// writes them).
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// The changes roleguard would have acted on (a plan).
    pub acted: u64,
    /// Per response: the strongest step of each change's plan (a step that
    /// undoes the change: revert; else a tag: tag; else notify).
    pub responses: BTreeMap<String, Tally>,
    /// Per rule raised (a change raising two rules counts under both).
    pub rules: BTreeMap<String, Tally>,
    /// Per actor (the role or user that made the change).
    pub actors: BTreeMap<String, Tally>,
    /// Per account the change was made in.
    pub accounts: BTreeMap<String, Tally>,
    /// Judged and left alone: roleguard's own changes, exempt roles.
    pub left_alone: Tally,
    /// Records that could not be read or judged: the count, and the first few.
    pub record_errors: u64,
    pub first_errors: Vec<RecordError>,
}

/// The response a plan carries out: its strongest step. `None` for an
/// empty plan (nothing to do).
pub fn response(plan: &[Step]) -> Option<Response> {
    if plan.iter().any(Step::reverts) {
        Some(Response::Revert)
    } else if plan.iter().any(|s| matches!(s, Step::TagRole { .. })) {
        Some(Response::Tag)
    } else if plan.is_empty() {
        None
    } else {
        Some(Response::Notify)
    }
}

impl Replay {
    /// An empty replay keeping `examples` examples per count.
    pub fn new(examples: usize) -> Replay {
        Replay {
            keep: examples,
            ..Replay::default()
        }
    }

    /// Count one record's outcome, read at `source`.
    pub fn add(&mut self, source: &str, outcome: &Outcome) {
        let a = match outcome {
            Outcome::Assessed(a) => a,
            Outcome::Error(e) => {
                self.record_errors += 1;
                if self.first_errors.len() < self.keep.max(EXAMPLES) {
                    self.first_errors.push(RecordError {
                        source: source.into(),
                        error: e.clone(),
                    });
                }
                return;
            }
            Outcome::OtherService | Outcome::Failed | Outcome::NotJudged => return,
        };
        let (event, assessment) = (&a.event, &a.assessment);
        if let Some(t) = event.time.as_deref() {
            if self.first_time.as_deref().is_none_or(|f| t < f) {
                self.first_time = Some(t.into());
            }
            if self.last_time.as_deref().is_none_or(|l| t > l) {
                self.last_time = Some(t.into());
            }
        }
        let mut example = Example {
            source: source.into(),
            event_id: event.trail.event_id.clone().or(event.id.clone()),
            time: event.time.clone(),
            account: event.account.clone(),
            actor: event.actor().map(str::to_owned),
            call: assessment.call.into(),
            // The principal: `role NAME`, `user NAME` or `group NAME`.
            role: match (
                &assessment.role_name,
                &assessment.user_name,
                &assessment.group_name,
            ) {
                (Some(r), _, _) => Some(format!("role {r}")),
                (None, Some(u), _) => Some(format!("user {u}")),
                (None, None, Some(g)) => Some(format!("group {g}")),
                _ => None,
            },
            rules: assessment
                .judgement
                .findings
                .iter()
                .map(|f| f.rule.as_str().to_owned())
                .collect(),
            response: String::new(),
        };
        if let Some(why) = &assessment.skipped {
            example.response = format!("left alone: {why}");
            self.left_alone.add(&example, self.keep);
            return;
        }
        let Some(response) = response(&assessment.plan) else {
            return;
        };
        example.response = response.as_str().into();
        self.acted += 1;
        let keep = self.keep;
        self.responses
            .entry(response.as_str().into())
            .or_default()
            .add(&example, keep);
        let mut seen: Vec<&str> = Vec::new();
        for rule in &example.rules {
            if !seen.contains(&rule.as_str()) {
                seen.push(rule);
                self.rules
                    .entry(rule.clone())
                    .or_default()
                    .add(&example, keep);
            }
        }
        let actor = example.actor.clone().unwrap_or_else(|| "(unknown)".into());
        self.actors.entry(actor).or_default().add(&example, keep);
        let account = example
            .account
            .clone()
            .unwrap_or_else(|| "(unknown)".into());
        self.accounts
            .entry(account)
            .or_default()
            .add(&example, keep);
    }

    /// An input read: its counts, and why it stopped early, if it did.
    pub fn finish_input(
        &mut self,
        path: &str,
        form: Option<Form>,
        counts: Counts,
        error: Option<String>,
    ) {
        self.totals.merge(&counts);
        self.inputs.push(Input {
            path: path.into(),
            form,
            counts,
            error,
        });
    }

    /// Replay one stream of records; `tick` is called every 4096 records with
    /// the byte reached and the input's counts so far (for a progress line).
    pub fn stream<R: std::io::BufRead>(
        &mut self,
        path: &str,
        reader: R,
        form: Form,
        config: &crate::config::Config,
        tick: &mut dyn FnMut(u64, &Counts),
    ) {
        let mut counts = Counts::default();
        let read = records::read(reader, form, |raw| {
            let outcome = records::judge_raw(&raw, config);
            counts.add(&outcome);
            self.add(&raw.place.label(path), &outcome);
            if counts.records % 4096 == 0 {
                tick(raw.start, &counts);
            }
        });
        let error = read.err().map(|e| format!("{path}: {e}"));
        self.finish_input(path, Some(form), counts, error);
    }

    /// Replay one document: a single event (EventBridge or bare record).
    pub fn document(&mut self, path: &str, text: &str, config: &crate::config::Config) {
        let outcome = records::judge(text.as_bytes(), config);
        let mut counts = Counts::default();
        counts.add(&outcome);
        self.add(path, &outcome);
        self.finish_input(path, None, counts, None);
    }

    /// Did every input read to its end, every record with it?
    pub fn complete(&self) -> bool {
        self.record_errors == 0 && self.inputs.iter().all(|i| i.error.is_none())
    }

    /// The replay as text for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let span = match (&self.first_time, &self.last_time) {
            (Some(f), Some(l)) => format!(", {f} to {l}"),
            _ => String::new(),
        };
        let inputs = if self.inputs.len() == 1 {
            "input"
        } else {
            "inputs"
        };
        let _ = writeln!(
            out,
            "Replayed {} {inputs}{span}: roleguard would have acted on {} of {} IAM changes judged.",
            self.inputs.len(),
            self.acted,
            t.judged
        );
        let _ = writeln!(out, "  {}", t.sentence());
        let _ = writeln!(out, "\nBy response (each change's strongest step):");
        if self.responses.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for r in [Response::Revert, Response::Tag, Response::Notify] {
            if let Some(tally) = self.responses.get(r.as_str()) {
                section(&mut out, r.as_str(), tally, None);
            }
        }
        let mut groups: Vec<(&str, &BTreeMap<String, Tally>, Option<&str>)> = vec![
            ("rule", &self.rules, None),
            ("actor", &self.actors, Some("actor")),
            ("account", &self.accounts, Some("account")),
        ];
        for (name, map, omit) in groups.drain(..) {
            let _ = writeln!(out, "\nBy {name}:");
            if map.is_empty() {
                let _ = writeln!(out, "  none");
            }
            let mut rows: Vec<(&String, &Tally)> = map.iter().collect();
            rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
            for (key, tally) in rows {
                section(&mut out, key, tally, omit);
            }
        }
        if self.left_alone.count > 0 {
            let _ = writeln!(out, "\nLeft alone:");
            section(&mut out, "left alone", &self.left_alone, None);
        }
        let _ = writeln!(out, "\nInputs:");
        for i in &self.inputs {
            let form = i.form.map_or("single event", Form::describe);
            let _ = writeln!(out, "  {} ({form}): {}", i.path, i.counts.sentence());
            if let Some(e) = &i.error {
                let _ = writeln!(out, "    error: {e}");
            }
        }
        if self.record_errors > 0 {
            let _ = writeln!(
                out,
                "\n{} could not be read or judged; the first:",
                if self.record_errors == 1 {
                    "1 record".to_string()
                } else {
                    format!("{} records", self.record_errors)
                }
            );
            for e in &self.first_errors {
                let _ = writeln!(out, "  {}: {}", e.source, e.error);
            }
        }
        out
    }
}

/// `  perm-full-admin  4` and its examples, one line each.
fn section(out: &mut String, key: &str, tally: &Tally, omit: Option<&str>) {
    let _ = writeln!(out, "  {key:<44} {:>7}", tally.count);
    for e in &tally.examples {
        let mut line = format!(
            "      {} {} {}",
            e.time.as_deref().unwrap_or("(no time)"),
            e.event_id.as_deref().unwrap_or("(no id)"),
            e.call
        );
        if let Some(principal) = &e.role {
            let _ = write!(line, " {principal}");
        }
        if omit != Some("account") {
            if let Some(a) = &e.account {
                let _ = write!(line, " in {a}");
            }
        }
        if omit != Some("actor") {
            if let Some(a) = &e.actor {
                let _ = write!(line, " by {a}");
            }
        }
        if !e.rules.is_empty() {
            let _ = write!(line, ": {}", e.rules.join(", "));
        }
        if !e.response.starts_with("left alone") {
            let _ = write!(line, " -> {}", e.response);
        } else {
            let _ = write!(line, " ({})", e.response);
        }
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn record(name: &str, role: &str, actor: &str, params: serde_json::Value) -> String {
        json!({
            "eventSource": "iam.amazonaws.com", "eventName": name, "eventID": format!("id-{role}"),
            "eventTime": format!("2026-11-20T09:00:0{}Z", role.len() % 10),
            "recipientAccountId": "111122223333",
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::111122223333:assumed-role/{actor}/s"),
              "sessionContext": {"sessionIssuer": {"arn": format!("arn:aws:iam::111122223333:role/{actor}")}}},
            "requestParameters": params
        })
        .to_string()
    }

    fn admin(role: &str, actor: &str) -> String {
        record(
            "AttachRolePolicy",
            role,
            actor,
            json!({"roleName": role, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        )
    }

    #[test]
    fn responses_follow_the_plan() {
        let notify = Step::Notify {
            severity: crate::rules::Severity::High,
            rules: vec![],
        };
        let tag = Step::TagRole {
            role_name: "r".into(),
            tags: Default::default(),
        };
        let detach = Step::DetachRolePolicy {
            role_name: "r".into(),
            policy_arn: "a".into(),
        };
        assert_eq!(response(&[]), None);
        assert_eq!(
            response(std::slice::from_ref(&notify)),
            Some(Response::Notify)
        );
        assert_eq!(
            response(&[tag.clone(), notify.clone()]),
            Some(Response::Tag)
        );
        assert_eq!(response(&[detach, tag, notify]), Some(Response::Revert));
    }

    #[test]
    fn counts_per_rule_response_actor_and_account_with_few_examples() {
        let config = Config {
            own_roles: vec!["arn:aws:iam::111122223333:role/roleguard-function".into()],
            ..Config::default()
        };
        let mut replay = Replay::new(2);
        let inputs = [
            admin("a1", "deployer"),
            admin("a22", "deployer"),
            admin("a333", "deployer"),
            admin("b1", "ci"),
            admin("own", "roleguard-function"),
            record(
                "UpdateRole",
                "long",
                "ci",
                json!({"roleName": "long", "maxSessionDuration": 43200}),
            ),
            record("GetRole", "x", "ci", json!({"roleName": "x"})),
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#.into(),
            "{not json".into(),
        ];
        let mut counts = Counts::default();
        for (i, text) in inputs.iter().enumerate() {
            let outcome = records::judge(text.as_bytes(), &config);
            counts.add(&outcome);
            replay.add(&format!("t.json#Records[{i}]"), &outcome);
        }
        replay.finish_input("t.json", Some(Form::Records), counts, None);
        assert_eq!(replay.acted, 5);
        let admin = &replay.rules["perm-full-admin"];
        assert_eq!(admin.count, 4);
        assert_eq!(admin.examples.len(), 2, "the first two only");
        assert_eq!(admin.examples[0].source, "t.json#Records[0]");
        assert_eq!(admin.examples[0].role.as_deref(), Some("role a1"));
        assert_eq!(admin.examples[0].event_id.as_deref(), Some("id-a1"));
        assert_eq!(
            admin.examples[1].time.as_deref(),
            Some("2026-11-20T09:00:03Z")
        );
        assert_eq!(replay.responses["revert"].count, 4);
        assert_eq!(
            replay.rules["role-max-session-duration"].count
                + replay.responses.get("tag").map_or(0, |t| t.count),
            2,
            "the session duration is tagged (medium): {:?}",
            replay.responses.keys()
        );
        assert_eq!(
            replay.actors["arn:aws:iam::111122223333:role/deployer"].count,
            3
        );
        assert_eq!(replay.actors["arn:aws:iam::111122223333:role/ci"].count, 2);
        assert_eq!(replay.accounts["111122223333"].count, 5);
        assert_eq!(replay.left_alone.count, 1);
        assert!(replay.left_alone.examples[0]
            .response
            .starts_with("left alone: made by roleguard's own role"));
        assert_eq!(replay.record_errors, 1);
        assert_eq!(replay.first_errors[0].source, "t.json#Records[8]");
        assert_eq!(replay.first_time.as_deref(), Some("2026-11-20T09:00:02Z"));
        assert_eq!(replay.last_time.as_deref(), Some("2026-11-20T09:00:04Z"));
        assert!(!replay.complete());
        let text = replay.text();
        assert!(text.starts_with("Replayed 1 input, 2026-11-20T09:00:02Z to 2026-11-20T09:00:04Z: roleguard would have acted on 5 of 6 IAM changes judged.\n"), "{text}");
        assert!(text.contains("\n  revert                                             4\n      2026-11-20T09:00:02Z id-a1 AttachRolePolicy role a1 in 111122223333 by arn:aws:iam::111122223333:role/deployer: perm-denied-managed-policy, perm-full-admin -> revert\n"), "{text}");
        assert!(
            text.contains("\nBy actor:\n  arn:aws:iam::111122223333:role/deployer            3\n"),
            "{text}"
        );
        assert!(text.contains("\n1 record could not be read or judged; the first:\n  t.json#Records[8]: not JSON: "), "{text}");
    }

    #[test]
    fn streams_and_documents_count_their_inputs() {
        let config = Config::default();
        let mut replay = Replay::new(EXAMPLES);
        let log = format!(
            "{{\"Records\":[{},{},{{\"eventSource\":\"kms.amazonaws.com\",\"eventName\":\"Decrypt\"}}",
            admin("a", "d"),
            admin("b", "d")
        );
        let mut ticks = 0;
        replay.stream(
            "t.json",
            log.as_bytes(),
            Form::Records,
            &config,
            &mut |_, _| ticks += 1,
        );
        replay.document("one.json", &admin("c", "d"), &config);
        assert_eq!(replay.inputs.len(), 2);
        assert_eq!(replay.inputs[0].counts.records, 3);
        assert_eq!(replay.inputs[0].counts.other_services, 1);
        assert!(replay.inputs[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("t.json: cut short at byte")));
        assert_eq!(replay.inputs[1].form, None);
        assert_eq!(replay.totals.judged, 3);
        assert_eq!(replay.acted, 3);
        assert_eq!(
            replay.rules["perm-full-admin"].examples[2].source,
            "one.json"
        );
        assert_eq!(ticks, 0, "no progress for short inputs");
        let v = serde_json::to_value(&replay).unwrap();
        assert_eq!(v["rules"]["perm-full-admin"]["count"], 3);
        assert_eq!(v["totals"]["records"], 4);
        assert!(v.get("keep").is_none());
    }
}
