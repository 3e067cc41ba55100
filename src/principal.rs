//! A principal as a whole: every policy that decides what it may do.
//!
//! IAM judges a request against all of a role's policies at once: the union
//! of its inline and attached policies, every Deny across them, capped by its
//! permissions boundary. roleguard judges a role the same way, so a grant
//! split across two policies, or taken back by a Deny in a third, is seen as
//! IAM sees it. A [`Principal`] holds the parsed documents with where each
//! comes from; AWS managed policies come from the embedded snapshot.
//!
//! It is read from IAM's own description of roles, the output of
//! `GetAccountAuthorizationDetails` ([`bundle`]), which `roleguard check`
//! takes as input.

use crate::catalog;
use crate::policy::{Policy, PolicyError};
use serde_json::Value;

/// Where a document of a principal comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// An inline policy, by name.
    Inline(String),
    /// An attached managed policy, by ARN.
    Managed(String),
    /// A document given on its own (`roleguard check policy.json`).
    Document,
}

impl Origin {
    /// How a finding names the document.
    pub fn label(&self) -> String {
        match self {
            Origin::Inline(name) => format!("inline policy {name}"),
            Origin::Managed(arn) => arn.clone(),
            Origin::Document => "the policy".into(),
        }
    }
}

/// One document of a principal.
#[derive(Debug, Clone)]
pub struct Document {
    pub origin: Origin,
    pub policy: Policy,
}

/// A principal's policies, as IAM applies them.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    /// The principal's ARN, when known (a role's own ARN, with its path).
    pub arn: Option<String>,
    /// Permission policies: inline and attached.
    pub documents: Vec<Document>,
    /// The permissions boundary's ARN and document, when it has one.
    pub boundary: Option<(String, Option<Policy>)>,
    /// Every attached managed policy's ARN (also those whose document is
    /// not known): a policy the principal uses can be changed to change it.
    pub attached: Vec<String>,
    /// What could not be read: a note each.
    pub notes: Vec<String>,
}

impl Principal {
    /// A principal holding one document.
    pub fn of_document(arn: Option<&str>, policy: Policy) -> Principal {
        Principal {
            arn: arn.map(str::to_owned),
            documents: vec![Document {
                origin: Origin::Document,
                policy,
            }],
            ..Principal::default()
        }
    }

    /// The account of the principal's ARN.
    pub fn account(&self) -> Option<&str> {
        let arn = self.arn.as_deref()?;
        let account = arn.split(':').nth(4)?;
        crate::policy::is_account_id(account).then_some(account)
    }

    /// Add an attached managed policy: AWS managed ones from the snapshot,
    /// customer managed ones from `document` (their default version).
    pub fn attach(&mut self, arn: &str, document: Option<&Value>) {
        self.attached.push(arn.to_owned());
        match managed_document(arn, document) {
            Ok(Some(policy)) => self.documents.push(Document {
                origin: Origin::Managed(arn.to_owned()),
                policy,
            }),
            Ok(None) => self
                .notes
                .push(format!("{arn}: its document was not found")),
            Err(e) => self.notes.push(format!("{arn}: cannot be read: {e}")),
        }
    }

    /// Add an inline policy.
    pub fn inline(&mut self, name: &str, document: &Value) {
        match Policy::from_value(document) {
            Ok(policy) => self.documents.push(Document {
                origin: Origin::Inline(name.to_owned()),
                policy,
            }),
            Err(e) => self
                .notes
                .push(format!("inline policy {name}: cannot be read: {e}")),
        }
    }

    /// Set the permissions boundary.
    pub fn set_boundary(&mut self, arn: &str, document: Option<&Value>) {
        let doc = match managed_document(arn, document) {
            Ok(d) => d,
            Err(e) => {
                self.notes
                    .push(format!("boundary {arn}: cannot be read: {e}"));
                None
            }
        };
        if doc.is_none() {
            self.notes.push(format!(
                "boundary {arn}: its document is not known, so it is not counted"
            ));
        }
        self.boundary = Some((arn.to_owned(), doc));
    }

    /// The boundary's document, when there is one and it is known.
    pub fn boundary_policy(&self) -> Option<&Policy> {
        self.boundary.as_ref().and_then(|(_, p)| p.as_ref())
    }
}

/// A managed policy's document: from the snapshot for AWS managed policies,
/// else the one given.
fn managed_document(arn: &str, given: Option<&Value>) -> Result<Option<Policy>, PolicyError> {
    if catalog::is_aws_managed_arn(arn) {
        if let Some(mp) = catalog::managed_policy(arn) {
            return Policy::parse(mp.document).map(Some);
        }
    }
    given.map(Policy::from_value).transpose()
}

impl Principal {
    /// A role as it stands: its inline and attached policies and boundary,
    /// with customer managed policies' documents from `policies`.
    pub fn of_role(
        role: &crate::snapshot::RoleSnapshot,
        policies: &std::collections::HashMap<String, Value>,
    ) -> Principal {
        let mut p = Principal {
            arn: Some(role.arn.clone()),
            ..Principal::default()
        };
        for (name, doc) in &role.inline {
            p.inline(name, doc);
        }
        for arn in &role.attached {
            p.attach(arn, policies.get(arn));
        }
        if let Some(b) = &role.permissions_boundary {
            p.set_boundary(b, policies.get(b));
        }
        p
    }
}

impl Principal {
    /// A user or a group as IAM applies its policies: its own, every
    /// group's (a user's), capped by its boundary. A group's inline policy
    /// is named `NAME of group GROUP`.
    pub fn of_entity(e: &crate::snapshot::EntityParts) -> Principal {
        let mut p = Principal {
            arn: Some(e.arn.clone()),
            ..Principal::default()
        };
        for (name, doc) in &e.inline {
            p.inline(name, doc);
        }
        for arn in &e.attached {
            p.attach(arn, e.policies.get(arn));
        }
        for g in &e.groups {
            for (name, doc) in &g.inline {
                p.inline(
                    &crate::snapshot::EntityParts::group_inline_label(&g.name, name),
                    doc,
                );
            }
            for arn in &g.attached {
                if !p.attached.contains(arn) {
                    p.attach(arn, g.policies.get(arn).or(e.policies.get(arn)));
                }
            }
        }
        if let Some(b) = &e.permissions_boundary {
            p.set_boundary(b, e.policies.get(b));
        }
        p
    }
}

/// The largest `get-account-authorization-details` output `roleguard check
/// --kind roles` reads: an account of thousands of roles fits.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;

pub mod bundle {
    //! Roles as `aws iam get-account-authorization-details` describes them:
    //! `{"RoleDetailList": [...], "Policies": [...]}`, or one `RoleDetail`.
    //! Documents may be objects, JSON strings or URL-encoded strings.

    use crate::snapshot::{AccountSnapshot, RoleSnapshot};
    use serde_json::Value;
    use std::collections::HashMap;

    /// Is this JSON a role bundle (rather than a policy, event or template)?
    pub fn looks_like(v: &Value) -> bool {
        v.get("RoleDetailList").is_some()
            || (v.get("RoleName").is_some() || v.get("Arn").is_some())
                && (v.get("RolePolicyList").is_some()
                    || v.get("AttachedManagedPolicies").is_some()
                    || v.get("AssumeRolePolicyDocument").is_some())
    }

    /// A document given in any of the forms IAM and CloudTrail use.
    fn document(v: &Value) -> Option<Value> {
        match v {
            Value::String(s) => crate::policy::decode(s).ok(),
            Value::Object(_) => Some(v.clone()),
            _ => None,
        }
    }

    /// Customer managed policies' default documents, by ARN.
    fn policies(v: &Value) -> HashMap<String, Value> {
        let mut out = HashMap::new();
        for p in v
            .get("Policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(arn) = p.get("Arn").and_then(Value::as_str) else {
                continue;
            };
            let doc = p.get("Document").and_then(document).or_else(|| {
                let versions = p.get("PolicyVersionList")?.as_array()?;
                let default = p.get("DefaultVersionId").and_then(Value::as_str);
                versions
                    .iter()
                    .find(|x| {
                        x.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true)
                            || x.get("VersionId").and_then(Value::as_str) == default
                    })
                    .or(versions.first())
                    .and_then(|x| x.get("Document"))
                    .and_then(document)
            });
            if let Some(doc) = doc {
                out.insert(arn.to_owned(), doc);
            }
        }
        out
    }

    /// Read a bundle: its roles and its customer managed policies.
    pub fn read(v: &Value) -> Result<AccountSnapshot, String> {
        let details: Vec<&Value> = match v.get("RoleDetailList") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(_) => return Err("RoleDetailList: expected a list".into()),
            None => vec![v],
        };
        let roles = details
            .into_iter()
            .enumerate()
            .map(|(i, d)| role(d).map_err(|e| format!("RoleDetailList[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AccountSnapshot {
            roles,
            policies: policies(v),
            requests: 0,
        })
    }

    fn role(d: &Value) -> Result<RoleSnapshot, String> {
        let s = |k: &str| d.get(k).and_then(Value::as_str);
        let arn = match (s("Arn"), s("RoleName")) {
            (Some(arn), _) => arn.to_owned(),
            (None, Some(name)) => format!("arn:aws:iam::123456789012:role/{name}"),
            (None, None) => return Err("a role needs Arn or RoleName".into()),
        };
        let Some(rest) = arn.split_once(":role/").map(|(_, r)| r) else {
            return Err(format!("{arn} is not a role ARN"));
        };
        let name = s("RoleName")
            .map(str::to_owned)
            .unwrap_or_else(|| rest.rsplit('/').next().unwrap_or(rest).to_owned());
        let path = s("Path")
            .map(str::to_owned)
            .unwrap_or_else(|| match rest.rsplit_once('/') {
                Some((p, _)) => format!("/{p}/"),
                None => "/".into(),
            });
        let mut inline = Vec::new();
        for p in d
            .get("RolePolicyList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let pname = p
                .get("PolicyName")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)");
            let doc = p
                .get("PolicyDocument")
                .and_then(document)
                .ok_or_else(|| format!("inline policy {pname}: no readable PolicyDocument"))?;
            inline.push((pname.to_owned(), doc));
        }
        let attached = d
            .get("AttachedManagedPolicies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p.get("PolicyArn")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        Ok(RoleSnapshot {
            name,
            arn,
            path,
            trust_policy: d
                .get("AssumeRolePolicyDocument")
                .and_then(document)
                .unwrap_or(Value::Null),
            max_session_duration: d
                .get("MaxSessionDuration")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(3600),
            permissions_boundary: d
                .get("PermissionsBoundary")
                .and_then(|b| b.get("PermissionsBoundaryArn"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            attached,
            inline,
        })
    }
}
