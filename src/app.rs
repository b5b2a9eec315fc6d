//! Wires the pieces together for each subcommand: configuration, catalog, server,
//! transport. Output meant for people goes to stdout only in the non-serving subcommands.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use rmcp::model::JsonObject;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::access::StaticToken;
use crate::catalog::Catalog;
use crate::cli::{Cli, Command, ServeArgs, TokenCommand};
use crate::config::{Config, Overrides};
use crate::server::McpServer;
use crate::tool::Effect;

/// The configuration and the inbound tokens it lists. Every subcommand resolves the tokens,
/// not only `serve --http`, so a bad entry stops any of them at start, as config errors do.
fn load_config(overrides: &Overrides) -> anyhow::Result<(Config, Vec<StaticToken>)> {
    let config = Config::load(overrides)?;
    let tokens = crate::access::static_tokens(&config.http)?;
    Ok((config, tokens))
}

/// Builds the server from configuration.
pub fn build_server(config: &Config) -> anyhow::Result<McpServer> {
    let catalog = Catalog::load(config.tools.catalog_override.as_deref())?;
    McpServer::new(config, catalog)
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    crate::telemetry::init(
        cli.global.log_format,
        if serving { "info,rmcp=warn" } else { "warn" },
    );
    let mut overrides = cli.global.overrides();
    match cli.command {
        None => {
            let (config, tokens) = load_config(&overrides)?;
            serve(config, tokens, ServeArgs::default()).await
        }
        Some(Command::Serve(args)) => {
            overrides.http_bind = args.http;
            overrides.allowed_hosts = args.allowed_hosts.clone();
            let (config, tokens) = load_config(&overrides)?;
            serve(config, tokens, args).await
        }
        Some(Command::Tools { json, markdown }) => {
            let server = build_server(&load_config(&overrides)?.0)?;
            let text = if json {
                serde_json::to_string_pretty(&tools_json(&server))?
            } else if markdown {
                tools_markdown(&server)
            } else {
                tools_table(&server)
            };
            print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Search {
            intent,
            limit,
            json,
        }) => {
            let server = build_server(&load_config(&overrides)?.0)?;
            let hits = server.search_index().search(&intent, limit);
            let text = if json {
                serde_json::to_string_pretty(&hits)?
            } else if hits.is_empty() {
                format!("no tool matches {intent:?}")
            } else {
                hits.iter()
                    .enumerate()
                    .map(|(i, h)| {
                        format!(
                            "{:>2}. {:<32} {:<55} {:>6.2}",
                            i + 1,
                            h.name,
                            h.operation,
                            h.score
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Token(cmd)) => {
            print(&token_command(cmd)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Install(args)) => {
            let req = crate::install::InstallRequest {
                client: args.client,
                name: args.name,
                config_path: args.config_path,
                print: args.print,
                api_key_env: args.api_key_env,
                server_args: cli.global.server_args()?,
            };
            let host = crate::install::Host::current(req.api_key_env)?;
            print(&crate::install::install(&req, &host)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Uninstall(args)) => {
            let platform = crate::install::clients::Platform::current();
            let msg = crate::install::uninstall(
                args.client,
                &args.name,
                args.config_path.as_deref(),
                &platform,
            )?;
            print(&msg)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Usage { days, json }) => {
            let (config, _) = load_config(&overrides)?;
            print(&usage_command(&config, days, json).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Doctor { json }) => {
            let (report, code) = crate::doctor::run(overrides, json).await?;
            print(&report)?;
            Ok(code)
        }
        Some(Command::Call { tool, args }) => {
            let server = build_server(&load_config(&overrides)?.0)?;
            let args: JsonObject = match serde_json::from_str::<Value>(&args)
                .context("--args is not valid JSON")?
            {
                Value::Object(o) => o,
                _ => anyhow::bail!(
                    "--args must be a JSON object, e.g. '{{\"model_id\":\"mistral-small-latest\"}}'"
                ),
            };
            let cancel = CancellationToken::new();
            let ctx = server.detached_context(cancel.clone());
            let call = server.call(&tool, args, ctx);
            let result = tokio::select! {
                r = call => r,
                _ = crate::transport::shutdown_signal() => { cancel.cancel(); None }
            };
            let Some(result) = result else {
                anyhow::bail!("unknown tool `{tool}`; `mistral-mcp tools` lists them");
            };
            let failed = result.is_error == Some(true);
            print(&serde_json::to_string_pretty(&result)?)?;
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

async fn serve(
    config: Config,
    tokens: Vec<StaticToken>,
    args: ServeArgs,
) -> anyhow::Result<ExitCode> {
    // Known before the first log line or request, so they are masked everywhere.
    for key in tokens
        .iter()
        .filter_map(|t| t.grant.mistral_api_key.as_ref())
    {
        crate::redact::register(key);
    }
    let server = build_server(&config)?;
    // Start even when Redis is down (it may come up later); say so before serving.
    let state = server.state();
    if state.kind() == "redis" {
        match state.ping().await {
            Ok(()) => tracing::info!(store = %state.describe(), "shared state store reachable"),
            Err(e) => tracing::warn!(
                store = %state.describe(),
                error = %e,
                "shared state store unreachable; starting anyway: calls with a rate limit or a daily budget are refused until it answers"
            ),
        }
    }
    if config.upstream.api_key.is_none() {
        tracing::warn!(
            "no Mistral API key configured: tools are listed, but every call will explain how to set MISTRAL_API_KEY"
        );
    }
    match args.http {
        Some(_) => crate::transport::http::serve(server, &config.http, tokens).await?,
        None => crate::transport::stdio::serve(server).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn token_command(cmd: TokenCommand) -> anyhow::Result<String> {
    use crate::access::{TokenHash, new_token};
    match cmd {
        TokenCommand::Hash => {
            let mut token = String::new();
            std::io::stdin().read_line(&mut token)?;
            let token = token.trim();
            anyhow::ensure!(
                !token.is_empty(),
                "pipe the token on stdin, e.g. `echo \"$TOKEN\" | mistral-mcp token hash`"
            );
            Ok(TokenHash::of(token).to_config_string())
        }
        TokenCommand::New {
            name,
            toolsets,
            read_only,
            rate_limit_per_minute,
            max_tokens_per_day,
            max_requests_per_day,
            mistral_api_key_file,
        } => {
            let token = new_token();
            let mut entry = format!(
                "[[tokens]]\nname = {}\nhash = \"{}\"\n",
                toml_string(&name),
                TokenHash::of(&token).to_config_string()
            );
            if let Some(sets) = toolsets {
                let list: Vec<String> = sets.iter().map(|s| toml_string(s)).collect();
                entry.push_str(&format!("toolsets = [{}]\n", list.join(", ")));
            }
            if read_only {
                entry.push_str("read_only = true\n");
            }
            if let Some(n) = rate_limit_per_minute {
                entry.push_str(&format!("rate_limit_per_minute = {n}\n"));
            }
            if let Some(n) = max_tokens_per_day {
                entry.push_str(&format!("max_tokens_per_day = {n}\n"));
            }
            if let Some(n) = max_requests_per_day {
                entry.push_str(&format!("max_requests_per_day = {n}\n"));
            }
            if let Some(path) = mistral_api_key_file {
                entry.push_str(&format!(
                    "mistral_api_key_file = {}\n",
                    toml_string(&path.display().to_string())
                ));
            }
            Ok(format!(
                "Token for {name} (shown once; give it to the client, it is not stored anywhere):\n\n  {token}\n\n\
                 Add this entry to the tokens file (MISTRAL_MCP_TOKENS_FILE) or under [http] in the config as [[http.tokens]]:\n\n{entry}"
            ))
        }
    }
}

/// The `usage` report: a table, or JSON.
async fn usage_command(config: &Config, days: u64, json: bool) -> anyhow::Result<String> {
    let store = crate::state::StateStore::open(&config.state)?;
    if store.kind() == "memory" {
        anyhow::bail!(
            "the state backend is `memory`, so usage is counted inside each running server process \
             and cannot be read from here. Read mistral_mcp_usage_tokens_total{{principal,model,kind}} \
             on a running server's /metrics, or set [state] backend = \"redis\" (or \
             MISTRAL_MCP_STATE_URL) for the servers and this command, so every replica records \
             usage where `mistral-mcp usage` can read it"
        );
    }
    let rows = crate::state::usage_of(&store, days)
        .await
        .with_context(|| format!("reading usage from {}", store.describe()))?;
    if json {
        return Ok(serde_json::to_string_pretty(
            &json!({ "store": store.describe(), "rows": rows }),
        )?);
    }
    let first = crate::state::today();
    if rows.is_empty() {
        return Ok(format!(
            "No usage recorded in {} for {} (UTC){}.",
            store.describe(),
            first,
            if days > 1 { " or the days before" } else { "" }
        ));
    }
    let mut lines = vec![format!(
        "{:<10}  {:<20} {:<32} {:>9} {:>12} {:>12} {:>12}",
        "DAY (UTC)", "PRINCIPAL", "MODEL", "REQUESTS", "PROMPT", "COMPLETION", "TOTAL"
    )];
    for r in &rows {
        let model = if r.model == "*" {
            "(all)"
        } else {
            r.model.as_str()
        };
        lines.push(format!(
            "{:<10}  {:<20} {:<32} {:>9} {:>12} {:>12} {:>12}",
            r.day,
            r.principal,
            model,
            r.requests,
            r.prompt_tokens,
            r.completion_tokens,
            r.total_tokens
        ));
    }
    lines.push(format!(
        "\nFrom {}. (all): every tool call that reached an operation and all its tokens; per model: \
         calls that reported tokens. Budgets reset at 00:00 UTC.",
        store.describe()
    ));
    Ok(lines.join("\n"))
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        // `mistral-mcp tools | head` closes the pipe early; that is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn effect_label(t: &crate::catalog::ToolDef) -> &'static str {
    match t.spec().effect {
        Effect::Read => "read-only",
        Effect::Inference => "inference",
        Effect::Write => "writes",
        Effect::Destructive => "destructive",
    }
}

pub fn tools_json(server: &McpServer) -> Value {
    let listed: std::collections::HashSet<&str> = server
        .listed_tools()
        .iter()
        .map(|t| t.name.as_ref())
        .collect();
    let tools: Vec<Value> = server
        .catalog()
        .tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "operation": t.spec().operation(),
                "toolset": t.toolset,
                "title": t.title,
                "annotations": t.annotations(),
                "enabled": server.exposed_tool(&t.name).is_some(),
                // In `tools/list` in this mode; the others are reached through call_tool.
                "listed": listed.contains(t.name.as_str()),
            })
        })
        .collect();
    json!(tools)
}

fn tools_table(server: &McpServer) -> String {
    let mut lines = vec![format!(
        "{:<30} {:<60} {:<12} {:<12} {}",
        "NAME", "OPERATION", "TOOLSET", "EFFECT", "ENABLED"
    )];
    for t in &server.catalog().tools {
        lines.push(format!(
            "{:<30} {:<60} {:<12} {:<12} {}",
            t.name,
            t.spec().operation(),
            t.toolset,
            effect_label(t),
            if server.exposed_tool(&t.name).is_some() {
                "yes"
            } else {
                "no"
            }
        ));
    }
    lines.push(format!(
        "\n{} tools in the catalog, {} exposed (the listed ones plus those reached through search_tools and call_tool).",
        server.catalog().tools.len(),
        server
            .catalog()
            .tools
            .iter()
            .filter(|t| server.exposed_tool(&t.name).is_some())
            .count()
    ));
    lines.join("\n")
}

/// The README's tool table (a test keeps the README in sync with it).
pub fn tools_markdown(server: &McpServer) -> String {
    let catalog = server.catalog();
    let mut out = String::new();
    // The listed-by-default toolsets first, in their order, then the rest by name.
    let core = crate::config::CORE_TOOLSETS;
    let mut toolsets: Vec<(&String, &crate::catalog::ToolsetDef)> =
        catalog.toolsets.iter().collect();
    toolsets.sort_by_key(|(name, _)| {
        (
            core.iter().position(|c| c == name).unwrap_or(core.len()),
            name.as_str(),
        )
    });
    for (toolset, def) in toolsets {
        let tools: Vec<&crate::catalog::ToolDef> = catalog
            .tools
            .iter()
            .filter(|t| &t.toolset == toolset)
            .collect();
        if tools.is_empty() {
            continue;
        }
        let listed = if crate::config::CORE_TOOLSETS.contains(&toolset.as_str()) {
            ", listed by default"
        } else {
            ""
        };
        out.push_str(&format!(
            "<details><summary><b>{toolset}</b>: {} ({} tool{}{listed})</summary>\n\n\
             | Tool | Operation | Effect | What it does |\n|---|---|---|---|\n",
            def.description,
            tools.len(),
            if tools.len() == 1 { "" } else { "s" }
        ));
        for t in tools {
            let first = t
                .description
                .split(". ")
                .next()
                .unwrap_or(&t.description)
                .trim_end_matches('.');
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {}. |\n",
                t.name,
                t.operation,
                effect_label(t),
                first
            ));
        }
        out.push_str("\n</details>\n");
    }
    out
}
