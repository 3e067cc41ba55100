//! The store port: the audit records, the claim that makes handling
//! idempotent, and each role's baseline.

use crate::audit::{AuditRecord, Baseline, Claim, ScanIndex};
use serde_json::Value;

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit table: {0}")]
pub struct StoreError(pub String);

/// The state roleguard keeps.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// Is a table configured? Without one nothing is kept.
    fn enabled(&self) -> bool;
    /// Write the record unless another delivery holds the event: no record
    /// yet, or one that `failed`, or one `started` longer than the lease ago.
    async fn claim(&self, record: &AuditRecord, now: i64) -> Result<Claim, StoreError>;
    /// Complete a claimed record with the outcome.
    async fn finish(&self, record: &AuditRecord) -> Result<(), StoreError>;
    async fn baseline(&self, account: &str, role: &str) -> Result<Option<Baseline>, StoreError>;
    /// Record a role's whole accepted state (the scan), replacing what was kept.
    async fn save_baseline(
        &self,
        account: &str,
        role: &str,
        baseline: &Baseline,
    ) -> Result<(), StoreError>;
    /// Record a compliant trust policy.
    async fn save_trust_policy(
        &self,
        account: &str,
        role: &str,
        document: &Value,
    ) -> Result<(), StoreError>;
    /// Record the role as a whole, as it was accepted.
    async fn save_role(
        &self,
        account: &str,
        role: &str,
        parts: &crate::snapshot::RoleParts,
    ) -> Result<(), StoreError>;
    /// Record a compliant inline policy.
    async fn save_inline_policy(
        &self,
        account: &str,
        role: &str,
        name: &str,
        document: &Value,
    ) -> Result<(), StoreError>;
    /// Record a scan's index: as the scan `scan#<id>` and as the latest.
    async fn save_scan(&self, index: &ScanIndex) -> Result<(), StoreError>;
    /// Record one account's result of a scan (the scan's JSON, or its error).
    async fn save_scan_result(
        &self,
        scan_id: &str,
        account: &str,
        result: &Value,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// The latest scan's index and the results stored for it so far (an
    /// account still being scanned has none yet).
    async fn latest_scan(&self) -> Result<Option<(ScanIndex, Vec<Value>)>, StoreError>;
}

/// No table: roleguard is stateless.
pub struct NoStore;

impl Store for NoStore {
    fn enabled(&self) -> bool {
        false
    }
    async fn claim(&self, _: &AuditRecord, _: i64) -> Result<Claim, StoreError> {
        Ok(Claim::Acquired)
    }
    async fn finish(&self, _: &AuditRecord) -> Result<(), StoreError> {
        Ok(())
    }
    async fn baseline(&self, _: &str, _: &str) -> Result<Option<Baseline>, StoreError> {
        Ok(None)
    }
    async fn save_baseline(&self, _: &str, _: &str, _: &Baseline) -> Result<(), StoreError> {
        Ok(())
    }
    async fn save_trust_policy(&self, _: &str, _: &str, _: &Value) -> Result<(), StoreError> {
        Ok(())
    }
    async fn save_role(
        &self,
        _: &str,
        _: &str,
        _: &crate::snapshot::RoleParts,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn save_inline_policy(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &Value,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn save_scan(&self, _: &ScanIndex) -> Result<(), StoreError> {
        Ok(())
    }
    async fn save_scan_result(
        &self,
        _: &str,
        _: &str,
        _: &Value,
        _: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    async fn latest_scan(&self) -> Result<Option<(ScanIndex, Vec<Value>)>, StoreError> {
        Ok(None)
    }
}
