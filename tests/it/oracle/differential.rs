//! The differential test: random policy sets and requests, each decided by
//! roleguard's evaluator and by the oracle, the decisions compared.
//!
//! Environment (all optional; `scripts/differential` sets them):
//! - `ROLEGUARD_ORACLE_SEED`: the run's seed (decimal or 0x hex; default 1);
//! - `ROLEGUARD_ORACLE_COUNT`: pairs to compare (default 100,000);
//! - `ROLEGUARD_ORACLE_ONLY`: compare just this pair index, and print it;
//! - `ROLEGUARD_ORACLE_MODE`: `unsafe` (default) or `safe` (see
//!   `tests/oracle/known-differences.md` for why unsafe);
//! - `ROLEGUARD_ORACLE_DUMP`: a file to write the oracle's input lines to
//!   (to time or debug the oracle on its own);
//! - `ROLEGUARD_ORACLE_WORKERS`: worker threads in the Node.js process
//!   (default 0; 2 speeds up release runs on two free cores).
//!
//! A disagreement is either a known difference ([`super::known`]: counted
//! by class, one example each printed with the command that shows it) or
//! fails the test with the seed, the index, the policies, the request,
//! both decisions, and `scripts/differential --seed S --only I`.

use super::driver::{self, Decision, Mode, Query};
use super::gen::{self, Case, Parsed, Rng};
use super::known;
use roleguard::eval::Outcome;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::Instant;

struct Config {
    seed: u64,
    count: u64,
    only: Option<u64>,
    mode: Mode,
    workers: u32,
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

impl Config {
    fn from_env() -> Config {
        let mode = match std::env::var("ROLEGUARD_ORACLE_MODE").as_deref() {
            Ok("safe") => Mode::Safe,
            Ok("unsafe") | Err(_) => Mode::Unsafe,
            Ok(other) => panic!("ROLEGUARD_ORACLE_MODE={other}: expected safe or unsafe"),
        };
        Config {
            seed: env_u64("ROLEGUARD_ORACLE_SEED").unwrap_or(1),
            count: env_u64("ROLEGUARD_ORACLE_COUNT").unwrap_or(100_000),
            only: env_u64("ROLEGUARD_ORACLE_ONLY"),
            mode,
            workers: env_u64("ROLEGUARD_ORACLE_WORKERS").unwrap_or(0) as u32,
        }
    }
    fn command(&self, index: u64) -> String {
        let mode = if self.mode == Mode::Safe {
            " --safe"
        } else {
            ""
        };
        format!(
            "scripts/differential --seed {} --only {index}{mode}",
            self.seed
        )
    }
}

/// One pair on its way through the oracle.
struct Pair {
    index: u64,
    case: Case,
    parsed: Result<Parsed, String>,
    ours: Option<roleguard::eval::Decision>,
}

fn prepare(cfg: &Config, index: u64) -> Pair {
    let (case, parsed) = gen::case_and_parse(&mut Rng::for_pair(cfg.seed, index));
    let ours = parsed.as_ref().ok().map(|p| p.evaluate(&case.request));
    Pair {
        index,
        case,
        parsed,
        ours,
    }
}

#[derive(Default)]
struct Stats {
    compared: u64,
    agree: u64,
    known: BTreeMap<String, (u64, u64)>, // class -> (count, first index)
    unexplained: Vec<String>,
    unexplained_count: u64,
    errors: u64,
    first_errors: Vec<String>,
    /// Seconds spent drawing and judging pairs, and waiting for the oracle.
    prepare_secs: f64,
    wait_secs: f64,
    generator: Vec<String>,
    by_outcome: BTreeMap<&'static str, u64>,
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Allow => "allow",
        Outcome::ExplicitDeny => "explicit_deny",
        Outcome::ImplicitDeny => "implicit_deny",
    }
}

/// Everything about one pair, for a failure or `--only`.
fn report(cfg: &Config, pair: &Pair, oracle: &driver::Answer, class: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "---- pair {} (seed {}) ----", pair.index, cfg.seed);
    let _ = writeln!(s, "reproduce: {}", cfg.command(pair.index));
    for (i, d) in pair.case.policies.identity.iter().enumerate() {
        let _ = writeln!(
            s,
            "identity policy {i}:\n{}",
            serde_json::to_string_pretty(&d.value()).unwrap()
        );
        if d.text != d.json {
            let _ = writeln!(s, "  (roleguard parsed it written as: {})", d.text);
        }
    }
    if let Some(b) = &pair.case.policies.boundary {
        let _ = writeln!(
            s,
            "permissions boundary:\n{}",
            serde_json::to_string_pretty(&b.value()).unwrap()
        );
        if b.text != b.json {
            let _ = writeln!(s, "  (roleguard parsed it written as: {})", b.text);
        }
    }
    let _ = writeln!(
        s,
        "request: {}",
        serde_json::to_string_pretty(&pair.case.request.to_json()).unwrap()
    );
    match (&pair.parsed, &pair.ours) {
        (Ok(parsed), Some(d)) => {
            let _ = writeln!(
                s,
                "roleguard: {} (deciding statements {:?})",
                outcome_name(d.outcome),
                d.deciding
            );
            let ctx = pair.case.request.eval_context();
            for f in known::diagnose(parsed, &pair.case.request, &ctx) {
                let _ = writeln!(
                    s,
                    "  element: {} [{}]",
                    f.describe,
                    if f.reasons.is_empty() {
                        "no known difference".to_string()
                    } else {
                        f.reasons.join("+")
                    }
                );
            }
        }
        (Err(e), _) => {
            let _ = writeln!(s, "roleguard: cannot parse: {e}");
        }
        _ => {}
    }
    let _ = writeln!(s, "oracle:    {}", oracle.line);
    if let Some(c) = class {
        let _ = writeln!(s, "known difference: {c}");
    }
    s
}

fn compare(cfg: &Config, stats: &mut Stats, pair: Pair, answer: driver::Answer) {
    if cfg.only.is_some() {
        let class = match (&pair.parsed, &pair.ours, answer.decision.outcome()) {
            (Ok(p), Some(d), Some(o)) if d.outcome != o => {
                known::classify(p, &pair.case.request, &pair.case.request.eval_context(), o)
            }
            _ => None,
        };
        driver::loud(&report(cfg, &pair, &answer, class.as_deref()));
    }
    let (parsed, ours) = match (&pair.parsed, &pair.ours) {
        (Ok(p), Some(d)) => (p, d),
        (Err(e), _) => {
            if stats.generator.len() < 5 {
                stats.generator.push(format!(
                    "pair {}: the generator made a policy roleguard refuses (fix the generator or the parser): {e}\nreproduce: {}",
                    pair.index,
                    cfg.command(pair.index)
                ));
            }
            return;
        }
        _ => unreachable!(),
    };
    let oracle = match &answer.decision {
        Decision::Error(e) => {
            stats.errors += 1;
            if stats.first_errors.len() < 3 {
                stats.first_errors.push(format!("pair {}: {e}", pair.index));
            }
            return;
        }
        d => d.outcome().unwrap(),
    };
    stats.compared += 1;
    *stats.by_outcome.entry(outcome_name(oracle)).or_default() += 1;
    if ours.outcome == oracle {
        stats.agree += 1;
        return;
    }
    let ctx = pair.case.request.eval_context();
    match known::classify(parsed, &pair.case.request, &ctx, oracle) {
        Some(class) => {
            stats.known.entry(class).or_insert((0, pair.index)).0 += 1;
        }
        None => {
            stats.unexplained_count += 1;
            if stats.unexplained.len() < 8 {
                let r = report(cfg, &pair, &answer, None);
                // Now, for long runs watched through their log; and at the end.
                driver::loud(&format!("UNEXPLAINED DISAGREEMENT\n{r}"));
                stats.unexplained.push(r);
            }
        }
    }
}

/// CPU time of the calling thread (what the Rust side costs, whatever else
/// the machine is running).

#[test]
fn roleguard_agrees_with_the_oracle() {
    let cfg = Config::from_env();
    let Some(mut oracle) = driver::start_or_skip_with(
        "oracle::differential::roleguard_agrees_with_the_oracle",
        cfg.mode,
        cfg.workers,
    ) else {
        return;
    };
    let started = Instant::now();
    let (first, end) = match cfg.only {
        Some(i) => (i, i + 1),
        None => (0, cfg.count),
    };
    const BATCH: u64 = 512;
    let progress_every = 1_000_000;
    let mut stats = Stats::default();
    let mut in_flight: VecDeque<Vec<Pair>> = VecDeque::new();
    let mut next = first;
    let mut dump = std::env::var_os("ROLEGUARD_ORACLE_DUMP")
        .map(|p| std::io::BufWriter::new(std::fs::File::create(p).expect("ROLEGUARD_ORACLE_DUMP")));
    while next < end || !in_flight.is_empty() {
        // Send the next batch before reading the previous one's answers, so
        // that the oracle always has work while Rust compares.
        if next < end {
            let stop = (next + BATCH).min(end);
            let t = driver::thread_cpu_secs();
            let batch: Vec<Pair> = (next..stop).map(|i| prepare(&cfg, i)).collect();
            stats.prepare_secs += driver::thread_cpu_secs() - t;
            for p in &batch {
                let q = Query::from_case(&p.case);
                if let Some(d) = dump.as_mut() {
                    use std::io::Write;
                    writeln!(d, "{}", q.line(p.index)).expect("ROLEGUARD_ORACLE_DUMP");
                }
                oracle.submit_as(&q, p.index);
            }
            oracle.flush();
            in_flight.push_back(batch);
            next = stop;
            if in_flight.len() < 2 && next < end {
                continue;
            }
        }
        let batch = in_flight.pop_front().unwrap();
        for pair in batch {
            let t = Instant::now();
            let answer = oracle.next();
            stats.wait_secs += t.elapsed().as_secs_f64();
            let done = pair.index - first + 1;
            compare(&cfg, &mut stats, pair, answer);
            if done % progress_every == 0 {
                driver::loud(&format!(
                    "oracle differential: {done} pairs, {} agree, {} known, {} unexplained, {} errors, {:.0} s",
                    stats.agree,
                    stats.known.values().map(|v| v.0).sum::<u64>(),
                    stats.unexplained_count,
                    stats.errors,
                    started.elapsed().as_secs_f64()
                ));
            }
        }
    }
    oracle.finish();
    let elapsed = started.elapsed().as_secs_f64();

    let known_total: u64 = stats.known.values().map(|v| v.0).sum();
    let classes: Vec<String> = stats
        .known
        .iter()
        .map(|(c, (n, _))| format!("{c} {n}"))
        .collect();
    let mut summary = format!(
        "oracle differential (seed {}, {} mode): {} pairs compared, {} agree, {} disagree ({} known: {}; {} unexplained), {} oracle errors skipped, {:.1} s",
        cfg.seed,
        if cfg.mode == Mode::Safe { "safe" } else { "unsafe" },
        stats.compared,
        stats.agree,
        known_total + stats.unexplained_count,
        known_total,
        if classes.is_empty() { "none".to_string() } else { classes.join(", ") },
        stats.unexplained_count,
        stats.errors,
        elapsed,
    );
    let outcomes: Vec<String> = stats
        .by_outcome
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = write!(
        summary,
        "\n  oracle decisions: {}\n  time: {:.1} s of CPU drawing and judging pairs, {:.1} s waiting for the oracle",
        outcomes.join(", "),
        stats.prepare_secs,
        stats.wait_secs
    );
    for (c, (_, first)) in &stats.known {
        let what = c
            .split('+')
            .map(|name| {
                known::KNOWN
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map_or("?", |(_, d)| *d)
            })
            .collect::<Vec<_>>()
            .join("; and ");
        let _ = write!(summary, "\n  {c}: {what}\n    e.g. {}", cfg.command(*first));
    }
    for e in &stats.first_errors {
        let _ = write!(summary, "\n  oracle error: {e}");
    }
    driver::loud(&summary);

    let mut failures = String::new();
    for g in &stats.generator {
        let _ = writeln!(failures, "{g}");
    }
    for u in &stats.unexplained {
        let _ = writeln!(failures, "{u}");
    }
    assert!(
        stats.generator.is_empty() && stats.unexplained_count == 0,
        "{} unexplained disagreement(s) between roleguard and the oracle (first ones below; each is a bug in src/eval, \
         a known difference to record in tests/oracle/known-differences.md, or a generator shape IAM would refuse):\n{failures}",
        stats.unexplained_count
    );
    if cfg.only.is_none() {
        assert!(stats.compared > 0, "no pair was compared");
    }
}

/// Every known difference the classifier can name is written up, with a
/// citation, in tests/oracle/known-differences.md.
#[test]
fn known_differences_are_documented() {
    let path = super::super::root().join("tests/oracle/known-differences.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (name, _) in known::KNOWN {
        let heading = format!("## `{name}`");
        let at = text
            .find(&heading)
            .unwrap_or_else(|| panic!("{} has no section {heading}", path.display()));
        let section = &text[at..];
        let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
        assert!(
            section.contains("https://docs.aws.amazon.com/"),
            "the section on {name} cites no AWS documentation page"
        );
    }
}
