//! Integration tests: one binary, a module per area.

// Tests and benchmarks report a failure by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable
)]

mod action;
mod audit;
mod calls;
mod channels;
mod cli;
mod corpus;
mod e2e;
mod engine;
mod events;
mod faults;
mod fleet;
mod fleet_moto;
mod fuzz;
mod guard;
mod lambda;
mod layout;
mod moto;
mod notify;
mod oracle;
mod principals;
mod records;
mod remediate;
mod replay;
mod report;
mod robustness;
mod sarif;
mod scan;
mod sessions;
mod template;
mod terraform;
mod verdicts;
mod whole_role;

use std::path::PathBuf;

/// The crate's root, where `events/` and `tests/fixtures/` live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The configuration a deployment runs with: the embedded default, plus
/// roleguard's own role as the template names it (`ROLEGUARD_OWN_ROLES`),
/// which the sample events in `events/` use.
pub fn config() -> roleguard::config::Config {
    roleguard::config::Config {
        own_roles: vec![OWN_ROLE.to_string()],
        ..Default::default()
    }
}

/// roleguard's function role in the sample events.
pub const OWN_ROLE: &str = "arn:aws:iam::111122223333:role/roleguard-function";
