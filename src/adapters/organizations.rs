//! AWS Organizations: the organisation's accounts (`ListAccounts`), read
//! with the function's own credentials (a delegated administrator account)
//! or through a read role in the management account.

use crate::ports::{OrgAccount, OrgError, Organization};
use aws_config::SdkConfig;

/// The session name of the read role's sessions (CloudTrail shows it).
pub const READ_SESSION_NAME: &str = "roleguard-org-read";

/// The organisation as Organizations lists it.
pub struct AwsOrganization {
    client: aws_sdk_organizations::Client,
}

impl AwsOrganization {
    /// With the configuration's credentials, or through `read_role` (assumed
    /// with [`READ_SESSION_NAME`], its credentials refreshed as they near expiry).
    pub async fn new(config: &SdkConfig, read_role: Option<&str>) -> AwsOrganization {
        // Organizations answers in us-east-1 only (its one endpoint).
        let mut conf = aws_sdk_organizations::config::Builder::from(config)
            .region(aws_sdk_organizations::config::Region::new("us-east-1"));
        if let Some(role) = read_role {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(READ_SESSION_NAME)
                .configure(config)
                .build()
                .await;
            conf = conf.credentials_provider(provider);
        }
        AwsOrganization {
            client: aws_sdk_organizations::Client::from_conf(conf.build()),
        }
    }
}

impl Organization for AwsOrganization {
    async fn accounts(&self) -> Result<Vec<OrgAccount>, OrgError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_accounts()
            .into_paginator()
            .page_size(20)
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let text = match e.as_service_error() {
                    Some(s) => super::describe(s),
                    None => super::source_chain(&e),
                };
                OrgError(format!("Organizations ListAccounts: {text}"))
            })?;
            for a in page.accounts() {
                let Some(id) = a.id() else { continue };
                out.push(OrgAccount {
                    id: id.to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                    status: a
                        .state()
                        .map(|s| s.as_str().to_string())
                        .or_else(|| {
                            #[allow(deprecated)]
                            a.status().map(|s| s.as_str().to_string())
                        })
                        .unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }
}
