//! The MCP clients `mistral-mcp install` knows, as one table of data: where each keeps its
//! configuration on Linux, macOS and Windows, which file format it uses and which entry shape
//! it expects. Path resolution takes a [`Platform`] value instead of reading the environment,
//! so tests can point it at a temporary home.

use std::path::PathBuf;

use clap::ValueEnum;

/// The clients `install` and `uninstall` accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientId {
    /// Claude Desktop (`claude_desktop_config.json`).
    ClaudeDesktop,
    /// Claude Code, user scope (`~/.claude.json`).
    ClaudeCode,
    /// Cursor, global (`~/.cursor/mcp.json`).
    Cursor,
    /// Windsurf (`~/.codeium/windsurf/mcp_config.json`).
    Windsurf,
    /// VS Code, user profile (`mcp.json`; use --config-path for a workspace `.vscode/mcp.json`).
    Vscode,
    /// Mistral Vibe CLI (`~/.vibe/config.toml`).
    Vibe,
}

/// Which directory a client's path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The user's home directory on every OS.
    Home,
    /// The per-user application config directory: `$XDG_CONFIG_HOME` (or `~/.config`) on
    /// Linux, `~/Library/Application Support` on macOS, `%APPDATA%` on Windows.
    AppConfig,
}

/// How the file is written and what one server entry looks like in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// JSON: `{ "mcpServers": { NAME: { "command", "args", "env" } } }`.
    McpServers,
    /// JSON like [`Shape::McpServers`] with `"type": "stdio"` (Claude Code).
    McpServersTyped,
    /// JSON: `{ "inputs": [...], "servers": { NAME: { "type": "stdio", ... } } }` (VS Code),
    /// the key coming from a password prompt unless a key file is given.
    VsCode,
    /// TOML: `[[mcp_servers]]` tables with `name` and `transport = "stdio"` (Mistral Vibe).
    VibeToml,
}

/// One client: everything `install` needs to know about it.
#[derive(Debug)]
pub struct Client {
    pub id: ClientId,
    /// Name on the command line.
    pub cli_name: &'static str,
    /// Name in messages.
    pub display: &'static str,
    pub base: Base,
    /// Path below `base`, `/`-separated.
    pub rel_path: &'static str,
    pub shape: Shape,
    /// What to do after the file changed.
    pub next_step: &'static str,
}

pub const CLIENTS: &[Client] = &[
    Client {
        id: ClientId::ClaudeDesktop,
        cli_name: "claude-desktop",
        display: "Claude Desktop",
        base: Base::AppConfig,
        rel_path: "Claude/claude_desktop_config.json",
        shape: Shape::McpServers,
        next_step: "quit Claude Desktop completely (tray/menu bar → Quit) and start it again",
    },
    Client {
        id: ClientId::ClaudeCode,
        cli_name: "claude-code",
        display: "Claude Code",
        base: Base::Home,
        rel_path: ".claude.json",
        shape: Shape::McpServersTyped,
        next_step: "start a new Claude Code session; `/mcp` lists the server",
    },
    Client {
        id: ClientId::Cursor,
        cli_name: "cursor",
        display: "Cursor",
        base: Base::Home,
        rel_path: ".cursor/mcp.json",
        shape: Shape::McpServers,
        next_step: "restart Cursor (or toggle the server in Settings → MCP)",
    },
    Client {
        id: ClientId::Windsurf,
        cli_name: "windsurf",
        display: "Windsurf",
        base: Base::Home,
        rel_path: ".codeium/windsurf/mcp_config.json",
        shape: Shape::McpServers,
        next_step: "refresh the MCP servers in Windsurf (Cascade → MCP → Refresh) or restart it",
    },
    Client {
        id: ClientId::Vscode,
        cli_name: "vscode",
        display: "VS Code",
        base: Base::AppConfig,
        rel_path: "Code/User/mcp.json",
        shape: Shape::VsCode,
        next_step: "reload VS Code (Developer: Reload Window); it asks for the key on first start",
    },
    Client {
        id: ClientId::Vibe,
        cli_name: "vibe",
        display: "Mistral Vibe",
        base: Base::Home,
        rel_path: ".vibe/config.toml",
        shape: Shape::VibeToml,
        next_step: "start a new `vibe` session",
    },
];

/// The client with this id (every id has a row).
pub fn client(id: ClientId) -> &'static Client {
    // The table covers every variant; the test below checks it.
    CLIENTS.iter().find(|c| c.id == id).unwrap_or(&CLIENTS[0])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

/// The parts of the environment path resolution depends on, read once by
/// [`Platform::current`] or made up by tests.
#[derive(Debug, Clone)]
pub struct Platform {
    pub os: Os,
    pub home: Option<PathBuf>,
    /// `%APPDATA%` (Windows only).
    pub appdata: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` (Linux only).
    pub xdg_config_home: Option<PathBuf>,
}

impl Platform {
    pub fn current() -> Self {
        let os = if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        };
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = if os == Os::Windows {
            var("USERPROFILE").or_else(|| var("HOME"))
        } else {
            var("HOME")
        };
        Platform {
            os,
            home,
            appdata: var("APPDATA"),
            xdg_config_home: var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()),
        }
    }
}

impl Client {
    /// The client's configuration file on this platform.
    pub fn config_path(&self, p: &Platform) -> Result<PathBuf, String> {
        let home = || {
            p.home
                .clone()
                .ok_or_else(|| "cannot find your home directory (HOME is not set)".to_string())
        };
        let base = match (self.base, p.os) {
            (Base::Home, _) => home()?,
            (Base::AppConfig, Os::Linux) => match &p.xdg_config_home {
                Some(dir) => dir.clone(),
                None => home()?.join(".config"),
            },
            (Base::AppConfig, Os::MacOs) => home()?.join("Library").join("Application Support"),
            (Base::AppConfig, Os::Windows) => match &p.appdata {
                Some(dir) => dir.clone(),
                None => home()?.join("AppData").join("Roaming"),
            },
        };
        Ok(self
            .rel_path
            .split('/')
            .fold(base, |path, part| path.join(part)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;

    fn platform(os: Os) -> Platform {
        Platform {
            os,
            home: Some(PathBuf::from("/h")),
            appdata: Some(PathBuf::from("/appdata")),
            xdg_config_home: None,
        }
    }

    fn path(id: ClientId, os: Os) -> PathBuf {
        client(id).config_path(&platform(os)).unwrap()
    }

    #[test]
    fn every_client_has_one_row() {
        for id in ClientId::value_variants() {
            assert_eq!(CLIENTS.iter().filter(|c| c.id == *id).count(), 1, "{id:?}");
            let name = id.to_possible_value().unwrap();
            assert_eq!(client(*id).cli_name, name.get_name());
        }
    }

    #[test]
    fn claude_desktop_paths_per_os() {
        let rel = Path::new("Claude").join("claude_desktop_config.json");
        assert_eq!(
            path(ClientId::ClaudeDesktop, Os::Linux),
            Path::new("/h/.config").join(&rel)
        );
        assert_eq!(
            path(ClientId::ClaudeDesktop, Os::MacOs),
            Path::new("/h/Library/Application Support").join(&rel)
        );
        assert_eq!(
            path(ClientId::ClaudeDesktop, Os::Windows),
            Path::new("/appdata").join(&rel)
        );
    }

    #[test]
    fn xdg_config_home_and_missing_appdata() {
        let mut p = platform(Os::Linux);
        p.xdg_config_home = Some(PathBuf::from("/xdg"));
        assert_eq!(
            client(ClientId::Vscode).config_path(&p).unwrap(),
            Path::new("/xdg").join("Code").join("User").join("mcp.json")
        );
        let mut p = platform(Os::Windows);
        p.appdata = None;
        assert_eq!(
            client(ClientId::Vscode).config_path(&p).unwrap(),
            Path::new("/h/AppData/Roaming")
                .join("Code")
                .join("User")
                .join("mcp.json")
        );
    }

    #[test]
    fn home_relative_clients_are_the_same_everywhere() {
        for os in [Os::Linux, Os::MacOs, Os::Windows] {
            assert_eq!(path(ClientId::ClaudeCode, os), Path::new("/h/.claude.json"));
            assert_eq!(
                path(ClientId::Cursor, os),
                Path::new("/h").join(".cursor").join("mcp.json")
            );
            assert_eq!(
                path(ClientId::Windsurf, os),
                Path::new("/h")
                    .join(".codeium")
                    .join("windsurf")
                    .join("mcp_config.json")
            );
            assert_eq!(
                path(ClientId::Vibe, os),
                Path::new("/h").join(".vibe").join("config.toml")
            );
        }
    }

    #[test]
    fn no_home_is_an_error_that_says_so() {
        let p = Platform {
            os: Os::Linux,
            home: None,
            appdata: None,
            xdg_config_home: None,
        };
        let err = client(ClientId::Cursor).config_path(&p).unwrap_err();
        assert!(err.contains("HOME"), "{err}");
    }
}
