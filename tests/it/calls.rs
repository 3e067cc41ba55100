//! The engine and handler as the tests call them: the given ports, the
//! system clock, and a dry-run flag or mode.

use roleguard::config::Config;
use roleguard::engine::{Engine, HandleError, Mode, ScanOutcome};
use roleguard::event::Event;
use roleguard::lambda::{InvocationError, Reply};
use roleguard::outcome::Outcome;
use roleguard::ports::{Accounts, Channels, Iam, NoChannels, NoStore, Store, SystemClock};
use serde_json::Value;

/// Handle an event through `store` and `channels`.
pub async fn handle_with<I: Iam, S: Store, C: Channels>(
    iam: &I,
    store: &S,
    channels: &C,
    event: &Event,
    config: &Config,
    dry_run: bool,
) -> Result<Outcome, HandleError> {
    Engine::new(
        config,
        store,
        channels,
        &SystemClock,
        Mode::dry_run_if(dry_run),
    )
    .handle(iam, event)
    .await
}

/// Handle an event, keeping nothing and alerting no one.
pub async fn handle<I: Iam>(
    iam: &I,
    event: &Event,
    config: &Config,
    dry_run: bool,
) -> Result<Outcome, HandleError> {
    handle_with(iam, &NoStore, &NoChannels, event, config, dry_run).await
}

/// The Lambda's handler on one payload, keeping nothing.
pub async fn handle_payload<A: Accounts>(
    accounts: &A,
    payload: Value,
    config: &Config,
    mode: Mode,
) -> Result<Reply, InvocationError> {
    handle_payload_with(accounts, &NoStore, &NoChannels, payload, config, mode).await
}

/// The Lambda's handler on one payload, through `store` and `channels`.
pub async fn handle_payload_with<A: Accounts, S: Store, C: Channels>(
    accounts: &A,
    store: &S,
    channels: &C,
    payload: Value,
    config: &Config,
    mode: Mode,
) -> Result<Reply, InvocationError> {
    let engine = Engine::new(config, store, channels, &SystemClock, mode);
    roleguard::lambda::handle_payload(&engine, accounts, payload).await
}

/// Scan an account through `store`.
pub async fn scan_account<I: Iam, S: Store>(
    iam: &I,
    store: &S,
    account: &str,
    config: &Config,
    remediate: bool,
    dry_run: bool,
) -> Result<ScanOutcome, HandleError> {
    Engine::new(
        config,
        store,
        &NoChannels,
        &SystemClock,
        Mode::dry_run_if(dry_run),
    )
    .scan(iam, account, remediate)
    .await
}
