//! CloudTrail in every form a team holds it, read as a stream: S3 log files
//! (plain and gzipped), `lookup-events` output, JSON Lines; and bad input:
//! gzip bombs, cut files, bytes that are not UTF-8.

use roleguard::check::{check_records, CheckResult};
use roleguard::records::{self, Counts, Form};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn roleguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(args)
        .current_dir(super::root())
        .env("NO_COLOR", "1")
        .output()
        .expect("run roleguard")
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("roleguard-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The sample events' records (their `detail`), in file order.
fn sample_records() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(super::root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            v["detail"].clone()
        })
        .collect()
}

fn check_json(args: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut all = vec!["check", "--format", "json", "--own-role", super::OWN_ROLE];
    all.extend_from_slice(args);
    let o = roleguard(&all);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    (o.status.code(), v["results"].as_array().unwrap().clone())
}

fn counts_of(results: &[Value], path: &str) -> Value {
    results
        .iter()
        .find(|r| r["path"] == path && r.get("records").is_some())
        .unwrap_or_else(|| panic!("no counts for {path}: {results:?}"))["records"]
        .clone()
}

fn error_of(results: &[Value], path: &str) -> String {
    results
        .iter()
        .find(|r| r["path"] == path && !r["error"].is_null())
        .unwrap_or_else(|| panic!("no error for {path}: {results:?}"))["error"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A gzipped log of a few records, then 64 MiB of blanks: a gzip bomb of a
/// few hundred kilobytes. With a 1 MiB limit it stops there, the file named
/// and the records before counted; with room enough it reads to the end.
#[test]
fn a_gzip_bomb_stops_at_the_limit() {
    let dir = temp_dir("bomb");
    let mut text =
        br#"{"Records":[{"eventSource":"s3.amazonaws.com","eventName":"GetObject"},"#.to_vec();
    text.extend(std::iter::repeat_n(b' ', 64 << 20));
    text.extend_from_slice(br#"{"eventSource":"s3.amazonaws.com","eventName":"PutObject"}]}"#);
    let bomb = gzip(&text);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let f = dir.join("bomb.json.gz");
    std::fs::write(&f, &bomb).unwrap();
    let path = f.to_str().unwrap();
    let (code, results) = check_json(&["--max-uncompressed", "1MiB", path]);
    assert_eq!(code, Some(2));
    let e = error_of(&results, path);
    assert!(
        e.starts_with(&format!(
            "{path}: the gzip stream inflates past the --max-uncompressed limit of 1048576 bytes"
        )),
        "{e}"
    );
    assert!(e.contains("byte 1048576"), "{e}");
    assert_eq!(counts_of(&results, path)["records"], 1);
    let (code, results) = check_json(&["--max-uncompressed", "65MiB", path]);
    assert_eq!(code, Some(0), "{results:?}");
    assert_eq!(counts_of(&results, path)["other_services"], 2);
    let bad = roleguard(&["check", "--max-uncompressed", "lots", path]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("a size is bytes"));
    std::fs::remove_dir_all(dir).ok();
}

/// A log cut short, gzipped or plain: the file and the byte offset of the
/// uncompressed stream are named, and the records before the break are
/// judged and counted.
#[test]
fn cut_files_name_the_offset_and_keep_what_came_before() {
    let dir = temp_dir("cut");
    let records = sample_records();
    let text = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    // Cut in the middle of the 20th record.
    let start = {
        let mut starts = vec![];
        records::read(&text[..], Form::Records, |raw| starts.push(raw.start)).unwrap();
        starts[19] as usize
    };
    let cut = &text[..start + 30];
    let plain = dir.join("cut.json");
    std::fs::write(&plain, cut).unwrap();
    let gz = gzip(&text);
    let gz_file = dir.join("cut.json.gz");
    std::fs::write(&gz_file, &gz[..gz.len() * 3 / 5]).unwrap();
    let (code, results) = check_json(&[plain.to_str().unwrap(), gz_file.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    let p = plain.to_str().unwrap();
    assert_eq!(
        error_of(&results, p),
        format!(
            "{p}: cut short at byte {} of the uncompressed stream, inside Records[19] (which starts at byte {start})",
            start + 30
        )
    );
    let counts = counts_of(&results, p);
    assert_eq!(counts["records"], 19);
    assert!(
        results
            .iter()
            .any(|r| r["path"] == format!("{p}#Records[0]")
                && !r["findings"].as_array().unwrap().is_empty()),
        "the records before the break are judged: {results:?}"
    );
    let g = gz_file.to_str().unwrap();
    let e = error_of(&results, g);
    assert!(
        e.starts_with(&format!("{g}: cut short after byte "))
            && e.contains("of the uncompressed stream"),
        "{e}"
    );
    let offset: u64 = e
        .trim_start_matches(&format!("{g}: cut short after byte "))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The records wholly inside the inflated bytes were all read.
    let mut whole = 0;
    let _ = records::read(&text[..offset as usize], Form::Records, |_| whole += 1);
    assert!(whole > 0);
    assert_eq!(counts_of(&results, g)["records"], whole);
    std::fs::remove_dir_all(dir).ok();
}

/// Cut at every few bytes, a log never panics; the records counted are
/// exactly those wholly before the cut, and a cut is an error (a cut at a
/// record's end cannot look like the end of the log).
#[test]
fn every_cut_counts_the_records_before_it() {
    let config = super::config();
    let text = serde_json::to_vec(&json!({ "Records": sample_records() })).unwrap();
    let mut ends = vec![];
    records::read(&text[..], Form::Records, |raw| {
        ends.push(raw.start as usize + raw.bytes.len())
    })
    .unwrap();
    for cut in (0..text.len()).step_by(37) {
        let results = check_records("t.json", &text[..cut], Form::Records, &config);
        let counts = counts(&results);
        assert_eq!(
            counts.records,
            ends.iter().filter(|&&e| e <= cut).count() as u64,
            "cut at {cut}"
        );
        let last = results.last().unwrap();
        assert!(
            last.error
                .as_deref()
                .is_some_and(|e| e.starts_with("t.json: ")),
            "cut at {cut}: {last:?}"
        );
    }
    let whole = check_records("t.json", &text[..], Form::Records, &config);
    assert!(whole.iter().all(|r| r.error.is_none()));
}

fn counts(results: &[CheckResult]) -> Counts {
    results.iter().find_map(|r| r.records).unwrap()
}

/// Bytes that are not UTF-8: in a document, an error naming the file; in a
/// record of a stream, an error naming the file and the record, the others
/// judged.
#[test]
fn bytes_that_are_not_utf8_name_the_file() {
    let dir = temp_dir("utf8");
    let mut text = serde_json::to_vec(&json!({ "Records": [
        {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "userAgent": "AGENT"},
        {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"},
    ]}))
    .unwrap();
    let at = text.windows(5).position(|w| w == b"AGENT").unwrap();
    text[at] = 0xff;
    let f = dir.join("bad.json");
    std::fs::write(&f, &text).unwrap();
    let lines = dir.join("bad.jsonl");
    std::fs::write(
        &lines,
        b"{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"G\xc3\"}\n{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\"}\n",
    )
    .unwrap();
    let (code, results) = check_json(&[f.to_str().unwrap(), lines.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    let p = f.to_str().unwrap();
    let e = error_of(&results, &format!("{p}#Records[0]"));
    assert!(
        e.starts_with("not UTF-8 text (invalid byte at offset "),
        "{e}"
    );
    assert_eq!(counts_of(&results, p)["errors"], 1);
    assert_eq!(counts_of(&results, p)["other_services"], 1);
    let l = lines.to_str().unwrap();
    assert!(error_of(&results, &format!("{l}:line 1")).starts_with("not UTF-8 text"));
    assert_eq!(counts_of(&results, l)["other_services"], 1);
    std::fs::remove_dir_all(dir).ok();
}

/// A directory gives its *.json, *.json.gz, *.jsonl and *.ndjson files; a
/// one-line record stays a single event, as before.
#[test]
fn directories_give_every_form() {
    let dir = temp_dir("walk");
    let records = sample_records();
    let doc = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    std::fs::write(dir.join("a.json.gz"), gzip(&doc)).unwrap();
    let lines: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("b.jsonl"), &lines).unwrap();
    std::fs::write(dir.join("c.ndjson"), &lines).unwrap();
    std::fs::write(dir.join("d.txt"), &lines).unwrap();
    std::fs::write(dir.join("e.json"), format!("{}\n", records[0])).unwrap();
    let (_, results) = check_json(&[dir.to_str().unwrap()]);
    let mut summarised: Vec<String> = results
        .iter()
        .filter(|r| r.get("records").is_some())
        .map(|r| {
            Path::new(r["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    summarised.sort();
    assert_eq!(summarised, ["a.json.gz", "b.jsonl", "c.ndjson"]);
    let single = dir.join("e.json");
    let e = results
        .iter()
        .find(|r| r["path"] == single.to_str().unwrap())
        .unwrap();
    assert_eq!(e["kind"], "event");
    assert!(!e["findings"].as_array().unwrap().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

/// Standard input takes the forms too, gzipped or not.
#[test]
fn standard_input_streams() {
    let doc = serde_json::to_vec(&json!({ "Records": sample_records() })).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_roleguard"))
        .args(["check", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let gz = gzip(&doc);
    let writer = std::thread::spawn(move || stdin.write_all(&gz).unwrap());
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(counts_of(results, "-")["records"], sample_records().len());
    assert!(results.iter().any(|r| r["path"] == "-#Records[0]"));
}
