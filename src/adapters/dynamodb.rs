//! The audit table in DynamoDB, behind [`crate::ports::Store`].

use super::source_chain;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use std::collections::HashMap;

/// The audit table in DynamoDB ([`crate::audit`]): one item per event
/// (`pk = event#<id>`) and one per role (`pk = role#<account>#<name>`), with
/// the TTL attribute `expires_at` on the events. Without a table name, nothing
/// is kept.
pub struct DynamoStore {
    /// The client and the table, when a table is configured.
    table: Option<(aws_sdk_dynamodb::Client, String)>,
}

/// The attribute that holds an inline policy's baseline, by policy name.
const INLINE_PREFIX: &str = "inline:";

impl DynamoStore {
    pub fn new(config: &SdkConfig, table: Option<String>) -> DynamoStore {
        DynamoStore {
            table: table
                .filter(|t| !t.trim().is_empty())
                .map(|t| (aws_sdk_dynamodb::Client::new(config), t)),
        }
    }

    /// The table `ROLEGUARD_TABLE` names, if any.
    pub fn from_env(config: &SdkConfig) -> DynamoStore {
        DynamoStore::new(config, std::env::var("ROLEGUARD_TABLE").ok())
    }

    fn table(&self) -> Result<(&aws_sdk_dynamodb::Client, &str), StoreError> {
        self.table
            .as_ref()
            .map(|(c, t)| (c, t.as_str()))
            .ok_or_else(|| StoreError("no table is configured".into()))
    }
}

use crate::audit::{AuditRecord, Baseline, Claim, RecordStatus, ScanIndex, LATEST_SCAN_KEY};
use crate::ports::{Store, StoreError};
use aws_sdk_dynamodb::types::AttributeValue as Attr;
use serde_json::Value;

fn store_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
) -> impl Fn(E) -> StoreError + '_ {
    move |e| {
        StoreError(match e.code() {
            Some(code) => format!("{what}: {code}: {}", e.message().unwrap_or("")),
            None => format!("{what}: {}", source_chain(&e)),
        })
    }
}

fn record_item(r: &AuditRecord) -> HashMap<String, Attr> {
    let mut item = HashMap::from([
        (
            "pk".to_string(),
            Attr::S(crate::audit::event_key(&r.event_id)),
        ),
        ("event_id".to_string(), Attr::S(r.event_id.clone())),
        ("status".to_string(), Attr::S(r.status.as_str().into())),
        ("started_at".to_string(), Attr::N(r.started_at.to_string())),
        ("expires_at".to_string(), Attr::N(r.expires_at.to_string())),
        ("detail".to_string(), Attr::S(r.detail.to_string())),
    ]);
    if let Some(a) = &r.account {
        item.insert("account".into(), Attr::S(a.clone()));
    }
    if let Some(t) = &r.event_time {
        item.insert("event_time".into(), Attr::S(t.clone()));
    }
    if let Some(role) = &r.role_name {
        item.insert("role_name".into(), Attr::S(role.clone()));
    }
    item
}

impl Store for DynamoStore {
    fn enabled(&self) -> bool {
        self.table.is_some()
    }

    async fn claim(&self, record: &AuditRecord, now: i64) -> Result<Claim, StoreError> {
        let (client, table) = self.table()?;
        // Taken unless: no record yet, one that failed, or one started longer
        // than the lease ago (its invocation died).
        let put = client
            .put_item()
            .table_name(table)
            .set_item(Some(record_item(record)))
            .condition_expression(
                "attribute_not_exists(pk) OR #s = :failed OR (#s = :started AND started_at < :stale)",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":failed", Attr::S("failed".into()))
            .expression_attribute_values(":started", Attr::S("started".into()))
            .expression_attribute_values(
                ":stale",
                Attr::N((now - crate::audit::CLAIM_LEASE_SECS).to_string()),
            )
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                let item = client
                    .get_item()
                    .table_name(table)
                    .key("pk", Attr::S(crate::audit::event_key(&record.event_id)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(store_error("reading the audit record"))?
                    .item
                    .unwrap_or_default();
                let status = item
                    .get("status")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|s| RecordStatus::parse(s))
                    .unwrap_or(RecordStatus::Started);
                let started_at = item
                    .get("started_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                Ok(Claim::Taken { status, started_at })
            }
            Err(e) => Err(store_error("claiming the event")(e)),
        }
    }

    async fn finish(&self, record: &AuditRecord) -> Result<(), StoreError> {
        // Only over our own claim: a record another invocation took over is theirs.
        let (client, table) = self.table()?;
        client
            .put_item()
            .table_name(table)
            .set_item(Some(record_item(record)))
            .condition_expression("started_at = :ours")
            .expression_attribute_values(":ours", Attr::N(record.started_at.to_string()))
            .send()
            .await
            .map_err(store_error("completing the audit record"))?;
        Ok(())
    }

    async fn baseline(&self, account: &str, role: &str) -> Result<Option<Baseline>, StoreError> {
        let (client, table) = self.table()?;
        let out = client
            .get_item()
            .table_name(table)
            .key("pk", Attr::S(crate::audit::role_key(account, role)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error("reading the role's baseline"))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let doc = |v: &Attr| v.as_s().ok().and_then(|s| serde_json::from_str(s).ok());
        Ok(Some(Baseline {
            role: item
                .get(ROLE_PARTS)
                .and_then(|v| v.as_s().ok())
                .and_then(|s| serde_json::from_str(s).ok()),
            trust_policy: item.get("trust_policy").and_then(doc),
            inline_policies: item
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(INLINE_PREFIX)?.to_string(), doc(v)?)))
                .collect(),
        }))
    }

    async fn save_baseline(
        &self,
        account: &str,
        role: &str,
        baseline: &Baseline,
    ) -> Result<(), StoreError> {
        let mut item = HashMap::from([(
            "pk".to_string(),
            Attr::S(crate::audit::role_key(account, role)),
        )]);
        if let Some(t) = &baseline.trust_policy {
            item.insert("trust_policy".into(), Attr::S(t.to_string()));
        }
        for (name, doc) in &baseline.inline_policies {
            item.insert(format!("{INLINE_PREFIX}{name}"), Attr::S(doc.to_string()));
        }
        if let Some(parts) = &baseline.role {
            let text = serde_json::to_string(parts)
                .map_err(|e| StoreError(format!("saving the role's baseline: {e}")))?;
            item.insert(ROLE_PARTS.into(), Attr::S(text));
        }
        let (client, table) = self.table()?;
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(store_error("saving the role's baseline"))?;
        Ok(())
    }

    async fn save_trust_policy(
        &self,
        account: &str,
        role: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        self.save(account, role, "trust_policy", document).await
    }

    async fn save_inline_policy(
        &self,
        account: &str,
        role: &str,
        name: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        self.save(account, role, &format!("{INLINE_PREFIX}{name}"), document)
            .await
    }

    async fn save_role(
        &self,
        account: &str,
        role: &str,
        parts: &crate::snapshot::RoleParts,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_value(parts)
            .map_err(|e| StoreError(format!("saving the role's baseline: {e}")))?;
        self.save(account, role, ROLE_PARTS, &text).await
    }

    async fn save_scan(&self, index: &ScanIndex) -> Result<(), StoreError> {
        let (client, table) = self.table()?;
        let text = serde_json::to_string(index)
            .map_err(|e| StoreError(format!("saving the scan's index: {e}")))?;
        let item = |pk: String| {
            HashMap::from([
                ("pk".to_string(), Attr::S(pk)),
                ("scan_id".to_string(), Attr::S(index.scan_id.clone())),
                ("index".to_string(), Attr::S(text.clone())),
                (
                    "expires_at".to_string(),
                    Attr::N(index.expires_at.to_string()),
                ),
            ])
        };
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item(crate::audit::scan_key(&index.scan_id))))
            .send()
            .await
            .map_err(store_error("saving the scan's index"))?;
        // The latest only moves forward: a late duplicate of an older
        // scheduled event does not take it back.
        let latest = client
            .put_item()
            .table_name(table)
            .set_item(Some(item(LATEST_SCAN_KEY.to_string())))
            .condition_expression("attribute_not_exists(pk) OR scan_id <= :id")
            .expression_attribute_values(":id", Attr::S(index.scan_id.clone()))
            .send()
            .await;
        match latest {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(store_error("saving the latest scan")(e)),
        }
    }

    async fn save_scan_result(
        &self,
        scan_id: &str,
        account: &str,
        result: &Value,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let (client, table) = self.table()?;
        let packed =
            pack(result).map_err(|e| StoreError(format!("saving the scan result: {e}")))?;
        let key = crate::audit::scan_result_key(scan_id, account);
        let chunks: Vec<&[u8]> = packed.chunks(RESULT_CHUNK).collect();
        // The parts after the first go first: the first names how many there
        // are, so a reader never sees it without them.
        for (n, chunk) in chunks.iter().enumerate().skip(1) {
            client
                .put_item()
                .table_name(table)
                .set_item(Some(HashMap::from([
                    ("pk".to_string(), Attr::S(format!("{key}#part{n}"))),
                    ("result".to_string(), Attr::B(chunk.to_vec().into())),
                    ("expires_at".to_string(), Attr::N(expires_at.to_string())),
                ])))
                .send()
                .await
                .map_err(store_error("saving the scan result"))?;
        }
        client
            .put_item()
            .table_name(table)
            .set_item(Some(HashMap::from([
                ("pk".to_string(), Attr::S(key)),
                ("scan_id".to_string(), Attr::S(scan_id.to_string())),
                ("account".to_string(), Attr::S(account.to_string())),
                (
                    "parts".to_string(),
                    Attr::N(chunks.len().max(1).to_string()),
                ),
                (
                    "result".to_string(),
                    Attr::B(chunks.first().copied().unwrap_or_default().to_vec().into()),
                ),
                ("expires_at".to_string(), Attr::N(expires_at.to_string())),
            ])))
            .send()
            .await
            .map_err(store_error("saving the scan result"))?;
        Ok(())
    }

    async fn latest_scan(&self) -> Result<Option<(ScanIndex, Vec<Value>)>, StoreError> {
        let (client, table) = self.table()?;
        let what = "reading the latest scan";
        let Some(item) = client
            .get_item()
            .table_name(table)
            .key("pk", Attr::S(LATEST_SCAN_KEY.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error(what))?
            .item
        else {
            return Ok(None);
        };
        let index: ScanIndex = item
            .get("index")
            .and_then(|v| v.as_s().ok())
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| StoreError(format!("{what}: the index item is not readable")))?;
        let mut results = Vec::new();
        for keys in index.accounts.chunks(100) {
            let mut pending: Vec<HashMap<String, Attr>> = keys
                .iter()
                .map(|a| {
                    HashMap::from([(
                        "pk".to_string(),
                        Attr::S(crate::audit::scan_result_key(&index.scan_id, a)),
                    )])
                })
                .collect();
            let mut rounds = 0;
            while !pending.is_empty() {
                rounds += 1;
                if rounds > 10 {
                    return Err(StoreError(format!(
                        "{what}: DynamoDB left {} keys unprocessed after 10 rounds",
                        pending.len()
                    )));
                }
                let ka = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError(format!("{what}: {e}")))?;
                let out = client
                    .batch_get_item()
                    .request_items(table, ka)
                    .send()
                    .await
                    .map_err(store_error(what))?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(table)
                    .unwrap_or_default()
                {
                    results.push(self.unpack_result(&item).await?);
                }
                if let Some(left) = out.unprocessed_keys.and_then(|mut u| u.remove(table)) {
                    pending = left.keys;
                    if !pending.is_empty() {
                        tokio::time::sleep(std::time::Duration::from_millis(50 << rounds.min(6)))
                            .await;
                    }
                }
            }
        }
        Ok(Some((index, results)))
    }
}

/// The largest part of a stored scan result (DynamoDB takes items of at
/// most 400 KB).
const RESULT_CHUNK: usize = 350 * 1024;

/// A scan result as stored: gzip'd JSON.
fn pack(result: &Value) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut gz, result)?;
    gz.flush()?;
    gz.finish()
}

fn unpack(bytes: &[u8]) -> std::io::Result<Value> {
    let gz = flate2::read::GzDecoder::new(bytes);
    Ok(serde_json::from_reader(gz)?)
}

impl DynamoStore {
    /// A stored result, its parts read and put together.
    async fn unpack_result(&self, item: &HashMap<String, Attr>) -> Result<Value, StoreError> {
        let (client, table) = self.table()?;
        let pk = item
            .get("pk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let what = format!("reading the scan result {pk}");
        let mut bytes = item
            .get("result")
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| StoreError(format!("{what}: no result")))?;
        let parts: usize = item
            .get("parts")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        for n in 1..parts {
            let part = client
                .get_item()
                .table_name(table)
                .key("pk", Attr::S(format!("{pk}#part{n}")))
                .consistent_read(true)
                .send()
                .await
                .map_err(store_error(&what))?
                .item
                .and_then(|i| {
                    i.get("result")
                        .and_then(|v| v.as_b().ok())
                        .map(|b| b.as_ref().to_vec())
                })
                .ok_or_else(|| StoreError(format!("{what}: part {n} of {parts} is missing")))?;
            bytes.extend(part);
        }
        unpack(&bytes).map_err(|e| StoreError(format!("{what}: {e}")))
    }
}

/// The attribute of a role's item that holds the role as a whole.
const ROLE_PARTS: &str = "role_parts";

impl DynamoStore {
    async fn save(
        &self,
        account: &str,
        role: &str,
        attribute: &str,
        document: &Value,
    ) -> Result<(), StoreError> {
        let (client, table) = self.table()?;
        client
            .update_item()
            .table_name(table)
            .key("pk", Attr::S(crate::audit::role_key(account, role)))
            .update_expression("SET #doc = :doc")
            .expression_attribute_names("#doc", attribute)
            .expression_attribute_values(":doc", Attr::S(document.to_string()))
            .send()
            .await
            .map_err(store_error("saving the role's baseline"))?;
        Ok(())
    }
}
