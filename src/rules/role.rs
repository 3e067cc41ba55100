//! Role-settings rules (`role-*`): session length, permissions boundary,
//! inline policies and roleguard's own tags.

use super::{Context, Finding, Judgement, RuleId, Severity};

/// What a change says about a role's settings. `None`: not part of the change.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoleSettings {
    pub max_session_duration: Option<u32>,
    /// The role's boundary after the change: `Some(None)` when it was removed
    /// or the role was created without one.
    pub permissions_boundary: Option<Option<String>>,
    /// The change removed the role's boundary (DeleteRolePermissionsBoundary).
    pub boundary_removed: bool,
    /// Name of an inline policy the change puts on the role.
    pub inline_policy: Option<String>,
    /// roleguard:* tag keys the change sets or removes.
    pub guard_tags_touched: Vec<String>,
}

pub fn judge(settings: &RoleSettings, ctx: &Context) -> Judgement {
    let config = ctx.config;
    let mut out = Judgement::default();
    if let Some(d) = settings.max_session_duration {
        if d > config.max_session_duration {
            out.findings.push(Finding::new(
                RuleId::RoleMaxSessionDuration,
                Severity::Medium,
                format!(
                    "MaxSessionDuration is {d} s, above the maximum of {} s",
                    config.max_session_duration
                ),
            ));
        }
    }
    if let (Some(required), Some(boundary)) =
        (&config.required_boundary, &settings.permissions_boundary)
    {
        if boundary.as_deref() != Some(required.as_str()) {
            let now = match boundary {
                Some(b) => format!("has boundary {b}"),
                None => "has no permissions boundary".into(),
            };
            out.findings.push(
                Finding::new(
                    RuleId::RoleMissingBoundary,
                    Severity::High,
                    format!("the role {now}; {required} is required"),
                )
                .details(vec![required.clone()]),
            );
        }
    }
    // With a required boundary, role-missing-boundary says it and puts that
    // one back; otherwise the removal is a finding of its own.
    if settings.boundary_removed && config.required_boundary.is_none() {
        out.findings.push(Finding::new(
            RuleId::RoleBoundaryRemoved,
            Severity::High,
            "the role's permissions boundary was removed: its policies are no longer capped"
                .to_string(),
        ));
    }
    if let Some(name) = &settings.inline_policy {
        if config.forbid_inline_policies {
            out.findings.push(Finding::new(
                RuleId::RoleInlinePolicy,
                Severity::Medium,
                format!("inline policy {name} put on the role; inline policies are forbidden"),
            ));
        }
    }
    if !settings.guard_tags_touched.is_empty() {
        out.findings.push(
            Finding::new(
                RuleId::RoleGuardTagTampering,
                Severity::Medium,
                format!(
                    "roleguard's tags changed: {}",
                    settings.guard_tags_touched.join(", ")
                ),
            )
            .details(settings.guard_tags_touched.clone()),
        );
    }
    out
}
