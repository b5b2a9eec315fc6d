//! mistral-mcp: the Mistral AI API as Model Context Protocol tools.
//!
//! The crate is a library so tests and benchmarks can build the server in-process;
//! `main.rs` only parses the command line and hands over to [`app`].
//!
//! Data flows one way: [`config`] says where Mistral is and how to reach it, [`catalog`]
//! says which operations are tools and how they are described, [`ops`] holds one typed
//! request per Mistral operation, [`mistral`] sends them, [`server`] exposes them over MCP
//! and [`transport`] carries MCP over stdio or Streamable HTTP.

pub mod access;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod install;
pub mod localfs;
pub mod metrics;
pub mod mistral;
pub mod ops;
pub mod redact;
pub mod schema;
pub mod search;
pub mod server;
pub mod telemetry;
pub mod transport;
