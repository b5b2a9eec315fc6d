//! The command line: `serve` (the default), `tools`, `search`, `call`, `token`, `usage`,
//! `doctor` and `install`/`uninstall`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Overrides, ToolMode};
use crate::telemetry::LogFormat;

const AFTER_HELP: &str = "\
Quick start:
  MISTRAL_API_KEY=... mistral-mcp                 MCP over stdio (what Claude Desktop, Cursor, Windsurf run)
  mistral-mcp serve --http 127.0.0.1:8080         Streamable HTTP at /mcp; /healthz, /readyz, /metrics beside it
  mistral-mcp tools                               what the server exposes
  mistral-mcp search \"run OCR on a PDF\"           which tool fits a task
  mistral-mcp call models_list --args '{}'        run one tool and print its result
  mistral-mcp doctor                              check config, key, network and MCP clients
  mistral-mcp token new --name ci --read-only     issue an HTTP token (the config keeps its hash)
  mistral-mcp usage                               tokens and requests per credential today (Redis state)
  mistral-mcp install claude-desktop              add this binary to a client's MCP config

Environment:
  MISTRAL_API_KEY           the Mistral API key (never sent to MCP clients)
  MISTRAL_API_KEY_FILE      read the key from this file instead (Docker/Kubernetes secrets)
  MISTRAL_BASE_URL          API base URL (default https://api.mistral.ai; EU: https://api.eu.mistral.ai)
  MISTRAL_MCP_CONFIG        configuration file (TOML), same as --config
  MISTRAL_MCP_ALLOWED_DIRS  directories local file paths may point into (':'-separated)
  MISTRAL_MCP_HTTP_TOKEN    one full-access bearer token for HTTP clients
  MISTRAL_MCP_TOKENS_FILE   TOML file of named, hashed HTTP tokens with limits and own keys
  MISTRAL_MCP_STATE         memory (default) or redis: where rate limits, usage and budgets live
  MISTRAL_MCP_STATE_URL     redis://[:password@]host:port/db shared by every replica (implies redis)
  RUST_LOG                  log filter, e.g. debug or mistral_mcp=debug (logs go to stderr)

Precedence: command-line flags, then environment, then the config file, then defaults.";

/// An MCP server that gives AI agents the Mistral AI API as tools.
#[derive(Debug, Parser)]
#[command(name = "mistral-mcp", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Configuration file (TOML). Unknown keys are errors.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the Mistral API key from this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// Read the organization's admin API key from this file: it turns on the admin toolset.
    #[arg(long, global = true, value_name = "FILE")]
    pub admin_api_key_file: Option<PathBuf>,
    /// Mistral API base URL.
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// `core` (default): the core toolsets (or those of --toolsets) and the discovery tools.
    /// `all`: every tool (~285). `dynamic`: only search_tools, describe_tools and call_tool.
    /// Every tool stays reachable through search_tools and call_tool in each mode.
    #[arg(long, global = true, value_enum)]
    pub tools: Option<ToolMode>,
    /// Only these toolsets, comma-separated (e.g. chat,ocr,files). `mistral-mcp tools` lists them.
    #[arg(long, global = true, value_delimiter = ',', value_name = "LIST")]
    pub toolsets: Option<Vec<String>>,
    /// Expose only tools that do not change anything.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// A catalog file that patches the built-in tools.toml (rename, re-describe, disable).
    #[arg(long, global = true, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// A directory local file paths may point into (repeatable). Without one, local paths are refused.
    #[arg(long = "allow-dir", global = true, value_name = "DIR")]
    pub allow_dirs: Vec<PathBuf>,
    /// Seconds one Mistral request may take (default 300).
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout_secs: Option<u64>,
    /// Retries on 429, 5xx and connection errors (default 3).
    #[arg(long, global = true, value_name = "N")]
    pub max_retries: Option<u32>,
    /// Where rate limits, usage and budgets are kept: `memory` (this process; the default)
    /// or `redis` (shared by every replica; the URL comes from MISTRAL_MCP_STATE_URL or
    /// [state] url, never the command line, since it may hold a password).
    #[arg(long, global = true, value_enum)]
    pub state: Option<crate::config::StateBackend>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (default) or Streamable HTTP.
    Serve(ServeArgs),
    /// List the tool catalog.
    Tools {
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the Markdown table used in the README.
        #[arg(long)]
        markdown: bool,
    },
    /// Find the tools that fit a task described in plain words.
    Search {
        /// What you want to do, e.g. "transcribe an audio file".
        intent: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Issue inbound tokens for the HTTP transport (the config keeps only their hashes).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run one tool and print its result (exit code 1 if the tool failed).
    Call {
        /// Tool name, as listed by `mistral-mcp tools`.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(long, default_value = "{}", value_name = "JSON")]
        args: String,
    },
    /// Check the installation: config, API key, network, allowed directories, MCP clients.
    #[command(after_help = DOCTOR_HELP)]
    Doctor {
        /// Print JSON (`{"ok": .., "checks": [..]}`) instead of one line per check.
        #[arg(long)]
        json: bool,
    },
    /// Tokens and requests per credential and model for today (UTC), from the shared state
    /// store (Redis).
    #[command(after_help = USAGE_HELP)]
    Usage {
        /// Show this many UTC days, today first. Counters are kept two days, so 2 adds
        /// yesterday and more shows nothing older.
        #[arg(long, default_value_t = 1, value_name = "N")]
        days: u64,
        /// Print JSON (`{"store": .., "rows": [..]}`) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add this binary to an MCP client's configuration (one entry; the rest is kept).
    #[command(after_help = INSTALL_HELP)]
    Install(InstallArgs),
    /// Remove the entry `install` added (by name) and nothing else.
    Uninstall(UninstallArgs),
}

const DOCTOR_HELP: &str = "\
Each line is `ok`, `warn`, `FAIL` or `skip`, with the fix under every FAIL; the exit code is 1
if anything failed. The key is never printed (at most its length and last 4 characters).
The key check sends one GET /v1/models (10 s timeout, no retries). Nothing is changed: an
allowed directory is tested for writing with a probe file that is removed at once.

Examples:
  mistral-mcp doctor                                  check what the server would use
  MISTRAL_API_KEY=... mistral-mcp doctor              check a key before putting it in a client
  mistral-mcp --config ~/.config/mistral-mcp.toml doctor --json   for scripts and CI";

const USAGE_HELP: &str = "\
Reads the counters the servers write to the state store named by the configuration
([state] in the config file, or MISTRAL_MCP_STATE_URL), so it sees every replica that shares
that Redis. One row per credential for the whole day (model `*`: every tool call that reached
an operation, and all tokens), then one per model it used (calls that reported tokens).
Tokens are Mistral's own `usage` counts (prompt, completion, total). Days are UTC; the
budgets (max_tokens_per_day, max_requests_per_day) reset at 00:00 UTC.

With the default memory backend there is nothing to read from here: each server process
counts in its own memory. Read mistral_mcp_usage_tokens_total{principal,model,kind} on a
running server's /metrics instead, or configure [state] backend = \"redis\".

Examples:
  MISTRAL_MCP_STATE_URL=redis://127.0.0.1:6379/0 mistral-mcp usage
  mistral-mcp --config /etc/mistral-mcp/config.toml usage --days 2
  mistral-mcp usage --json | jq '.rows[] | select(.model == \"*\")'";

const INSTALL_HELP: &str = "\
Examples:
  mistral-mcp install claude-desktop --api-key-file ~/.config/mistral/key
  mistral-mcp install cursor --tools dynamic --allow-dir ~/Documents
  mistral-mcp install vscode                      VS Code prompts for the key (password input)
  mistral-mcp install claude-code --api-key-file ~/.config/mistral/key
  mistral-mcp install vibe                        Mistral Vibe: a [[mcp_servers]] table
  mistral-mcp install cursor --config-path .cursor/mcp.json    a project's config instead
  mistral-mcp install --print                     the JSON entry to paste into any other client
  mistral-mcp uninstall claude-desktop

Server options given here (--api-key-file, --allow-dir, --tools, --toolsets, --read-only,
--config, ...) go into the entry, with paths made absolute. The key is never written into
the file unless --api-key-env asks for it. The file is backed up to <file>.bak before each
change and replaced atomically; a file that does not parse is left alone. Running install
again with the same options changes nothing.";

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The client to configure (omit with --print for a generic entry).
    #[arg(value_enum, required_unless_present = "print")]
    pub client: Option<crate::install::clients::ClientId>,
    /// Name of the server entry.
    #[arg(long, default_value = "mistral")]
    pub name: String,
    /// Edit this file instead of the client's usual one (e.g. a project's .vscode/mcp.json).
    #[arg(long, value_name = "FILE")]
    pub config_path: Option<PathBuf>,
    /// Print the entry to paste instead of writing any file.
    #[arg(long)]
    pub print: bool,
    /// Copy $MISTRAL_API_KEY into the entry, in plain text (prefer --api-key-file).
    #[arg(long)]
    pub api_key_env: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The client whose configuration to clean.
    #[arg(value_enum)]
    pub client: crate::install::clients::ClientId,
    /// Name of the server entry to remove.
    #[arg(long, default_value = "mistral")]
    pub name: String,
    /// Edit this file instead of the client's usual one.
    #[arg(long, value_name = "FILE")]
    pub config_path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a random token and print it once, with the `[[tokens]]` entry to paste into the
    /// tokens file.
    New {
        /// Name shown in logs, metrics and rate limits, e.g. the team or client.
        #[arg(long)]
        name: String,
        /// Toolsets the token may use, comma-separated (default: all).
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        toolsets: Option<Vec<String>>,
        /// The token may only call tools that change nothing.
        #[arg(long)]
        read_only: bool,
        /// Requests per minute (default: unlimited).
        #[arg(long, value_name = "N")]
        rate_limit_per_minute: Option<u32>,
        /// Tokens per UTC day, as Mistral counts them (default: no budget).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_tokens_per_day: Option<u64>,
        /// Tool calls that reach an operation, per UTC day (default: no budget).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        max_requests_per_day: Option<u64>,
        /// The token's own Mistral key, read from this file on the server.
        #[arg(long, value_name = "FILE")]
        mistral_api_key_file: Option<PathBuf>,
    },
    /// Print the hash of a token read from stdin (for a token made elsewhere).
    Hash,
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Serve Streamable HTTP on this address instead of stdio, e.g. 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Extra Host header value to accept over HTTP (repeatable), e.g. mcp.example.com.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
}

impl GlobalArgs {
    /// The server options given next to `install` (`--allow-dir`, `--tools`, `--api-key-file`,
    /// ...), as arguments for the entry. Paths become absolute, since the client starts the server
    /// from a directory of its own choosing.
    pub fn server_args(&self) -> anyhow::Result<Vec<String>> {
        let g = self;
        let mut args = Vec::new();
        let mut push = |flag: &str, value: String| {
            args.push(flag.to_string());
            args.push(value);
        };
        if let Some(p) = &g.config {
            push("--config", crate::install::absolute(p, "--config")?);
        }
        if let Some(p) = &g.api_key_file {
            push(
                "--api-key-file",
                crate::install::absolute(p, "--api-key-file")?,
            );
        }
        if let Some(p) = &g.admin_api_key_file {
            push(
                "--admin-api-key-file",
                crate::install::absolute(p, "--admin-api-key-file")?,
            );
        }
        if let Some(url) = &g.base_url {
            push("--base-url", url.clone());
        }
        if let Some(mode) = g.tools.and_then(|m| m.to_possible_value()) {
            push("--tools", mode.get_name().to_string());
        }
        if let Some(sets) = &g.toolsets {
            push("--toolsets", sets.join(","));
        }
        if let Some(p) = &g.catalog {
            push("--catalog", crate::install::absolute(p, "--catalog")?);
        }
        for dir in &g.allow_dirs {
            push("--allow-dir", crate::install::absolute(dir, "--allow-dir")?);
        }
        if let Some(s) = g.timeout_secs {
            push("--timeout-secs", s.to_string());
        }
        if let Some(n) = g.max_retries {
            push("--max-retries", n.to_string());
        }
        if g.read_only {
            args.push("--read-only".into());
        }
        Ok(args)
    }

    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            api_key_file: self.api_key_file.clone(),
            admin_api_key_file: self.admin_api_key_file.clone(),
            base_url: self.base_url.clone(),
            mode: self.tools,
            toolsets: self.toolsets.clone(),
            read_only: self.read_only,
            catalog: self.catalog.clone(),
            allowed_dirs: self.allow_dirs.clone(),
            timeout_secs: self.timeout_secs,
            max_retries: self.max_retries,
            http_bind: None,
            allowed_hosts: Vec::new(),
            state: self.state,
        }
    }
}
