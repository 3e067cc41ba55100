//! Positive and negative cases for every rule, on small fixtures.

use super::*;
use crate::policy::Policy;
use serde_json::json;

const OWNER: &str = "111122223333";
const FOREIGN: &str = "999988887777";

fn config(yaml: &str) -> Config {
    Config::from_yaml(yaml).unwrap()
}

fn run(doc: serde_json::Value, yaml: &str, account: Option<&str>, trust_doc: bool) -> Judgement {
    let cfg = config(yaml);
    let p = Policy::from_value(&doc).unwrap();
    let ctx = Context {
        config: &cfg,
        account,
        holder: None,
    };
    let j = if trust_doc {
        trust::judge(&p, &ctx)
    } else {
        permissions::judge(&p, &ctx)
    };
    j.finish(&cfg)
}

/// (rule, severity) pairs of a permission policy's findings.
fn perm(statements: serde_json::Value) -> Vec<(&'static str, Severity)> {
    pairs(&run(
        json!({"Version": "2012-10-17", "Statement": statements}),
        "",
        None,
        false,
    ))
}

fn trust_with(statements: serde_json::Value, yaml: &str) -> Vec<(&'static str, Severity)> {
    pairs(&run(
        json!({"Version": "2012-10-17", "Statement": statements}),
        yaml,
        Some(OWNER),
        true,
    ))
}

fn trust(statements: serde_json::Value) -> Vec<(&'static str, Severity)> {
    trust_with(statements, "")
}

fn pairs(j: &Judgement) -> Vec<(&'static str, Severity)> {
    j.findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect()
}

fn has(found: &[(&str, Severity)], rule: &str) -> Option<Severity> {
    found.iter().find(|(r, _)| *r == rule).map(|(_, s)| *s)
}

fn allow(action: serde_json::Value, resource: serde_json::Value) -> serde_json::Value {
    json!({"Effect": "Allow", "Action": action, "Resource": resource})
}

fn assume(principal: serde_json::Value) -> serde_json::Value {
    json!({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
}

// ---- permission rules ------------------------------------------------------

#[test]
fn full_admin() {
    let f = perm(json!([allow(json!("*"), json!("*"))]));
    assert_eq!(
        f,
        vec![("perm-full-admin", Severity::Critical)],
        "full admin implies the rest"
    );
    // Through NotAction that leaves IAM in.
    let f = perm(json!([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]));
    assert_eq!(has(&f, "perm-full-admin"), Some(Severity::Critical));
    assert_eq!(has(&f, "perm-not-action-or-resource"), Some(Severity::High));
    // `*:*` and mixed case are the same thing.
    assert_eq!(
        has(
            &perm(json!([allow(json!(["*:*"]), json!(["*"]))])),
            "perm-full-admin"
        ),
        Some(Severity::Critical)
    );
    // A narrowing condition lowers it.
    let f = perm(
        json!([{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}}]),
    );
    assert_eq!(has(&f, "perm-full-admin"), Some(Severity::High));
    // A condition on transport does not.
    let f = perm(
        json!([{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]),
    );
    assert_eq!(has(&f, "perm-full-admin"), Some(Severity::Critical));
}

#[test]
fn not_full_admin() {
    // Scoped to one bucket.
    assert_eq!(
        has(
            &perm(json!([allow(json!("*"), json!("arn:aws:s3:::bucket/*"))])),
            "perm-full-admin"
        ),
        None
    );
    // A Deny takes IAM back: no longer admin, but the rest is reported.
    let f = perm(
        json!([allow(json!("*"), json!("*")), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]),
    );
    assert_eq!(has(&f, "perm-full-admin"), None);
    assert_eq!(has(&f, "perm-permissions-management"), Some(Severity::High));
    assert_eq!(
        has(&f, "perm-passrole-unconstrained"),
        None,
        "the Deny removed iam:PassRole"
    );
    // NotAction that excludes IAM.
    let f = perm(
        json!([{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]),
    );
    assert_eq!(has(&f, "perm-full-admin"), None);
    assert_eq!(has(&f, "perm-not-action-or-resource"), Some(Severity::High));
    // A conditional Deny is not certain to apply, so it takes nothing back.
    let f = perm(
        json!([allow(json!("*"), json!("*")), {"Effect": "Deny", "Action": "iam:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]),
    );
    assert_eq!(has(&f, "perm-full-admin"), Some(Severity::Critical));
}

#[test]
fn privilege_escalation() {
    let f = perm(json!([allow(json!("iam:CreatePolicyVersion"), json!("*"))]));
    assert_eq!(
        has(&f, "perm-privilege-escalation"),
        Some(Severity::Critical)
    );
    // Case and wildcards do not hide it.
    let f = perm(json!([allow(json!("IAM:put*policy"), json!("*"))]));
    assert_eq!(
        has(&f, "perm-privilege-escalation"),
        Some(Severity::Critical)
    );
    // PassRole plus a compute creator: high.
    let f = perm(json!([allow(
        json!([
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction"
        ]),
        json!("*")
    )]));
    assert_eq!(has(&f, "perm-privilege-escalation"), Some(Severity::High));
    let j = run(
        json!({"Statement": [allow(json!(["iam:PassRole", "ec2:RunInstances"]), json!("*"))]}),
        "",
        None,
        false,
    );
    let esc = j
        .findings
        .iter()
        .find(|f| f.rule == RuleId::PermPrivilegeEscalation)
        .unwrap();
    assert_eq!(esc.details, vec!["passrole-ec2-run-instances"]);
    assert_eq!(esc.statements, vec![0]);
    // Code-update path on existing resources.
    assert_eq!(
        has(
            &perm(json!([allow(json!("ssm:SendCommand"), json!("*"))])),
            "perm-privilege-escalation"
        ),
        Some(Severity::High)
    );
}

#[test]
fn no_privilege_escalation() {
    // Only half of a path.
    assert_eq!(
        has(
            &perm(json!([allow(json!("lambda:CreateFunction"), json!("*"))])),
            "perm-privilege-escalation"
        ),
        None
    );
    // PassRole scoped to one role.
    let f = perm(json!([
        allow(
            json!("iam:PassRole"),
            json!("arn:aws:iam::111122223333:role/app")
        ),
        allow(json!(["ec2:RunInstances"]), json!("*"))
    ]));
    assert_eq!(has(&f, "perm-privilege-escalation"), None);
    // The policy version action scoped to the role's own policy prefix.
    let f = perm(json!([allow(
        json!("iam:CreatePolicyVersion"),
        json!("arn:aws:iam::111122223333:policy/team-a-*")
    )]));
    assert_eq!(f, vec![]);
    // Denied again.
    let f = perm(
        json!([allow(json!("iam:*"), json!("*")), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]),
    );
    assert_eq!(f, vec![]);
}

#[test]
fn permissions_management() {
    let f = perm(json!([allow(json!("s3:PutBucketPolicy"), json!("*"))]));
    assert_eq!(f, vec![("perm-permissions-management", Severity::High)]);
    // Resource-scoped: clear.
    assert_eq!(
        perm(json!([allow(
            json!("s3:PutBucketPolicy"),
            json!("arn:aws:s3:::mine")
        )])),
        vec![]
    );
    // Reads filed as permissions management are not reported.
    assert_eq!(
        has(
            &perm(json!([allow(json!("s3:GetBucketPolicy"), json!("*"))])),
            "perm-permissions-management"
        ),
        None
    );
}

#[test]
fn service_wildcard() {
    let f = perm(json!([allow(json!("kms:*"), json!("*"))]));
    assert_eq!(has(&f, "perm-service-wildcard"), Some(Severity::High));
    let f = perm(json!([allow(json!("dynamodb:*"), json!("*"))]));
    assert_eq!(has(&f, "perm-service-wildcard"), Some(Severity::Medium));
    assert_eq!(
        has(&f, "perm-write-unconstrained"),
        None,
        "reported once, as the wildcard"
    );
    // On one table: clear.
    assert_eq!(
        has(
            &perm(json!([allow(
                json!("dynamodb:*"),
                json!("arn:aws:dynamodb:us-east-1:111122223333:table/t")
            )])),
            "perm-service-wildcard"
        ),
        None
    );
    // Broad ARN patterns count as all resources.
    assert_eq!(
        has(
            &perm(json!([allow(
                json!("dynamodb:*"),
                json!("arn:aws:dynamodb:*:*:table/*")
            )])),
            "perm-service-wildcard"
        ),
        Some(Severity::Medium)
    );
}

#[test]
fn write_unconstrained() {
    let f = perm(json!([allow(
        json!(["dynamodb:PutItem", "dynamodb:DeleteItem"]),
        json!("*")
    )]));
    assert_eq!(f, vec![("perm-write-unconstrained", Severity::Medium)]);
    // Actions IAM cannot scope need `*`: no finding.
    assert_eq!(
        perm(json!([allow(
            json!("cloudwatch:PutMetricData"),
            json!("*")
        )])),
        vec![]
    );
    assert_eq!(
        perm(json!([allow(
            json!(["dynamodb:PutItem"]),
            json!("arn:aws:dynamodb:us-east-1:111122223333:table/t")
        )])),
        vec![]
    );
    // Telemetry writes every Lambda role has are not reported.
    assert_eq!(
        perm(json!([allow(
            json!([
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents"
            ]),
            json!("*")
        )])),
        vec![]
    );
    assert_eq!(
        has(
            &perm(json!([allow(
                json!(["logs:DeleteLogGroup", "logs:PutLogEvents"]),
                json!("*")
            )])),
            "perm-write-unconstrained"
        ),
        Some(Severity::Medium)
    );
}

#[test]
fn data_exfiltration_and_credentials() {
    let f = perm(json!([allow(
        json!(["s3:GetObject", "secretsmanager:GetSecretValue"]),
        json!("*")
    )]));
    assert_eq!(has(&f, "perm-data-exfiltration"), Some(Severity::Medium));
    assert_eq!(
        has(
            &perm(json!([allow(
                json!("s3:GetObject"),
                json!("arn:aws:s3:::bucket/*")
            )])),
            "perm-data-exfiltration"
        ),
        None
    );
    let f = perm(json!([allow(
        json!("redshift:GetClusterCredentials"),
        json!("*")
    )]));
    assert_eq!(has(&f, "perm-credential-exposure"), Some(Severity::Medium));
    assert_eq!(
        has(
            &perm(json!([allow(
                json!("redshift:GetClusterCredentials"),
                json!("arn:aws:redshift:us-east-1:111122223333:dbuser:c/u")
            )])),
            "perm-credential-exposure"
        ),
        None
    );
}

#[test]
fn passrole() {
    let f = perm(json!([allow(json!("iam:PassRole"), json!("*"))]));
    assert_eq!(f, vec![("perm-passrole-unconstrained", Severity::High)]);
    let with_service = perm(
        json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}}]),
    );
    assert_eq!(has(&with_service, "perm-passrole-unconstrained"), None);
    assert_eq!(
        perm(json!([allow(
            json!("iam:PassRole"),
            json!("arn:aws:iam::111122223333:role/app-*")
        )])),
        vec![]
    );
}

#[test]
fn assume_any_role() {
    assert_eq!(
        perm(json!([allow(json!("sts:AssumeRole"), json!("*"))])),
        vec![("perm-assume-any-role", Severity::Medium)]
    );
    assert_eq!(
        perm(json!([allow(
            json!("sts:AssumeRole"),
            json!("arn:aws:iam::111122223333:role/reader")
        )])),
        vec![]
    );
}

#[test]
fn not_resource() {
    let f = perm(
        json!([{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]),
    );
    assert_eq!(has(&f, "perm-not-action-or-resource"), Some(Severity::High));
    // In a Deny, NotResource is a normal way to fence: no finding.
    let f = perm(
        json!([allow(json!("s3:GetObject"), json!("arn:aws:s3:::b/*")), {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"}]),
    );
    assert_eq!(f, vec![]);
}

#[test]
fn unknown_actions() {
    let j = run(
        json!({"Statement": [allow(json!(["s3:GetObjekt", "nosuchservice:Do", "s3:GetObject"]), json!("arn:aws:s3:::b/*"))]}),
        "",
        None,
        false,
    );
    let f = &j.findings[0];
    assert_eq!(
        (f.rule.as_str(), f.severity),
        ("perm-unknown-action", Severity::Info)
    );
    assert_eq!(f.details, vec!["s3:GetObjekt", "nosuchservice:Do"]);
    assert_eq!(j.findings.len(), 1);
    assert_eq!(
        perm(json!([allow(
            json!("S3:getobject"),
            json!("arn:aws:s3:::b/*")
        )])),
        vec![]
    );
}

#[test]
fn managed_policy_attachment() {
    let cfg = Config::default();
    let ctx = Context {
        config: &cfg,
        account: Some(OWNER),
        holder: None,
    };
    let j = permissions::judge_attachment("arn:aws:iam::aws:policy/AdministratorAccess", &ctx)
        .finish(&cfg);
    assert_eq!(
        pairs(&j),
        vec![
            ("perm-denied-managed-policy", Severity::Critical),
            ("perm-full-admin", Severity::Critical)
        ]
    );
    let j =
        permissions::judge_attachment("arn:aws:iam::aws:policy/PowerUserAccess", &ctx).finish(&cfg);
    assert_eq!(
        has(&pairs(&j), "perm-denied-managed-policy"),
        Some(Severity::High)
    );
    let j = permissions::judge_attachment(
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        &ctx,
    )
    .finish(&cfg);
    assert_eq!(has(&pairs(&j), "perm-denied-managed-policy"), None);
    assert!(
        j.findings.iter().all(|f| f.severity <= Severity::Medium),
        "{:?}",
        j.findings
    );
    let j = permissions::judge_attachment("arn:aws:iam::111122223333:policy/mine", &ctx);
    assert!(j.findings.is_empty() && j.notes[0].contains("customer managed"));
    let j = permissions::judge_attachment("arn:aws:iam::aws:policy/NotYetPublished", &ctx);
    assert!(j.notes[0].contains("not in roleguard's snapshot"));
}

#[test]
fn least_privilege_policy_is_clean() {
    let f = perm(json!([
        allow(
            json!(["s3:GetObject", "s3:PutObject"]),
            json!("arn:aws:s3:::app-data/*")
        ),
        allow(
            json!("dynamodb:Query"),
            json!("arn:aws:dynamodb:us-east-1:111122223333:table/app")
        ),
        allow(
            json!(["logs:CreateLogStream", "logs:PutLogEvents"]),
            json!("arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/app:*")
        ),
        allow(json!("ec2:DescribeInstances"), json!("*"))
    ]));
    assert_eq!(f, vec![]);
}

// ---- trust rules -----------------------------------------------------------

#[test]
fn any_principal() {
    assert_eq!(
        trust(json!([assume(json!("*"))])),
        vec![("trust-any-principal", Severity::Critical)]
    );
    assert_eq!(
        trust(json!([assume(json!({"AWS": "*"}))])),
        vec![("trust-any-principal", Severity::Critical)]
    );
    assert_eq!(
        trust(json!([assume(
            json!({"AWS": ["arn:aws:iam::111122223333:root", "*"]})
        )])),
        vec![("trust-any-principal", Severity::Critical)]
    );
    // Narrowed by the organisation: clear.
    let narrowed = json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}]);
    assert_eq!(trust(narrowed.clone()), vec![]);
    // ... or by a Deny for everyone outside it.
    let by_deny = json!([assume(json!("*")), {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}]);
    assert_eq!(trust(by_deny), vec![]);
    // A wildcard value or a negated Allow condition narrows nothing.
    let wild = json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringLike": {"aws:PrincipalOrgID": "*"}}}]);
    assert_eq!(
        has(&trust(wild), "trust-any-principal"),
        Some(Severity::Critical)
    );
    let negated = json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}}]);
    assert_eq!(
        has(&trust(negated), "trust-any-principal"),
        Some(Severity::Critical)
    );
    // An ExternalId alone does not narrow the caller.
    let external = json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}]);
    assert_eq!(
        has(&trust(external), "trust-any-principal"),
        Some(Severity::Critical)
    );
    // Organisation configured and a different one named.
    let other_org = trust_with(narrowed, "organization_id: o-zzzzzzzzzz");
    assert_eq!(other_org, vec![("trust-untrusted-account", Severity::High)]);
}

#[test]
fn cross_account() {
    let foreign = json!([assume(
        json!({"AWS": format!("arn:aws:iam::{FOREIGN}:root")})
    )]);
    assert_eq!(
        trust(foreign.clone()),
        vec![("trust-cross-account-no-external-id", Severity::High)]
    );
    // With an ExternalId: clear.
    let with_id = json!([{"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "secret-123"}}}]);
    assert_eq!(trust(with_id.clone()), vec![]);
    // With MFA, for people: clear.
    let mfa = json!([{"Effect": "Allow", "Principal": {"AWS": FOREIGN}, "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]);
    assert_eq!(trust(mfa), vec![]);
    // The owner's own account is not cross-account.
    assert_eq!(
        trust(json!([assume(
            json!({"AWS": format!("arn:aws:iam::{OWNER}:role/ci")})
        )])),
        vec![]
    );
    // Trusted accounts need no ExternalId; others are untrusted.
    assert_eq!(
        trust_with(foreign.clone(), &format!("trusted_accounts: ['{FOREIGN}']")),
        vec![]
    );
    assert_eq!(
        trust_with(with_id, "trusted_accounts: ['444455556666']"),
        vec![("trust-untrusted-account", Severity::High)]
    );
    // Owner unknown: skipped, and said so.
    let j = run(json!({"Statement": foreign}), "", None, true);
    assert!(j.findings.is_empty());
    assert!(j.notes[0].contains("owner account is unknown"));
}

#[test]
fn github_oidc() {
    let provider =
        format!("arn:aws:iam::{OWNER}:oidc-provider/token.actions.githubusercontent.com");
    let stmt = |cond: serde_json::Value| json!([{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}]);
    let good = stmt(
        json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}, "StringLike": {"token.actions.githubusercontent.com:sub": "repo:my-org/my-repo:ref:refs/heads/main"}}),
    );
    assert_eq!(trust(good), vec![]);
    let org_wide = stmt(
        json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}, "StringLike": {"token.actions.githubusercontent.com:sub": "repo:my-org/*"}}),
    );
    assert_eq!(trust(org_wide.clone()), vec![]);
    let no_sub = stmt(
        json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}),
    );
    assert_eq!(
        trust(no_sub),
        vec![("trust-oidc-unconstrained", Severity::Critical)]
    );
    // The subject pins the repository; GitHub's audience is the provider's
    // client list, shared by everyone, so it pins nothing either way.
    let no_aud = stmt(
        json!({"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:my-org/my-repo:ref:refs/heads/main"}}),
    );
    assert_eq!(trust(no_aud), vec![]);
    for wild in ["repo:*", "*", "repo:*/my-repo:*", "repo:my-*/x:*"] {
        let w = stmt(
            json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}, "StringLike": {"token.actions.githubusercontent.com:sub": wild}}),
        );
        assert_eq!(
            trust(w),
            vec![("trust-oidc-unconstrained", Severity::Critical)],
            "{wild}"
        );
    }
    // Key names are case-insensitive; IfExists and ForAnyValue still count.
    let mixed = stmt(
        json!({"StringEqualsIfExists": {"Token.Actions.GithubUserContent.com:Aud": "sts.amazonaws.com"}, "ForAnyValue:StringLike": {"token.actions.githubusercontent.com:sub": ["repo:my-org/a:*", "repo:my-org/b:*"]}}),
    );
    assert_eq!(trust(mixed), vec![]);
    // Allowed lists.
    assert_eq!(
        trust_with(org_wide.clone(), "allowed_oidc_subjects: ['repo:my-org/*']"),
        vec![]
    );
    assert_eq!(
        trust_with(
            org_wide.clone(),
            "allowed_oidc_subjects: ['repo:other-org/*']"
        ),
        vec![("trust-oidc-not-allowed", Severity::High)]
    );
    assert_eq!(
        trust_with(org_wide, "allowed_oidc_providers: ['oidc.eks.*']"),
        vec![("trust-oidc-not-allowed", Severity::High)]
    );
}

#[test]
fn eks_and_cognito_oidc() {
    let host = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF";
    let provider = format!("arn:aws:iam::{OWNER}:oidc-provider/{host}");
    let eks = |sub: &str| {
        json!([{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"}, "StringLike": {format!("{host}:sub"): sub}}}])
    };
    assert_eq!(trust(eks("system:serviceaccount:payments:api")), vec![]);
    assert_eq!(
        trust(eks("system:serviceaccount:*")),
        vec![("trust-oidc-unconstrained", Severity::Critical)]
    );
    let cognito = json!([{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:pool"}, "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}}]);
    assert_eq!(trust(cognito), vec![]);
    let bare = json!([{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}]);
    assert_eq!(
        trust(bare),
        vec![("trust-oidc-unconstrained", Severity::Critical)]
    );
}

#[test]
fn saml() {
    let provider = format!("arn:aws:iam::{OWNER}:saml-provider/Okta");
    let bare = json!([{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}]);
    assert_eq!(
        trust(bare),
        vec![("trust-saml-no-audience", Severity::Medium)]
    );
    let good = json!([{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}]);
    assert_eq!(trust(good), vec![]);
}

#[test]
fn services() {
    assert_eq!(
        trust(json!([assume(json!({"Service": "lambda.amazonaws.com"}))])),
        vec![]
    );
    let config_svc = json!([assume(json!({"Service": "config.amazonaws.com"}))]);
    assert_eq!(
        trust(config_svc.clone()),
        vec![("trust-service-confused-deputy", Severity::Low)]
    );
    let with_source = json!([{"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": OWNER}}}]);
    assert_eq!(trust(with_source), vec![]);
    assert_eq!(
        trust_with(
            config_svc.clone(),
            "rules: {trust-service-confused-deputy: {enabled: false}}"
        ),
        vec![]
    );
    assert_eq!(
        trust_with(
            json!([assume(
                json!({"Service": ["lambda.amazonaws.com", "glue.amazonaws.com"]})
            )]),
            "allowed_services: ['lambda.amazonaws.com']"
        ),
        vec![("trust-service-not-allowed", Severity::Medium)]
    );
    assert_eq!(
        trust_with(
            json!([assume(json!({"Service": "lambda.amazonaws.com"}))]),
            "allowed_services: ['lambda.amazonaws.com']"
        ),
        vec![]
    );
}

#[test]
fn not_principal() {
    let f = trust(
        json!([{"Effect": "Allow", "NotPrincipal": {"AWS": format!("arn:aws:iam::{FOREIGN}:root")}, "Action": "sts:AssumeRole"}]),
    );
    assert_eq!(
        f,
        vec![
            ("trust-any-principal", Severity::Critical),
            ("trust-not-principal", Severity::High)
        ]
    );
    // NotPrincipal in a Deny is the documented use: no finding.
    let deny = json!([assume(json!({"Service": "lambda.amazonaws.com"})), {"Effect": "Deny", "NotPrincipal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]);
    assert_eq!(trust(deny), vec![]);
}

// ---- role settings -----------------------------------------------------------

#[test]
fn role_settings() {
    use role::RoleSettings;
    let judge = |s: RoleSettings, yaml: &str| {
        let cfg = config(yaml);
        pairs(
            &role::judge(
                &s,
                &Context {
                    config: &cfg,
                    account: None,
                    holder: None,
                },
            )
            .finish(&cfg),
        )
    };
    let long = RoleSettings {
        max_session_duration: Some(43200),
        ..Default::default()
    };
    assert_eq!(
        judge(long.clone(), ""),
        vec![("role-max-session-duration", Severity::Medium)]
    );
    assert_eq!(judge(long, "max_session_duration: 43200"), vec![]);
    assert_eq!(
        judge(
            RoleSettings {
                max_session_duration: Some(3600),
                ..Default::default()
            },
            ""
        ),
        vec![]
    );

    let boundary = "required_boundary: arn:aws:iam::111122223333:policy/boundary";
    let none = RoleSettings {
        permissions_boundary: Some(None),
        ..Default::default()
    };
    assert_eq!(
        judge(none.clone(), boundary),
        vec![("role-missing-boundary", Severity::High)]
    );
    assert_eq!(judge(none, ""), vec![], "no boundary required");
    let other = RoleSettings {
        permissions_boundary: Some(Some("arn:aws:iam::111122223333:policy/other".into())),
        ..Default::default()
    };
    assert_eq!(
        judge(other, boundary),
        vec![("role-missing-boundary", Severity::High)]
    );
    let right = RoleSettings {
        permissions_boundary: Some(Some("arn:aws:iam::111122223333:policy/boundary".into())),
        ..Default::default()
    };
    assert_eq!(judge(right, boundary), vec![]);

    let inline = RoleSettings {
        inline_policy: Some("p".into()),
        ..Default::default()
    };
    assert_eq!(
        judge(inline.clone(), "forbid_inline_policies: true"),
        vec![("role-inline-policy", Severity::Medium)]
    );
    assert_eq!(judge(inline, ""), vec![]);

    let tags = RoleSettings {
        guard_tags_touched: vec!["roleguard:status".into()],
        ..Default::default()
    };
    assert_eq!(
        judge(tags, ""),
        vec![("role-guard-tag-tampering", Severity::Medium)]
    );
}

/// (rule, severity) pairs for a permission policy held by a known role.
fn held(statements: serde_json::Value, attached: &[String]) -> Vec<(&'static str, Severity)> {
    let cfg = Config::default();
    let p = Policy::from_value(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap();
    let ctx = Context {
        config: &cfg,
        account: Some(OWNER),
        holder: Some(Holder {
            role_arn: "arn:aws:iam::111122223333:role/fixer",
            attached,
        }),
    };
    pairs(&permissions::judge(&p, &ctx).finish(&cfg))
}

#[test]
fn a_role_that_can_change_other_roles_but_not_itself() {
    let writes = json!({"Effect": "Allow",
        "Action": ["iam:PutRolePolicy", "iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:SetDefaultPolicyVersion"],
        "Resource": ["arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:policy/*"]});
    let deny_self = json!({"Effect": "Deny",
        "Action": ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"],
        "Resource": "arn:aws:iam::111122223333:role/fixer"});
    let other = vec![("perm-modifies-other-roles", Severity::Medium)];
    // Unknown holder: the self-escalation cannot be ruled out.
    assert!(perm(json!([writes, deny_self]))
        .contains(&("perm-privilege-escalation", Severity::Critical)));
    // Known holder, out of its own reach: changes to other roles, medium.
    assert_eq!(held(json!([writes, deny_self]), &[]), other);
    // No Deny on itself: it can write itself an admin policy.
    assert!(held(json!([writes]), &[]).contains(&("perm-privilege-escalation", Severity::Critical)));
    // A Deny under a condition may not apply.
    let mut conditional = deny_self.clone();
    conditional["Condition"] = json!({"Bool": {"aws:MultiFactorAuthPresent": "false"}});
    assert!(held(json!([writes, conditional]), &[])
        .contains(&("perm-privilege-escalation", Severity::Critical)));
    // It can become other roles: changing them is changing itself.
    let assume = json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"});
    assert!(held(json!([writes, deny_self, assume]), &[])
        .contains(&("perm-privilege-escalation", Severity::Critical)));
    // It uses a customer managed policy whose default version it may switch.
    let attached = vec!["arn:aws:iam::111122223333:policy/app".to_string()];
    assert!(held(json!([writes, deny_self]), &attached)
        .contains(&("perm-privilege-escalation", Severity::Critical)));
    // AWS managed policies have no versions of its choosing.
    let aws = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()];
    assert_eq!(held(json!([writes, deny_self]), &aws), other);
}
