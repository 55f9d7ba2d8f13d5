//! trustwarden: an IAM audit library. Collects AWS accounts' IAM data, evaluates
//! it through one shared policy evaluator, and reports zone-of-trust and
//! credential-hygiene findings.

pub mod audit;
pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod eval;
pub mod findings;
pub mod graph;
pub mod notify;
pub mod policy;
pub mod report;
pub mod rules;
pub mod store;
