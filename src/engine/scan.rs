//! Scan an account: judge every role as it stands, keep baselines, and
//! (when asked) carry out the plans.

use super::execute::execute;
use super::handle::sanitises;
use super::{Engine, HandleError};
use crate::outcome::{Status, StepResult};
use crate::ports::{Channels, Clock, Iam, Store};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many roles a scan works on at once (baseline reads and writes, reverts).
pub const SCAN_CONCURRENCY: usize = 8;

/// One role's verdict in a scan, and what was done about it.
#[derive(Debug, Clone, Serialize)]
pub struct RoleScan {
    #[serde(flatten)]
    pub result: crate::check::CheckResult,
    /// The steps carried out (with `remediate`), each with how it ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<StepResult>,
}

/// What a scan of one account found and did.
#[derive(Debug, Clone, Serialize)]
pub struct ScanOutcome {
    pub account: String,
    pub roles: usize,
    pub dry_run: bool,
    pub remediate: bool,
    /// IAM requests made to read the account.
    pub read_requests: usize,
    /// Roles whose state was recorded as their baseline.
    pub baselines_recorded: usize,
    /// Findings by severity, over every role.
    pub findings_by_severity: BTreeMap<&'static str, usize>,
    pub results: Vec<RoleScan>,
    /// False when a step failed.
    pub ok: bool,
}

/// Judge every role of `account` as it stands. With `remediate`, carry out
/// each non-compliant role's plan (in a dry run: say what would be done);
/// otherwise only report. With a store, a role that needs no revert is
/// recorded as its baseline, and a revert puts back the recorded documents.
pub(super) async fn scan_account<I: Iam, S: Store, C: Channels, K: Clock>(
    engine: &Engine<'_, S, C, K>,
    iam: &I,
    account: &str,
    remediate: bool,
) -> Result<ScanOutcome, HandleError> {
    let (store, config) = (engine.store, engine.config);
    let dry_run = engine.mode.is_dry_run();
    use futures_util::StreamExt;
    let snapshot = iam
        .account_snapshot()
        .await
        .map_err(|source| HandleError::Fetch {
            what: format!("the roles of account {account}"),
            source,
        })?;
    let judged = futures_util::stream::iter(snapshot.roles.iter())
        .map(|role| async {
            let mut v = crate::scan::judge_role(account, role, &snapshot.policies, None, config);
            // A revert that would sanitise: the baseline's documents are better.
            let plan = v.result.plan.as_deref().unwrap_or_default();
            if store.enabled() && sanitises(plan) {
                if let Some(b) = store.baseline(account, &role.name).await? {
                    v = crate::scan::judge_role(
                        account,
                        role,
                        &snapshot.policies,
                        Some(&b),
                        config,
                    );
                }
            }
            let mut recorded = false;
            if store.enabled() && v.accepted && v.result.skipped.is_none() {
                let baseline = crate::audit::Baseline {
                    trust_policy: Some(role.trust_policy.clone()),
                    inline_policies: role.inline.iter().cloned().collect(),
                    role: Some(crate::snapshot::RoleParts {
                        role: role.clone(),
                        policies: role
                            .attached
                            .iter()
                            .chain(role.permissions_boundary.iter())
                            .filter_map(|a| {
                                snapshot.policies.get(a).map(|d| (a.clone(), d.clone()))
                            })
                            .collect(),
                    }),
                };
                store.save_baseline(account, &role.name, &baseline).await?;
                recorded = true;
            }
            let plan = v.result.plan.clone().unwrap_or_default();
            let results = if remediate && !plan.is_empty() {
                execute(iam, &plan, engine.mode, engine.clock).await
            } else {
                vec![]
            };
            Ok::<_, HandleError>((
                RoleScan {
                    result: v.result,
                    results,
                },
                recorded,
            ))
        })
        .buffered(SCAN_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut results = Vec::with_capacity(judged.len());
    let mut baselines_recorded = 0;
    for r in judged {
        let (scan, recorded) = r?;
        baselines_recorded += usize::from(recorded);
        results.push(scan);
    }
    let ok = results
        .iter()
        .flat_map(|r| &r.results)
        .all(|s| s.status != Status::Failed);
    let mut findings_by_severity = BTreeMap::new();
    for f in results.iter().flat_map(|r| &r.result.findings) {
        *findings_by_severity.entry(f.severity.as_str()).or_insert(0) += 1;
    }
    Ok(ScanOutcome {
        account: account.to_string(),
        roles: snapshot.roles.len(),
        dry_run,
        remediate,
        read_requests: snapshot.requests,
        baselines_recorded,
        findings_by_severity,
        results,
        ok,
    })
}
