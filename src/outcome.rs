//! What the engine reports: how each step ended, and what handling one
//! event did. Plain data, rendered by [`crate::notify`] and the handler.

use crate::plan::Step;
use serde::Serialize;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The change was made.
    Done,
    /// Nothing to do: the state is already what the step wants.
    Already,
    /// Left alone: the target changed after the event.
    Superseded,
    /// Dry run: what would have been done.
    WouldDo,
    /// Not carried out here (notification is the alert channels' work).
    Skipped,
    Failed,
}

/// One step and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    pub step: Step,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// What handling one event did: the verdict, the plan, and every step's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub assessment: crate::plan::Assessment,
    pub dry_run: bool,
    pub results: Vec<StepResult>,
    /// After a trust revert: who assumed the role between the change and
    /// the revert ([`crate::sessions::Window`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::sessions::Window>,
    /// False when any step failed: the invocation fails, so the event is
    /// retried or dead-lettered.
    pub ok: bool,
}
