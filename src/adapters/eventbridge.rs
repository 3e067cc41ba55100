//! EventBridge: the alert as an event on a bus, for other automation.

use super::describe;
use crate::notify::Alert;
use aws_config::SdkConfig;

/// An event bus (a name or an ARN).
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBus {
    pub fn new(config: &SdkConfig, bus: String) -> EventBus {
        EventBus {
            client: aws_sdk_eventbridge::Client::new(config),
            bus,
        }
    }

    pub async fn send(&self, alert: &Alert, kept_in: &str) -> Result<(), String> {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(crate::notify::EVENT_SOURCE)
            .detail_type(crate::notify::EVENT_DETAIL_TYPE)
            .detail(crate::notify::eventbridge_detail(alert, kept_in))
            .event_bus_name(&self.bus)
            .resources(&alert.role_arn)
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        match out.entries().first().and_then(|e| e.error_code()) {
            Some(code) => Err(format!("PutEvents: {code}")),
            None => Ok(()),
        }
    }
}
