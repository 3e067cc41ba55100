//! The organisation port: the accounts of the AWS Organization.

pub use crate::fleet::OrgAccount;

/// Why the organisation's accounts could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the organisation's accounts: {0}")]
pub struct OrgError(pub String);

/// The organisation's accounts.
#[allow(async_fn_in_trait)]
pub trait Organization {
    /// Every account of the organisation, whatever its status.
    async fn accounts(&self) -> Result<Vec<OrgAccount>, OrgError>;
}

/// No organisation is read (a single account, or a configured list).
pub struct NoOrganization;

impl Organization for NoOrganization {
    async fn accounts(&self) -> Result<Vec<OrgAccount>, OrgError> {
        Err(OrgError("no organisation is configured".into()))
    }
}
