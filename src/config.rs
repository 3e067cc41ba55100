//! roleguard's configuration: a YAML file, or the embedded default
//! (`config/roleguard.yaml`, which documents every key).
//!
//! An invalid configuration is refused with an error that names the key.

use crate::pattern;
use crate::policy::is_account_id;
pub use crate::policy::role_of_arn;
use crate::rule_id::RuleId;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The embedded default configuration, with every key documented.
pub const DEFAULT_YAML: &str = include_str!("../config/roleguard.yaml");

/// What roleguard does about a finding, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Response {
    /// Report it to the alert channels.
    Notify,
    /// Notify, and tag the role with what was found.
    Tag,
    /// Notify, tag, and undo the change.
    Revert,
}

impl Response {
    pub fn as_str(self) -> &'static str {
        match self {
            Response::Notify => "notify",
            Response::Tag => "tag",
            Response::Revert => "revert",
        }
    }
}

/// Per-rule settings; what is left out keeps the rule's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    pub action: Option<Response>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExemptRoles {
    /// Role-name globs (`*`, `?`), e.g. `OrganizationAccountAccessRole`, `break-glass-*`.
    pub names: Vec<String>,
    /// Role-path globs, e.g. `/legacy/*`.
    pub paths: Vec<String>,
    /// Service-linked roles (path `/aws-service-role/`): AWS owns them.
    pub service_linked: bool,
}

impl Default for ExemptRoles {
    fn default() -> Self {
        ExemptRoles {
            names: vec![],
            paths: vec![],
            service_linked: true,
        }
    }
}

/// After a trust revert, roleguard asks CloudTrail (`LookupEvents`) who
/// assumed the role between the bad change and the revert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionLookup {
    pub enabled: bool,
    /// The regions asked: STS records a call in the region of the endpoint
    /// it went to (the global endpoint records in us-east-1).
    pub regions: Vec<String>,
    /// Pages of at most 50 records, per region.
    pub max_pages: u32,
    /// The longest window looked up, in hours back from the revert.
    pub max_hours: u32,
}

/// The regions every account has enabled by default: where STS answers
/// without the account opting in.
pub const DEFAULT_LOOKUP_REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "sa-east-1",
];

impl Default for SessionLookup {
    fn default() -> Self {
        SessionLookup {
            enabled: true,
            regions: DEFAULT_LOOKUP_REGIONS.map(String::from).to_vec(),
            max_pages: 3,
            max_hours: 24,
        }
    }
}

/// The organisation: its accounts, read from AWS Organizations, are the
/// accounts the scheduled scan covers and the accounts a trust may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Organization {
    /// With `organization_id` set: read the organisation's accounts
    /// (Organizations `ListAccounts`) for the scan and the trust rules.
    pub discover: bool,
    /// How long the accounts read are used before they are read again, in seconds.
    pub accounts_ttl_seconds: u32,
    /// Accounts the scheduled scan leaves out.
    pub exclude_accounts: Vec<String>,
    /// The role (its ARN) in the management account, or in a delegated
    /// administrator account, that may list the accounts. Unset: the
    /// function's own credentials (it runs in a delegated administrator account).
    pub read_role: Option<String>,
}

impl Default for Organization {
    fn default() -> Self {
        Organization {
            discover: true,
            accounts_ttl_seconds: 3600,
            exclude_accounts: vec![],
            read_role: None,
        }
    }
}

/// How long audit records are kept by default (their TTL), in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The account that owns the policies checked from files (events carry their own).
    pub account: Option<String>,
    /// The AWS Organization's id; trust narrowed by `aws:PrincipalOrgID` to it is trusted.
    pub organization_id: Option<String>,
    /// Accounts that may be trusted without an ExternalId. When not empty, any
    /// other foreign account in a trust policy is a finding.
    pub trusted_accounts: Vec<String>,
    /// The organisation's accounts, when known: listed here, or read from
    /// Organizations at run time (`organization.discover`) and cached. A
    /// trust to one of them is a trust inside the organisation; a trust to
    /// any other account is `trust-untrusted-account`.
    pub organization_accounts: Vec<String>,
    /// Reading the organisation's accounts, and the scan's exclusions.
    pub organization: Organization,
    /// When not empty, the only service principals roles may trust (globs).
    pub allowed_services: Vec<String>,
    /// Service principals whose use of a role is already gated by `iam:PassRole`
    /// in the role's own account; no confused-deputy finding for them (globs).
    pub confused_deputy_exempt_services: Vec<String>,
    /// When not empty, the only OIDC providers roles may trust (host globs).
    pub allowed_oidc_providers: Vec<String>,
    /// When not empty, the only OIDC subjects roles may trust (globs).
    pub allowed_oidc_subjects: Vec<String>,
    pub exempt_roles: ExemptRoles,
    /// roleguard's own roles, by exact ARN: changes they make are never acted
    /// on, and a change to them outside their stack is critical. A role is
    /// identified by its account and name (names are unique in an account),
    /// never by a name alone.
    pub own_roles: Vec<String>,
    /// The remediation role roleguard assumes in member accounts (its name,
    /// a path may lead it): its sessions named by roleguard are its own.
    pub remediation_role: Option<String>,
    /// Longest allowed MaxSessionDuration, in seconds.
    pub max_session_duration: u32,
    /// ARN of the permissions boundary every role must have, if any.
    pub required_boundary: Option<String>,
    /// Guardrails put back when removed: managed policy ARNs (re-attached
    /// where they were detached) and inline policy names (put back from a
    /// role's baseline).
    pub required_guardrails: Vec<String>,
    /// Report every inline policy (rule role-inline-policy).
    pub forbid_inline_policies: bool,
    /// When a critical change cannot be reverted, attach an inline deny-all policy.
    pub quarantine: bool,
    /// The least severity at which a finding whose response is `revert` is
    /// reverted; below it, and for any finding a condition lowered, the role
    /// is tagged and the change notified instead.
    pub revert_at: Severity,
    /// After a reverted trust change (or raise of MaxSessionDuration) whose
    /// finding is at least this severe, revoke the role's sessions issued
    /// before the revert (the `revoke_sessions` step). `null`: never.
    pub revoke_sessions_at: Option<Severity>,
    /// After a reverted trust change: who assumed the role in the window.
    pub session_lookup: SessionLookup,
    /// Days an audit record is kept in the table (its TTL), when a table is configured.
    pub audit_retention_days: u32,
    /// The scheduled scan: carry out the plans of the roles it finds (in
    /// enforce mode), not only report them.
    pub scan_remediate: bool,
    /// Member accounts the scheduled scan covers besides the function's own
    /// (and, with `organization.discover`, the organisation's).
    pub scan_accounts: Vec<String>,
    /// With the scan's queue: how many times an account's scan is tried
    /// before it is put on the dead-letter queue with its reason.
    pub scan_max_attempts: u32,
    /// Days a stored scan result is kept (its TTL).
    pub scan_retention_days: u32,
    /// AWS managed policies that must not be attached, by name, with the severity.
    pub denied_managed_policies: BTreeMap<String, Severity>,
    /// Per-rule settings, by rule id.
    pub rules: BTreeMap<String, RuleSettings>,
}

impl Default for Config {
    fn default() -> Self {
        let denied = [
            ("AdministratorAccess", Severity::Critical),
            ("AdministratorAccess-Amplify", Severity::High),
            ("AdministratorAccess-AWSElasticBeanstalk", Severity::High),
            ("AWSOrganizationsFullAccess", Severity::High),
            ("IAMFullAccess", Severity::Critical),
            ("PowerUserAccess", Severity::High),
            ("AWSCloudFormationFullAccess", Severity::High),
            ("AWSLambda_FullAccess", Severity::High),
            ("AmazonEC2FullAccess", Severity::High),
            ("AWSKeyManagementServicePowerUser", Severity::High),
            ("SecretsManagerReadWrite", Severity::High),
        ];
        Config {
            account: None,
            organization_id: None,
            trusted_accounts: vec![],
            organization_accounts: vec![],
            organization: Organization::default(),
            allowed_services: vec![],
            confused_deputy_exempt_services: [
                "lambda.amazonaws.com",
                "edgelambda.amazonaws.com",
                "ec2.amazonaws.com",
                "ecs-tasks.amazonaws.com",
                "eks.amazonaws.com",
                "eks-fargate-pods.amazonaws.com",
                "pods.eks.amazonaws.com",
                "states.amazonaws.com",
                "glue.amazonaws.com",
                "codebuild.amazonaws.com",
                "batch.amazonaws.com",
                "sagemaker.amazonaws.com",
                "apprunner.amazonaws.com",
                "build.apprunner.amazonaws.com",
                "tasks.apprunner.amazonaws.com",
            ]
            .map(String::from)
            .to_vec(),
            allowed_oidc_providers: vec![],
            allowed_oidc_subjects: vec![],
            exempt_roles: ExemptRoles::default(),
            own_roles: vec![],
            remediation_role: None,
            max_session_duration: 3600,
            required_boundary: None,
            required_guardrails: vec![],
            forbid_inline_policies: false,
            quarantine: false,
            revert_at: Severity::High,
            revoke_sessions_at: Some(Severity::Critical),
            session_lookup: SessionLookup::default(),
            audit_retention_days: DEFAULT_RETENTION_DAYS,
            scan_remediate: false,
            scan_accounts: vec![],
            scan_max_attempts: 3,
            scan_retention_days: 90,
            denied_managed_policies: denied.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
            rules: BTreeMap::new(),
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl Config {
    /// Parse and validate YAML text. Keys left out keep their defaults.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        // The YAML reader's time grows with the square of flow nesting: see
        // `template::MAX_FLOW_NESTING`.
        if crate::template::flow_nesting(text) > crate::template::MAX_FLOW_NESTING {
            return Err(invalid("(top level)", crate::template::too_deep()));
        }
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." {
                "(top level)".to_string()
            } else {
                key
            };
            // The YAML error may repeat the path; its position (line, column) helps and stays.
            let message = e.inner().to_string();
            let message = match message.split_once(": ") {
                Some((path, rest)) if key.starts_with(path) => rest.to_string(),
                _ => message,
            };
            invalid(key, message)
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Settings the deployment gives as environment variables (template.yaml's
    /// parameters) over the configuration: `ROLEGUARD_OWN_ROLES` (comma-separated
    /// role ARNs, replacing own_roles: the stack's own roles),
    /// `ROLEGUARD_TRUSTED_ACCOUNTS` (comma-separated,
    /// added to trusted_accounts), `ROLEGUARD_ORGANIZATION_ID` and
    /// `ROLEGUARD_REQUIRED_BOUNDARY`. Empty variables change nothing; a bad
    /// value is refused, naming the variable.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()
        };
        let before = self.clone();
        if let Some(v) = get("ROLEGUARD_OWN_ROLES") {
            self.own_roles = list(v);
        }
        if let Some(v) = get("ROLEGUARD_TRUSTED_ACCOUNTS") {
            for a in list(v) {
                if !self.trusted_accounts.contains(&a) {
                    self.trusted_accounts.push(a);
                }
            }
        }
        if let Some(v) = get("ROLEGUARD_ORGANIZATION_ID") {
            self.organization_id = Some(v);
        }
        if let Some(v) = get("ROLEGUARD_ORG_READ_ROLE") {
            self.organization.read_role = Some(v);
        }
        if let Some(v) = get("ROLEGUARD_EXCLUDE_ACCOUNTS") {
            for a in list(v) {
                if !self.organization.exclude_accounts.contains(&a) {
                    self.organization.exclude_accounts.push(a);
                }
            }
        }
        if let Some(v) = get("ROLEGUARD_SCAN_MAX_ATTEMPTS") {
            self.scan_max_attempts = v.parse().map_err(|_| {
                invalid(
                    "ROLEGUARD_SCAN_MAX_ATTEMPTS",
                    format!("{v:?} is not a number of attempts"),
                )
            })?;
        }
        if let Some(v) = get("ROLEGUARD_REQUIRED_BOUNDARY") {
            self.required_boundary = Some(v);
        }
        if let Some(v) = get("ROLEGUARD_REQUIRED_GUARDRAILS") {
            for g in list(v) {
                if !self.required_guardrails.contains(&g) {
                    self.required_guardrails.push(g);
                }
            }
        }
        self.validate().map_err(|e| match e {
            ConfigError::Invalid { key, message } => {
                let var = match key.split('[').next().unwrap_or(&key) {
                    "trusted_accounts" => "ROLEGUARD_TRUSTED_ACCOUNTS",
                    "organization_id" => "ROLEGUARD_ORGANIZATION_ID",
                    "organization.read_role" => "ROLEGUARD_ORG_READ_ROLE",
                    "organization.exclude_accounts" => "ROLEGUARD_EXCLUDE_ACCOUNTS",
                    "scan_max_attempts" => "ROLEGUARD_SCAN_MAX_ATTEMPTS",
                    "required_boundary" => "ROLEGUARD_REQUIRED_BOUNDARY",
                    "own_roles" => "ROLEGUARD_OWN_ROLES",
                    "required_guardrails" => "ROLEGUARD_REQUIRED_GUARDRAILS",
                    _ => return invalid(key, message),
                };
                *self = before.clone();
                invalid(var, message)
            }
            other => other,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(a) = &self.account {
            if !is_account_id(a) {
                return Err(invalid(
                    "account",
                    format!("{a:?} is not a 12-digit account id"),
                ));
            }
        }
        for (i, r) in self.own_roles.iter().enumerate() {
            if role_of_arn(r).is_none() {
                return Err(invalid(
                    format!("own_roles[{i}]"),
                    format!("{r:?} is not a role ARN (arn:aws:iam::<account>:role/<name>)"),
                ));
            }
        }
        for (i, a) in self.trusted_accounts.iter().enumerate() {
            if !is_account_id(a) {
                return Err(invalid(
                    format!("trusted_accounts[{i}]"),
                    format!("{a:?} is not a 12-digit account id"),
                ));
            }
        }
        if let Some(o) = &self.organization_id {
            let ok = o.len() >= 12
                && o.starts_with("o-")
                && o[2..]
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !ok {
                return Err(invalid(
                    "organization_id",
                    format!("{o:?} is not an organization id (o- and 10 to 32 lower-case letters or digits)"),
                ));
            }
        }
        for (key, list) in [
            ("organization_accounts", &self.organization_accounts),
            (
                "organization.exclude_accounts",
                &self.organization.exclude_accounts,
            ),
        ] {
            for (i, a) in list.iter().enumerate() {
                if !is_account_id(a) {
                    return Err(invalid(
                        format!("{key}[{i}]"),
                        format!("{a:?} is not a 12-digit account id"),
                    ));
                }
            }
        }
        if let Some(r) = &self.organization.read_role {
            if role_of_arn(r).is_none() {
                return Err(invalid(
                    "organization.read_role",
                    format!("{r:?} is not a role ARN (arn:aws:iam::<account>:role/<name>)"),
                ));
            }
        }
        if !(1..=20).contains(&self.scan_max_attempts) {
            return Err(invalid(
                "scan_max_attempts",
                format!("{} is outside 1 to 20", self.scan_max_attempts),
            ));
        }
        if self.scan_retention_days == 0 {
            return Err(invalid(
                "scan_retention_days",
                "0 would expire every scan result at once; at least 1",
            ));
        }
        for (i, a) in self.scan_accounts.iter().enumerate() {
            if !is_account_id(a) {
                return Err(invalid(
                    format!("scan_accounts[{i}]"),
                    format!("{a:?} is not a 12-digit account id"),
                ));
            }
        }
        if self.audit_retention_days == 0 {
            return Err(invalid(
                "audit_retention_days",
                "0 would expire every audit record at once; at least 1",
            ));
        }
        if !(3600..=43200).contains(&self.max_session_duration) {
            return Err(invalid(
                "max_session_duration",
                format!(
                    "{} is outside IAM's range of 3600 to 43200 seconds",
                    self.max_session_duration
                ),
            ));
        }
        if let Some(b) = &self.required_boundary {
            if !b.starts_with("arn:") || !b.contains(":policy/") {
                return Err(invalid(
                    "required_boundary",
                    format!("{b:?} is not a managed policy ARN"),
                ));
            }
        }
        for (i, g) in self.required_guardrails.iter().enumerate() {
            let managed = g.starts_with("arn:") && g.contains(":policy/");
            let inline = !g.is_empty()
                && g.len() <= 128
                && g.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
            if !managed && !inline {
                return Err(invalid(
                    format!("required_guardrails[{i}]"),
                    format!("{g:?} is neither a managed policy ARN nor an inline policy name"),
                ));
            }
        }
        let l = &self.session_lookup;
        for (i, r) in l.regions.iter().enumerate() {
            let parts: Vec<&str> = r.split('-').collect();
            let ok = parts.len() >= 3
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
                && parts
                    .last()
                    .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(invalid(
                    format!("session_lookup.regions[{i}]"),
                    format!("{r:?} is not a region name (like eu-west-1)"),
                ));
            }
        }
        if !(1..=20).contains(&l.max_pages) {
            return Err(invalid(
                "session_lookup.max_pages",
                format!("{} is outside 1 to 20 pages", l.max_pages),
            ));
        }
        if !(1..=2160).contains(&l.max_hours) {
            return Err(invalid(
                "session_lookup.max_hours",
                format!(
                    "{} is outside 1 to 2160 hours (CloudTrail keeps 90 days)",
                    l.max_hours
                ),
            ));
        }
        for id in self.rules.keys() {
            if id.parse::<RuleId>().is_err() {
                return Err(invalid(
                    format!("rules.{id}"),
                    "no such rule (`roleguard rules` lists them)",
                ));
            }
        }
        Ok(())
    }

    /// A rule's own settings, when the configuration has any.
    pub fn rule_settings(&self, id: &str) -> Option<&RuleSettings> {
        self.rules.get(id)
    }
    pub fn rule_severity(&self, id: &str) -> Option<Severity> {
        self.rules.get(id).and_then(|s| s.severity)
    }

    /// Is this role exempt from roleguard, with `path` as IAM reports it?
    /// Service-linked by that path, never by the name; or by the configured
    /// names and paths ([`Config::is_exempt_by_choice`]).
    pub fn is_exempt(&self, role_name: &str, path: Option<&str>) -> bool {
        let service_linked = path.is_some_and(crate::policy::is_service_linked_path);
        (self.exempt_roles.service_linked && service_linked)
            || self.is_exempt_by_choice(role_name, path)
    }

    /// Is this role exempt by the configured names or paths (globs)?
    pub fn is_exempt_by_choice(&self, role_name: &str, path: Option<&str>) -> bool {
        let e = &self.exempt_roles;
        e.names
            .iter()
            .any(|g| pattern::matches(g, role_name, false))
            || path.is_some_and(|p| e.paths.iter().any(|g| pattern::matches(g, p, false)))
    }

    /// Is this role (in `account`, when known) one of roleguard's own? Its
    /// own roles by account and name, and the remediation role by name in any
    /// account but through it only (names are unique in an account, so a
    /// role of that name in a member account is roleguard's, or stands in
    /// its place).
    pub fn is_own_role(&self, account: Option<&str>, role_name: &str) -> bool {
        self.own_roles.iter().any(|arn| match role_of_arn(arn) {
            Some((a, name)) => name == role_name && account.is_none_or(|acct| acct == a),
            None => false,
        }) || self.remediation_name() == Some(role_name)
    }

    /// Was the call made by roleguard itself? By one of its own roles (the
    /// session issuer's account and name), or by its remediation role in a
    /// session roleguard named ([`crate::member::SESSION_NAME`]).
    pub fn is_own_actor(&self, actor: Option<(&str, &str)>, session: Option<&str>) -> bool {
        let Some((account, name)) = actor else {
            return false;
        };
        self.own_roles
            .iter()
            .filter_map(|arn| role_of_arn(arn))
            .any(|(a, n)| a == account && n == name)
            || (self.remediation_name() == Some(name)
                && session == Some(crate::member::SESSION_NAME))
    }

    fn remediation_name(&self) -> Option<&str> {
        self.remediation_role
            .as_deref()
            .map(|r| r.trim_end_matches('/').rsplit('/').next().unwrap_or(r))
            .filter(|n| !n.is_empty())
    }

    /// Count the remediation role (its name, a path may lead it) as roleguard's.
    pub fn set_remediation_role(&mut self, role: &str) {
        if !role.trim().is_empty() {
            self.remediation_role = Some(role.trim().to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nesting_bomb_is_refused_at_once() {
        // The YAML reader is quadratic in flow depth (see template::MAX_FLOW_NESTING).
        let started = std::time::Instant::now();
        let e = Config::from_yaml(&format!("own_roles: {}", "[".repeat(65_536))).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(
            e.to_string(),
            "configuration key `(top level)`: flow collections ([ and {) nested more than 256 levels deep"
        );
    }

    #[test]
    fn scan_and_audit_settings_are_checked() {
        let e = Config::from_yaml("scan_accounts: ['12345']").unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key `scan_accounts[0]`: \"12345\" is not a 12-digit account id"
        );
        let e = Config::from_yaml("audit_retention_days: 0").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("configuration key `audit_retention_days`: 0 would"));
        let c = Config::from_yaml("audit_retention_days: 30\nscan_remediate: true").unwrap();
        assert_eq!((c.audit_retention_days, c.scan_remediate), (30, true));
    }

    #[test]
    fn roleguard_own_roles_are_bound_to_their_account() {
        let mut c = Config::from_yaml(
            "own_roles: ['arn:aws:iam::111122223333:role/stack/roleguard-function']",
        )
        .unwrap();
        // The function's role: in its own account only.
        assert!(c.is_own_role(Some("111122223333"), "roleguard-function"));
        assert!(!c.is_own_role(Some("444455556666"), "roleguard-function"));
        assert!(!c.is_own_role(Some("111122223333"), "roleguard-impostor"));
        assert!(c.is_own_actor(Some(("111122223333", "roleguard-function")), None));
        assert!(!c.is_own_actor(Some(("444455556666", "roleguard-function")), None));
        assert!(!c.is_own_actor(None, Some(crate::member::SESSION_NAME)));
        // No name glob: a lookalike is anyone's role.
        assert!(!c.is_own_role(Some("111122223333"), "roleguard-remediation"));
        // The remediation role (a path may lead it): by name, and acting only
        // in a session roleguard names.
        c.set_remediation_role("security/sec-remediation");
        assert!(c.is_own_role(Some("444455556666"), "sec-remediation"));
        assert!(!c.is_own_role(Some("444455556666"), "sec"));
        assert!(c.is_own_actor(
            Some(("444455556666", "sec-remediation")),
            Some(crate::member::SESSION_NAME)
        ));
        assert!(!c.is_own_actor(Some(("444455556666", "sec-remediation")), Some("alice")));
        // What is not a role ARN is refused.
        assert!(Config::from_yaml("own_roles: ['roleguard-*']")
            .unwrap_err()
            .to_string()
            .starts_with("configuration key `own_roles[0]`"));
    }

    #[test]
    fn embedded_default_documents_the_built_in_default() {
        assert_eq!(Config::from_yaml(DEFAULT_YAML).unwrap(), Config::default());
        assert_eq!(Config::from_yaml("").unwrap(), Config::default());
    }

    #[test]
    fn partial_files_keep_defaults() {
        let c = Config::from_yaml(
            "trusted_accounts: ['111122223333']\nrules:\n  trust-service-confused-deputy: {enabled: false}\n  perm-write-unconstrained: {severity: high, action: tag}\n",
        )
        .unwrap();
        assert_eq!(c.trusted_accounts, vec!["111122223333"]);
        assert_eq!(c.max_session_duration, 3600);
        let deputy = crate::rules::get(RuleId::TrustServiceConfusedDeputy);
        assert!(!deputy.enabled_in(&c));
        let write = crate::rules::get(RuleId::PermWriteUnconstrained);
        assert_eq!(c.rule_severity(write.id.as_str()), Some(Severity::High));
        assert_eq!(write.response_in(&c), Response::Tag);
        assert!(write.enabled_in(&c));
    }

    fn refused(yaml: &str) -> String {
        Config::from_yaml(yaml).unwrap_err().to_string()
    }

    #[test]
    fn invalid_configurations_name_the_key() {
        assert!(refused("trusted_acounts: []").starts_with(
            "configuration key `trusted_acounts`: unknown field `trusted_acounts`, expected one of"
        ));
        assert!(
            refused("rules:\n  perm-full-admin: {severity: huge}").starts_with(
                "configuration key `rules.perm-full-admin.severity`: unknown variant `huge`"
            ),
            "{}",
            refused("rules:\n  perm-full-admin: {severity: huge}")
        );
        assert!(refused("rules:\n  perm-full-admin: {action: delete}")
            .starts_with("configuration key `rules.perm-full-admin.action`"));
        assert_eq!(
            refused("rules:\n  no-such-rule: {enabled: true}"),
            "configuration key `rules.no-such-rule`: no such rule (`roleguard rules` lists them)"
        );
        assert_eq!(
            refused("trusted_accounts: ['1234']"),
            "configuration key `trusted_accounts[0]`: \"1234\" is not a 12-digit account id"
        );
        assert_eq!(refused("max_session_duration: 60"), "configuration key `max_session_duration`: 60 is outside IAM's range of 3600 to 43200 seconds");
        assert!(refused("max_session_duration: soon")
            .starts_with("configuration key `max_session_duration`: invalid type"));
        assert!(refused("organization_id: org1").starts_with("configuration key `organization_id`"));
        assert!(refused("exempt_roles: {names: [a], path: []}")
            .starts_with("configuration key `exempt_roles.path`: unknown field `path`"));
        assert!(refused("required_boundary: boundary")
            .starts_with("configuration key `required_boundary`"));
    }

    #[test]
    fn exemptions() {
        let c = Config::from_yaml("exempt_roles: {names: ['break-glass-*'], paths: ['/legacy/*']}")
            .unwrap();
        // A service-linked role is known by the path IAM reports, never by
        // its name: anyone may call a role AWSServiceRoleForECS.
        assert!(!c.is_exempt("AWSServiceRoleForECS", None));
        assert!(!c.is_exempt("AWSServiceRoleForECS", Some("/")));
        assert!(c.is_exempt("anything", Some("/aws-service-role/ecs.amazonaws.com/")));
        assert!(c.is_exempt("break-glass-admin", None));
        assert!(c.is_exempt("app", Some("/legacy/team/")));
        assert!(!c.is_exempt("app", Some("/")));
        assert!(!c.is_exempt("Break-Glass-admin", None));
        let none = Config::from_yaml("exempt_roles: {service_linked: false}").unwrap();
        assert!(!none.is_exempt("AWSServiceRoleForECS", None));
        assert!(!none.is_exempt("x", Some("/aws-service-role/ecs.amazonaws.com/")));
    }

    #[test]
    fn the_environment_overrides_what_the_deployment_sets() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let mut c = Config::from_yaml("trusted_accounts: ['111122223333']").unwrap();
        c.apply_env(env(&[
            (
                "ROLEGUARD_OWN_ROLES",
                "arn:aws:iam::111122223333:role/roleguard-prod, arn:aws:iam::111122223333:role/x",
            ),
            ("ROLEGUARD_TRUSTED_ACCOUNTS", "444455556666,111122223333"),
            ("ROLEGUARD_ORGANIZATION_ID", "o-abcdef1234"),
            ("ROLEGUARD_REQUIRED_BOUNDARY", ""),
        ]))
        .unwrap();
        assert_eq!(
            c.own_roles,
            [
                "arn:aws:iam::111122223333:role/roleguard-prod",
                "arn:aws:iam::111122223333:role/x"
            ]
        );
        assert!(c.is_own_role(Some("111122223333"), "roleguard-prod"));
        assert!(!c.is_own_role(Some("111122223333"), "roleguard-impostor"));
        assert_eq!(c.trusted_accounts, ["111122223333", "444455556666"]);
        assert_eq!(c.organization_id.as_deref(), Some("o-abcdef1234"));
        assert_eq!(
            c.required_boundary, None,
            "an empty variable changes nothing"
        );

        let mut c = Config::default();
        let e = c
            .apply_env(env(&[("ROLEGUARD_TRUSTED_ACCOUNTS", "12345")]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key `ROLEGUARD_TRUSTED_ACCOUNTS`: \"12345\" is not a 12-digit account id"
        );
        assert_eq!(
            c,
            Config::default(),
            "a refused value leaves the configuration as it was"
        );
    }
}
