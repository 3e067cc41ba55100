//! The channels port: where alerts go (SNS, EventBridge, Security Hub,
//! Slack in [`crate::adapters`]; a recording one in
//! [`crate::adapters::memory`]).

use crate::notify::Alert;

/// How one channel's delivery went.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub channel: &'static str,
    pub result: Result<(), String>,
}

/// The alert channels. Each is optional; a failing one stops neither the
/// remediation (already done when alerts go out) nor the other channels.
#[allow(async_fn_in_trait)]
pub trait Channels {
    /// Is any channel configured?
    fn any(&self) -> bool;
    /// Deliver to every configured channel. `kept_in` says where the
    /// documents are kept when a message cannot hold them.
    async fn deliver(&self, alert: &Alert, kept_in: &str) -> Vec<Delivery>;
}

/// No channel: the notify step is reported as skipped.
pub struct NoChannels;

impl Channels for NoChannels {
    fn any(&self) -> bool {
        false
    }
    async fn deliver(&self, _: &Alert, _: &str) -> Vec<Delivery> {
        vec![]
    }
}
