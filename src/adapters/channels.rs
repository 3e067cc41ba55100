//! The alert channels as the deployment configures them, sent to all at
//! once behind [`crate::ports::Channels`].

use super::eventbridge::EventBus;
use super::securityhub::SecurityHub;
use super::slack::Slack;
#[cfg(doc)]
use super::slack::SLACK_ATTEMPT_TIMEOUT;
use super::sns::Sns;
use crate::notify::Alert;
use crate::ports::{Channels, Clock, Delivery, SystemClock};
use aws_config::SdkConfig;
use std::time::Duration;

/// The alert channels, each configured by environment:
/// `ROLEGUARD_SNS_TOPIC_ARN`, `ROLEGUARD_EVENT_BUS` (a bus name or ARN),
/// `ROLEGUARD_SECURITY_HUB=true`, `ROLEGUARD_SLACK_WEBHOOK_SECRET`.
pub struct AwsChannels {
    slack: Option<Slack>,
    sns: Option<Sns>,
    events: Option<EventBus>,
    security_hub: Option<SecurityHub>,
}

impl AwsChannels {
    pub fn new(
        config: &SdkConfig,
        sns_topic: Option<String>,
        event_bus: Option<String>,
        security_hub: bool,
    ) -> AwsChannels {
        let set = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        AwsChannels {
            slack: None,
            sns: set(sns_topic).map(|t| Sns::new(config, t)),
            events: set(event_bus).map(|b| EventBus::new(config, b)),
            security_hub: security_hub.then(|| SecurityHub::new(config)),
        }
    }

    pub fn from_env(config: &SdkConfig) -> AwsChannels {
        let var = |k: &str| std::env::var(k).ok();
        AwsChannels::new(
            config,
            var("ROLEGUARD_SNS_TOPIC_ARN"),
            var("ROLEGUARD_EVENT_BUS"),
            var("ROLEGUARD_SECURITY_HUB").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        )
        .with_slack(config, var("ROLEGUARD_SLACK_WEBHOOK_SECRET"))
    }

    /// Slack through an incoming webhook whose URL is kept in a secret
    /// ([`Slack::new`]).
    pub fn with_slack(mut self, config: &SdkConfig, secret: Option<String>) -> AwsChannels {
        self.slack = secret
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .map(|secret| Slack::new(config, &secret));
        self
    }

    /// How long one POST to the Slack webhook may take (connect, send and
    /// answer) before it counts as failed ([`SLACK_ATTEMPT_TIMEOUT`] unless
    /// set). Three attempts are made.
    pub fn with_slack_timeout(mut self, attempt: Duration) -> AwsChannels {
        if let Some(slack) = &mut self.slack {
            slack.set_attempt_timeout(attempt);
        }
        self
    }

    /// The function's own account (Security Hub's product account).
    pub fn set_own_account(&self, account: &str) {
        if let Some(hub) = &self.security_hub {
            hub.set_own_account(account);
        }
    }
}

impl Channels for AwsChannels {
    fn any(&self) -> bool {
        self.sns.is_some()
            || self.events.is_some()
            || self.security_hub.is_some()
            || self.slack.is_some()
    }

    async fn deliver(&self, alert: &Alert, kept_in: &str) -> Vec<Delivery> {
        let now = SystemClock.now();
        // All at once: one failing or slow channel holds up no other. (Boxed:
        // three SDK calls' futures side by side are large.)
        let slack = async {
            match &self.slack {
                Some(slack) => Some(slack.send(alert, now).await),
                None => None,
            }
        };
        let sns = async {
            match &self.sns {
                Some(sns) => Some(sns.send(alert, kept_in).await),
                None => None,
            }
        };
        let events = async {
            match &self.events {
                Some(bus) => Some(bus.send(alert, kept_in).await),
                None => None,
            }
        };
        let hub = async {
            match &self.security_hub {
                Some(hub) => Some(hub.send(alert, now).await),
                None => None,
            }
        };
        let (slack, sns, events, hub) = tokio::join!(
            Box::pin(slack),
            Box::pin(sns),
            Box::pin(events),
            Box::pin(hub)
        );
        [
            ("slack", slack),
            ("sns", sns),
            ("eventbridge", events),
            ("securityhub", hub),
        ]
        .into_iter()
        .filter_map(|(channel, result)| result.map(|result| Delivery { channel, result }))
        .collect()
    }
}
