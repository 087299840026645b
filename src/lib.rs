//! awscreds: short-lived AWS credentials, handed out and taken back, without a server.
//!
//! Layers point down only: `cli` -> `output` -> `engine` -> {`store`, `cloud`} -> {`params`,
//! `model`}. `main.rs` only calls [`cli::main`]. See ARCHITECTURE.md.

pub mod audit;
pub mod cli;
pub mod cloud;
pub mod engine;
pub mod env;
pub mod model;
pub mod output;
pub mod params;
pub mod seal;
pub mod store;
