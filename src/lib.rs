//! awscreds: short-lived AWS credentials, handed out and taken back, without a server.
//!
//! Layers point down only: `cli` -> `engine` -> {`store` (SQLite), `cloud` (IAM)}; `output`
//! formats what the engine returns. `main.rs` only calls [`cli::main`].

pub mod cli;
pub mod cloud;
pub mod duration;
pub mod engine;
pub mod env;
pub mod error;
pub mod kv;
pub mod model;
pub mod output;
pub mod owner;
pub mod store;
