//! The oracle: `tests/oracle/oracle.mjs` (a JSON Lines front end to the npm
//! package @cloud-copilot/iam-simulate, AGPL, test-only) run as one Node.js
//! process per [`Oracle`], fed and read at the same time.
//!
//! Queries go to a writer thread over a channel, so [`Oracle::submit`]
//! never blocks and the process's stdin and stdout pipes cannot fill up
//! against each other; answers come back in order from [`Oracle::next`].
//! Keep a bounded number in flight (submit a batch, read the one before):
//! that keeps the Node.js process busy while Rust prepares the next batch.

#![allow(dead_code)] // shared with other tests; not every helper is used by every test

use super::gen::{self, Case, PolicySet, Request};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

/// How the oracle evaluates (see the header of `tests/oracle/oracle.mjs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `runSimulation`: validates policies and the request, drops context
    /// keys iam-data does not list for the action, retypes values.
    Safe,
    /// `runUnsafeSimulation`: the policies and context as given.
    Unsafe,
}

/// What the oracle decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
    Error(String),
}

impl Decision {
    pub fn outcome(&self) -> Option<roleguard::eval::Outcome> {
        use roleguard::eval::Outcome;
        match self {
            Decision::Allow => Some(Outcome::Allow),
            Decision::ExplicitDeny => Some(Outcome::ExplicitDeny),
            Decision::ImplicitDeny => Some(Outcome::ImplicitDeny),
            Decision::Error(_) => None,
        }
    }
}

/// One answer: the query's id, the decision and the raw line.
#[derive(Debug, Clone)]
pub struct Answer {
    pub id: u64,
    pub decision: Decision,
    pub line: String,
}

/// One question for the oracle: policy documents as JSON texts, the
/// request, and who asks. [`Query::identity`] fills in [`gen::CALLER`] and
/// [`gen::OWN_ACCOUNT`] (identity mode).
#[derive(Debug, Clone)]
pub struct Query {
    pub identity: Vec<String>,
    pub boundary: Option<String>,
    pub resource_policy: Option<String>,
    pub principal: String,
    pub request: Request,
    pub resource_account: String,
    pub trust_caller_allowed: bool,
}

impl Query {
    /// The identity-mode question for a policy set and a request.
    pub fn identity(policies: &PolicySet, request: &Request) -> Query {
        Query {
            identity: policies.identity.iter().map(|d| d.json.clone()).collect(),
            boundary: policies.boundary.as_ref().map(|d| d.json.clone()),
            resource_policy: None,
            principal: gen::CALLER.to_string(),
            request: request.clone(),
            resource_account: gen::OWN_ACCOUNT.to_string(),
            trust_caller_allowed: false,
        }
    }
    /// The same from JSON values (identity policies, boundary).
    pub fn from_values(identity: &[Value], boundary: Option<&Value>, request: &Request) -> Query {
        Query {
            identity: identity.iter().map(Value::to_string).collect(),
            boundary: boundary.map(Value::to_string),
            resource_policy: None,
            principal: gen::CALLER.to_string(),
            request: request.clone(),
            resource_account: gen::OWN_ACCOUNT.to_string(),
            trust_caller_allowed: false,
        }
    }
    pub fn from_case(case: &Case) -> Query {
        Query::identity(&case.policies, &case.request)
    }
    /// The JSON line (without the newline).
    pub fn line(&self, id: u64) -> String {
        let s = |v: &str| Value::String(v.to_string()).to_string();
        let mut o =
            String::with_capacity(256 + self.identity.iter().map(String::len).sum::<usize>());
        o.push_str(&format!(
            "{{\"id\":{id},\"identity\":[{}]",
            self.identity.join(",")
        ));
        if let Some(b) = &self.boundary {
            o.push_str(&format!(",\"boundary\":[{b}]"));
        }
        if let Some(rp) = &self.resource_policy {
            o.push_str(&format!(",\"resource_policy\":{rp}"));
        }
        if self.trust_caller_allowed {
            o.push_str(",\"trust_caller_allowed\":true");
        }
        o.push_str(&format!(
            ",\"request\":{{\"principal\":{},\"action\":{},\"resource\":{},\"resource_account\":{},\"context\":{}}}}}",
            s(&self.principal),
            s(&self.request.action),
            s(&self.request.resource),
            s(&self.resource_account),
            self.request.context_json()
        ));
        o
    }
}

/// Where the oracle lives.
pub fn oracle_dir() -> PathBuf {
    super::super::root().join("tests/oracle")
}

/// The command that installs the oracle.
pub const INSTALL: &str = "cd tests/oracle && npm ci --no-audit --no-fund";

/// `Ok` when node and the oracle's packages are installed; otherwise why not.
pub fn availability() -> Result<(), String> {
    let dir = oracle_dir();
    if !dir.join("oracle.mjs").is_file() {
        return Err(format!("{} is missing", dir.join("oracle.mjs").display()));
    }
    if !dir
        .join("node_modules/@cloud-copilot/iam-simulate")
        .is_dir()
    {
        return Err(
            "the oracle's packages are not installed (tests/oracle/node_modules)".to_string(),
        );
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`node --version` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("node is not on PATH ({e})")),
    }
}

/// Is this a CI run (`CI=true`), where a missing oracle is a failure?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Start the oracle for a test, or say loudly why not: under CI a missing
/// oracle fails the test; elsewhere the test is skipped (returns `None`).
pub fn start_or_skip(test: &str, mode: Mode) -> Option<Oracle> {
    start_or_skip_with(test, mode, 0)
}

/// [`start_or_skip`] with worker threads ([`Oracle::start_with`]).
pub fn start_or_skip_with(test: &str, mode: Mode, workers: u32) -> Option<Oracle> {
    match availability().and_then(|()| Oracle::start_with(mode, workers)) {
        Ok(o) => Some(o),
        Err(why) if in_ci() => {
            panic!("{test}: the oracle is needed under CI=true: {why}\ninstall it with: {INSTALL}")
        }
        Err(why) => {
            loud(&format!(
                "\n*** SKIPPED {test}: the oracle is not available: {why}\n\
                 *** (install Node.js and run: {INSTALL}; with CI=true this is a failure)\n"
            ));
            None
        }
    }
}

/// Print past the test harness's output capture, so that it shows in a
/// plain `cargo test` run.
pub fn loud(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{text}");
    let _ = e.flush();
}

/// CPU time of the calling thread, in seconds (what the Rust side of a
/// comparison costs, apart from waiting on the oracle).
pub fn thread_cpu_secs() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    if r != 0 {
        return 0.0;
    }
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// A running oracle process.
pub struct Oracle {
    child: Child,
    to_writer: Option<Sender<Vec<u8>>>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    stdout: BufReader<ChildStdout>,
    buffer: Vec<u8>,
    next_id: u64,
    pending: u64,
    pub mode: Mode,
}

impl Oracle {
    pub fn start(mode: Mode) -> Result<Oracle, String> {
        Oracle::start_with(mode, 0)
    }

    /// [`Oracle::start`] with `workers` worker threads in the Node.js
    /// process (`--workers`; 0 evaluates in the main thread). Workers pay
    /// when the Rust side is cheap (release builds) and cores are free.
    pub fn start_with(mode: Mode, workers: u32) -> Result<Oracle, String> {
        let dir = oracle_dir();
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("oracle.mjs"));
        if mode == Mode::Unsafe {
            cmd.arg("--unsafe");
        }
        if workers > 0 {
            cmd.arg("--workers").arg(workers.to_string());
        }
        let mut child = cmd
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start node: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped stdout"));
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            for chunk in rx {
                stdin.write_all(&chunk)?;
            }
            stdin.flush()
            // stdin drops here: the oracle sees the end of its input.
        });
        Ok(Oracle {
            child,
            to_writer: Some(tx),
            writer: Some(writer),
            stdout,
            buffer: Vec::with_capacity(1 << 16),
            next_id: 0,
            pending: 0,
            mode,
        })
    }

    /// Queue a query; returns its id. Buffered: [`Oracle::flush`] sends.
    pub fn submit(&mut self, q: &Query) -> u64 {
        let id = self.next_id;
        self.submit_as(q, id);
        id
    }

    /// Queue a query under an id of the caller's (answers still come back
    /// in submission order).
    pub fn submit_as(&mut self, q: &Query, id: u64) {
        self.next_id = self.next_id.max(id + 1);
        self.buffer.extend_from_slice(q.line(id).as_bytes());
        self.buffer.push(b'\n');
        self.pending += 1;
        if self.buffer.len() > 1 << 16 {
            self.flush();
        }
    }

    /// Hand the queued queries to the writer thread.
    pub fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(1 << 16));
        if let Some(tx) = &self.to_writer {
            // A send error means the writer died; next() reports the process's end.
            let _ = tx.send(chunk);
        }
    }

    /// Queries submitted and not yet answered.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// The next answer, in submission order. Panics if the process dies.
    pub fn next(&mut self) -> Answer {
        assert!(self.pending > 0, "Oracle::next with no query pending");
        self.flush();
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let status = self.child.try_wait();
                panic!("the oracle process ended early ({status:?}); its stderr is above");
            }
            Ok(_) => {}
        }
        self.pending -= 1;
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("oracle sent bad JSON ({e}): {line}"));
        let id = v["id"].as_u64().unwrap_or(u64::MAX);
        let decision = match v["decision"].as_str() {
            Some("allow") => Decision::Allow,
            Some("explicit_deny") => Decision::ExplicitDeny,
            Some("implicit_deny") => Decision::ImplicitDeny,
            _ => Decision::Error(v["error"].as_str().unwrap_or("(no message)").to_string()),
        };
        Answer {
            id,
            decision,
            line: line.trim_end().to_string(),
        }
    }

    /// Ask a batch of questions; the answers in the same order.
    pub fn decide(&mut self, queries: &[Query]) -> Vec<Answer> {
        let ids: Vec<u64> = queries.iter().map(|q| self.submit(q)).collect();
        self.flush();
        ids.iter()
            .map(|&id| {
                let a = self.next();
                assert_eq!(a.id, id, "oracle answers out of order");
                a
            })
            .collect()
    }

    /// Close the input and wait for the process.
    pub fn finish(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.flush();
        self.to_writer = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        // Drain whatever is left so the process can exit, then reap it.
        let mut sink = String::new();
        while self.pending > 0 {
            sink.clear();
            match self.stdout.read_line(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => self.pending -= 1,
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Do not wait on a process that may still be busy: stop it.
            let _ = self.child.kill();
            let _ = self.child.wait();
        } else if self.to_writer.is_some() || self.writer.is_some() {
            self.shutdown();
        }
    }
}
