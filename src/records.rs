//! CloudTrail records in the forms a team holds them, read as a stream.
//!
//! - a log file as CloudTrail delivers it to S3: `{"Records": [record, ...]}`
//!   (the shell undoes the gzip);
//! - the output of `aws cloudtrail lookup-events`: `{"Events": [{"EventId":
//!   ..., "CloudTrailEvent": "<the record as a JSON string>"}, ...]}`;
//! - JSON Lines, one record (bare or in its EventBridge envelope) per line,
//!   as CloudTrail Lake and Athena export them.
//!
//! [`sniff`] tells the form from the first bytes; [`read`] hands each record
//! to a callback as soon as its last byte is read, so memory holds one record
//! at a time whatever the input's size: a small scanner finds where each
//! element of `Records` or `Events` ends (strings, escapes and nesting), and
//! only the element is parsed. [`judge`] then classifies a record cheaply
//! (its service, its error code: most records of a log are not IAM changes)
//! and judges an IAM change exactly as a single event is judged
//! ([`plan::assess`]). Pure: generic over [`BufRead`], no files.

use crate::config::Config;
use crate::event::{Event, EventError};
use crate::plan::{self, AssessError, Assessment};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead};

/// The largest record roleguard reads from a stream: CloudTrail's own
/// records stay under 256 KiB (it omits larger fields), and a
/// `lookup-events` element escapes its record, which can double it. A larger
/// element is skipped (still read through, so the stream stays in step) and
/// counted as an error.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// How many bytes [`sniff`] wants to see: enough for the first line of any
/// JSON Lines export and the first keys of any document.
pub const SNIFF_BYTES: usize = 1024 * 1024;

/// A form of CloudTrail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// `{"Records": [...]}`: a log file as CloudTrail delivers it to S3.
    Records,
    /// `{"Events": [{"CloudTrailEvent": "..."}]}`: `aws cloudtrail lookup-events`.
    LookupEvents,
    /// One record (bare or EventBridge envelope) per line.
    Lines,
}

impl Form {
    pub fn describe(self) -> &'static str {
        match self {
            Form::Records => "CloudTrail log file (Records)",
            Form::LookupEvents => "lookup-events output (Events)",
            Form::Lines => "JSON Lines",
        }
    }

    /// The top-level key holding the records, for the two document forms.
    fn key(self) -> &'static [u8] {
        match self {
            Form::Records => b"Records",
            Form::LookupEvents => b"Events",
            Form::Lines => b"",
        }
    }
}

/// Where a record is in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The element of `Records` (or `Events`) at this index, from 0.
    Element(Form, u64),
    /// The line, from 1.
    Line(u64),
}

impl Place {
    /// The record's name in the output: `trail.json.gz#Records[12]`,
    /// `history.json#Events[3]`, `export.jsonl:line 17`.
    pub fn label(&self, path: &str) -> String {
        match self {
            Place::Element(Form::LookupEvents, i) => format!("{path}#Events[{i}]"),
            Place::Element(_, i) => format!("{path}#Records[{i}]"),
            Place::Line(n) => format!("{path}:line {n}"),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Element(Form::LookupEvents, i) => write!(f, "Events[{i}]"),
            Place::Element(_, i) => write!(f, "Records[{i}]"),
            Place::Line(n) => write!(f, "line {n}"),
        }
    }
}

/// One record as read: where it is, the byte of the stream where it starts,
/// and its bytes (empty when it was over [`MAX_RECORD_BYTES`]).
#[derive(Debug)]
pub struct Raw<'a> {
    pub form: Form,
    pub place: Place,
    pub start: u64,
    pub bytes: &'a [u8],
    pub too_large: bool,
}

impl Raw<'_> {
    /// The CloudTrail record itself: a `lookup-events` element's
    /// `CloudTrailEvent` string; the bytes for the other forms.
    pub fn record(&self) -> Result<Cow<'_, [u8]>, String> {
        if self.too_large {
            return Err(format!(
                "the record is over the {MAX_RECORD_BYTES}-byte limit; skipped"
            ));
        }
        if self.form != Form::LookupEvents {
            return Ok(Cow::Borrowed(self.bytes));
        }
        #[derive(Deserialize)]
        struct Wrapped<'a> {
            #[serde(rename = "CloudTrailEvent", borrow, default)]
            event: Option<Cow<'a, str>>,
        }
        match serde_json::from_slice::<Wrapped>(self.bytes) {
            Ok(Wrapped { event: Some(e) }) => Ok(match e {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }),
            Ok(Wrapped { event: None }) => {
                Err("a lookup-events element without its CloudTrailEvent string".into())
            }
            Err(e) => Err(format!("not a lookup-events element: {e}")),
        }
    }
}

/// Why a stream could not be read to its end. Every record before the
/// break has been handed on.
#[derive(Debug)]
pub enum StreamError {
    /// The reader failed (a corrupt or cut gzip stream, a size limit).
    Io { offset: u64, error: io::Error },
    /// The input ends in the middle of the document.
    Truncated {
        offset: u64,
        /// The record it ends in, and the byte where that record starts.
        inside: Option<(Place, u64)>,
    },
    /// A byte that is not where the document's structure allows it.
    Syntax {
        offset: u64,
        expected: &'static str,
        found: u8,
    },
}

impl StreamError {
    /// The byte of the (uncompressed) stream where reading stopped.
    pub fn offset(&self) -> u64 {
        match self {
            StreamError::Io { offset, .. }
            | StreamError::Truncated { offset, .. }
            | StreamError::Syntax { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Io { offset, error } if error.kind() == io::ErrorKind::UnexpectedEof => {
                write!(
                    f,
                    "cut short after byte {offset} of the uncompressed stream ({error})"
                )
            }
            StreamError::Io { offset, error } => {
                write!(f, "{error} (at byte {offset} of the uncompressed stream)")
            }
            StreamError::Truncated {
                offset,
                inside: Some((place, start)),
            } => write!(
                f,
                "cut short at byte {offset} of the uncompressed stream, inside {place} (which starts at byte {start})"
            ),
            StreamError::Truncated {
                offset,
                inside: None,
            } => write!(
                f,
                "cut short at byte {offset} of the uncompressed stream"
            ),
            StreamError::Syntax {
                offset,
                expected,
                found,
            } => write!(
                f,
                "not a valid document at byte {offset}: expected {expected}, found {}",
                shown_byte(*found)
            ),
        }
    }
}

impl std::error::Error for StreamError {}

fn shown_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// The form of an input from its first bytes ([`SNIFF_BYTES`] of them, or
/// all of a shorter input), or `None` for a single document (a policy, a
/// template, one event). A document whose top-level object has a `Records`
/// (or `Events`) array among the keys in those bytes is that form; an input
/// whose first line is a whole CloudTrail record (bare or in its envelope)
/// with more after it is JSON Lines.
pub fn sniff(head: &[u8]) -> Option<Form> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = head.get(start..)?;
    if let Some(form) = top_level_array(text) {
        return Some(form);
    }
    let end = memchr::memchr(b'\n', text)?;
    let (first, rest) = (text.get(..end)?, text.get(end..)?);
    #[derive(Deserialize)]
    struct RecordKeys {
        #[serde(rename = "eventName")]
        name: Option<IgnoredAny>,
        detail: Option<IgnoredAny>,
    }
    let record = serde_json::from_slice::<RecordKeys>(first)
        .is_ok_and(|k| k.name.is_some() || k.detail.is_some());
    (record && rest.iter().any(|b| !b.is_ascii_whitespace())).then_some(Form::Lines)
}

/// Does the top-level object have a `Records` or `Events` array among the
/// keys that `text` holds?
fn top_level_array(text: &[u8]) -> Option<Form> {
    let mut input = Input::new(text);
    if input.skip_ws().ok()? != Some(b'{') {
        return None;
    }
    input.bump();
    loop {
        if input.skip_ws().ok()? != Some(b'"') {
            return None;
        }
        let key = input.key().ok()?;
        if input.skip_ws().ok()? != Some(b':') {
            return None;
        }
        input.bump();
        let next = input.skip_ws().ok()?;
        for form in [Form::Records, Form::LookupEvents] {
            if key == form.key() && next == Some(b'[') {
                return Some(form);
            }
        }
        input.value(None, 0).ok()?;
        match input.skip_ws().ok()? {
            Some(b',') => input.bump(),
            _ => return None,
        }
    }
}

/// Read every record of a stream of the given form, handing each to `each`
/// as soon as it is read. Returns the bytes read; on an error, every record
/// before it has been handed on.
pub fn read<R: BufRead>(
    reader: R,
    form: Form,
    mut each: impl FnMut(Raw<'_>),
) -> Result<u64, StreamError> {
    let mut input = Input::new(reader);
    match form {
        Form::Lines => read_lines(&mut input, &mut each)?,
        Form::Records | Form::LookupEvents => read_document(&mut input, form, &mut each)?,
    }
    Ok(input.offset)
}

fn read_document<R: BufRead>(
    input: &mut Input<R>,
    form: Form,
    each: &mut impl FnMut(Raw<'_>),
) -> Result<(), StreamError> {
    let mut element: Vec<u8> = Vec::new();
    input.expect(b'{', "`{`")?;
    input.bump();
    let mut first_key = true;
    loop {
        match input.skip_ws()? {
            Some(b'}') if first_key => {
                input.bump();
                break;
            }
            _ => input.expect(b'"', "a key")?,
        }
        first_key = false;
        let key = input.key()?;
        input.expect(b':', "`:`")?;
        input.bump();
        let value_is_array = input.skip_ws()? == Some(b'[');
        if key == form.key() && value_is_array {
            input.bump();
            let mut index = 0u64;
            loop {
                match input.skip_ws()? {
                    Some(b']') if index == 0 => {
                        input.bump();
                        break;
                    }
                    None => return Err(input.truncated(None)),
                    Some(found @ (b']' | b',' | b'}' | b':')) => {
                        return Err(StreamError::Syntax {
                            offset: input.offset,
                            expected: "a record",
                            found,
                        })
                    }
                    Some(_) => {}
                }
                let place = Place::Element(form, index);
                let start = input.offset;
                element.clear();
                let complete = input.value(Some(&mut element), MAX_RECORD_BYTES)?;
                if !complete {
                    return Err(input.truncated(Some((place, start))));
                }
                let too_large = element.len() > MAX_RECORD_BYTES;
                each(Raw {
                    form,
                    place,
                    start,
                    bytes: if too_large { &[] } else { &element },
                    too_large,
                });
                index += 1;
                match input.skip_ws()? {
                    Some(b',') => input.bump(),
                    Some(b']') => {
                        input.bump();
                        break;
                    }
                    _ => input.expect(b',', "`,` or `]` after an element")?,
                }
                // A record's buffer never outlives a huge one.
                if element.capacity() > 4 * 64 * 1024 {
                    element = Vec::new();
                }
            }
        } else if !input.value(None, 0)? {
            return Err(input.truncated(None));
        }
        match input.skip_ws()? {
            Some(b',') => input.bump(),
            Some(b'}') => {
                input.bump();
                break;
            }
            _ => input.expect(b',', "`,` or `}` after a value")?,
        }
    }
    match input.skip_ws()? {
        None => Ok(()),
        Some(b) => Err(StreamError::Syntax {
            offset: input.offset,
            expected: "the end of the input after the document",
            found: b,
        }),
    }
}

fn read_lines<R: BufRead>(
    input: &mut Input<R>,
    each: &mut impl FnMut(Raw<'_>),
) -> Result<(), StreamError> {
    let mut line: Vec<u8> = Vec::new();
    let mut number = 0u64;
    loop {
        let start = input.offset;
        line.clear();
        let (read, ended) = input.line(&mut line, MAX_RECORD_BYTES)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let too_large = read > MAX_RECORD_BYTES;
        if too_large || line.iter().any(|b| !b.is_ascii_whitespace()) {
            each(Raw {
                form: Form::Lines,
                place: Place::Line(number),
                start,
                bytes: if too_large { &[] } else { &line },
                too_large,
            });
        }
        if !ended {
            return Ok(());
        }
        if line.capacity() > 4 * 64 * 1024 {
            line = Vec::new();
        }
    }
}

/// A byte reader that knows its offset, over any [`BufRead`].
struct Input<R> {
    reader: R,
    offset: u64,
}

impl<R: BufRead> Input<R> {
    fn new(reader: R) -> Input<R> {
        Input { reader, offset: 0 }
    }

    fn buffer(&mut self) -> Result<&[u8], StreamError> {
        // Filled first, then borrowed (a second call hands out the same
        // buffer without reading).
        loop {
            match self.reader.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(StreamError::Io {
                        offset: self.offset,
                        error,
                    })
                }
            }
        }
        let offset = self.offset;
        self.reader
            .fill_buf()
            .map_err(|error| StreamError::Io { offset, error })
    }

    fn consume(&mut self, n: usize) {
        self.reader.consume(n);
        self.offset += n as u64;
    }

    fn bump(&mut self) {
        self.consume(1);
    }

    /// The next byte that is not whitespace, not consumed.
    fn skip_ws(&mut self) -> Result<Option<u8>, StreamError> {
        loop {
            let buf = self.buffer()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = buf.get(i).copied();
                    self.consume(i);
                    return Ok(b);
                }
                None => {
                    let n = buf.len();
                    self.consume(n);
                }
            }
        }
    }

    /// The next byte must be `want`.
    fn expect(&mut self, want: u8, expected: &'static str) -> Result<(), StreamError> {
        match self.skip_ws()? {
            Some(b) if b == want => Ok(()),
            Some(found) => Err(StreamError::Syntax {
                offset: self.offset,
                expected,
                found,
            }),
            None => Err(self.truncated(None)),
        }
    }

    fn truncated(&self, inside: Option<(Place, u64)>) -> StreamError {
        StreamError::Truncated {
            offset: self.offset,
            inside,
        }
    }

    /// A key (the opening quote next), its raw bytes between the quotes:
    /// at most 64 of them are kept, enough to tell `Records` and `Events`.
    fn key(&mut self) -> Result<Vec<u8>, StreamError> {
        let mut raw = Vec::new();
        if !self.value(Some(&mut raw), 64)? {
            return Err(self.truncated(None));
        }
        Ok(raw
            .get(1..raw.len().saturating_sub(1))
            .map(<[u8]>::to_vec)
            .unwrap_or_default())
    }

    /// Read one JSON value through (the next byte is its first), copying
    /// it into `out` while it is at most `limit` bytes (one byte more says
    /// it is larger). Containers and strings are followed to their end
    /// (nesting, strings, escapes); the parser checks the rest. False when
    /// the input ends first.
    fn value(&mut self, mut out: Option<&mut Vec<u8>>, limit: usize) -> Result<bool, StreamError> {
        let mut scan = Scan::default();
        let mut kept = 0usize;
        loop {
            let buf = self.buffer()?;
            if buf.is_empty() {
                // A number or literal may end the input; nothing else may.
                return Ok(scan.scalar && scan.started);
            }
            let (used, done) = scan.feed(buf);
            if let Some(out) = out.as_deref_mut() {
                let room = (limit + 1).saturating_sub(kept);
                let part = buf.get(..used.min(room)).unwrap_or_default();
                out.extend_from_slice(part);
                kept += part.len();
            }
            self.consume(used);
            if done {
                return Ok(true);
            }
        }
    }

    /// Read one line into `out` (at most `limit` bytes kept, one more says
    /// it is longer), without its newline. Returns the bytes the line took
    /// (0 at the end of the input) and whether a newline ended it.
    fn line(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(usize, bool), StreamError> {
        let mut total = 0usize;
        loop {
            let buf = self.buffer()?;
            if buf.is_empty() {
                return Ok((total, false));
            }
            let (used, ended) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let content = used - usize::from(ended);
            let room = (limit + 1).saturating_sub(out.len());
            out.extend_from_slice(buf.get(..content.min(room)).unwrap_or_default());
            total += content;
            self.consume(used);
            if ended {
                return Ok((total.max(1), true));
            }
        }
    }
}

/// Where a value's scan stands, carried from one buffer to the next.
#[derive(Default)]
struct Scan {
    started: bool,
    /// A number or literal: ends before the first delimiter.
    scalar: bool,
    depth: u32,
    in_string: bool,
    /// The previous byte was a backslash in a string.
    escaped: bool,
}

impl Scan {
    /// Scan `buf`; returns how many bytes belong to the value and whether
    /// it ended within them.
    fn feed(&mut self, buf: &[u8]) -> (usize, bool) {
        let mut i = 0usize;
        if !self.started {
            let Some(&first) = buf.first() else {
                return (0, false);
            };
            self.started = true;
            match first {
                b'{' | b'[' => self.depth = 1,
                b'"' => self.in_string = true,
                _ => self.scalar = true,
            }
            i = 1;
        }
        if self.scalar {
            let end = buf
                .get(i..)
                .unwrap_or_default()
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace());
            return match end {
                Some(j) => (i + j, true),
                None => (buf.len(), false),
            };
        }
        loop {
            if self.escaped {
                if i >= buf.len() {
                    return (buf.len(), false);
                }
                self.escaped = false;
                i += 1;
            }
            let rest = buf.get(i..).unwrap_or_default();
            if self.in_string {
                match memchr::memchr2(b'"', b'\\', rest) {
                    None => return (buf.len(), false),
                    Some(j) => {
                        i += j;
                        if rest.get(j) == Some(&b'\\') {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 {
                                return (i + 1, true);
                            }
                        }
                        i += 1;
                    }
                }
            } else {
                // Outside strings: the structure. Mostly short runs.
                let Some(j) = rest
                    .iter()
                    .position(|b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'))
                else {
                    return (buf.len(), false);
                };
                i += j;
                match rest.get(j) {
                    Some(b'"') => self.in_string = true,
                    Some(b'{' | b'[') => self.depth += 1,
                    _ => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return (i + 1, true);
                        }
                    }
                }
                i += 1;
            }
        }
    }
}

/// What became of one record.
#[derive(Debug)]
pub enum Outcome {
    /// A record of another service (its `eventSource` is not IAM).
    OtherService,
    /// A failed call (any `errorCode`): nothing changed.
    Failed,
    /// An IAM call roleguard does not judge (a read, or a change it does
    /// not handle).
    NotJudged,
    /// Judged: the event and its assessment (findings, plan; or why it is
    /// left alone).
    Assessed(Box<Assessed>),
    /// A record that could not be read or judged.
    Error(String),
}

/// A judged record.
#[derive(Debug)]
pub struct Assessed {
    pub event: Event,
    pub assessment: Assessment,
}

/// The few fields that tell what a record is, read without building it.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "eventSource", borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "errorCode", default)]
    error: Option<IgnoredAny>,
    #[serde(borrow, default)]
    detail: Option<Box<Head<'a>>>,
}

/// Judge one record (bare or in its EventBridge envelope) as a single event
/// is judged: other services, failed calls and calls roleguard does not
/// judge are told apart first, from a few fields.
pub fn judge(record: &[u8], config: &Config) -> Outcome {
    if let Err(e) = std::str::from_utf8(record) {
        return Outcome::Error(format!(
            "not UTF-8 text (invalid byte at offset {} of the record)",
            e.valid_up_to()
        ));
    }
    if let Ok(head) = serde_json::from_slice::<Head>(record) {
        let h = head.detail.as_deref().unwrap_or(&head);
        if h.name.is_some() {
            let source = h.source.as_deref().unwrap_or("iam.amazonaws.com");
            if source != "iam.amazonaws.com" {
                return Outcome::OtherService;
            }
            if h.error.is_some() {
                return Outcome::Failed;
            }
        }
    }
    // The whole record, through the single event's own path (which also
    // names whatever is wrong with it).
    let value = match serde_json::from_slice::<serde_json::Value>(record) {
        Ok(v) => v,
        Err(e) => return Outcome::Error(format!("not JSON: {e}")),
    };
    let event = match Event::from_value(value) {
        Ok(e) => e,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    match plan::assess(&event, config) {
        Ok(assessment) => Outcome::Assessed(Box::new(Assessed { event, assessment })),
        Err(AssessError::Event(EventError::Unsupported { .. })) => Outcome::NotJudged,
        Err(e) => Outcome::Error(e.to_string()),
    }
}

/// Read and judge a record from a stream: [`Raw::record`], then [`judge`].
pub fn judge_raw(raw: &Raw<'_>, config: &Config) -> Outcome {
    match raw.record() {
        Ok(record) => judge(&record, config),
        Err(e) => Outcome::Error(e),
    }
}

/// What became of an input's records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records (elements, non-blank lines) read.
    pub records: u64,
    /// IAM changes judged (including those left alone).
    pub judged: u64,
    /// Of those judged: left alone (roleguard's own changes, exempt roles).
    pub left_alone: u64,
    /// Records of other services.
    pub other_services: u64,
    /// IAM calls roleguard does not judge.
    pub not_judged: u64,
    /// Failed calls (an `errorCode`).
    pub failed: u64,
    /// Records that could not be read or judged.
    pub errors: u64,
}

impl Counts {
    /// Count one record's outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        self.records += 1;
        match outcome {
            Outcome::OtherService => self.other_services += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NotJudged => self.not_judged += 1,
            Outcome::Assessed(a) => {
                self.judged += 1;
                if a.assessment.skipped.is_some() {
                    self.left_alone += 1;
                }
            }
            Outcome::Error(_) => self.errors += 1,
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        self.records += other.records;
        self.judged += other.judged;
        self.left_alone += other.left_alone;
        self.other_services += other.other_services;
        self.not_judged += other.not_judged;
        self.failed += other.failed;
        self.errors += other.errors;
    }

    /// `10000 records read: 120 IAM changes judged (2 left alone), ...`.
    pub fn sentence(&self) -> String {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut s = format!(
            "{} read: {} judged",
            plural(self.records, "record", "records"),
            plural(self.judged, "IAM change", "IAM changes")
        );
        if self.left_alone > 0 {
            s += &format!(" ({} left alone)", self.left_alone);
        }
        s += &format!(
            ", {} skipped as other services, {} not judged (calls roleguard does not judge), {}",
            self.other_services,
            self.not_judged,
            plural(self.failed, "failed call", "failed calls")
        );
        if self.errors > 0 {
            s += &format!(
                ", {} could not be read or judged",
                plural(self.errors, "record", "records")
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Read = (Vec<(Place, u64, String)>, Result<u64, StreamError>);

    fn all(text: &[u8], form: Form) -> Read {
        let mut out = Vec::new();
        let r = read(text, form, |raw| {
            out.push((
                raw.place,
                raw.start,
                String::from_utf8(raw.bytes.to_vec()).unwrap(),
            ))
        });
        (out, r)
    }

    #[test]
    fn sniffs_the_forms() {
        assert_eq!(
            sniff(br#"{"Records": [{"eventName": "x"}]}"#),
            Some(Form::Records)
        );
        assert_eq!(
            sniff(b"\n {\"NextToken\": \"a\\\"}\", \"Events\" :\n[]}"),
            Some(Form::LookupEvents)
        );
        assert_eq!(
            sniff(b"{\"eventName\":\"A\"}\n{\"detail\":{}}\n"),
            Some(Form::Lines)
        );
        // One record on one line is a single document, as before.
        assert_eq!(sniff(b"{\"eventName\":\"A\"}\n"), None);
        assert_eq!(
            sniff(br#"{"Version": "2012-10-17", "Statement": []}"#),
            None
        );
        assert_eq!(sniff(br#"{"Records": "not an array"}"#), None);
        assert_eq!(sniff(b"{\"Statement\":1}\n{\"Statement\":2}\n"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xff\xfe{"), None);
    }

    #[test]
    fn reads_elements_with_strings_escapes_and_nesting() {
        let text = br#"{"Other": {"Records": [1]}, "Records": [ {"a": "x\"]}\\", "b": [{}]} ,{"c":1},[2], "s", 3 ], "z": null}"#;
        let (got, r) = all(text, Form::Records);
        assert_eq!(r.unwrap(), text.len() as u64);
        let bytes: Vec<&str> = got.iter().map(|(_, _, b)| b.as_str()).collect();
        assert_eq!(
            bytes,
            [
                r#"{"a": "x\"]}\\", "b": [{}]}"#,
                r#"{"c":1}"#,
                "[2]",
                "\"s\"",
                "3"
            ]
        );
        assert_eq!(got[1].0, Place::Element(Form::Records, 1));
        assert_eq!(&text[got[1].1 as usize..][..7], br#"{"c":1}"#);
    }

    #[test]
    fn reads_across_small_buffers() {
        // A reader that hands out one byte at a time: every state crosses a boundary.
        let text = br#"{"Records":[{"k":"a\\\"b","n":[1,{"x":"}"}]},{"e":true}]}"#;
        let reader = std::io::BufReader::with_capacity(1, &text[..]);
        let mut got = Vec::new();
        read(reader, Form::Records, |raw| {
            got.push(String::from_utf8(raw.bytes.to_vec()).unwrap())
        })
        .unwrap();
        assert_eq!(
            got,
            [r#"{"k":"a\\\"b","n":[1,{"x":"}"}]}"#, r#"{"e":true}"#]
        );
    }

    #[test]
    fn truncation_and_syntax_errors_say_where() {
        let text = br#"{"Records":[{"a":1},{"b":"cut"#;
        let (got, r) = all(text, Form::Records);
        assert_eq!(got.len(), 1, "the record before the break is handed on");
        let e = r.unwrap_err();
        assert_eq!(e.offset(), text.len() as u64);
        assert_eq!(
            e.to_string(),
            format!(
                "cut short at byte {} of the uncompressed stream, inside Records[1] (which starts at byte 20)",
                text.len()
            )
        );
        let (_, r) = all(br#"{"Records":[{"a":1} {"b":2}]}"#, Form::Records);
        assert_eq!(
            r.unwrap_err().to_string(),
            "not a valid document at byte 20: expected `,` or `]` after an element, found `{`"
        );
        let (_, r) = all(br#"{"Records":[]} x"#, Form::Records);
        assert!(r.unwrap_err().to_string().contains("the end of the input"));
        let (got, r) = all(br#"{"Records":[]}"#, Form::Records);
        assert!(got.is_empty() && r.is_ok());
        let (_, r) = all(br#"{"Records":[{"a":1}"#, Form::Records);
        assert!(matches!(
            r,
            Err(StreamError::Truncated { inside: None, .. })
        ));
    }

    #[test]
    fn lines_keep_their_numbers() {
        let text = b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\"";
        let (got, r) = all(text, Form::Lines);
        assert_eq!(r.unwrap(), text.len() as u64);
        let places: Vec<Place> = got.iter().map(|g| g.0).collect();
        assert_eq!(places, [Place::Line(1), Place::Line(4), Place::Line(5)]);
        assert_eq!(got[1].1, 13);
        assert_eq!(got[2].2, "{\"c\"");
    }

    #[test]
    fn oversized_records_are_skipped_in_step() {
        let big = "x".repeat(MAX_RECORD_BYTES + 10);
        let text = format!(r#"{{"Records":[{{"big":"{big}"}},{{"small":1}}]}}"#);
        let mut seen = Vec::new();
        read(text.as_bytes(), Form::Records, |raw| {
            seen.push((raw.too_large, raw.bytes.len()))
        })
        .unwrap();
        assert_eq!(seen, [(true, 0), (false, 11)]);
        let lines = format!("{{\"a\":\"{big}\"}}\n{{\"b\":1}}\n");
        let mut seen = Vec::new();
        read(lines.as_bytes(), Form::Lines, |raw| {
            seen.push((raw.place, raw.too_large))
        })
        .unwrap();
        assert_eq!(seen, [(Place::Line(1), true), (Place::Line(2), false)]);
    }

    #[test]
    fn lookup_events_elements_give_their_record() {
        let raw = Raw {
            form: Form::LookupEvents,
            place: Place::Element(Form::LookupEvents, 0),
            start: 0,
            bytes: br#"{"EventId":"1","CloudTrailEvent":"{\"eventName\":\"GetRole\"}"}"#,
            too_large: false,
        };
        assert_eq!(&*raw.record().unwrap(), br#"{"eventName":"GetRole"}"#);
        let none = Raw {
            bytes: br#"{"EventId":"1"}"#,
            ..raw
        };
        assert!(none
            .record()
            .unwrap_err()
            .contains("without its CloudTrailEvent"));
    }

    #[test]
    fn judge_tells_records_apart() {
        let config = Config::default();
        let kind = |text: &str| match judge(text.as_bytes(), &config) {
            Outcome::OtherService => "other".to_string(),
            Outcome::Failed => "failed".into(),
            Outcome::NotJudged => "not judged".into(),
            Outcome::Assessed(a) => format!("judged {}", a.assessment.judgement.findings.len()),
            Outcome::Error(e) => format!("error {e}"),
        };
        assert_eq!(
            kind(r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#),
            "other"
        );
        assert_eq!(
            kind(r#"{"detail":{"eventSource":"kms.amazonaws.com","eventName":"Decrypt"}}"#),
            "other"
        );
        assert_eq!(
            kind(
                r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateRole","errorCode":"AccessDenied","requestParameters":null}"#
            ),
            "failed"
        );
        assert_eq!(
            kind(r#"{"eventSource":"iam.amazonaws.com","eventName":"GetRole"}"#),
            "not judged"
        );
        let admin = r#"{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy","recipientAccountId":"111122223333","requestParameters":{"roleName":"app","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}}"#;
        assert!(kind(admin).starts_with("judged ") && kind(admin) != "judged 0");
        assert!(kind(r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateRole","requestParameters":{"roleName":"r"}}"#)
            .starts_with("error CreateRole: the event does not carry requestParameters.assumeRolePolicyDocument"));
        assert!(kind(r#"{"eventName": tru}"#).starts_with("error not JSON: "));
        assert!(kind(r#"{"foo":1}"#).contains("neither an EventBridge event"));
        let Outcome::Error(e) = judge(b"{\"eventName\":\"a\xff\"}", &config) else {
            panic!("not UTF-8 is an error");
        };
        assert_eq!(
            e,
            "not UTF-8 text (invalid byte at offset 15 of the record)"
        );
    }

    #[test]
    fn counts_add_up_and_say_so() {
        let mut c = Counts::default();
        for o in [
            Outcome::OtherService,
            Outcome::Failed,
            Outcome::NotJudged,
            Outcome::Error("x".into()),
        ] {
            c.add(&o);
        }
        let mut d = Counts::default();
        d.merge(&c);
        d.merge(&c);
        assert_eq!((d.records, d.other_services, d.errors), (8, 2, 2));
        assert_eq!(
            c.sentence(),
            "4 records read: 0 IAM changes judged, 1 skipped as other services, 1 not judged (calls roleguard does not judge), 1 failed call, 1 record could not be read or judged"
        );
    }
}
