//! The engine: handle an event, carry out a plan, scan an account. It
//! reaches the world only through the [`crate::ports`] (IAM, the store, the
//! channels, the clock), so every decision here runs the same on the AWS
//! adapters and on the in-memory ones the tests use.

mod execute;
mod forward;
mod handle;
mod org;
mod scan;
mod window;

pub use execute::execute;
pub use forward::{Counting, InAccount};
pub use handle::fetch_role;
pub use org::OrgCache;
pub use scan::{RoleScan, ScanOutcome, SCAN_CONCURRENCY};
pub use window::who_used;

use crate::config::Config;
use crate::event::Event;
use crate::outcome::Outcome;
use crate::ports::{
    Channels, Clock, Iam, IamError, NoChannels, NoStore, NoTrail, Store, SystemClock, Trail,
};
use serde::Serialize;

/// Whether roleguard changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Enforce,
    DryRun,
}

impl Mode {
    /// From `ROLEGUARD_MODE`: `enforce` or `dry-run` (the default when unset).
    pub fn from_env_value(v: Option<&str>) -> Result<Mode, String> {
        match v.map(str::trim) {
            None | Some("") | Some("dry-run") => Ok(Mode::DryRun),
            Some("enforce") => Ok(Mode::Enforce),
            Some(other) => Err(format!(
                "ROLEGUARD_MODE={other:?}: expected enforce or dry-run"
            )),
        }
    }

    /// `DryRun` when `dry_run`.
    pub fn dry_run_if(dry_run: bool) -> Mode {
        if dry_run {
            Mode::DryRun
        } else {
            Mode::Enforce
        }
    }

    pub fn is_dry_run(self) -> bool {
        self == Mode::DryRun
    }
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(transparent)]
    Assess(#[from] crate::plan::AssessError),
    #[error("reading {what} from IAM: {source}")]
    Fetch { what: String, source: IamError },
    #[error(transparent)]
    Store(#[from] crate::ports::StoreError),
    /// Another invocation claimed the event and has not finished: this one
    /// fails so that it is retried, and a retry after the claim's lease
    /// takes over.
    #[error("event {event_id} is being handled by another invocation (claimed at {started_at}); retried, a retry after {retry_after} takes over")]
    InProgress {
        event_id: String,
        started_at: i64,
        retry_after: i64,
    },
}

/// The engine with its ports: the configuration, the store, the alert
/// channels, the clock, and whether it changes anything. IAM is given per
/// call, because each event names its own account.
pub struct Engine<'a, S, C, K> {
    pub config: &'a Config,
    pub store: &'a S,
    pub channels: &'a C,
    pub clock: &'a K,
    pub mode: Mode,
}

impl<'a> Engine<'a, NoStore, NoChannels, SystemClock> {
    /// Keeping nothing and alerting no one, on the system clock.
    pub fn stateless(config: &'a Config, mode: Mode) -> Self {
        Engine {
            config,
            store: &NoStore,
            channels: &NoChannels,
            clock: &SystemClock,
            mode,
        }
    }
}

impl<'a, S: Store, C: Channels, K: Clock> Engine<'a, S, C, K> {
    pub fn new(
        config: &'a Config,
        store: &'a S,
        channels: &'a C,
        clock: &'a K,
        mode: Mode,
    ) -> Self {
        Engine {
            config,
            store,
            channels,
            clock,
            mode,
        }
    }

    /// The same engine with another configuration (the organisation's
    /// accounts filled in).
    pub fn with_config<'b>(&'b self, config: &'b Config) -> Engine<'b, S, C, K> {
        Engine {
            config,
            store: self.store,
            channels: self.channels,
            clock: self.clock,
            mode: self.mode,
        }
    }

    /// Judge an event and carry out its plan (in a dry run: say what would
    /// be done). See [`handle::handle`].
    /// With no CloudTrail: a trust revert's window is not looked up (the
    /// alert says so).
    pub async fn handle<I: Iam>(&self, iam: &I, event: &Event) -> Result<Outcome, HandleError> {
        handle::handle(self, iam, &NoTrail, event).await
    }

    /// Judge an event and carry out its plan; after a trust revert, ask
    /// `trail` who assumed the role in the window ([`who_used`]).
    pub async fn handle_in<I: Iam, T: Trail>(
        &self,
        iam: &I,
        trail: &T,
        event: &Event,
    ) -> Result<Outcome, HandleError> {
        handle::handle(self, iam, trail, event).await
    }

    /// Judge every role of `account`; with `remediate`, carry out the plans.
    /// See [`scan::scan_account`].
    pub async fn scan<I: Iam>(
        &self,
        iam: &I,
        account: &str,
        remediate: bool,
    ) -> Result<ScanOutcome, HandleError> {
        scan::scan_account(self, iam, account, remediate).await
    }
}
