//! Security Hub: one finding (ASFF) per rule violated, built as the SDK's
//! own type, so a field the API requires cannot be misspelt or left empty.

use super::describe;
use crate::notify::{at_most, Alert};
use crate::rules::Severity;
use aws_config::SdkConfig;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, Partition, Recommendation, RecordState,
    Remediation, Resource, ResourceDetails, Severity as HubSeverity, SeverityLabel, Workflow,
    WorkflowStatus,
};
use std::sync::OnceLock;

/// The finding type roleguard reports under.
pub const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";

/// Security Hub in the function's region.
pub struct SecurityHub {
    client: aws_sdk_securityhub::Client,
    region: String,
    /// The account the findings are imported from (Security Hub's product
    /// account): the function's own.
    own: OnceLock<String>,
}

impl SecurityHub {
    pub fn new(config: &SdkConfig) -> SecurityHub {
        SecurityHub {
            client: aws_sdk_securityhub::Client::new(config),
            region: config
                .region()
                .map_or("us-east-1".to_string(), |r| r.to_string()),
            own: OnceLock::new(),
        }
    }

    /// The function's own account (Security Hub's product account).
    pub fn set_own_account(&self, account: &str) {
        if !account.is_empty() {
            // Set once per container: a second call names the same account.
            let _ = self.own.set(account.to_string());
        }
    }

    pub async fn send(&self, alert: &Alert, now: i64) -> Result<(), String> {
        let product = self
            .own
            .get()
            .map_or(alert.account.as_str(), String::as_str);
        let now = aws_sdk_securityhub::primitives::DateTime::from_secs(now)
            .fmt(aws_sdk_securityhub::primitives::DateTimeFormat::DateTime)
            .map_err(|e| format!("the time of the findings: {e}"))?;
        let out = self
            .client
            .batch_import_findings()
            .set_findings(Some(findings(alert, product, &self.region, &now)))
            .send()
            .await
            .map_err(|e| describe(&e))?;
        match out.failed_count() {
            Some(n) if n > 0 => Err(format!(
                "BatchImportFindings: {n} findings failed: {}",
                out.failed_findings()
                    .iter()
                    .map(|f| format!(
                        "{}: {}",
                        f.error_code().unwrap_or("?"),
                        f.error_message().unwrap_or("")
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            _ => Ok(()),
        }
    }
}

/// The product fields: the action, the call, the event and the actor, and
/// what the alert says about the credentials already issued (the revoke, who used the window), when
/// anything: Security Hub holds a field's value up to 2048 characters.
fn product_fields_of(alert: &Alert) -> Option<std::collections::HashMap<String, String>> {
    let mut fields = std::collections::HashMap::from([
        ("roleguard/Action".to_string(), alert.action.to_string()),
        ("roleguard/Call".to_string(), alert.call.to_string()),
        (
            "roleguard/EventId".to_string(),
            alert.event_id.clone().unwrap_or_default(),
        ),
        (
            "roleguard/Actor".to_string(),
            alert.actor.arn.clone().unwrap_or_default(),
        ),
    ]);
    if let Some(r) = &alert.sessions_revoked {
        fields.insert("roleguard/SessionsRevoked".into(), at_most(r, 2048));
    }
    if let Some(w) = &alert.window {
        fields.insert("roleguard/Window".into(), at_most(&w.summary, 2048));
        fields.insert(
            "roleguard/WindowSessions".into(),
            w.sessions.len().to_string(),
        );
    }
    Some(fields)
}

/// The finding's resource: the role, user or group the change is about.
fn resource(alert: &Alert, region: &str) -> Resource {
    use aws_sdk_securityhub::types::{AwsIamGroupDetails, AwsIamRoleDetails, AwsIamUserDetails};
    let (kind, details) = match alert.principal_type {
        "user" => (
            "AwsIamUser",
            ResourceDetails::builder()
                .aws_iam_user(
                    AwsIamUserDetails::builder()
                        .user_name(&alert.role_name)
                        .build(),
                )
                .build(),
        ),
        "group" => (
            "AwsIamGroup",
            ResourceDetails::builder()
                .aws_iam_group(
                    AwsIamGroupDetails::builder()
                        .group_name(&alert.role_name)
                        .build(),
                )
                .build(),
        ),
        _ => (
            "AwsIamRole",
            ResourceDetails::builder()
                .aws_iam_role(
                    AwsIamRoleDetails::builder()
                        .role_name(&alert.role_name)
                        .build(),
                )
                .build(),
        ),
    };
    Resource::builder()
        .r#type(kind)
        .id(&alert.role_arn)
        .partition(Partition::Aws)
        .region(region)
        .details(details)
        .build()
}

fn label(s: Severity) -> SeverityLabel {
    match s {
        Severity::Critical => SeverityLabel::Critical,
        Severity::High => SeverityLabel::High,
        Severity::Medium => SeverityLabel::Medium,
        Severity::Low => SeverityLabel::Low,
        Severity::Info => SeverityLabel::Informational,
    }
}

/// Security Hub findings (ASFF), one per rule violated. The Id is
/// deterministic (account, role, rule), so a repeated event, or a later one
/// about the same role and rule, updates the finding instead of adding one.
/// Once reverted, the finding is RESOLVED and its compliance PASSED.
/// `product_account` and `region` are where the findings are imported: the
/// central account's, when run from one. `now` is an RFC 3339 time.
pub fn findings(
    alert: &Alert,
    product_account: &str,
    region: &str,
    now: &str,
) -> Vec<AwsSecurityFinding> {
    let resolved = alert.action == "reverted";
    let created = alert.event_time.as_deref().unwrap_or(now);
    let mut seen = std::collections::BTreeSet::new();
    alert
        .findings
        .iter()
        .filter(|f| seen.insert(f.rule))
        .map(|f| {
            let rule = f.rule.as_str();
            AwsSecurityFinding::builder()
                .schema_version("2018-10-08")
                .id(format!("roleguard/{}/{}/{rule}", alert.account, alert.role_name))
                .product_arn(format!(
                    "arn:aws:securityhub:{region}:{product_account}:product/{product_account}/default"
                ))
                .generator_id(format!("roleguard/{rule}"))
                .aws_account_id(&alert.account)
                .types(FINDING_TYPE)
                .created_at(created)
                .updated_at(now)
                .severity(HubSeverity::builder().label(label(f.severity)).build())
                .title(f.title)
                .description(at_most(&f.message, 1024))
                .remediation(
                    Remediation::builder()
                        .recommendation(
                            Recommendation::builder()
                                .text(f.advice.chars().take(512).collect::<String>())
                                .build(),
                        )
                        .build(),
                )
                .source_url(&alert.console_url)
                .set_product_fields(product_fields_of(alert))
                .resources(resource(alert, region))
                .compliance(
                    Compliance::builder()
                        .status(if resolved {
                            ComplianceStatus::Passed
                        } else {
                            ComplianceStatus::Failed
                        })
                        .build(),
                )
                .workflow(
                    Workflow::builder()
                        .status(if resolved {
                            WorkflowStatus::Resolved
                        } else {
                            WorkflowStatus::New
                        })
                        .build(),
                )
                .record_state(RecordState::Active)
                .build()
        })
        .collect()
}
