//! `roleguard`: judge IAM policies and CloudTrail events offline.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use roleguard::check::{self, CheckResult, Kind};
use roleguard::config::Config;
use roleguard::lambda::InvocationError;
use roleguard::report;
use roleguard::rules::{self, Severity};
use roleguard::scan_report;
use roleguard::wiring::{self, ConfigFrom};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "roleguard",
    version,
    about = "Guards AWS IAM roles: least-privilege rules for trust and permission policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Auto,
    Permissions,
    Trust,
    Event,
    Template,
    /// Roles as a whole: `aws iam get-account-authorization-details` output.
    Roles,
}

#[derive(Subcommand)]
enum Command {
    /// Judge permission policies, trust policies and CloudTrail events.
    ///
    /// Exit status: 0 when nothing is at or above --fail-on, 1 when something
    /// is, 2 when an input could not be read or understood.
    Check(CheckArgs),
    /// Handle one EventBridge event with the Lambda's own handler: judge it and
    /// carry out the plan against the AWS endpoint the environment names
    /// (AWS_ENDPOINT_URL, standard credentials), then print the outcome JSON.
    /// A change in another account is made through its remediation role
    /// (ROLEGUARD_REMEDIATION_ROLE, ROLEGUARD_EXTERNAL_ID), and the audit
    /// table is ROLEGUARD_TABLE's, as in the Lambda.
    ///
    /// Exit status: 0 when every step succeeded or there was nothing to do,
    /// 1 when a step failed, 2 when the event or configuration is bad.
    Handle(HandleArgs),
    /// Judge every role of an account as it stands (trust policy, attached and
    /// inline policies, boundary, settings), against the AWS endpoint the
    /// environment names. Reports by default; with --remediate, carries out
    /// each non-compliant role's plan. With ROLEGUARD_TABLE, roles that need no
    /// revert are recorded as their baseline.
    ///
    /// Exit status: 0 when nothing is at or above --fail-on, 1 when something
    /// is or a step failed, 2 when the account could not be read.
    Scan(ScanArgs),
    /// What roleguard would have done over a history of CloudTrail: each IAM
    /// change judged by the Lambda's own decision, nothing changed (a dry
    /// run), counted per rule, response, actor and account with the first
    /// examples of each.
    ///
    /// Inputs: CloudTrail log files as delivered to S3 (plain or gzipped),
    /// `aws cloudtrail lookup-events` output, JSON Lines of records or
    /// EventBridge events, single events; directories are walked.
    ///
    /// Exit status: 0 when every input was read, 2 when an input or a
    /// record could not be (what was read is still reported).
    Replay(ReplayArgs),
    /// Render scan results for people: one self-contained HTML page
    /// (accounts × severity, every finding with its advice and what roleguard
    /// did, filters), CSV, or Markdown for tickets.
    ///
    /// Inputs: `roleguard scan --format json` output, a JSON array of such
    /// results, the scheduled scan's reply (`{"verdict": "scanned", ...}`),
    /// or JSON Lines of them (stored results). When they hold several scans
    /// (`scan_id`), the report covers the latest.
    ///
    /// Exit status: 0 when the report was written, 2 when an input could
    /// not be read or is not scan results.
    Report(ReportArgs),
    /// List the rules.
    Rules {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Explain one rule.
    Explain {
        /// Rule id, e.g. trust-any-principal.
        rule: String,
    },
}

#[derive(Args)]
struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Configuration file (YAML); the embedded default otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Lowest severity that fails the check.
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    fail_on: Severity,
    /// What the inputs are.
    #[arg(long, value_enum, default_value = "auto")]
    kind: KindArg,
    /// The account that owns the policies (for the cross-account rules).
    #[arg(long, value_parser = parse_account)]
    account: Option<String>,
    /// roleguard's own role, by ARN (repeatable; added to own_roles):
    /// events it made are skipped, changes to it are tampering.
    #[arg(long = "own-role", value_name = "ROLE_ARN", value_parser = parse_role_arn)]
    own_role: Vec<String>,
    /// The most bytes a gzipped input may inflate to (a gzip bomb stops
    /// there): bytes, or with KiB, MiB, GiB (KB, MB, GB: powers of 1000).
    #[arg(long, value_name = "SIZE", default_value = MAX_UNCOMPRESSED, value_parser = parse_size)]
    max_uncompressed: u64,
    /// Files, directories (their *.json, *.json.gz, *.jsonl and *.ndjson
    /// files, recursively), or - for standard input. CloudTrail log files
    /// (`{"Records": [...]}`, plain or gzipped), `aws cloudtrail
    /// lookup-events` output and JSON Lines of records are read as streams,
    /// a result per IAM change with findings and one with the counts.
    /// CloudFormation and SAM templates (*.yaml, *.yml, *.template, or JSON
    /// with `Resources`) give a result per IAM part.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
struct ReplayArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReplayFormat,
    /// Configuration file (YAML); the embedded default otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// roleguard's own role, by ARN (repeatable; added to own_roles): its
    /// changes are left alone, as the Lambda leaves them.
    #[arg(long = "own-role", value_name = "ROLE_ARN", value_parser = parse_role_arn)]
    own_role: Vec<String>,
    /// How many examples each count shows.
    #[arg(long, default_value_t = roleguard::replay::EXAMPLES)]
    examples: usize,
    /// The most bytes a gzipped input may inflate to (a gzip bomb stops there).
    #[arg(long, value_name = "SIZE", default_value = MAX_UNCOMPRESSED, value_parser = parse_size)]
    max_uncompressed: u64,
    /// Files, directories (their *.json, *.json.gz, *.jsonl and *.ndjson
    /// files, recursively), or - for standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "html")]
    format: ReportFormat,
    /// Write the report to this file; standard output otherwise.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The latest scan stored in this audit table (DynamoDB; the stack's
    /// AuditTableName output), instead of files.
    #[arg(long, value_name = "TABLE", conflicts_with = "inputs")]
    table: Option<String>,
    /// Result files (plain or gzipped), or - for standard input.
    #[arg(required_unless_present = "table", value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Html,
    Csv,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReplayFormat {
    Text,
    Json,
}

#[derive(Args)]
struct HandleArgs {
    /// Compute and report the plan, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Configuration file (YAML); the embedded default otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The event (EventBridge JSON), or - for standard input.
    event: PathBuf,
}

#[derive(Args)]
struct ScanArgs {
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Configuration file (YAML); the embedded default otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Lowest severity that fails the scan.
    #[arg(long, default_value = "high", value_parser = parse_severity)]
    fail_on: Severity,
    /// Carry out the plans (reverts, tags), not only report them.
    #[arg(long)]
    remediate: bool,
    /// With --remediate: say what would be done, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// The account to scan (through ROLEGUARD_REMEDIATION_ROLE when it is
    /// not the caller's); the caller's own by default.
    #[arg(long, value_parser = parse_account)]
    account: Option<String>,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// `4GiB`, `500MB`, `1048576`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let unit_bytes: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "{s:?}: a size is bytes, or a number with KiB, MiB, GiB, TiB, KB, MB or GB"
            ))
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_bytes))
        .ok_or_else(|| format!("{s:?} is not a size in bytes"))
}

fn parse_role_arn(s: &str) -> Result<String, String> {
    roleguard::config::role_of_arn(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("{s:?} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)"))
}

fn parse_account(s: &str) -> Result<String, String> {
    if roleguard::policy::is_account_id(s) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a 12-digit account id"))
    }
}

/// The configuration file, or the embedded default; a bad one is reported
/// and ends the command with status 2.
/// The async runtime for the commands that call AWS.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("roleguard: cannot start the async runtime: {e}");
            ExitCode::from(2)
        })
}

fn load_config(path: Option<&Path>) -> Result<Config, ExitCode> {
    path.map_or_else(|| Ok(Config::default()), wiring::load_config)
        .map_err(|e| {
            eprintln!("roleguard: {e}");
            ExitCode::from(2)
        })
}

/// For the commands that act as the Lambda does (`handle`, `scan`): the
/// configuration plus the deployment's environment settings.
fn load_config_env(path: Option<&Path>) -> Result<Config, ExitCode> {
    let mut config = load_config(path)?;
    match config.apply_env(|k| std::env::var(k).ok()) {
        Ok(()) => Ok(config),
        Err(e) => {
            eprintln!("roleguard: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// The files a directory gives: JSON documents, CloudTrail log files as
/// delivered to S3 (`*.json.gz`), JSON Lines exports.
fn is_input_name(p: &Path) -> bool {
    const ENDINGS: &[&str] = &[
        ".json",
        ".json.gz",
        ".jsonl",
        ".jsonl.gz",
        ".ndjson",
        ".ndjson.gz",
        ".yaml",
        ".yml",
    ];
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    ENDINGS.iter().any(|e| name.ends_with(e))
}

/// Expand directories into their input files, sorted, recursively.
fn inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            out.push(dir.to_path_buf());
            return;
        };
        // The entry's own type (no stat per file) unless it is a link; one
        // directory's entries sort by name as their paths would.
        let mut entries: Vec<(std::ffi::OsString, PathBuf, bool)> = entries
            .filter_map(Result::ok)
            .map(|e| {
                let path = e.path();
                let dir = match e.file_type() {
                    Ok(t) if !t.is_symlink() => t.is_dir(),
                    _ => path.is_dir(),
                };
                (e.file_name(), path, dir)
            })
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (_, p, dir) in entries {
            if dir {
                walk(&p, out);
            } else if is_input_name(&p) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// The default of `--max-uncompressed`.
const MAX_UNCOMPRESSED: &str = "4GiB";

/// An input opened for reading: its name as shown and its bytes, a gzip
/// stream (found by its magic bytes, whatever the name) undone and held to
/// `max_uncompressed` bytes.
fn open(path: &Path, max_uncompressed: u64) -> Result<(String, Box<dyn BufRead>), String> {
    let (shown, raw): (String, Box<dyn Read>) = if path == Path::new("-") {
        ("standard input".into(), Box::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        (path.display().to_string(), Box::new(f))
    };
    let mut raw = std::io::BufReader::with_capacity(STREAM_BUFFER, raw);
    // Two bytes, however the input hands them out (a pipe may give one).
    let mut magic = Vec::with_capacity(2);
    (&mut raw)
        .take(2)
        .read_to_end(&mut magic)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let gzip = magic == [0x1f, 0x8b];
    let raw = std::io::Cursor::new(magic).chain(raw);
    let reader: Box<dyn BufRead> = if gzip {
        let inflated = flate2::bufread::MultiGzDecoder::new(raw);
        Box::new(std::io::BufReader::with_capacity(
            STREAM_BUFFER,
            Limited {
                inner: inflated,
                read: 0,
                max: max_uncompressed,
            },
        ))
    } else {
        Box::new(raw)
    };
    Ok((shown, reader))
}

/// Buffers of streamed input.
const STREAM_BUFFER: usize = 256 * 1024;

/// A decompressed stream held to a size: past it, an error (a gzip bomb
/// stops there, its size never reached).
struct Limited<R> {
    inner: R,
    read: u64,
    max: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = self.max.saturating_sub(self.read).saturating_add(1);
        let take = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(buf.get_mut(..take).unwrap_or_default())?;
        self.read += n as u64;
        if self.read > self.max {
            return Err(std::io::Error::other(format!(
                "the gzip stream inflates past the --max-uncompressed limit of {} bytes (a gzip bomb?); stopped there",
                self.max
            )));
        }
        Ok(n)
    }
}

/// The first bytes of a stream, read ahead to tell its form, then the rest;
/// an error met while reading ahead comes after the bytes read before it.
struct Peeked<R> {
    head: std::io::Cursor<Vec<u8>>,
    error: Option<std::io::Error>,
    rest: R,
}

fn peek<R: BufRead>(mut reader: R, n: usize) -> Peeked<R> {
    let mut head = Vec::new();
    let mut error = None;
    while head.len() < n {
        let buf = match reader.fill_buf() {
            Ok([]) => break,
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let take = buf.len().min(n - head.len());
        head.extend_from_slice(buf.get(..take).unwrap_or_default());
        reader.consume(take);
    }
    Peeked {
        head: std::io::Cursor::new(head),
        error,
        rest: reader,
    }
}

impl<R: BufRead> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let src = self.fill_buf()?;
        let n = src.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Peeked<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if (self.head.position() as usize) < self.head.get_ref().len() {
            return self.head.fill_buf();
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.rest.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if (self.head.position() as usize) < self.head.get_ref().len() {
            self.head.consume(n);
        } else {
            self.rest.consume(n);
        }
    }
}

/// One input, opened and its form told: a stream of CloudTrail records, or
/// a single document's text.
enum Input {
    Records(roleguard::records::Form, Peeked<Box<dyn BufRead>>),
    Document(String),
}

/// Open an input and tell its form (when `records` allows streams), or read
/// it whole as one document (bounded: see [`read_text`]).
fn open_input(
    path: &Path,
    bundle: bool,
    records: bool,
    max_uncompressed: u64,
) -> Result<(String, Input), String> {
    let (shown, reader) = open(path, max_uncompressed)?;
    let peeked = peek(reader, roleguard::records::SNIFF_BYTES);
    let form = records
        .then(|| roleguard::records::sniff(peeked.head.get_ref()))
        .flatten();
    let input = match form {
        Some(form) => Input::Records(form, peeked),
        None => Input::Document(read_text(&shown, peeked, bundle)?),
    };
    Ok((shown, input))
}

/// One document's text, bounded: a document is never larger than the
/// largest input roleguard accepts.
fn read(path: &Path, bundle: bool) -> Result<String, String> {
    match open_input(path, bundle, false, u64::MAX)? {
        (_, Input::Document(text)) => Ok(text),
        (shown, Input::Records(..)) => Err(format!("{shown}: expected one document")),
    }
}

fn read_text(shown: &str, reader: impl Read, bundle: bool) -> Result<String, String> {
    // Larger than any input roleguard accepts: said without reading further.
    // Bounded however the input is made (a pipe, /dev/zero, a FIFO), never
    // trusting the size the file system reports. Role bundles
    // (`--kind roles`) may be larger than any one document.
    let limit = if bundle {
        roleguard::principal::MAX_BUNDLE_BYTES
    } else {
        roleguard::policy::MAX_DOCUMENT_BYTES
            .max(roleguard::event::MAX_EVENT_BYTES)
            .max(roleguard::template::MAX_TEMPLATE_BYTES)
    } as u64;
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{shown} is over the {limit}-byte input limit (the largest input roleguard reads); nothing was judged"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{shown} is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Write to standard output; `styled` text loses its colours when standard
/// output is not a terminal (or NO_COLOR is set).
fn print_json<T: serde::Serialize>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(text) => print(&(text + "\n"), false),
        Err(e) => eprintln!("roleguard: the output could not be written as JSON: {e}"),
    }
}

fn print(s: &str, styled: bool) {
    // A closed pipe (`| head`) is not an error worth a panic.
    if styled {
        let mut out = anstream::stdout();
        let _ = out.write_all(s.as_bytes());
        let _ = out.flush();
    } else {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(s.as_bytes());
        let _ = out.flush();
    }
}

fn main() -> ExitCode {
    roleguard::process::no_huge_pages();
    match Cli::parse().command {
        Command::Check(args) => check_command(args),
        Command::Handle(args) => handle_command(args),
        Command::Scan(args) => scan_command(args),
        Command::Replay(args) => replay_command(args),
        Command::Report(args) => report_command(args),
        Command::Rules { format } => rules_command(format),
        Command::Explain { rule } => explain_command(&rule),
    }
}

/// `roleguard check`.
fn check_command(args: CheckArgs) -> ExitCode {
    let CheckArgs {
        format,
        config,
        fail_on,
        kind,
        account,
        own_role,
        max_uncompressed,
        paths,
    } = args;
    let mut config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    config.own_roles.extend(own_role);
    let kind = match kind {
        KindArg::Auto => None,
        KindArg::Permissions => Some(Kind::Permissions),
        KindArg::Trust => Some(Kind::Trust),
        KindArg::Event => Some(Kind::Event),
        KindArg::Template => Some(Kind::Template),
        KindArg::Roles => Some(Kind::Role),
    };
    let files = inputs(&paths);
    let streams = matches!(kind, None | Some(Kind::Event));
    let check_one = |p: &PathBuf| {
        let shown = p.display().to_string();
        match open_input(p, kind == Some(Kind::Role), streams, max_uncompressed) {
            Ok((_, Input::Records(form, reader))) => {
                check::check_records(&shown, reader, form, &config)
            }
            Ok((_, Input::Document(text))) => {
                let mut results =
                    check::check_input(&shown, &text, kind, &config, account.as_deref());
                if matches!(format, Format::Sarif) {
                    check::add_statement_lines(&mut results, &text);
                }
                results
            }
            Err(e) => vec![CheckResult::failed(&shown, None, e)],
        }
    };
    // Inputs are independent: the cores take small batches in turn (a few
    // policies are far larger than the rest), and the order is kept.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    // JSON output is serialised by the workers too, result by result.
    let in_parts = matches!(format, Format::Json);
    let mut parts: Vec<String> = Vec::new();
    let results: Vec<CheckResult> = if files.len() < 64 || workers == 1 {
        files.iter().flat_map(check_one).collect()
    } else {
        const BATCH: usize = 16;
        let next = std::sync::atomic::AtomicUsize::new(0);
        // Batches shrink as the work runs out (a quarter of each
        // worker's share of what is left, 1 to 16 inputs), so that
        // no core is left waiting on the other's last large batch.
        let claim = || -> Option<(usize, usize)> {
            use std::sync::atomic::Ordering::Relaxed;
            let mut start = next.load(Relaxed);
            loop {
                if start >= files.len() {
                    return None;
                }
                let size = ((files.len() - start) / (workers * 4)).clamp(1, BATCH);
                match next.compare_exchange_weak(start, start + size, Relaxed, Relaxed) {
                    Ok(_) => return Some((start, start + size)),
                    Err(now) => start = now,
                }
            }
        };
        let mut batches: Vec<(usize, Vec<CheckResult>, Vec<String>)> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut done = Vec::new();
                            while let Some((start, end)) = claim() {
                                let batch: Vec<CheckResult> = files
                                    .get(start..end)
                                    .unwrap_or_default()
                                    .iter()
                                    .flat_map(check_one)
                                    .collect();
                                let json: Vec<String> = if in_parts {
                                    batch.iter().map(report::json_result).collect()
                                } else {
                                    vec![]
                                };
                                done.push((start, batch, json));
                            }
                            done
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    // A worker that panicked passes its panic on, unchanged.
                    .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
        batches.sort_by_key(|(start, ..)| *start);
        let mut results = Vec::with_capacity(files.len());
        for (_, r, json) in batches {
            results.extend(r);
            parts.extend(json);
        }
        results
    };
    match format {
        Format::Text => print(&report::text(&results), true),
        Format::Json if parts.len() == results.len() && !results.is_empty() => {
            print(&report::json_join(&parts), false)
        }
        Format::Json => print(&report::json(&results), false),
        Format::Sarif => print(&report::sarif(&results), false),
    }
    if results.iter().any(|r| r.error.is_some()) {
        ExitCode::from(2)
    } else if results
        .iter()
        .any(|r| r.max_severity().is_some_and(|s| s >= fail_on))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `roleguard handle`: exactly the Lambda's handler, on the environment's AWS endpoint.
fn handle_command(args: HandleArgs) -> ExitCode {
    let HandleArgs {
        dry_run,
        config,
        event,
    } = args;
    let config = match load_config_env(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let payload = match read(&event, false).and_then(|t| {
        serde_json::from_str::<serde_json::Value>(&t)
            .map_err(|e| format!("{}: not JSON: {e}", event.display()))
    }) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("roleguard: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mode = roleguard::engine::Mode::dry_run_if(dry_run);
    let reply = runtime.block_on(async {
        let shell = wiring::from_env(ConfigFrom::Given(Box::new(config)))
            .await
            .map_err(InvocationError::Setup)?;
        roleguard::lambda::handle_payload(&shell.engine(mode), &shell.accounts, payload).await
    });
    match reply {
        Ok(r) => {
            print_json(&r);
            ExitCode::SUCCESS
        }
        Err(InvocationError::StepsFailed { outcome, .. }) => {
            print_json(&outcome);
            eprintln!("roleguard: some steps failed");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("roleguard: {e}");
            ExitCode::from(2)
        }
    }
}

/// `roleguard scan`.
fn scan_command(args: ScanArgs) -> ExitCode {
    let ScanArgs {
        format,
        config,
        fail_on,
        remediate,
        dry_run,
        account,
    } = args;
    let config = match load_config_env(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mode = roleguard::engine::Mode::dry_run_if(dry_run);
    let outcome = runtime.block_on(async {
        let shell = wiring::from_env(ConfigFrom::Given(Box::new(config)))
            .await
            .map_err(InvocationError::Setup)?;
        roleguard::lambda::scan_with(
            &shell.engine(mode),
            &shell.accounts,
            account.as_deref(),
            remediate,
        )
        .await
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("roleguard: {e}");
            return ExitCode::from(2);
        }
    };
    let results: Vec<CheckResult> = outcome.results.iter().map(|r| r.result.clone()).collect();
    match format {
        Format::Text => print(
            &format!(
                "{}account {}: {} roles, {} IAM read requests, {} baselines recorded\n",
                report::text(&results),
                outcome.account,
                outcome.roles,
                outcome.read_requests,
                outcome.baselines_recorded
            ),
            true,
        ),
        Format::Json => print_json(&outcome),
        Format::Sarif => print(&report::sarif(&results), false),
    }
    if !outcome.ok
        || results
            .iter()
            .any(|r| r.max_severity().is_some_and(|s| s >= fail_on))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `roleguard replay`.
fn replay_command(args: ReplayArgs) -> ExitCode {
    let ReplayArgs {
        format,
        config,
        own_role,
        examples,
        max_uncompressed,
        paths,
    } = args;
    let mut config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    config.own_roles.extend(own_role);
    let mut replay = roleguard::replay::Replay::new(examples);
    let mut progress = Progress::new();
    for p in inputs(&paths) {
        let shown = p.display().to_string();
        match open_input(&p, false, true, max_uncompressed) {
            Ok((_, Input::Records(form, reader))) => {
                replay.stream(&shown, reader, form, &config, &mut |at, counts| {
                    progress.show(&shown, at, counts)
                })
            }
            Ok((_, Input::Document(text))) => replay.document(&shown, &text, &config),
            Err(e) => replay.finish_input(&shown, None, Default::default(), Some(e)),
        }
    }
    progress.clear();
    match format {
        ReplayFormat::Text => print(&replay.text(), false),
        ReplayFormat::Json => print_json(&replay),
    }
    if replay.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// `roleguard report`.
fn report_command(args: ReportArgs) -> ExitCode {
    let ReportArgs {
        format,
        output,
        table,
        inputs,
    } = args;
    let read = match &table {
        Some(table) => read_stored_scan(table),
        None => read_scan_results(&inputs),
    };
    let accounts = match read {
        Ok(a) => a,
        Err(e) => {
            eprintln!("roleguard: {e}");
            return ExitCode::from(2);
        }
    };
    let report = scan_report::Report::from_accounts(accounts);
    let text = match format {
        ReportFormat::Html => scan_report::html(&report),
        ReportFormat::Csv => scan_report::csv(&report),
        ReportFormat::Markdown => scan_report::markdown(&report),
    };
    match output {
        Some(path) => match std::fs::write(&path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("roleguard: cannot write {}: {e}", path.display());
                ExitCode::from(2)
            }
        },
        None => {
            print(&text, false);
            ExitCode::SUCCESS
        }
    }
}

/// The latest scan stored in the audit table: every account of it, with
/// its result or why it has none.
fn read_stored_scan(table: &str) -> Result<Vec<scan_report::AccountScan>, String> {
    use roleguard::ports::Store as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let sdk = roleguard::adapters::sdk_config().await;
        let store = roleguard::adapters::dynamodb::DynamoStore::new(&sdk, Some(table.to_string()));
        match store.latest_scan().await.map_err(|e| e.to_string())? {
            Some((index, results)) => scan_report::from_index(&index, results),
            None => Err(format!("audit table {table}: no scan is stored yet")),
        }
    })
}

/// The account results in result files (or standard input), in order.
fn read_scan_results(paths: &[PathBuf]) -> Result<Vec<scan_report::AccountScan>, String> {
    let mut accounts = Vec::new();
    for p in paths {
        let (shown, mut reader) = open(p, parse_size(MAX_UNCOMPRESSED)?)?;
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                format!("{shown} is not UTF-8 text")
            } else {
                format!("cannot read {shown}: {e}")
            }
        })?;
        accounts.extend(scan_report::parse(&shown, &text).map_err(|e| e.to_string())?);
    }
    Ok(accounts)
}

/// A progress line on standard error for long replays, only when it is a
/// terminal: shown after the first second, redrawn at most 4 times a second.
struct Progress {
    terminal: bool,
    start: std::time::Instant,
    last: Option<std::time::Instant>,
}

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        Progress {
            terminal: std::io::stderr().is_terminal(),
            start: std::time::Instant::now(),
            last: None,
        }
    }

    fn show(&mut self, path: &str, at: u64, counts: &roleguard::records::Counts) {
        if !self.terminal || self.start.elapsed().as_secs() < 1 {
            return;
        }
        let now = std::time::Instant::now();
        if self
            .last
            .is_some_and(|l| now - l < std::time::Duration::from_millis(250))
        {
            return;
        }
        self.last = Some(now);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[Kroleguard replay: {path}: {} MB, {} records, {} IAM changes judged",
            at / 1_000_000,
            counts.records,
            counts.judged
        );
        let _ = err.flush();
    }

    fn clear(&self) {
        if self.last.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// `roleguard rules`.
fn rules_command(format: Format) -> ExitCode {
    match format {
        Format::Json => print(
            &(serde_json::to_string_pretty(rules::RULES)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                + "\n"),
            false,
        ),
        // A SARIF log with the rules and no results: the tool's description.
        Format::Sarif => print(&report::sarif(&[]), false),
        Format::Text => {
            let mut s = String::new();
            for r in rules::RULES {
                s += &format!("{:<36} {:<9} {}\n", r.id, r.severity.as_str(), r.title);
            }
            print(&s, false);
        }
    }
    ExitCode::SUCCESS
}

/// `roleguard explain RULE`.
fn explain_command(rule: &str) -> ExitCode {
    match rules::rule(rule) {
        Some(r) => {
            let mut s = format!(
                "{}: {}\nseverity: {}   judges: {}   default action: {}\n\n{}\n\nRemediation: {}\n",
                r.id,
                r.title,
                r.severity,
                r.target.describe(),
                r.response.as_str(),
                r.rationale,
                r.remediation
            );
            if r.id == rules::RuleId::PermPrivilegeEscalation {
                s += "\nEscalation paths:\n";
                for p in rules::escalation::PATHS {
                    s += &format!(
                        "  {:<42} {:<8} {}\n      {}\n",
                        p.id,
                        p.severity.as_str(),
                        p.actions.join(" + "),
                        p.how
                    );
                }
            }
            s += "\nReferences:\n";
            for u in r.references {
                s += &format!("  {u}\n");
            }
            print(&s, false);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("roleguard: no rule {rule:?}; `roleguard rules` lists them");
            ExitCode::from(2)
        }
    }
}
