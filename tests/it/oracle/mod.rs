//! roleguard's evaluator against an independent one.
//!
//! The oracle is the npm package @cloud-copilot/iam-simulate (AGPL,
//! test-only), run by `tests/oracle/oracle.mjs` in its own Node.js process
//! ([`driver`]). [`gen`] draws seeded random policy sets and requests;
//! [`differential`] compares roleguard's decisions with the oracle's and
//! puts every disagreement down to a bug or to a known difference
//! ([`known`], documented in `tests/oracle/known-differences.md`).
//!
//! [`soundness`] asks the oracle whether the *judgement* is sound: a
//! verdict below `high` with an escalation path the oracle opens, or a
//! stranger it lets assume the role, fails it (`tests/oracle/soundness.md`).
//!
//! `scripts/differential [--seed S] [--count N] [--only INDEX]` runs the
//! comparison in release mode; `cargo test` runs 100,000 pairs.

pub mod driver;
pub mod gen;
pub mod known;

mod differential;
mod soundness;
