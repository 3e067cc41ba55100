#!/usr/bin/env node
// roleguard test oracle: a JSON Lines front end to @cloud-copilot/iam-simulate.
//
// TEST-ONLY. iam-simulate (and its iam-policy / iam-utils dependencies) are
// AGPL-3.0-or-later. This script and its node_modules are run by roleguard's
// test scripts as a separate process and are never linked into, bundled with
// or shipped with the Rust crate.
//
// Usage:  node tests/oracle/oracle.mjs [--unsafe] [--concurrency N] [--workers N]
//              < in.jsonl > out.jsonl
//   --unsafe        runUnsafeSimulation instead of runSimulation (see below)
//   --concurrency N max requests in flight in-process (default 64)
//   --workers N     evaluate in N worker threads, batches of <=256 lines
//                   (default 0 = in-process; on a 2-core box it does not pay)
// Install once: (cd tests/oracle && npm ci --no-audit --no-fund)
// Throughput on the 2-core machine (20k requests, one identity policy each):
// safe ~3.3-5k req/s, --unsafe ~8-16k req/s; four different policies mixed:
// safe ~2.8-3.3k, --unsafe ~5.4-7.6k (ranges = background load). Node start-up
// and the first iam-data reads add ~0.3 s per process.
//
// ---------------------------------------------------------------------------
// PROTOCOL
// ---------------------------------------------------------------------------
// stdin: one JSON object per line (blank lines are ignored):
//   {"id": <any>,
//    "identity": [<policy document>...],            // may be empty / absent
//    "boundary": [<policy document>...] | null,      // absent/null/[] = no boundary
//    "resource_policy": <policy document> | null,    // absent/null = none
//    "request": {"principal": "<ARN | service principal | federated id>",
//                "action": "svc:Action",
//                "resource": "<ARN or *>",
//                "resource_account": "<12 digits>",
//                "context": {"key": "v" | ["v1","v2"]}},
//    "trust_caller_allowed": true}                   // optional, see TRUST MODE
// stdout: exactly one JSON line per non-blank input line, in input order:
//   {"id": <same>, "decision": "allow"|"explicit_deny"|"implicit_deny"|"error",
//    "error": "<<=300 chars, only for error>",
//    "allow": ["<policyIndex>:<statementIndex>", ...],   // safe mode only
//    "deny":  ["<policyIndex>:<statementIndex>", ...],   // safe mode only
//    "boundary_allow"/"boundary_deny": [...],            // safe mode, only if non-empty
//    "resource_allow"/"resource_deny": ["<statementIndex>", ...], // idem
//    "ignored_context": ["key", ...],                    // safe mode, only if non-empty
//    "wildcard": true}                                   // safe mode, see below
// Indices are 0-based: "1:0" = identity[1].Statement[0] (a non-array Statement
// is index 0). "allow"/"deny" are the identity-policy statements whose Action,
// Resource and Condition all matched (Allow resp. Deny effect), as reported by
// iam-simulate's own analysis; in --unsafe mode runUnsafeSimulation returns
// only the decision, so these lists are omitted.
// "ignored_context" lists request context keys that the safe runSimulation
// DROPPED before evaluation because they are neither global condition keys
// nor listed for the action / resource type in iam-data (they then behave as
// absent keys!). --unsafe never drops or retypes context keys.
// "wildcard": true is set when the safe runSimulation took its wildcard-resource
// path (request resource contains '*' and the action is not wildcard-only): it
// then simulates each matching resource string from the policies and answers
// "allow" if ANY of them is allowed; allow/deny lists are the union over those
// runs. Prefer concrete ARNs for actions that have resource types.
//
// Mapping (safe mode, the default): runSimulation({request: {principal, action,
// resource: {resource, accountId: resource_account}, contextVariables: context},
// identityPolicies: identity.map((p,i) => ({name: `p${i}`, policy: p})),
// serviceControlPolicies: [], resourceControlPolicies: [],
// permissionBoundaryPolicies: boundary?.map((p,i) => ({name: `b${i}`, policy: p})),
// resourcePolicy}, {}). resultType 'error' or any thrown exception -> "error"
// with JSON of the errors / the exception message cut to 300 characters.
// --unsafe: runUnsafeSimulation with the same input: no policy validation,
// no check that the action / resource type exist, context passed through raw.
//
// Process notes: TZ is forced to UTC so that Date* conditions on date strings
// without a zone (which V8's Date.parse reads as local time) are deterministic.
// String.prototype.localeCompare is replaced by an equivalent that caches ICU
// collators (pure speed-up, identical results; see below). In --unsafe mode a
// resource policy is passed pre-wrapped because runUnsafeSimulation 0.1.173
// crashes on plain resource policies (see handle()).
// Error lines: invalid JSON or a non-object line -> "id": null; a thrown
// exception (e.g. "Key value is not an array" for a non-string scalar context
// value under ForAnyValue/ForAllValues) -> its message.
// Output is written in order as soon as the head of the line is complete;
// at most --concurrency (default 64) requests are in flight; stdin is paused
// while stdout is not draining. THE DRIVER MUST READ STDOUT WHILE IT WRITES
// STDIN (e.g. a writer thread), otherwise both pipes fill up and deadlock.
//
// ---------------------------------------------------------------------------
// IDENTITY MODE (the usual case) - inputs that keep the oracle meaningful
// ---------------------------------------------------------------------------
//  * principal must be an ARN whose 5th ':' field is its account, and
//    resource_account must equal it: with no resource policy a cross-account
//    request is always implicit_deny, whatever the identity policies say.
//  * safe mode: the action must exist in iam-data; wildcard-only actions need
//    resource "*"; other actions need a concrete ARN of one of the action's
//    resource types (else "error": no.resource.types / must.use.wildcard).
//  * service quirks that are not "policy logic": sts:GetCallerIdentity is
//    always allowed; kms actions on key ARNs need a key policy (identity alone
//    -> implicit_deny); iam policy-version actions on arn:aws:iam::aws:policy/*
//    and role/aws-reserved/* are forced to implicit_deny (even over a Deny).
//  * boundary: allow needs identity allow AND boundary allow; a boundary Deny
//    is an explicit_deny even when nothing allows.
//
// ---------------------------------------------------------------------------
// TRUST MODE ("resource_policy" present, "identity" empty or absent)
// ---------------------------------------------------------------------------
// The role trust policy is passed as the resource policy; the request is
// {action: sts:AssumeRole | sts:AssumeRoleWithWebIdentity | sts:AssumeRoleWithSAML
// (| sts:TagSession | sts:SetSourceIdentity), resource: the role ARN,
// resource_account: the ROLE's account}. A trust policy needs no Resource
// element (a statement without Resource/NotResource matches any resource).
// What iam-simulate 0.1.173 does with that (see /tmp/oracle-semantics.md):
//  * Same/cross account is decided ONLY by comparing the 5th ':' field of the
//    request principal string with resource_account (not the role ARN's
//    account). Strings that are not ARNs (service principals, "accounts.google.com",
//    "cognito-identity.amazonaws.com") have no account.
//  * Principal matching is exact, case-sensitive string equality per type:
//    AWS ARN == principal; Service == principal; Federated == principal;
//    AWS "*" (any all-'*' string) matches every principal. AWS "<12 digits>" or
//    "arn:<p>:iam::<12 digits>:root" is an ACCOUNT-LEVEL match for any
//    principal whose ARN carries that account. A role ARN in the policy also
//    matches sessions "arn:<p>:sts::<acct>:assumed-role/<RoleName>/<session>"
//    (role name compared case-insensitively, path ignored); an IAM user ARN also
//    matches "arn:<p>:sts::<acct>:federated-user/<name>". No partial wildcards.
//  * sts uses an explicit-trust rule: when a trust policy is present, even a
//    same-account principal is allowed by an identity policy only if the trust
//    policy matched at ACCOUNT level; a direct (ARN / "*" / session) match
//    allows a SAME-account principal with no identity policy at all.
//  * CROSS-ACCOUNT principals (and every non-ARN principal that is not a
//    service principal, e.g. Federated "accounts.google.com") ALWAYS need an
//    identity-policy Allow as well, so with "identity": [] they can never be
//    allowed: the answer is implicit_deny whatever the trust policy says
//    (an explicit Deny in the trust policy still gives explicit_deny).
//    Account-level matches ("123456789012", ":root") likewise never allow
//    without an identity policy, same account or not.
//  * Service principals (a non-ARN string ending in "amazonaws.com", e.g.
//    "ec2.amazonaws.com", "cognito-identity.amazonaws.com") are decided by the
//    trust policy alone, whatever resource_account is.
//  * Federated principals: pass the provider exactly as written in the
//    policy's "Federated" value as the request principal, e.g.
//    "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
//    or "arn:aws:iam::111122223333:saml-provider/Okta" (their account field makes
//    them same-account when resource_account matches, so the trust policy alone
//    decides), or "cognito-identity.amazonaws.com" (treated as a service
//    principal). "accounts.google.com", "graph.facebook.com", "www.amazon.com"
//    have no account and are not service principals -> cross-account rules.
//  * No context key is derived from the request: aws:PrincipalArn,
//    aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:username,
//    aws:SourceIdentity, sts:ExternalId, saml:*, <provider>:aud/sub ... exist
//    only if given in "context".
//  * SAFE mode silently drops context keys not known for the action: for
//    sts:AssumeRoleWithWebIdentity iam-data lists e.g. accounts.google.com:aud,
//    cognito-identity.amazonaws.com:aud, token.actions.githubusercontent.com:
//    {actor,environment,job_workflow_ref,ref,repository,...} but NOT
//    token.actions.githubusercontent.com:sub nor :aud, so GitHub-OIDC trust
//    policies conditioned on sub/aud evaluate as if the key were absent. Use
//    --unsafe for such policies (or check "ignored_context").
//  * So a trust-policy-only decision is meaningful for: same-account principals
//    matched directly, service principals, ARN-form Federated principals in the
//    role's account, and explicit denies. For anything else set
//    "trust_caller_allowed": true: the oracle then adds (only when "identity"
//    is empty) a synthetic identity policy {Allow, Action: <request action>,
//    Resource: "*"} named "caller", i.e. "assume the caller's own account lets it
//    call this action"; the answer then reflects the trust policy alone for
//    cross-account, account-level and non-ARN federated principals too. It is
//    never reported in "allow"/"deny".
//  * A resource policy Deny with NotPrincipal always matches when a permissions
//    boundary is given (AWS-documented quirk); not relevant to trust mode
//    unless "boundary" is also supplied.

import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

process.env.TZ = 'UTC';

// Speed: iam-utils / iam-policy call a.localeCompare(b, undefined, {sensitivity})
// per character when matching resource-type patterns, and V8 builds a fresh
// ICU collator for every such call (about half of the safe-mode run time). ECMA-402 defines
// localeCompare(b, locales, options) as new Intl.Collator(locales, options)
// .compare(this, b), so answering from a cached collator is the same function.
{
  const original = String.prototype.localeCompare;
  const collators = new Map();
  Object.defineProperty(String.prototype, 'localeCompare', {
    configurable: true,
    writable: true,
    value: function localeCompare(that, locales, options) {
      if (locales !== undefined && typeof locales !== 'string') {
        return original.call(this, that, locales, options);
      }
      const key =
        options === undefined
          ? `${locales}`
          : `${locales}|${options.sensitivity}|${options.usage}|${options.ignorePunctuation}|` +
            `${options.numeric}|${options.caseFirst}|${options.collation}|${options.localeMatcher}`;
      if (this === null || this === undefined) {
        throw new TypeError('String.prototype.localeCompare called on null or undefined');
      }
      let c = collators.get(key);
      if (c === undefined) {
        c = new Intl.Collator(locales, options);
        collators.set(key, c);
      }
      return c.compare(String(this), String(that));
    }
  });
}

// ---------------------------------------------------------------- arguments
let unsafe = false;
let maxInFlight = 64;
let workers = 0;
if (isMainThread) {
  const args = process.argv.slice(2);
  const intArg = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      process.stderr.write(`oracle.mjs: ${name} needs a non-negative integer\n`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--unsafe') unsafe = true;
    else if (a === '--concurrency') maxInFlight = intArg(a, args[++i]);
    else if (a.startsWith('--concurrency=')) maxInFlight = intArg('--concurrency', a.slice(14));
    else if (a === '--workers') workers = intArg(a, args[++i]);
    else if (a.startsWith('--workers=')) workers = intArg('--workers', a.slice(10));
    else {
      process.stderr.write(`oracle.mjs: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (maxInFlight < 1) maxInFlight = 1;
} else {
  unsafe = workerData.unsafe;
}

// ---------------------------------------------------------------- evaluation
const DECISIONS = {
  Allowed: 'allow',
  ExplicitlyDenied: 'explicit_deny',
  ImplicitlyDenied: 'implicit_deny'
};

const cut = (s) => (s.length > 300 ? s.slice(0, 300) : s);

function errorLine(id, message) {
  return JSON.stringify({ id, decision: 'error', error: cut(String(message)) }) + '\n';
}

function buildSimulation(input) {
  const req = input.request;
  if (!req || typeof req !== 'object') throw new Error('missing "request" object');
  const identity = Array.isArray(input.identity) ? input.identity : [];
  const identityPolicies = identity.map((p, i) => ({ name: `p${i}`, policy: p }));
  if (identityPolicies.length === 0 && input.trust_caller_allowed === true) {
    identityPolicies.push({
      name: 'caller',
      policy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: req.action, Resource: '*' }]
      }
    });
  }
  const boundary = Array.isArray(input.boundary) ? input.boundary : undefined;
  return {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: req.resource_account },
      contextVariables: req.context ?? {}
    },
    identityPolicies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    permissionBoundaryPolicies: boundary
      ? boundary.map((p, i) => ({ name: `b${i}`, policy: p }))
      : undefined,
    resourcePolicy: input.resource_policy ?? undefined
  };
}

// statement.index() is 1-based in iam-policy; report 0-based.
function collect(analyses, pick, prefix) {
  const set = new Set();
  for (const a of analyses) {
    const part = pick(a);
    if (!part) continue;
    for (const s of part) {
      const name = s.policyId;
      const stmt = s.statement.index() - 1;
      if (prefix === null) set.add(String(stmt));
      else if (typeof name === 'string' && name.startsWith(prefix)) {
        set.add(`${name.slice(prefix.length)}:${stmt}`);
      }
    }
  }
  return [...set];
}

function successLine(id, overall, analyses, ignored, wildcard) {
  const decision = DECISIONS[overall];
  if (!decision) return errorLine(id, `unexpected result ${JSON.stringify(overall)}`);
  const o = { id, decision };
  if (analyses) {
    o.allow = collect(analyses, (a) => a.identityAnalysis?.allowStatements, 'p');
    o.deny = collect(analyses, (a) => a.identityAnalysis?.denyStatements, 'p');
    const ba = collect(analyses, (a) => a.permissionBoundaryAnalysis?.allowStatements, 'b');
    const bd = collect(analyses, (a) => a.permissionBoundaryAnalysis?.denyStatements, 'b');
    const ra = collect(analyses, (a) => a.resourceAnalysis?.allowStatements, null);
    const rd = collect(analyses, (a) => a.resourceAnalysis?.denyStatements, null);
    if (ba.length) o.boundary_allow = ba;
    if (bd.length) o.boundary_deny = bd;
    if (ra.length) o.resource_allow = ra;
    if (rd.length) o.resource_deny = rd;
    if (ignored && ignored.length) o.ignored_context = ignored;
    if (wildcard) o.wildcard = true;
  }
  return JSON.stringify(o) + '\n';
}

// Returns an output line (string) or a Promise of one. Never throws/rejects.
function handle(line) {
  let input;
  try {
    input = JSON.parse(line);
  } catch (e) {
    return errorLine(null, `invalid JSON input: ${e.message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return errorLine(null, 'input line is not a JSON object');
  }
  const id = input.id === undefined ? null : input.id;
  let sim;
  try {
    sim = buildSimulation(input);
  } catch (e) {
    return errorLine(id, e && e.message ? e.message : e);
  }
  if (unsafe) {
    // runUnsafeSimulation calls loadPolicy(resourcePolicy) without metadata and
    // then reads metadata().name, which throws for every plain resource policy
    // (iam-simulate 0.1.173). Hand it a pre-"validated" wrapper, which
    // loadPolicy unwraps together with its metadata; unsafe mode never
    // validates anyway, so this changes nothing else.
    if (sim.resourcePolicy !== undefined) {
      sim.resourcePolicy = {
        __validated: true,
        policyDocument: sim.resourcePolicy,
        metadata: { name: 'resource' },
        errors: []
      };
    }
    try {
      return successLine(id, runUnsafeSimulation(sim, {}), null);
    } catch (e) {
      return errorLine(id, e && e.message ? e.message : e);
    }
  }
  let p;
  try {
    p = runSimulation(sim, {});
  } catch (e) {
    return errorLine(id, e && e.message ? e.message : e);
  }
  return p.then(
    (r) => {
      if (r.resultType === 'error') return errorLine(id, JSON.stringify(r.errors));
      if (r.resultType === 'single') {
        return successLine(id, r.overallResult, [r.result.analysis], r.result.ignoredContextKeys, false);
      }
      const ignored = [...new Set(r.results.flatMap((x) => x.ignoredContextKeys ?? []))];
      return successLine(id, r.overallResult, r.results.map((x) => x.analysis), ignored, true);
    },
    (e) => errorLine(id, e && e.message ? e.message : e)
  );
}

// ---------------------------------------------------------------- worker side
if (!isMainThread) {
  parentPort.on('message', async ({ seq, lines }) => {
    const outs = await Promise.all(lines.map(handle));
    parentPort.postMessage({ seq, text: outs.join('') });
  });
}

// ---------------------------------------------------------------- streaming
// A "unit" is one line (in-process) or one batch of lines (--workers N > 0);
// units get consecutive sequence numbers and are written strictly in order.
const HIGH_WATER = 4096; // queued input lines before stdin is paused
const LOW_WATER = 1024;
const BATCH = 256; // max lines per message to a worker
const BATCHES_PER_WORKER = 2; // messages outstanding per worker

const queue = []; // pending input lines
let qHead = 0;
let partial = '';
let inputEnded = false;
let stdinPaused = false;

let nextSeq = 0; // sequence number of the next unit taken from the queue
let nextOut = 0; // sequence number of the next unit to write
let inFlight = 0; // async units not yet complete
const done = new Map(); // seq -> output text, completed but not yet written
let outBuf = ''; // ordered output waiting for a write
let waitingDrain = false;
let flushScheduled = false;
let pumping = false;
let pool = []; // {worker, outstanding}

const queued = () => queue.length - qHead;

function complete(seq, text) {
  if (seq === nextOut) {
    outBuf += text;
    nextOut++;
    while (done.has(nextOut)) {
      outBuf += done.get(nextOut);
      done.delete(nextOut);
      nextOut++;
    }
  } else {
    done.set(seq, text);
  }
}

function scheduleFlush() {
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush() {
  flushScheduled = false;
  if (outBuf.length > 0 && !waitingDrain) {
    const chunk = outBuf;
    outBuf = '';
    if (!process.stdout.write(chunk)) {
      waitingDrain = true;
      process.stdout.once('drain', () => {
        waitingDrain = false;
        scheduleFlush();
        pump();
      });
    }
  }
  maybeFinish();
}

function maybeFinish() {
  if (inputEnded && queued() === 0 && inFlight === 0 && done.size === 0 && outBuf === '' && pool.length) {
    for (const w of pool) w.worker.terminate();
    pool = [];
  }
}

function takeLine() {
  const line = queue[qHead];
  queue[qHead++] = undefined;
  return line;
}

function pumpInProcess() {
  while (!waitingDrain && inFlight < maxInFlight && queued() > 0) {
    const seq = nextSeq++;
    const r = handle(takeLine());
    if (typeof r === 'string') {
      complete(seq, r);
      // keep write sizes sane when evaluation is synchronous (--unsafe)
      if (outBuf.length > 1 << 16) flush();
    } else {
      inFlight++;
      r.then((text) => {
        inFlight--;
        complete(seq, text);
        scheduleFlush();
        pump();
      });
    }
  }
}

function pumpWorkers() {
  while (!waitingDrain && queued() > 0) {
    let best = null;
    for (const w of pool) {
      if (w.outstanding < BATCHES_PER_WORKER && (best === null || w.outstanding < best.outstanding)) best = w;
    }
    if (best === null) break;
    const n = Math.min(queued(), BATCH);
    const lines = new Array(n);
    for (let i = 0; i < n; i++) lines[i] = takeLine();
    best.outstanding++;
    inFlight++;
    best.worker.postMessage({ seq: nextSeq++, lines });
  }
}

function pump() {
  if (pumping) return;
  pumping = true;
  try {
    if (pool.length) pumpWorkers();
    else pumpInProcess();
    if (qHead > 65536 && qHead * 2 > queue.length) {
      queue.splice(0, qHead);
      qHead = 0;
    }
    if (stdinPaused && queued() < LOW_WATER && !inputEnded) {
      stdinPaused = false;
      process.stdin.resume();
    }
  } finally {
    pumping = false;
  }
  scheduleFlush();
}

function addLines(text) {
  let start = 0;
  let nl;
  while ((nl = text.indexOf('\n', start)) !== -1) {
    const line = text.slice(start, nl);
    if (/\S/.test(line)) queue.push(line);
    start = nl + 1;
  }
  return text.slice(start);
}

if (isMainThread) {
  for (let i = 0; i < workers; i++) {
    const entry = {
      worker: new Worker(new URL(import.meta.url), { workerData: { unsafe } }),
      outstanding: 0
    };
    entry.worker.on('message', ({ seq, text }) => {
      entry.outstanding--;
      inFlight--;
      complete(seq, text);
      scheduleFlush();
      pump();
    });
    entry.worker.on('error', (e) => {
      process.stderr.write(`oracle.mjs: worker failed: ${e && e.stack ? e.stack : e}\n`);
      process.exit(1);
    });
    pool.push(entry);
  }

  process.stdout.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });

  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    partial = addLines(partial + chunk);
    if (queued() >= HIGH_WATER && !stdinPaused) {
      stdinPaused = true;
      process.stdin.pause();
    }
    pump();
  });
  process.stdin.on('end', () => {
    inputEnded = true;
    if (/\S/.test(partial)) queue.push(partial);
    partial = '';
    pump();
  });
}
