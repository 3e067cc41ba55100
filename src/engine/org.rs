//! The organisation's accounts, read through the [`Organization`] port and
//! kept for a while (`organization.accounts_ttl_seconds`): every event that
//! changes a trust, and every scan, needs them, and Organizations answers
//! `ListAccounts` slowly (20 accounts a page) and at low rates.

use crate::ports::{Clock, OrgAccount, OrgError, Organization};
use std::sync::{Arc, Mutex};

/// The organisation's accounts, read at most once per `ttl` seconds.
pub struct OrgCache<O> {
    org: O,
    ttl: i64,
    kept: Mutex<Option<(i64, Arc<Vec<OrgAccount>>)>>,
}

impl<O: Organization> OrgCache<O> {
    pub fn new(org: O, ttl_seconds: u32) -> OrgCache<O> {
        OrgCache {
            org,
            ttl: i64::from(ttl_seconds),
            kept: Mutex::new(None),
        }
    }

    pub fn organization(&self) -> &O {
        &self.org
    }

    /// The accounts: those kept while fresh, else read again. When reading
    /// fails, accounts read before are used (and the failure logged); with
    /// none, the failure is the answer (what cannot be judged fails).
    pub async fn accounts<K: Clock>(&self, clock: &K) -> Result<Arc<Vec<OrgAccount>>, OrgError> {
        let now = clock.now();
        let kept = self.kept.lock().ok().and_then(|k| k.clone());
        if let Some((at, accounts)) = &kept {
            if now - at < self.ttl && now >= *at {
                return Ok(accounts.clone());
            }
        }
        match self.org.accounts().await {
            Ok(accounts) => {
                let accounts = Arc::new(accounts);
                if let Ok(mut k) = self.kept.lock() {
                    *k = Some((now, accounts.clone()));
                }
                Ok(accounts)
            }
            Err(e) => match kept {
                Some((at, accounts)) => {
                    tracing::warn!(error = %e, read_at = at, "the organisation's accounts could not be read again; using those read before");
                    Ok(accounts)
                }
                None => Err(e),
            },
        }
    }
}
