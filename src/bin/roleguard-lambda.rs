//! The roleguard Lambda function: CloudTrail events for IAM from EventBridge
//! in; tag, notify or revert out.
//!
//! Environment: `ROLEGUARD_MODE` (`enforce` or `dry-run`, the default),
//! `ROLEGUARD_CONFIG` (a configuration file or `ssm:PARAMETER`; the embedded
//! default otherwise), `ROLEGUARD_REMEDIATION_ROLE` and `ROLEGUARD_EXTERNAL_ID`
//! (member accounts), `ROLEGUARD_TABLE` (the audit table),
//! `ROLEGUARD_SNS_TOPIC_ARN`, `ROLEGUARD_EVENT_BUS`, `ROLEGUARD_SECURITY_HUB`
//! (alert channels), `ROLEGUARD_ORGANIZATION_ID` and `ROLEGUARD_ORG_READ_ROLE`
//! (the organisation's accounts), `ROLEGUARD_SCAN_QUEUE_URL` and
//! `ROLEGUARD_SCAN_DLQ_URL` (the scan's fan-out),
//! `AWS_LAMBDA_LOG_FORMAT=JSON` for JSON logs, `RUST_LOG`
//! for the level.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use roleguard::engine::Mode;
use roleguard::lambda::{account_of_arn, invoke, metric_lines};
use roleguard::ports::Store as _;
use roleguard::ports::{Clock, SystemClock};
use roleguard::wiring::{self, ConfigFrom};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    roleguard::process::no_huge_pages();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json")) {
        subscriber.json().init();
    } else {
        subscriber.with_ansi(false).init();
    }
    // Bad settings stop the function at start-up, naming the problem.
    let mode = Mode::from_env_value(std::env::var("ROLEGUARD_MODE").ok().as_deref())?;
    let shell = wiring::from_env(ConfigFrom::Env).await?;
    if shell.config.own_roles.is_empty() {
        // The template sets it; without it roleguard's own changes are
        // judged like anyone's (harmless, but noisy).
        tracing::warn!("ROLEGUARD_OWN_ROLES is not set: roleguard cannot tell its own changes from others'; set it to the function role's ARN");
    }
    tracing::info!(mode = ?mode, member_role = ?shell.accounts.member_access().map(|m| &m.role_name), table = shell.store.enabled(), "roleguard ready");
    let (engine, shell) = (&shell.engine(mode), &shell);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        if let Some(account) = account_of_arn(&event.context.invoked_function_arn) {
            shell.accounts.set_own_account(account);
            shell.channels.set_own_account(account);
        }
        let reply = invoke(engine, &shell.accounts, &shell.fleet(), event.payload).await;
        // CloudWatch metrics: EMF lines on standard output.
        let mut lines = metric_lines(&reply, SystemClock.now() * 1000).join("\n");
        lines.push('\n');
        print!("{lines}");
        reply.map(|r| r.response()).map_err(|e| {
            tracing::error!(error = %e, "invocation failed");
            Error::from(e.to_string())
        })
    }))
    .await
}
