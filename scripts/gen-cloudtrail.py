#!/usr/bin/env python3
"""Write tests/cloudtrail/: one corpus of CloudTrail records in every form a
team holds them, for tests/it/corpus.rs.

    python3 scripts/gen-cloudtrail.py

The records are shaped after the CloudTrail user guide's "CloudTrail record
contents" (event versions 1.08 to 1.11, userIdentity of every kind,
sessionContext, tlsDetails, additionalEventData, sessionCredentialFromConsole,
errorCode/errorMessage with requestParameters null, data and management
events); made-up accounts (111122223333 is the guarded one), names and
addresses (documentation ranges). Deterministic: running it again writes the
same bytes (the gzip header carries no time or name).

Forms written, all of the same records (lookup-events only has management
events, as the API does):

  bare/NN-name.json         one bare record per file
  eventbridge/NN-name.json  one EventBridge event per file
  s3/trail.json             {"Records": [...]} as delivered to S3
  s3/trail.json.gz          the same, gzipped
  lookup-events.json        `aws cloudtrail lookup-events` output, two pages joined
  lake.jsonl                bare records, one per line (CloudTrail Lake / Athena)
  eventbridge.ndjson        EventBridge events, one per line
  manifest.json             per record: its eventID, file stem, service, whether
                            it failed, and the rules a judged change must raise
"""

import gzip
import io
import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cloudtrail")
ACCOUNT = "111122223333"
OTHER = "444455556666"
OWN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/roleguard-function"


def assumed(role, session, account=ACCOUNT, mfa="false", console=False):
    u = {
        "type": "AssumedRole",
        "principalId": f"AROA{role.upper()[:12]}EXAMPLE:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEKEY" + session.upper()[:6],
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{role.upper()[:12]}EXAMPLE",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-11-20T08:55:00Z", "mfaAuthenticated": mfa},
        },
    }
    return u


def iam_user(name, account=ACCOUNT):
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper()[:12] + "EXAMPLE",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLE" + name.upper()[:8],
        "userName": name,
    }


def service(name):
    return {"type": "AWSService", "invokedBy": name}


def tls(version="TLSv1.3", host="iam.amazonaws.com"):
    cipher = "TLS_AES_128_GCM_SHA256" if version == "TLSv1.3" else "ECDHE-RSA-AES128-GCM-SHA256"
    return {"tlsVersion": version, "cipherSuite": cipher, "clientProvidedHostHeader": host}


def doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


LAMBDA_TRUST = doc([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}])
PUBLIC_TRUST = doc([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}])
GITHUB_WILDCARD = doc([{
    "Effect": "Allow",
    "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"},
                  "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
}])
FOREIGN_TRUST = doc([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}])
PASSROLE = doc([{"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}])
SCOPED = doc([{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::app-data/*"}])
ADMIN_DOC = doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}])

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"

# (stem, rules a judged change must raise, record fields)
RECORDS = []


def rec(stem, version, identity, source, name, params, response=None, *, expect=(), error=None,
        category="Management", read_only=False, extra=None, region="us-east-1", ip="203.0.113.10",
        agent="aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.0 os/linux#6.8 md/arch#x86_64", account=ACCOUNT):
    n = len(RECORDS)
    minute, second = divmod(n * 7, 60)
    r = {
        "eventVersion": version,
        "userIdentity": identity,
        "eventTime": f"2026-11-20T09:{minute:02d}:{second:02d}Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1" if source in ("iam.amazonaws.com", "signin.amazonaws.com") else region,
        "sourceIPAddress": ip,
        "userAgent": agent,
    }
    if error:
        r["errorCode"], r["errorMessage"] = error
    r["requestParameters"] = params
    r["responseElements"] = response
    r.update({
        "requestID": f"{n:08x}-7a3b-4c1d-9e2f-{n:012x}",
        "eventID": f"{n:08x}-1f2e-4d3c-8b4a-{0xC0FFEE + n:012x}",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": category == "Management",
        "recipientAccountId": account,
        "eventCategory": category,
    })
    if extra:
        r.update(extra)
    RECORDS.append((f"{n:02d}-{stem}", list(expect), r))


deployer = assumed("deployer", "alice")
console = assumed("Admin", "bob@example.com", mfa="true")
ci = assumed("github-actions", "gha-run-4242")

# --- IAM: changes roleguard judges ------------------------------------------
rec("create-role-lambda", "1.09", deployer, "iam.amazonaws.com", "CreateRole",
    {"roleName": "orders-lambda", "path": "/app/", "assumeRolePolicyDocument": LAMBDA_TRUST,
     "maxSessionDuration": 3600},
    {"role": {"path": "/app/", "roleName": "orders-lambda", "roleId": "AROAORDERSEXAMPLE",
              "arn": f"arn:aws:iam::{ACCOUNT}:role/app/orders-lambda", "createDate": "Nov 20, 2026 9:00:00 AM",
              "assumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%7D"}},
    extra={"tlsDetails": tls()})
rec("create-role-public-trust", "1.10", deployer, "iam.amazonaws.com", "CreateRole",
    {"roleName": "shared-reader", "assumeRolePolicyDocument": PUBLIC_TRUST},
    expect=["trust-any-principal"], extra={"tlsDetails": tls()})
rec("attach-admin", "1.09", deployer, "iam.amazonaws.com", "AttachRolePolicy",
    {"roleName": "orders-lambda", "policyArn": ADMIN}, expect=["perm-full-admin"],
    extra={"tlsDetails": tls("TLSv1.2")})
rec("attach-readonly", "1.08", deployer, "iam.amazonaws.com", "AttachRolePolicy",
    {"roleName": "auditor", "policyArn": READONLY}, expect=["perm-data-exfiltration"])
rec("put-inline-passrole", "1.10", ci, "iam.amazonaws.com", "PutRolePolicy",
    {"roleName": "builder", "policyName": "build", "policyDocument": PASSROLE},
    expect=["perm-privilege-escalation"], extra={"tlsDetails": tls()})
rec("put-inline-scoped", "1.11", ci, "iam.amazonaws.com", "PutRolePolicy",
    {"roleName": "orders-lambda", "policyName": "read-data", "policyDocument": SCOPED},
    extra={"tlsDetails": tls()})
rec("update-trust-github-wildcard", "1.09", console, "iam.amazonaws.com", "UpdateAssumeRolePolicy",
    {"roleName": "ci-deploy", "policyDocument": GITHUB_WILDCARD}, expect=["trust-oidc-unconstrained"],
    agent="AWS Internal", extra={"sessionCredentialFromConsole": "true", "tlsDetails": tls()})
rec("update-trust-foreign-account", "1.11", deployer, "iam.amazonaws.com", "UpdateAssumeRolePolicy",
    {"roleName": "vendor-audit", "policyDocument": FOREIGN_TRUST},
    expect=["trust-cross-account-no-external-id"])
rec("update-role-12h", "1.10", deployer, "iam.amazonaws.com", "UpdateRole",
    {"roleName": "orders-lambda", "maxSessionDuration": 43200}, expect=["role-max-session-duration"])
rec("tag-roleguard-status", "1.09", console, "iam.amazonaws.com", "TagRole",
    {"roleName": "ci-deploy", "tags": [{"key": "roleguard:status", "value": "compliant"}]},
    expect=["role-guard-tag-tampering"], agent="AWS Internal",
    extra={"sessionCredentialFromConsole": "true"})
rec("create-policy-version-admin", "1.08", iam_user("ops-admin"), "iam.amazonaws.com", "CreatePolicyVersion",
    {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/app-deploy", "policyDocument": ADMIN_DOC, "setAsDefault": True},
    {"policyVersion": {"versionId": "v4", "isDefaultVersion": True, "createDate": "Nov 20, 2026 9:01:10 AM"}},
    expect=["perm-full-admin"])
rec("put-boundary", "1.09", deployer, "iam.amazonaws.com", "PutRolePermissionsBoundary",
    {"roleName": "orders-lambda", "permissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/developer-boundary"})
rec("delete-boundary", "1.09", deployer, "iam.amazonaws.com", "DeleteRolePermissionsBoundary",
    {"roleName": "orders-lambda"}, expect=["role-boundary-removed"])
# roleguard's own change: left alone (with --own-role).
rec("attach-by-roleguard", "1.09", assumed("roleguard-function", "roleguard"), "iam.amazonaws.com",
    "AttachRolePolicy", {"roleName": "orders-lambda", "policyArn": READONLY})
rec("attach-admin-from-console", "1.10", console, "iam.amazonaws.com", "AttachRolePolicy",
    {"roleName": "data-science", "policyArn": ADMIN}, expect=["perm-full-admin"],
    agent="AWS Internal", extra={"sessionCredentialFromConsole": "true", "tlsDetails": tls()})
rec("create-role-by-cloudformation", "1.08",
    dict(assumed("cfn-exec", "AWSCloudFormation"), invokedBy="cloudformation.amazonaws.com"),
    "iam.amazonaws.com", "CreateRole",
    {"roleName": "stack-fn-role", "assumeRolePolicyDocument": LAMBDA_TRUST},
    ip="cloudformation.amazonaws.com", agent="cloudformation.amazonaws.com")

# --- IAM: failed calls (requestParameters null, as CloudTrail logs them) ------
rec("create-role-denied", "1.09", iam_user("intern"), "iam.amazonaws.com", "CreateRole", None,
    error=("AccessDenied", f"User: arn:aws:iam::{ACCOUNT}:user/intern is not authorized to perform: iam:CreateRole"))
rec("attach-admin-denied", "1.10", ci, "iam.amazonaws.com", "AttachRolePolicy", None,
    error=("AccessDenied", "not authorized to perform: iam:AttachRolePolicy"))
rec("put-inline-no-such-role", "1.09", deployer, "iam.amazonaws.com", "PutRolePolicy",
    {"roleName": "gone", "policyName": "p", "policyDocument": PASSROLE},
    error=("NoSuchEntityException", "The role with name gone cannot be found."))
rec("delete-role-no-such-entity", "1.11", deployer, "iam.amazonaws.com", "DeleteRole", None,
    error=("NoSuchEntityException", "The role with name old-role cannot be found."))
rec("update-trust-malformed", "1.09", deployer, "iam.amazonaws.com", "UpdateAssumeRolePolicy", None,
    error=("MalformedPolicyDocumentException", "Has prohibited field Resource"))

# --- IAM: calls roleguard does not judge (reads, other changes) -------------
rec("detach-admin", "1.09", deployer, "iam.amazonaws.com", "DetachRolePolicy",
    {"roleName": "orders-lambda", "policyArn": ADMIN})
rec("delete-role", "1.10", deployer, "iam.amazonaws.com", "DeleteRole", {"roleName": "old-role"})
rec("get-role", "1.08", deployer, "iam.amazonaws.com", "GetRole", {"roleName": "orders-lambda"},
    read_only=True)
rec("list-roles", "1.11", iam_user("auditor"), "iam.amazonaws.com", "ListRoles", None, read_only=True,
    extra={"tlsDetails": tls()})
rec("get-account-authorization-details", "1.09", iam_user("auditor"), "iam.amazonaws.com",
    "GetAccountAuthorizationDetails", {"filter": ["Role", "LocalManagedPolicy"]}, read_only=True)
rec("create-user", "1.09", iam_user("ops-admin"), "iam.amazonaws.com", "CreateUser", {"userName": "build-bot"},
    {"user": {"path": "/", "userName": "build-bot", "userId": "AIDABUILDBOTEXAMPLE",
              "arn": f"arn:aws:iam::{ACCOUNT}:user/build-bot", "createDate": "Nov 20, 2026 9:03:00 AM"}})
rec("attach-user-admin", "1.09", iam_user("ops-admin"), "iam.amazonaws.com", "AttachUserPolicy",
    {"userName": "build-bot", "policyArn": ADMIN})
rec("add-user-to-group", "1.10", iam_user("ops-admin"), "iam.amazonaws.com", "AddUserToGroup",
    {"groupName": "admins", "userName": "build-bot"})
rec("create-access-key", "1.09", iam_user("ops-admin"), "iam.amazonaws.com", "CreateAccessKey",
    {"userName": "build-bot"},
    {"accessKey": {"accessKeyId": "AKIABUILDBOTEXAMPLE", "status": "Active", "userName": "build-bot",
                   "createDate": "Nov 20, 2026 9:03:30 AM"}})

# --- Other services -----------------------------------------------------------
rec("s3-get-object", "1.10", assumed("orders-lambda", "orders-fn"), "s3.amazonaws.com", "GetObject",
    {"bucketName": "app-data", "Host": "app-data.s3.us-east-1.amazonaws.com", "key": "orders/2026/11/20.csv"},
    category="Data", read_only=True, ip="10.0.12.34", agent="[aws-sdk-rust/1.3.9]",
    extra={"additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                   "bytesTransferredIn": 0, "bytesTransferredOut": 18231,
                                   "AuthenticationMethod": "AuthHeader", "x-amz-id-2": "EXAMPLEid2="},
           "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::app-data/orders/2026/11/20.csv"},
                         {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::app-data"}],
           "sharedEventID": "5c1b7e9e-0d36-4a43-9c3a-1e2d3f4a5b6c",
           "tlsDetails": tls(host="app-data.s3.us-east-1.amazonaws.com")})
rec("s3-put-object", "1.11", ci, "s3.amazonaws.com", "PutObject",
    {"bucketName": "build-artifacts", "key": "web/app.js", "Host": "build-artifacts.s3.amazonaws.com"},
    {"x-amz-server-side-encryption": "AES256"}, category="Data",
    extra={"additionalEventData": {"SignatureVersion": "SigV4", "bytesTransferredIn": 48213,
                                   "bytesTransferredOut": 0, "AuthenticationMethod": "AuthHeader"}})
rec("s3-create-bucket", "1.09", deployer, "s3.amazonaws.com", "CreateBucket",
    {"bucketName": "logs-archive-2026", "Host": "logs-archive-2026.s3.amazonaws.com"},
    extra={"additionalEventData": {"SignatureVersion": "SigV4", "AuthenticationMethod": "AuthHeader"}})
rec("ec2-run-instances", "1.09", deployer, "ec2.amazonaws.com", "RunInstances",
    {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
     "instanceType": "t4g.small"},
    {"requestId": "r-0123", "reservationId": "r-0a1b2c3d4e5f", "instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}},
    region="eu-west-1")
rec("ec2-describe-instances", "1.08", iam_user("auditor"), "ec2.amazonaws.com", "DescribeInstances",
    {"instancesSet": {}, "filterSet": {}}, read_only=True, region="eu-west-1")
rec("ec2-ingress-denied", "1.09", ci, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", None,
    error=("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
    region="eu-west-1")
rec("sts-assume-role", "1.08", service("ecs-tasks.amazonaws.com"), "sts.amazonaws.com", "AssumeRole",
    {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/orders-task", "roleSessionName": "ecs-task-1"},
    {"credentials": {"accessKeyId": "ASIAEXAMPLETASK", "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
                     "expiration": "Nov 20, 2026 3:05:00 PM"}},
    ip="ecs-tasks.amazonaws.com", agent="ecs-tasks.amazonaws.com",
    extra={"resources": [{"accountId": ACCOUNT, "type": "AWS::IAM::Role",
                          "ARN": f"arn:aws:iam::{ACCOUNT}:role/orders-task"}], "sharedEventID": "8d2c1f0e-EXAMPLE"})
rec("sts-assume-role-web-identity", "1.08",
    {"type": "WebIdentityUser", "principalId": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:acme/app:ref:refs/heads/main",
     "userName": "repo:acme/app:ref:refs/heads/main",
     "identityProvider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
    "sts.amazonaws.com", "AssumeRoleWithWebIdentity",
    {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/ci-deploy", "roleSessionName": "gha-run-4242"},
    {"subjectFromWebIdentityToken": "repo:acme/app:ref:refs/heads/main"}, agent="aws-sdk-js/3")
rec("sts-get-caller-identity", "1.08", iam_user("auditor"), "sts.amazonaws.com", "GetCallerIdentity", None,
    read_only=True)
rec("kms-decrypt", "1.10", assumed("orders-lambda", "orders-fn"), "kms.amazonaws.com", "Decrypt",
    {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"}},
    read_only=True,
    extra={"resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                          "ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]})
rec("kms-create-key", "1.09", deployer, "kms.amazonaws.com", "CreateKey",
    {"keyUsage": "ENCRYPT_DECRYPT", "keySpec": "SYMMETRIC_DEFAULT", "description": "orders data"},
    {"keyMetadata": {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "enabled": True}})
rec("lambda-create-function", "1.08", ci, "lambda.amazonaws.com", "CreateFunction20150331",
    {"functionName": "orders", "runtime": "provided.al2023", "role": f"arn:aws:iam::{ACCOUNT}:role/app/orders-lambda",
     "handler": "bootstrap", "code": {}},
    {"functionName": "orders", "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders"})
rec("lambda-invoke", "1.09", assumed("api-gateway-invoke", "apigw"), "lambda.amazonaws.com", "Invoke",
    {"functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders", "sourceArn": "arn:aws:execute-api:us-east-1"},
    category="Data",
    extra={"additionalEventData": {"functionVersion": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders:$LATEST"}})
rec("signin-console-login", "1.08",
    {"type": "IAMUser", "principalId": "AIDABOBEXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob",
     "accountId": ACCOUNT, "userName": "bob"},
    "signin.amazonaws.com", "ConsoleLogin", None, {"ConsoleLogin": "Success"},
    agent="Mozilla/5.0 (X11; Linux x86_64)",
    extra={"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                   "MobileVersion": "No", "MFAUsed": "Yes"}, "eventType": "AwsConsoleSignIn"})
rec("cloudtrail-stop-logging", "1.09", console, "cloudtrail.amazonaws.com", "StopLogging",
    {"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"}, agent="AWS Internal",
    extra={"sessionCredentialFromConsole": "true"})
rec("other-account-attach-admin", "1.10", assumed("deployer", "carol", account=OTHER), "iam.amazonaws.com",
    "AttachRolePolicy", {"roleName": "reports", "policyArn": ADMIN}, expect=["perm-full-admin"], account=OTHER)


def envelope(record):
    source = "aws." + record["eventSource"].split(".")[0]
    kind = "AWS Console Sign In via CloudTrail" if record["eventName"] == "ConsoleLogin" else "AWS API Call via CloudTrail"
    return {
        "version": "0",
        "id": "eb-" + record["eventID"],
        "detail-type": kind,
        "source": source,
        "account": record["recipientAccountId"],
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    }


def lookup_event(record):
    ui = record["userIdentity"]
    user = ui.get("userName") or ui.get("sessionContext", {}).get("sessionIssuer", {}).get("userName") or ui.get("invokedBy", "")
    out = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record["readOnly"] else "false",
        "EventTime": record["eventTime"].replace("Z", "+00:00"),
        "EventSource": record["eventSource"],
        "Username": user,
        "Resources": [],
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")),
    }
    if "accessKeyId" in ui:
        out["AccessKeyId"] = ui["accessKeyId"]
    return out


def write(path, text):
    full = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)


def main():
    for sub in ("bare", "eventbridge"):
        d = os.path.join(ROOT, sub)
        if os.path.isdir(d):
            for f in os.listdir(d):
                os.remove(os.path.join(d, f))
    records = [r for _, _, r in RECORDS]
    for stem, _, r in RECORDS:
        write(f"bare/{stem}.json", json.dumps(r, indent=2) + "\n")
        write(f"eventbridge/{stem}.json", json.dumps(envelope(r), indent=2) + "\n")
    trail = json.dumps({"Records": records}, separators=(",", ":"))
    write("s3/trail.json", trail)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        gz.write(trail.encode())
    write("s3/trail.json.gz", buf.getvalue())
    management = [lookup_event(r) for r in records if r["eventCategory"] == "Management"]
    # lookup-events returns the newest first, in pages; the CLI joins them.
    write("lookup-events.json", json.dumps({"Events": management[::-1]}, indent=4) + "\n")
    write("lake.jsonl", "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    write("eventbridge.ndjson", "".join(json.dumps(envelope(r), separators=(",", ":")) + "\n" for r in records))
    manifest = [{"eventID": r["eventID"], "stem": stem, "service": r["eventSource"].split(".")[0],
                 "failed": "errorCode" in r, "left_alone": r["userIdentity"].get("arn", "").startswith(
                     f"arn:aws:sts::{ACCOUNT}:assumed-role/roleguard-function/"),
                 "expect": expect} for stem, expect, r in RECORDS]
    write("manifest.json", json.dumps({"own_role": OWN_ROLE, "records": manifest}, indent=1) + "\n")
    print(f"{len(RECORDS)} records written to tests/cloudtrail/")


if __name__ == "__main__":
    main()
