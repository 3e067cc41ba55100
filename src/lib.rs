//! roleguard: guards AWS IAM roles as they change.
//!
//! The core is pure: [`policy`] parses documents, [`catalog`] knows every IAM
//! action and AWS managed policy, [`rules`] judges trust and permission
//! policies, [`event`] reads CloudTrail events and [`plan`] says what the
//! Lambda would do about them. [`check`] ties these together for one input,
//! and [`report`] renders results for people and machines.

pub mod audit;
pub mod aws;
pub mod catalog;
pub mod check;
pub mod config;
pub mod eval;
pub mod event;
pub mod lambda;
mod memo;
pub mod memory;
pub mod notify;
pub mod pattern;
pub mod plan;
pub mod policy;
pub mod principal;
pub mod process;
pub mod remediate;
pub mod report;
pub mod rules;
pub mod scan;
pub mod template;
