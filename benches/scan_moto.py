"""The scan of a large account, against moto: how many IAM requests and how
long `roleguard scan` takes for N roles (one in ten made non-compliant), with
and without the audit table (a baseline written per accepted role).

    pip install -r requirements-test.txt      # moto[server] (scripts/test does it)
    cargo build --release --bin roleguard
    python3 benches/scan_moto.py [--roles 1000]

moto answers from memory on this machine, so the times are roleguard's own
work plus moto's; against IAM each request costs tens of milliseconds more.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "roleguard")
MOTO = os.path.join(ROOT, ".venv", "bin", "moto_server")
LAMBDA = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
          "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
PUBLIC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
          "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
SCOPED = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
          "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/orders"}]}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roles", type=int, default=1000)
    args = ap.parse_args()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, MOTO_ACCOUNT_ID="111122223333", MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    moto = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        kw = dict(endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
        iam = boto3.client("iam", **kw)
        t = time.perf_counter()
        bad = 0
        for i in range(args.roles):
            name = f"app-{i:05d}"
            trust = PUBLIC if i % 10 == 0 else LAMBDA
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
            iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
            iam.put_role_policy(RoleName=name, PolicyName="data", PolicyDocument=json.dumps(SCOPED))
            bad += i % 10 == 0
        print(f"set-up        {args.roles} roles ({bad} non-compliant) in {time.perf_counter() - t:.1f} s")
        ddb = boto3.client("dynamodb", **kw)
        ddb.create_table(TableName="roleguard", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        run_env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench",
                       AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
        run_env.pop("ROLEGUARD_TABLE", None)
        for label, extra in [("report only", {}), ("with the table", {"ROLEGUARD_TABLE": "roleguard"})]:
            t = time.perf_counter()
            out = subprocess.run([BINARY, "scan", "--format", "json"], env=dict(run_env, **extra),
                                 capture_output=True)
            wall = time.perf_counter() - t
            if out.returncode not in (0, 1):
                sys.exit(out.stderr.decode())
            r = json.loads(out.stdout)
            found = sum(1 for x in r["results"] if x["findings"])
            print(f"{label:13} {r['roles']} roles in {wall:.2f} s: {r['read_requests']} IAM read "
                  f"requests, {found} roles with findings, {r['baselines_recorded']} baselines recorded")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
