"""The IAM side of scripts/demo, against a moto server: set up the roles,
make the bad changes that the sample events describe, and show a role."""
import json
import sys

import boto3

EVENTS = "events"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Lambda", "Effect": "Allow",
                   "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def iam(endpoint):
    return boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def event_params(name):
    with open(f"{EVENTS}/{name}") as f:
        return json.load(f)["detail"]["requestParameters"]


def setup(c):
    for role in ("app-lambda", "ci-deploy"):
        c.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))


def bad_changes(c):
    attach = event_params("attach-admin.noncompliant.json")
    c.attach_role_policy(RoleName=attach["roleName"], PolicyArn=attach["policyArn"])
    trust = event_params("update-trust-github-wildcard.noncompliant.json")
    c.update_assume_role_policy(RoleName=trust["roleName"], PolicyDocument=trust["policyDocument"])


def show(c, role):
    r = c.get_role(RoleName=role)["Role"]
    doc = r["AssumeRolePolicyDocument"]
    if isinstance(doc, str):
        from urllib.parse import unquote
        doc = json.loads(unquote(doc))
    print(f"  role {role}")
    for s in doc.get("Statement", []):
        cond = s.get("Condition", {}).get("StringLike", {})
        sub = "".join(f"  sub={v}" for k, v in cond.items() if k.endswith(":sub"))
        print(f"    trusts   {s.get('Effect')} {json.dumps(s.get('Principal'))}{sub}")
    attached = c.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    print("    attached " + (", ".join(p["PolicyName"] for p in attached) or "(none)"))
    tags = c.list_role_tags(RoleName=role)["Tags"]
    for t in tags:
        print(f"    tag      {t['Key']} = {t['Value']}")


if __name__ == "__main__":
    command, endpoint, *roles = sys.argv[1:]
    client = iam(endpoint)
    if command == "setup":
        setup(client)
    elif command == "bad-changes":
        bad_changes(client)
    elif command == "show":
        for role in roles:
            show(client, role)
    else:
        sys.exit(f"unknown command {command}")
