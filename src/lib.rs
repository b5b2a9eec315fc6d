//! mistral-mcp: the Mistral AI API as Model Context Protocol tools.
//!
//! The crate is a library so tests and benchmarks can build the server in-process;
//! `main.rs` only parses the command line and hands over to [`app`].
//!
//! Data flows one way: [`config`] says where Mistral is and how to reach it (plain data, at
//! the bottom); [`tool`] is the operation framework (spec, request building, context,
//! output, streams, waits) and [`error`] its failures; [`api`] holds one typed request per
//! Mistral operation, hand-written by area or generated from the spec; [`mistral`] is the
//! one client that sends them (auth, retries, timeouts, error mapping); [`catalog`] says
//! which operations are tools and how agents read them; [`search`] finds tools by intent;
//! [`server`] exposes them over MCP and [`transport`] carries MCP over stdio or Streamable
//! HTTP.

pub mod access;
pub mod api;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod error;
pub mod install;
pub mod localfs;
pub mod metrics;
pub mod mistral;
pub mod redact;
pub mod schema;
pub mod search;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod tool;
pub mod transport;
