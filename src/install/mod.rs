//! `mistral-mcp install <client>` and `uninstall <client>`: put one server entry that runs
//! this very binary into an MCP client's configuration file, or take it out again.
//!
//! This module decides what the entry says (the binary's canonical path, the server options
//! given on the command line, where the API key comes from) and what to tell the user;
//! [`clients`] knows where each client keeps its file and [`edit`] changes the file without
//! disturbing anything else in it. The API key is never written into a file unless the user
//! asks with `--api-key-env`.

pub mod clients;
pub mod edit;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use clients::{Client, ClientId, Platform, Shape};
use edit::{Entry, Json, Outcome};

const KEY_VAR: &str = "MISTRAL_API_KEY";

/// What `install` was asked to do.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    pub client: Option<ClientId>,
    pub name: String,
    pub config_path: Option<PathBuf>,
    pub print: bool,
    /// Copy `$MISTRAL_API_KEY` into the entry (plain text).
    pub api_key_env: bool,
    /// Options for the server, already absolute (see [`crate::cli::GlobalArgs::server_args`]).
    pub server_args: Vec<String>,
}

/// The process facts an install depends on, injected so tests need no real home or binary.
#[derive(Debug, Clone)]
pub struct Host {
    pub platform: Platform,
    /// This binary, absolute.
    pub exe: PathBuf,
    /// `$MISTRAL_API_KEY`, read only when `--api-key-env` asks for it.
    pub api_key: Option<String>,
}

impl Host {
    pub fn current(api_key_env: bool) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .context("cannot find the path of the running mistral-mcp binary")?;
        Ok(Host {
            platform: Platform::current(),
            exe: plain_path(exe),
            api_key: if api_key_env {
                std::env::var(KEY_VAR).ok().filter(|k| !k.trim().is_empty())
            } else {
                None
            },
        })
    }
}

/// Windows' canonical paths start with `\\?\`, which some clients cannot spawn.
fn plain_path(p: PathBuf) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix(r"\\?\")) {
        Some(rest) if !rest.starts_with("UNC\\") => PathBuf::from(rest),
        _ => p,
    }
}

pub(crate) fn absolute(p: &Path, what: &str) -> anyhow::Result<String> {
    let abs = std::fs::canonicalize(p)
        .with_context(|| format!("{what} {} does not exist", p.display()))?;
    Ok(plain_path(abs).to_string_lossy().into_owned())
}

/// Where the entry's key comes from, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeySource {
    File,
    Copied,
    Prompt,
    None,
}

fn build_entry(
    req: &InstallRequest,
    shape: Shape,
    ctx: &Host,
) -> anyhow::Result<(Entry, KeySource)> {
    let mut entry = Entry {
        command: ctx.exe.to_string_lossy().into_owned(),
        args: req.server_args.clone(),
        env: Vec::new(),
        vscode_input: None,
    };
    let source = if req.server_args.iter().any(|a| a == "--api-key-file") {
        KeySource::File
    } else if req.api_key_env {
        let Some(key) = &ctx.api_key else {
            bail!("--api-key-env copies ${KEY_VAR} into the entry, but it is not set");
        };
        entry.env.push((KEY_VAR.into(), key.clone()));
        KeySource::Copied
    } else if shape == Shape::VsCode {
        let id = format!("{}-key", req.name);
        entry.env.push((KEY_VAR.into(), format!("${{input:{id}}}")));
        entry.vscode_input = Some(id);
        KeySource::Prompt
    } else {
        KeySource::None
    };
    Ok((entry, source))
}

fn config_path(client: &Client, given: Option<&Path>, p: &Platform) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => client.config_path(p).map_err(anyhow::Error::msg)?,
    };
    // Edit the file a symlink points to (dotfile managers), not replace the link.
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

fn read_config(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn syntax_error(path: &Path, msg: String) -> anyhow::Error {
    anyhow::anyhow!(
        "{} {msg}\nNothing was changed. Fix the file (or move it aside) and run this again.",
        path.display()
    )
}

/// `install`: the text to print on success.
pub fn install(req: &InstallRequest, ctx: &Host) -> anyhow::Result<String> {
    let Some(id) = req.client else {
        return print_generic(req, ctx);
    };
    let client = clients::client(id);
    let (entry, source) = build_entry(req, client.shape, ctx)?;
    if req.print {
        return Ok(snippet(client, &req.name, &entry));
    }
    let path = config_path(client, req.config_path.as_deref(), &ctx.platform)?;
    let old = read_config(&path)?;
    let text = old.as_deref().unwrap_or("");
    let outcome = match client.shape {
        Shape::VibeToml => edit::upsert_toml(text, &req.name, &entry),
        shape => edit::upsert_json(text, shape, &req.name, &entry),
    }
    .map_err(|m| syntax_error(&path, m))?;
    let mut out = Vec::new();
    match outcome {
        Outcome::Unchanged => out.push(format!(
            "{} already has the `{}` server as asked: {} is unchanged.",
            client.display,
            req.name,
            path.display()
        )),
        Outcome::Changed(new) => {
            let private = source == KeySource::Copied;
            let backup = edit::write_with_backup(&path, &new, private)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let verb = if old.is_none() { "Created" } else { "Updated" };
            out.push(format!(
                "{verb} {} with the `{}` server for {}.",
                path.display(),
                req.name,
                client.display
            ));
            if let Some(b) = backup {
                out.push(format!("Backup of the previous file: {}", b.display()));
            }
        }
    }
    let mut run = vec![entry.command.clone()];
    run.extend(entry.args.iter().cloned());
    out.push(format!("It runs: {}", run.join(" ")));
    // A `cargo clean` or a switch of branch would break the client without a word.
    let in_target = ctx.exe.components().any(|c| c.as_os_str() == "target")
        && ctx
            .exe
            .components()
            .any(|c| c.as_os_str() == "debug" || c.as_os_str() == "release");
    if in_target {
        out.push(
            "Note: this binary is inside a Cargo build directory; install it first \
             (`cargo install --path .`) and run that one's `install` so the entry survives a \
             rebuild or `cargo clean`."
                .into(),
        );
    }
    out.push(key_note(client, source));
    out.push(format!("Next: {}.", client.next_step));
    Ok(out.join("\n"))
}

fn key_note(client: &Client, source: KeySource) -> String {
    match source {
        KeySource::File => "API key: read from the --api-key-file when the server starts.".into(),
        KeySource::Copied => format!(
            "API key: copied from ${KEY_VAR} into the file in plain text (the file is only \
             readable by you if it was new)."
        ),
        KeySource::Prompt => "API key: VS Code asks for it once and keeps it in its secret \
                              storage, never in the file."
            .into(),
        // Most clients start servers with a trimmed environment (the MCP SDKs pass only
        // PATH, HOME and the like), so an exported key is not something to count on.
        KeySource::None => format!(
            "API key: none in the entry. {} may not pass your shell's ${KEY_VAR} to the \
             server: rerun with --api-key-file FILE (a file holding the key) or --api-key-env \
             (copies ${KEY_VAR} into the file). Without a key the tools answer with an error \
             saying so.",
            client.display
        ),
    }
}

/// `install --print`: the entry to paste, and where.
fn snippet(client: &Client, name: &str, entry: &Entry) -> String {
    let body = match client.shape {
        Shape::VibeToml => {
            let mut doc = toml_edit::DocumentMut::new();
            let mut servers = toml_edit::ArrayOfTables::new();
            servers.push(edit::entry_toml(name, entry));
            doc.insert("mcp_servers", toml_edit::Item::ArrayOfTables(servers));
            doc.to_string()
        }
        shape => {
            let key = if shape == Shape::VsCode {
                "servers"
            } else {
                "mcpServers"
            };
            let mut doc = vec![];
            if let Some(id) = &entry.vscode_input {
                doc.push(("inputs", Json::Array(vec![edit::vscode_input(id)])));
            }
            let servers = Json::object([(name, edit::entry_json(shape, entry))]);
            doc.push((key, servers));
            serde_json::to_string_pretty(&Json::object(doc)).unwrap_or_default()
        }
    };
    let mut out = format!(
        "# {}: merge this into {}\n{}",
        client.display,
        client.rel_path,
        body.trim_end()
    );
    if client.id == ClientId::ClaudeCode {
        let mut cmd = format!("claude mcp add --scope user {name}");
        for (k, v) in &entry.env {
            cmd.push_str(&format!(" -e {k}={v}"));
        }
        cmd.push_str(&format!(" -- {}", shell_words(&entry.command, &entry.args)));
        out.push_str(&format!("\n# or run:\n{cmd}"));
    }
    out
}

fn shell_words(command: &str, args: &[String]) -> String {
    std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .map(|w| {
            if w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,".contains(c))
            {
                w.to_string()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `install --print` without a client: the `mcpServers` shape most clients share.
fn print_generic(req: &InstallRequest, ctx: &Host) -> anyhow::Result<String> {
    let (entry, _) = build_entry(req, Shape::McpServers, ctx)?;
    let doc = Json::object([(
        "mcpServers",
        Json::object([(
            req.name.as_str(),
            edit::entry_json(Shape::McpServers, &entry),
        )]),
    )]);
    Ok(format!(
        "# The entry most MCP clients accept (\"mcpServers\" in their JSON config):\n{}",
        serde_json::to_string_pretty(&doc)?
    ))
}

/// `uninstall`: the text to print on success.
pub fn uninstall(
    id: ClientId,
    name: &str,
    config_path_arg: Option<&Path>,
    platform: &Platform,
) -> anyhow::Result<String> {
    let client = clients::client(id);
    let path = config_path(client, config_path_arg, platform)?;
    let Some(text) = read_config(&path)? else {
        return Ok(format!(
            "{} does not exist: there is no `{name}` server to remove.",
            path.display()
        ));
    };
    let input = format!("{name}-key");
    let outcome = match client.shape {
        Shape::VibeToml => edit::remove_toml(&text, name),
        shape => edit::remove_json(&text, shape, name, Some(&input)),
    }
    .map_err(|m| syntax_error(&path, m))?;
    match outcome {
        Outcome::Unchanged => Ok(format!(
            "{} has no `{name}` server: nothing to remove.",
            path.display()
        )),
        Outcome::Changed(new) => {
            let backup = edit::write_with_backup(&path, &new, false)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut out = vec![format!(
                "Removed the `{name}` server from {}.",
                path.display()
            )];
            if let Some(b) = backup {
                out.push(format!("Backup of the previous file: {}", b.display()));
            }
            out.push(format!("Next: {}.", client.next_step));
            Ok(out.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clients::Os;

    fn ctx(home: &Path) -> Host {
        Host {
            platform: Platform {
                os: Os::Linux,
                home: Some(home.to_path_buf()),
                appdata: None,
                xdg_config_home: None,
            },
            exe: PathBuf::from("/opt/mistral-mcp"),
            api_key: Some("sk-test".into()),
        }
    }

    fn req(client: ClientId) -> InstallRequest {
        InstallRequest {
            client: Some(client),
            name: "mistral".into(),
            config_path: None,
            print: false,
            api_key_env: false,
            server_args: vec![],
        }
    }

    #[test]
    fn installs_into_the_injected_home_only() {
        let home = tempfile::tempdir().unwrap();
        let msg = install(&req(ClientId::Cursor), &ctx(home.path())).unwrap();
        let file = home.path().join(".cursor").join("mcp.json");
        assert!(msg.contains("Created"), "{msg}");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v["mcpServers"]["mistral"]["command"], "/opt/mistral-mcp");
        assert!(v["mcpServers"]["mistral"].get("env").is_none());
        let again = install(&req(ClientId::Cursor), &ctx(home.path())).unwrap();
        assert!(again.contains("unchanged"), "{again}");
    }

    #[test]
    fn the_key_is_written_only_when_asked() {
        let home = tempfile::tempdir().unwrap();
        let mut r = req(ClientId::ClaudeDesktop);
        r.print = true;
        let printed = install(&r, &ctx(home.path())).unwrap();
        assert!(!printed.contains("sk-test"), "{printed}");
        r.api_key_env = true;
        let printed = install(&r, &ctx(home.path())).unwrap();
        assert!(
            printed.contains("\"MISTRAL_API_KEY\": \"sk-test\""),
            "{printed}"
        );
        let mut c = ctx(home.path());
        c.api_key = None;
        let err = install(&r, &c).unwrap_err().to_string();
        assert!(err.contains("not set"), "{err}");
    }

    #[test]
    fn a_key_file_wins_over_the_vscode_prompt() {
        let home = tempfile::tempdir().unwrap();
        let mut r = req(ClientId::Vscode);
        r.print = true;
        let printed = install(&r, &ctx(home.path())).unwrap();
        assert!(printed.contains("${input:mistral-key}"), "{printed}");
        assert!(printed.contains("\"password\": true"), "{printed}");
        r.server_args = vec!["--api-key-file".into(), "/k".into()];
        let printed = install(&r, &ctx(home.path())).unwrap();
        assert!(!printed.contains("input"), "{printed}");
    }

    #[test]
    fn claude_code_print_offers_the_cli_command() {
        let home = tempfile::tempdir().unwrap();
        let mut r = req(ClientId::ClaudeCode);
        r.print = true;
        r.server_args = vec!["--allow-dir".into(), "/my docs".into()];
        let printed = install(&r, &ctx(home.path())).unwrap();
        assert!(
            printed.contains(
                "claude mcp add --scope user mistral -- /opt/mistral-mcp --allow-dir '/my docs'"
            ),
            "{printed}"
        );
    }

    #[test]
    fn uninstall_of_a_missing_file_or_entry_changes_nothing() {
        let home = tempfile::tempdir().unwrap();
        let p = ctx(home.path()).platform;
        let msg = uninstall(ClientId::Vibe, "mistral", None, &p).unwrap();
        assert!(msg.contains("does not exist"), "{msg}");
        assert!(!home.path().join(".vibe").exists());
    }

    #[test]
    fn windows_verbatim_prefix_is_dropped() {
        assert_eq!(
            plain_path(PathBuf::from(r"\\?\C:\bin\mistral-mcp.exe")),
            PathBuf::from(r"C:\bin\mistral-mcp.exe")
        );
    }
}
