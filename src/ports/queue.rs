//! The scan queue port: one message per account to scan, and the
//! dead-letter queue for an account that could not be scanned.

pub use crate::fleet::ScanJob;

/// Why the queue failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scan queue: {0}")]
pub struct QueueError(pub String);

/// The scan's queue.
#[allow(async_fn_in_trait)]
pub trait ScanQueue {
    /// Put every job on the queue (in batches as the queue takes them);
    /// returns the number of requests made. Fails if any job could not be
    /// put, after retrying the ones the queue refused.
    async fn enqueue(&self, jobs: &[ScanJob]) -> Result<usize, QueueError>;
    /// Put a job that failed `attempts` times on the dead-letter queue, with
    /// the reason.
    async fn dead_letter(
        &self,
        job: &ScanJob,
        reason: &str,
        attempts: u32,
    ) -> Result<(), QueueError>;
}

/// No queue: the scheduled scan scans every account itself.
pub struct NoQueue;

impl ScanQueue for NoQueue {
    async fn enqueue(&self, _: &[ScanJob]) -> Result<usize, QueueError> {
        Err(QueueError("no scan queue is configured".into()))
    }
    async fn dead_letter(&self, _: &ScanJob, _: &str, _: u32) -> Result<(), QueueError> {
        Err(QueueError("no scan queue is configured".into()))
    }
}
