//! Logging. Everything goes to stderr, in every mode: in stdio mode stdout belongs to the
//! MCP protocol and a single stray line would corrupt it. Every line passes through
//! [`crate::redact`], so a key echoed by an upstream is masked at every level, including
//! rmcp's own trace logging of whole messages.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber. `RUST_LOG` overrides the default level: a level
/// (`debug`), targets with levels (`mistral_mcp=debug,rmcp=warn`), or both. These are
/// `Targets` directives rather than `EnvFilter`'s, which would bring a regex engine (~0.25 MB)
/// for span-field filters nobody sets on this server.
pub fn init(format: LogFormat, default_level: &str) {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = match from_env.as_deref().map(Targets::from_str) {
        Some(Ok(targets)) => targets,
        Some(Err(e)) => {
            eprintln!(
                "mistral-mcp: RUST_LOG is not a valid filter ({e}); logging at {default_level}. Use a level (debug) or target=level pairs (mistral_mcp=debug,rmcp=warn)."
            );
            default_targets(default_level)
        }
        None => default_targets(default_level),
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(|| crate::redact::RedactingWriter::new(std::io::stderr()))
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.finish().with(filter).try_init(),
        LogFormat::Json => builder.json().finish().with(filter).try_init(),
    };
}

fn default_targets(level: &str) -> Targets {
    Targets::from_str(level).unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO))
}
