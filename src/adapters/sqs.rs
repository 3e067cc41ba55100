//! SQS: the scan's queue (one message per account) and its dead-letter
//! queue (an account that failed, with its reason).

use crate::ports::{QueueError, ScanJob, ScanQueue};
use aws_config::SdkConfig;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

/// The queue and the dead-letter queue, by URL.
pub struct AwsScanQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    dead_letter_url: String,
}

/// How often the entries SQS refuses in a batch are sent again.
const BATCH_ROUNDS: usize = 5;

impl AwsScanQueue {
    pub fn new(config: &SdkConfig, queue_url: String, dead_letter_url: String) -> AwsScanQueue {
        AwsScanQueue {
            client: aws_sdk_sqs::Client::new(config),
            queue_url,
            dead_letter_url,
        }
    }

    /// From `ROLEGUARD_SCAN_QUEUE_URL` and `ROLEGUARD_SCAN_DLQ_URL`: both or
    /// neither (an error names the one missing).
    pub fn from_env(config: &SdkConfig) -> Result<Option<AwsScanQueue>, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        match (
            var("ROLEGUARD_SCAN_QUEUE_URL"),
            var("ROLEGUARD_SCAN_DLQ_URL"),
        ) {
            (None, None) => Ok(None),
            (Some(q), Some(d)) => Ok(Some(AwsScanQueue::new(config, q, d))),
            (Some(_), None) => Err("ROLEGUARD_SCAN_QUEUE_URL is set but ROLEGUARD_SCAN_DLQ_URL is not: an account that fails would have nowhere to go".into()),
            (None, Some(_)) => Err("ROLEGUARD_SCAN_DLQ_URL is set but ROLEGUARD_SCAN_QUEUE_URL is not".into()),
        }
    }
}

fn error<E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
    e: aws_sdk_sqs::error::SdkError<E>,
) -> QueueError {
    let text = match e.as_service_error() {
        Some(s) => super::describe(s),
        None => super::source_chain(&e),
    };
    QueueError(format!("{what}: {text}"))
}

fn attribute(value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| QueueError(format!("a message attribute: {e}")))
}

impl ScanQueue for AwsScanQueue {
    async fn enqueue(&self, jobs: &[ScanJob]) -> Result<usize, QueueError> {
        let mut requests = 0;
        for batch in jobs.chunks(10) {
            let mut entries: Vec<SendMessageBatchRequestEntry> = Vec::new();
            for (i, job) in batch.iter().enumerate() {
                let body = serde_json::to_string(job)
                    .map_err(|e| QueueError(format!("writing the message: {e}")))?;
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueError(e.to_string()))?,
                );
            }
            for round in 0.. {
                requests += 1;
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries.clone()))
                    .send()
                    .await
                    .map_err(|e| error("SendMessageBatch", e))?;
                let failed = out.failed();
                if failed.is_empty() {
                    break;
                }
                if round + 1 >= BATCH_ROUNDS {
                    let e = failed
                        .first()
                        .map(|f| format!("{}: {}", f.code(), f.message().unwrap_or("")))
                        .unwrap_or_default();
                    return Err(QueueError(format!(
                        "SendMessageBatch: {} messages refused {BATCH_ROUNDS} times, e.g. {e}",
                        failed.len(),
                    )));
                }
                let again: Vec<&str> = failed.iter().map(|f| f.id()).collect();
                entries.retain(|e| again.contains(&e.id()));
                tokio::time::sleep(std::time::Duration::from_millis(100 << round)).await;
            }
        }
        Ok(requests)
    }

    async fn dead_letter(
        &self,
        job: &ScanJob,
        reason: &str,
        attempts: u32,
    ) -> Result<(), QueueError> {
        let body = serde_json::json!({
            "scan_id": job.scan_id,
            "account": job.account,
            "attempts": attempts,
            "reason": truncate(reason, 64 * 1024),
        });
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.dead_letter_url)
            .message_body(body.to_string());
        // SQS refuses an empty attribute (a message that was no job has none).
        for (name, value) in [("account", &job.account), ("scan_id", &job.scan_id)] {
            if !value.is_empty() {
                send = send.message_attributes(name, attribute(value)?);
            }
        }
        send.message_attributes("attempts", attribute(&attempts.to_string())?)
            // SQS takes message attributes of at most 256 KB in all.
            .message_attributes("reason", attribute(&truncate(reason, 4096))?)
            .send()
            .await
            .map_err(|e| error("SendMessage to the dead-letter queue", e))?;
        Ok(())
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
