//! Faults moto cannot make (throttling, 5xx), through aws-smithy-mocks: the
//! SDK client with roleguard's retry policy, behind roleguard's own `Iam`.

use crate::calls::handle_payload;
use aws_sdk_iam::error::ErrorMetadata;
use aws_sdk_iam::operation::detach_role_policy::{DetachRolePolicyError, DetachRolePolicyOutput};
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::tag_role::TagRoleOutput;
use aws_sdk_iam::types::{AttachedPolicy, Role};
use aws_sdk_iam::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use roleguard::adapters::iam::AwsIam;
use roleguard::config::Config;
use roleguard::engine::Mode;
use roleguard::lambda::InvocationError;
use roleguard::outcome::Status;
use roleguard::ports::Iam;

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn throttled() -> DetachRolePolicyError {
    DetachRolePolicyError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules, |b| b
        .retry_config(roleguard::adapters::retry_config()))
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let detach = mock!(Client::detach_role_policy)
        .sequence()
        .error(throttled)
        .times(3)
        .output(|| DetachRolePolicyOutput::builder().build())
        .build();
    let iam = AwsIam::new(client(&[&detach]));
    iam.detach_role_policy("app-lambda", ADMIN)
        .await
        .expect("succeeds on the fourth attempt");
    assert_eq!(
        detach.num_calls(),
        4,
        "three throttled attempts, then success"
    );
}

#[tokio::test]
async fn throttling_that_lasts_fails_the_step_and_names_the_cause() {
    let detach = mock!(Client::detach_role_policy)
        .sequence()
        .error(throttled)
        .repeatedly()
        .build();
    let iam = AwsIam::new(client(&[&detach]));
    let err = iam
        .detach_role_policy("app-lambda", ADMIN)
        .await
        .unwrap_err();
    assert_eq!(detach.num_calls(), 6, "the retry policy's 6 attempts");
    assert_eq!(err.to_string(), "Throttling: Rate exceeded");
}

/// The revert fails (IAM answers 500 every time) while the tag succeeds: the
/// invocation fails, saying what was and was not done.
#[tokio::test]
async fn a_partial_failure_fails_the_invocation_with_what_happened() {
    let listed = mock!(Client::list_attached_role_policies).then_output(|| {
        ListAttachedRolePoliciesOutput::builder()
            .attached_policies(
                AttachedPolicy::builder()
                    .policy_arn(ADMIN)
                    .policy_name("AdministratorAccess")
                    .build(),
            )
            .build()
    });
    let detach = mock!(Client::detach_role_policy)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let get_role = mock!(Client::get_role).then_output(|| {
        GetRoleOutput::builder()
            .role(
                Role::builder()
                    .path("/")
                    .role_name("app-lambda")
                    .role_id("AROAEXAMPLE")
                    .arn("arn:aws:iam::111122223333:role/app-lambda")
                    .create_date(aws_sdk_iam::primitives::DateTime::from_secs(0))
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let tag = mock!(Client::tag_role).then_output(|| TagRoleOutput::builder().build());
    // The role is read whole first: AdministratorAccess takes part in every path.
    let inline = mock!(Client::list_role_policies).then_output(|| {
        ListRolePoliciesOutput::builder()
            .set_policy_names(Some(vec![]))
            .is_truncated(false)
            .build()
            .unwrap()
    });
    let iam = AwsIam::new(client(&[&listed, &detach, &get_role, &tag, &inline]));
    let payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(super::root().join("events/attach-admin.noncompliant.json"))
            .unwrap(),
    )
    .unwrap();
    let err = handle_payload(&iam, payload, &Config::default(), Mode::Enforce)
        .await
        .unwrap_err();
    let InvocationError::StepsFailed {
        failed,
        total,
        ref outcome,
        ..
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!((failed, total), (1, 3));
    let statuses: Vec<Status> = outcome.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Failed, Status::Done, Status::Skipped]);
    assert_eq!(detach.num_calls(), 6, "5xx retried");
    assert_eq!(tag.num_calls(), 1, "the tag still went on");
    let msg = err.to_string();
    assert!(
        msg.starts_with("1 of 3 steps failed for event eb-0006: "),
        "{msg}"
    );
}
