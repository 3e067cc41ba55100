//! Fuzzing on the stable toolchain: an in-tree harness, no instrumentation.
//!
//!     cargo run --release --example fuzz -- TARGET SECONDS [--seed N] [--execs N]
//!     scripts/fuzz TARGET SECONDS      (the same, see docs/fuzzing.md)
//!
//! TARGET is one of policy, event, template, config, check, or `all` (the
//! seconds split between them). A crash (a panic) is written to
//! `<out>/crashes/<target>/<hash>.bin` with the panic's message beside it
//! (`.txt`); an execution over a second to `<out>/slow/<target>/`; one that
//! hangs (over `--hang` seconds) to `<out>/hangs/<target>/`, and the run
//! stops. One line of JSON per target at the end; exit status 1 on a crash.
//!
//! `--replay FILE` runs one saved input with the panic left loud;
//! `--minimise FILE` cuts a crashing input down and writes `FILE.min`.

mod engine;
mod targets;

use clap::Parser;
use engine::{Options, Summary};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Fuzz roleguard's core (not coverage-guided; see docs/fuzzing.md)")]
struct Cli {
    /// policy, event, template, config, check, or all.
    target: String,
    /// How long to run (split between the targets for `all`).
    seconds: Option<f64>,
    /// The PRNG seed: the same seed and --execs give the same inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop each target after this many executions.
    #[arg(long)]
    execs: Option<u64>,
    /// Where crashes/, slow/ and hangs/ go (default: $CARGO_TARGET_DIR/fuzz or target/fuzz).
    #[arg(long)]
    out: Option<PathBuf>,
    /// An execution over this many milliseconds is saved as slow.
    #[arg(long, default_value_t = 1000)]
    slow_ms: u64,
    /// An execution over this many seconds is a hang: saved, and the run stops.
    #[arg(long, default_value_t = 60)]
    hang: u64,
    /// Run one saved input (no catch_unwind: the panic and its backtrace print).
    #[arg(long, conflicts_with = "minimise")]
    replay: Option<PathBuf>,
    /// Cut a crashing input down to the least that still panics at the same place.
    #[arg(long)]
    minimise: Option<PathBuf>,
}

fn default_out() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| targets::root().join("target"))
        .join("fuzz")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let names: Vec<&str> = if cli.target == "all" {
        targets::NAMES.to_vec()
    } else if targets::NAMES.contains(&cli.target.as_str()) {
        vec![cli.target.as_str()]
    } else {
        eprintln!(
            "fuzz: unknown target {:?} (one of {}, all)",
            cli.target,
            targets::NAMES.join(", ")
        );
        return ExitCode::from(2);
    };
    let root = targets::root();
    if let Some(file) = cli.replay.as_ref().or(cli.minimise.as_ref()) {
        return one_input(&cli, &names, file, &root);
    }
    if cli.seconds.is_none() && cli.execs.is_none() {
        eprintln!("fuzz: give SECONDS or --execs N");
        return ExitCode::from(2);
    }
    let per_target = cli
        .seconds
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s / names.len() as f64));
    let out = cli.out.clone().unwrap_or_else(default_out);
    let mut crashed = false;
    for name in names {
        let Some(target) = targets::target(name, &root) else {
            continue;
        };
        let opts = Options {
            seed: cli.seed,
            duration: per_target,
            execs: cli.execs,
            out: Some(out.clone()),
            slow: Duration::from_millis(cli.slow_ms),
            ..Options::default()
        };
        let summary = watched(&target, &opts, Duration::from_secs(cli.hang), &out);
        report(&summary);
        crashed |= summary.crashes > 0;
    }
    if crashed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The input running and since when, as the watchdog sees it.
type Running = Option<(Instant, Vec<u8>)>;

/// Run a target with a watchdog thread: an execution that runs past `hang`
/// is saved under `hangs/` and the process exits (a hang cannot be unwound).
fn watched(
    target: &engine::Target,
    opts: &Options,
    hang: Duration,
    out: &std::path::Path,
) -> Summary {
    let current: Arc<Mutex<Running>> = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let dog = {
        let current = Arc::clone(&current);
        let done = Arc::clone(&done);
        let dir = out.join("hangs").join(target.name);
        let name = target.name;
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let stuck = match current.lock() {
                    Ok(g) => g
                        .as_ref()
                        .filter(|(t, _)| t.elapsed() > hang)
                        .map(|(_, i)| i.clone()),
                    Err(_) => None,
                };
                if let Some(input) = stuck {
                    let file = dir.join(format!("{:016x}.bin", engine::fnv1a(&input)));
                    let saved =
                        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, &input));
                    eprintln!(
                        "fuzz: {name}: an execution ran over {} s: {} ({saved:?}); stopping",
                        hang.as_secs(),
                        file.display()
                    );
                    std::process::exit(1);
                }
            }
        })
    };
    let summary = engine::fuzz_watched(target, opts, |input| {
        if let Ok(mut g) = current.lock() {
            match g.as_mut() {
                Some((t, buf)) => {
                    *t = Instant::now();
                    buf.clear();
                    buf.extend_from_slice(input);
                }
                None => *g = Some((Instant::now(), input.to_vec())),
            }
        }
    });
    done.store(true, Ordering::Relaxed);
    if let Ok(mut g) = current.lock() {
        *g = None;
    }
    let _ = dog.join();
    summary
}

fn report(s: &Summary) {
    for c in &s.crash_sites {
        let first = c.message.lines().take(3).collect::<Vec<_>>().join(" / ");
        eprintln!(
            "fuzz: {}: CRASH at {}: {first}\n      input ({} bytes): {}",
            s.target,
            c.site,
            c.input.len(),
            c.file
                .as_ref()
                .map_or_else(|| "(not saved)".to_string(), |f| f.display().to_string())
        );
    }
    for e in &s.write_errors {
        eprintln!("fuzz: {}: could not save: {e}", s.target);
    }
    println!("{}", s.json());
}

fn one_input(
    cli: &Cli,
    names: &[&str],
    file: &std::path::Path,
    root: &std::path::Path,
) -> ExitCode {
    let [name] = names else {
        eprintln!("fuzz: --replay and --minimise take one target, not all");
        return ExitCode::from(2);
    };
    let Some(target) = targets::target(name, root) else {
        return ExitCode::from(2);
    };
    let input = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("fuzz: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if cli.replay.is_some() {
        let text = String::from_utf8_lossy(&input);
        let began = Instant::now();
        let outcome = (target.run)(&text);
        println!("{outcome}\n({} ms)", began.elapsed().as_millis());
        return ExitCode::SUCCESS;
    }
    let site = match engine::execute(target.run, &input) {
        Ok(_) => {
            eprintln!("fuzz: {} does not crash {name}", file.display());
            return ExitCode::FAILURE;
        }
        Err((site, _)) => site,
    };
    let small = engine::minimise(target.run, &input, &site);
    let dest = file.with_extension("min");
    if let Err(e) = std::fs::write(&dest, &small) {
        eprintln!("fuzz: {}: {e}", dest.display());
        return ExitCode::FAILURE;
    }
    println!(
        "{} bytes -> {} bytes, panics at {site}: {}\n{}",
        input.len(),
        small.len(),
        dest.display(),
        String::from_utf8_lossy(&small)
    );
    ExitCode::SUCCESS
}
