//! SNS: the alert as a message on a topic (e-mail, chat, ticketing).

use super::describe;
use crate::notify::Alert;
use aws_config::SdkConfig;

/// An SNS topic.
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic: String,
}

impl Sns {
    pub fn new(config: &SdkConfig, topic: String) -> Sns {
        Sns {
            client: aws_sdk_sns::Client::new(config),
            topic,
        }
    }

    pub async fn send(&self, alert: &Alert, kept_in: &str) -> Result<(), String> {
        use aws_sdk_sns::types::MessageAttributeValue;
        let m = crate::notify::sns(alert, kept_in);
        let mut req = self
            .client
            .publish()
            .topic_arn(&self.topic)
            .subject(m.subject)
            .message(m.message);
        for (name, kind, value) in m.attributes {
            let v = MessageAttributeValue::builder()
                .data_type(kind)
                .string_value(value)
                .build()
                .map_err(|e| e.to_string())?;
            req = req.message_attributes(name, v);
        }
        req.send().await.map_err(|e| describe(&e))?;
        Ok(())
    }
}
