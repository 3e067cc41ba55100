//! The condition keys: what each one describes, and so what a condition on
//! it can restrict.
//!
//! IAM documents the global keys in "AWS global condition context keys"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>)
//! and each service's own keys in the Service Authorization Reference, from
//! which `data/condition-keys.tsv` comes. A key's *class* says who sets its
//! value in a request, which is what decides whether a condition on it can
//! stop someone:
//!
//! | class | set by | keys | restricts |
//! |---|---|---|---|
//! | [`Class::Principal`] | the identity making the call | `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:PrincipalTag/*`, `aws:PrincipalType`, `aws:userid`, `aws:username`, `aws:FederatedProvider`, `aws:SourceIdentity`, `aws:AssumedRoot` | *who* calls: pins the caller in a trust policy; in a role's own policy it is the role itself, so it restricts nothing there |
//! | [`Class::Resource`] | the target resource | `aws:ResourceTag/*`, `<service>:ResourceTag/*`, `aws:ResourceAccount`, `aws:ResourceOrgID`, `aws:ResourceOrgPaths`, `s3:ExistingObjectTag/*`, `s3:BucketTag/*` | *which* resource: narrows a permission finding (one severity step) |
//! | [`Class::Boundary`] | the role created or changed | `iam:PermissionsBoundary` | caps what the role can become: a path through it is lowered two steps |
//! | [`Class::Source`] | the AWS service acting for someone | `aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOrgID`, `aws:SourceOrgPaths`, `aws:SourceOwner` | *for whom* a service acts: the confused-deputy guard of a service trust |
//! | [`Class::Request`] | the caller, freely | `aws:RequestTag/*`, `aws:TagKeys`, `aws:RequestedRegion`, `iam:PassedToService`, `iam:PolicyARN`, every other service key | what the request asks for: restricts nothing the caller wants |
//! | [`Class::Context`] | the caller's session and network | `aws:SecureTransport`, `aws:SourceIp`, `aws:SourceVpc(e)`, `aws:VpcSourceIp`, `aws:CurrentTime`, `aws:EpochTime`, `aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge`, `aws:TokenIssueTime`, `aws:UserAgent`, `aws:Referer`, `aws:CalledVia*`, `aws:ViaAWSService`, `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName(sList)` | how, when and from where: restricts nothing about *what* is reached |
//!
//! Operators ([`super::condition`]) decide the rest: a condition restricts
//! only under a positive operator, without `IfExists` (an absent key passes),
//! without `ForAllValues` (an absent key passes), not `Null`, and with a
//! value that is not all wildcards. The IAM pages that say so:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! (IfExists, Null, negated operators on absent keys) and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>
//! (ForAllValues on an absent or empty key).

use crate::catalog::{self, KeyType};

/// Who sets a condition key's value in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Principal,
    Resource,
    Boundary,
    Source,
    Request,
    Context,
}

/// A global key: name (tag keys end in `/`), type, multi-valued, class.
type Global = (&'static str, KeyType, bool, Class);

use Class::*;
use KeyType::{Arn, Bool, Date, Ip, Numeric, String as Str};

/// The global condition keys (the 59 of the IAM user guide's list, as of
/// 2026), with their types.
#[rustfmt::skip]
pub static GLOBAL: &[Global] = &[
    ("aws:PrincipalArn", Arn, false, Principal),
    ("aws:PrincipalAccount", Str, false, Principal),
    ("aws:PrincipalOrgPaths", Str, true, Principal),
    ("aws:PrincipalOrgID", Str, false, Principal),
    ("aws:PrincipalTag/", Str, false, Principal),
    ("aws:PrincipalIsAWSService", Bool, false, Context),
    ("aws:PrincipalServiceName", Str, false, Context),
    ("aws:PrincipalServiceNamesList", Str, true, Context),
    ("aws:PrincipalType", Str, false, Principal),
    ("aws:userid", Str, false, Principal),
    ("aws:username", Str, false, Principal),
    ("aws:AssumedRoot", Bool, false, Principal),
    ("aws:FederatedProvider", Str, false, Principal),
    ("aws:TokenIssueTime", Date, false, Context),
    ("aws:MultiFactorAuthAge", Numeric, false, Context),
    ("aws:MultiFactorAuthPresent", Bool, false, Context),
    ("aws:ChatbotSourceArn", Arn, false, Context),
    ("aws:Ec2InstanceSourceVpc", Str, false, Context),
    ("aws:Ec2InstanceSourcePrivateIPv4", Ip, false, Context),
    ("aws:SourceIdentity", Str, false, Principal),
    ("ec2:RoleDelivery", Numeric, false, Context),
    ("ec2:SourceInstanceArn", Arn, false, Context),
    ("glue:RoleAssumedBy", Str, false, Context),
    ("glue:CredentialIssuingService", Str, false, Context),
    ("lambda:SourceFunctionArn", Arn, false, Context),
    ("ssm:SourceInstanceArn", Arn, false, Context),
    ("identitystore:UserId", Str, false, Principal),
    ("aws:SourceIp", Ip, false, Context),
    ("aws:SourceVpc", Str, false, Context),
    ("aws:SourceVpcArn", Arn, false, Context),
    ("aws:SourceVpce", Str, false, Context),
    ("aws:VpceAccount", Str, false, Context),
    ("aws:VpceOrgPaths", Str, true, Context),
    ("aws:VpceOrgID", Str, false, Context),
    ("aws:VpcSourceIp", Ip, false, Context),
    ("aws:ResourceAccount", Str, false, Resource),
    ("aws:ResourceOrgID", Str, false, Resource),
    ("aws:ResourceOrgPaths", Str, true, Resource),
    ("aws:ResourceTag/", Str, false, Resource),
    ("aws:CalledVia", Str, true, Context),
    ("aws:CalledViaFirst", Str, false, Context),
    ("aws:CalledViaLast", Str, false, Context),
    ("aws:CalledViaAWSMCP", Str, false, Context),
    ("aws:ViaAWSService", Bool, false, Context),
    ("aws:ViaAWSMCPService", Bool, false, Context),
    ("aws:CurrentTime", Date, false, Context),
    ("aws:EpochTime", Date, false, Context),
    ("aws:Referer", Str, false, Context),
    ("aws:RequestedRegion", Str, false, Request),
    ("aws:RequestTag/", Str, false, Request),
    ("aws:TagKeys", Str, true, Request),
    ("aws:SecureTransport", Bool, false, Context),
    ("aws:SourceArn", Arn, false, Source),
    ("aws:SourceAccount", Str, false, Source),
    ("aws:SourceOwner", Str, false, Source),
    ("aws:SourceOrgPaths", Str, true, Source),
    ("aws:SourceOrgID", Str, false, Source),
    ("aws:UserAgent", Str, false, Context),
    ("aws:IsMcpServiceAction", Bool, false, Context),
];

/// Service keys that describe the target resource rather than the request.
const SERVICE_RESOURCE_KEYS: &[&str] = &["s3:ExistingObjectTag/", "s3:BucketTag/"];

fn name_is(entry: &str, key: &str) -> bool {
    if entry.ends_with('/') {
        key.len() > entry.len()
            && key.is_char_boundary(entry.len())
            && key[..entry.len()].eq_ignore_ascii_case(entry)
    } else {
        entry.eq_ignore_ascii_case(key)
    }
}

/// The global key entry for a key name, if it is one.
pub fn global(key: &str) -> Option<&'static Global> {
    GLOBAL.iter().find(|(k, ..)| name_is(k, key))
}

/// Is this key one every action supports (a global key)?
pub fn is_global(key: &str) -> bool {
    global(key).is_some()
}

/// Is the key in every request? The global keys are, but for the tag keys
/// (`aws:RequestTag/*`, `aws:TagKeys`, `aws:ResourceTag/*`), which a request
/// carries only when its action or resource type takes tags, as the Service
/// Authorization Reference lists per action.
pub fn in_every_request(key: &str) -> bool {
    is_global(key)
        && !["aws:RequestTag/", "aws:TagKeys", "aws:ResourceTag/"]
            .iter()
            .any(|t| name_is(t, key))
}

/// Who sets the key's value.
pub fn class(key: &str) -> Class {
    if let Some((.., c)) = global(key) {
        return *c;
    }
    if key.eq_ignore_ascii_case("iam:PermissionsBoundary") {
        return Boundary;
    }
    let resource_tag = key.split_once(':').is_some_and(|(_, rest)| {
        // `get`, not `[..12]`: byte 12 of a key that is not ASCII may fall
        // inside a character (a panic, found by the fuzzer).
        rest.len() > 12
            && rest
                .get(..12)
                .is_some_and(|p| p.eq_ignore_ascii_case("ResourceTag/"))
    });
    if resource_tag || SERVICE_RESOURCE_KEYS.iter().any(|k| name_is(k, key)) {
        return Resource;
    }
    Request
}

/// The key's type and whether it holds several values.
pub fn key_type(key: &str) -> (KeyType, bool) {
    if let Some((_, t, multi, _)) = global(key) {
        return (*t, *multi);
    }
    catalog::service_key_type(key).unwrap_or((KeyType::String, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(class("aws:ResourceTag/team"), Resource);
        assert_eq!(class("iam:ResourceTag/team"), Resource);
        assert_eq!(class("AWS:PrincipalOrgID"), Principal);
        assert_eq!(class("aws:RequestTag/x"), Request);
        assert_eq!(class("iam:PassedToService"), Request);
        assert_eq!(class("iam:PermissionsBoundary"), Boundary);
        assert_eq!(class("aws:SourceAccount"), Source);
        assert_eq!(class("aws:SecureTransport"), Context);
        assert_eq!(class("s3:ExistingObjectTag/x"), Resource);
        assert!(!is_global("aws:ResourceTag/"));
        assert!(is_global("aws:PrincipalTag/dept"));
        assert_eq!(GLOBAL.len(), 59);
    }

    #[test]
    fn keys_that_are_not_ascii_have_a_class() {
        // Byte 12 after the prefix falls inside `é`: this used to panic
        // (found by the fuzzer, tests/fuzz-regressions/).
        assert_eq!(class("s3:PrpalOrééé"), Request);
        assert_eq!(class("aws:ResourceTagé/x"), Request);
        assert_eq!(class("aws:ResourceTag/é"), Resource);
    }

    #[test]
    fn types() {
        assert_eq!(
            key_type("aws:MultiFactorAuthPresent"),
            (KeyType::Bool, false)
        );
        assert_eq!(key_type("aws:TagKeys"), (KeyType::String, true));
        assert_eq!(key_type("aws:SourceIp").0, KeyType::Ip);
        assert_eq!(key_type("iam:PassedToService"), (KeyType::String, false));
        assert_eq!(key_type("lambda:Layer"), (KeyType::String, true));
        assert_eq!(key_type("ec2:VolumeSize").0, KeyType::Numeric);
    }
}
