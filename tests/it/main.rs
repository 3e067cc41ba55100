//! Integration tests: one binary, a module per area.

mod audit;
mod channels;
mod cli;
mod e2e;
mod events;
mod faults;
mod lambda;
mod moto;
mod notify;
mod remediate;
mod robustness;
mod scan;
mod template;
mod verdicts;
mod whole_role;

use std::path::PathBuf;

/// The crate's root, where `events/` and `tests/fixtures/` live.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
