//! `mistral-mcp install` / `uninstall` run as the real binary against config files in a temp
//! directory: other servers and settings survive, a backup is made, a second run changes
//! nothing and uninstall gives back exactly what was there. HOME and friends point into the
//! temp directory, so the real home is never read or written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mistral-mcp"))
        .args(args)
        .env("HOME", home)
        .env("USERPROFILE", home)
        .env("APPDATA", home.join("AppData"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("MISTRAL_API_KEY")
        .env_remove("MISTRAL_API_KEY_FILE")
        .env_remove("MISTRAL_MCP_CONFIG")
        .env_remove("MISTRAL_MCP_ALLOWED_DIRS")
        .output()
        .unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&read(p)).unwrap()
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    // serde_json without preserve_order sorts keys; read order from the text instead.
    v.as_object().unwrap().keys().cloned().collect()
}

fn exe() -> String {
    std::fs::canonicalize(env!("CARGO_BIN_EXE_mistral-mcp"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

// Written as the server writes JSON (two-space pretty), so uninstall can give back the very bytes.
const CLAUDE: &str = r#"{
  "globalShortcut": "Alt+Space",
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-filesystem",
        "/Users/me/Desktop"
      ]
    },
    "github": {
      "command": "docker",
      "args": [
        "run",
        "-i",
        "--rm",
        "ghcr.io/github/github-mcp-server"
      ],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_x"
      }
    }
  },
  "preferences": {
    "quickEntry": true,
    "zoom": 1.25
  }
}
"#;

#[test]
fn claude_desktop_install_is_idempotent_and_uninstall_restores_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let docs = home.join("Documents");
    std::fs::create_dir(&docs).unwrap();
    let key = home.join("key");
    std::fs::write(&key, "sk-secret\n").unwrap();
    let cfg = home.join("x.json");
    std::fs::write(&cfg, CLAUDE).unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let args = [
        "install",
        "claude-desktop",
        "--config-path",
        cfg_s,
        "--allow-dir",
        docs.to_str().unwrap(),
        "--tools",
        "dynamic",
        "--api-key-file",
        key.to_str().unwrap(),
    ];

    let out = ok(home, &args);
    assert!(out.contains("Updated"), "{out}");
    assert!(out.contains("x.json.bak"), "{out}");
    assert!(out.contains("Next: quit Claude Desktop"), "{out}");
    assert_eq!(read(&home.join("x.json.bak")), CLAUDE);

    let v = json(&cfg);
    let text = read(&cfg);
    assert!(!text.contains("sk-secret"));
    // Order of top-level keys and servers kept, ours appended.
    let pos = |s: &str| text.find(s).unwrap();
    assert!(pos("globalShortcut") < pos("mcpServers") && pos("mcpServers") < pos("preferences"));
    assert!(pos("\"filesystem\"") < pos("\"github\"") && pos("\"github\"") < pos("\"mistral\""));
    assert_eq!(v["preferences"]["zoom"], 1.25);
    assert_eq!(v["globalShortcut"], "Alt+Space");
    let original: serde_json::Value = serde_json::from_str(CLAUDE).unwrap();
    assert_eq!(
        v["mcpServers"]["filesystem"],
        original["mcpServers"]["filesystem"]
    );
    assert_eq!(v["mcpServers"]["github"], original["mcpServers"]["github"]);
    let m = &v["mcpServers"]["mistral"];
    assert_eq!(m["command"], exe());
    let canon = |p: &Path| {
        std::fs::canonicalize(p)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    assert_eq!(
        m["args"],
        serde_json::json!([
            "--api-key-file",
            canon(&key),
            "--tools",
            "dynamic",
            "--allow-dir",
            canon(&docs)
        ])
    );
    assert!(m.get("env").is_none());

    let after_first = read(&cfg);
    let out = ok(home, &args);
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(read(&cfg), after_first);
    assert_eq!(read(&home.join("x.json.bak")), CLAUDE);

    let out = ok(
        home,
        &["uninstall", "claude-desktop", "--config-path", cfg_s],
    );
    assert!(out.contains("Removed the `mistral` server"), "{out}");
    let back = json(&cfg);
    assert_eq!(back, original);
    assert_eq!(keys(&back["mcpServers"]).len(), 2);
    assert_eq!(read(&cfg), CLAUDE);
    let out = ok(
        home,
        &["uninstall", "claude-desktop", "--config-path", cfg_s],
    );
    assert!(out.contains("nothing to remove"), "{out}");
}

#[test]
fn default_path_comes_from_home_and_name_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = ok(
        home,
        &[
            "install",
            "cursor",
            "--name",
            "mistral-eu",
            "--base-url",
            "https://api.eu.mistral.ai",
        ],
    );
    let file = home.join(".cursor").join("mcp.json");
    assert!(out.contains("Created"), "{out}");
    assert!(
        out.contains("--api-key-file"),
        "the message says how to add a key: {out}"
    );
    let v = json(&file);
    assert_eq!(
        v["mcpServers"]["mistral-eu"]["args"][1],
        "https://api.eu.mistral.ai"
    );
    ok(home, &["uninstall", "cursor", "--name", "mistral-eu"]);
    assert_eq!(json(&file), serde_json::json!({"mcpServers": {}}));
}

#[test]
fn malformed_config_is_left_alone_with_the_position_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.json");
    let bad = "{\n  \"mcpServers\": {\n    \"a\": { \"command\": \"a\" },\n  }\n}\n";
    std::fs::write(&cfg, bad).unwrap();
    let out = run(
        dir.path(),
        &[
            "install",
            "windsurf",
            "--config-path",
            cfg.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("Nothing was changed"), "{err}");
    assert_eq!(read(&cfg), bad);
    assert!(!dir.path().join("bad.json.bak").exists());
}

const VIBE: &str = r#"# Vibe settings
active_model = "devstral-medium"

[[mcp_servers]]
name = "fetch"
transport = "stdio"
command = "uvx"
args = ["mcp-server-fetch"]

[[mcp_servers]]
name = "remote"   # keep this comment
transport = "http"
url = "http://localhost:8000"

[tools.bash]
permission = "ask"
"#;

#[test]
fn vibe_toml_keeps_comments_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cfg = home.join(".vibe").join("config.toml");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, VIBE).unwrap();

    let out = ok(home, &["install", "vibe", "--tools", "dynamic"]);
    assert!(out.contains("config.toml.bak"), "{out}");
    let text = read(&cfg);
    assert!(text.contains("# keep this comment"), "{text}");
    let v: toml::Value = toml::from_str(&text).unwrap();
    let servers = v["mcp_servers"].as_array().unwrap();
    let names: Vec<_> = servers
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fetch", "remote", "mistral"]);
    assert_eq!(servers[2]["transport"].as_str(), Some("stdio"));
    assert_eq!(servers[2]["command"].as_str(), Some(exe().as_str()));
    assert_eq!(v["tools"]["bash"]["permission"].as_str(), Some("ask"));
    assert_eq!(v["active_model"].as_str(), Some("devstral-medium"));

    let out = ok(home, &["install", "vibe", "--tools", "dynamic"]);
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(read(&cfg), text);

    ok(home, &["uninstall", "vibe"]);
    assert_eq!(read(&cfg), VIBE);
}

const VSCODE: &str = r#"{
	"inputs": [
		{ "type": "promptString", "id": "gh-token", "description": "GitHub", "password": true }
	],
	"servers": {
		"github": { "type": "http", "url": "https://api.githubcopilot.com/mcp/" },
		"fs": { "type": "stdio", "command": "npx", "args": ["fs-mcp"] }
	}
}
"#;

#[test]
fn vscode_uses_a_password_prompt_and_uninstall_restores_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let cfg = home
        .join(".config")
        .join("Code")
        .join("User")
        .join("mcp.json");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, VSCODE).unwrap();

    let out = ok(home, &["install", "vscode"]);
    assert!(out.contains("asks for it"), "{out}");
    let text = read(&cfg);
    assert!(text.contains("\n\t\"servers\""), "tab indent kept: {text}");
    let v = json(&cfg);
    assert_eq!(v["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(v["inputs"][1]["id"], "mistral-key");
    assert_eq!(v["inputs"][1]["password"], true);
    assert_eq!(v["servers"]["mistral"]["type"], "stdio");
    assert_eq!(
        v["servers"]["mistral"]["env"]["MISTRAL_API_KEY"],
        "${input:mistral-key}"
    );
    assert!(text.find("\"fs\"").unwrap() < text.find("\"mistral\"").unwrap());

    let out = ok(home, &["install", "vscode"]);
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(read(&cfg), text);

    ok(home, &["uninstall", "vscode"]);
    assert_eq!(
        json(&cfg),
        serde_json::from_str::<serde_json::Value>(VSCODE).unwrap()
    );
}

#[test]
fn vscode_file_with_comments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mcp.json");
    let jsonc = "{\n  // my servers\n  \"servers\": {}\n}\n";
    std::fs::write(&cfg, jsonc).unwrap();
    let out = run(
        dir.path(),
        &["install", "vscode", "--config-path", cfg.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("comments"), "{err}");
    assert_eq!(read(&cfg), jsonc);
}

#[test]
fn print_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["install", "--print"]);
    let json_part = &out[out.find('{').unwrap()..];
    let v: serde_json::Value = serde_json::from_str(json_part).unwrap();
    assert_eq!(v["mcpServers"]["mistral"]["command"], exe());
    let out = ok(dir.path(), &["install", "claude-desktop", "--print"]);
    assert!(out.contains("mcpServers"), "{out}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
