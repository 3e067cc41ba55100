//! roleguard: guards AWS IAM roles as they change.
//!
//! A functional core inside an imperative shell.
//!
//! **The core** is pure (no I/O, no async): [`policy`] parses documents,
//! [`catalog`] knows every IAM action and AWS managed policy, [`eval`] is
//! IAM's evaluation, [`rules`] judges trust and permission policies,
//! [`event`] reads CloudTrail events, [`plan`] says what to do about them,
//! [`check`] ties these together for one input and [`report`] renders
//! results, [`scan_report`] the scans' results (HTML, CSV, Markdown);
//! [`sessions`] revokes what a bad trust handed out and reads who used it;
//! [`fleet`] says which accounts an organisation's scan covers;
//! [`audit`], [`outcome`], [`notify`] and [`member`] are the data
//! the shell keeps, reports and sends.
//!
//! **The shell** may do I/O: [`ports`] are the small traits for IAM, the
//! store, the channels and the clock; [`engine`] handles events, carries out
//! plans and scans through the ports only; [`adapters`] implement the ports
//! (one module per AWS service, and in memory for tests); [`wiring`] puts
//! them together from the environment for both binaries; [`lambda`] is the
//! function's handler.

pub mod adapters;
pub mod audit;
pub mod catalog;
pub mod check;
pub mod config;
pub mod engine;
pub mod eval;
pub mod event;
pub mod fleet;
pub mod lambda;
pub mod member;
mod memo;
pub mod metrics;
pub mod notify;
pub mod outcome;
pub mod pattern;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod principal;
pub mod process;
pub mod records;
pub mod replay;
pub mod report;
mod rule_id;
pub mod rules;
pub mod scan;
pub mod scan_report;
pub mod sessions;
mod severity;
pub mod snapshot;
pub mod template;
pub mod terraform;
mod verdict;
pub mod wiring;
