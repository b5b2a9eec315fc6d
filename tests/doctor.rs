//! `mistral-mcp doctor` as users run it: the real binary against the fake Mistral, with a
//! clean environment and HOME in a temp dir so the real home (and real client configs) are
//! never read. No real API is called.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{FakeMistral, Reply, TEST_KEY};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mistral-mcp");

/// Runs `mistral-mcp doctor <args>` (global flags work after the subcommand) with only the given variables, PATH and HOME set.
async fn doctor(home: &Path, vars: &[(String, String)], args: &[&str]) -> (Output, String) {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .arg("doctor")
        .args(args);
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !stdout.contains(TEST_KEY) && !String::from_utf8_lossy(&out.stderr).contains(TEST_KEY),
        "the key leaked:\n{stdout}"
    );
    (out, stdout)
}

fn line<'a>(stdout: &'a str, start: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn passes_with_a_good_key_and_a_client_entry_that_runs_this_binary() {
    let fake = FakeMistral::start().await;
    let home = tempfile::tempdir().unwrap();
    let cursor = home.path().join(".cursor");
    std::fs::create_dir_all(&cursor).unwrap();
    std::fs::write(
        cursor.join("mcp.json"),
        json!({"mcpServers": {"mistral": {"command": BIN, "env": {"MISTRAL_API_KEY": "x"}}}})
            .to_string(),
    )
    .unwrap();
    // JSONC, as VS Code-family editors write it, and an entry that runs the Docker image.
    let windsurf = home.path().join(".codeium/windsurf");
    std::fs::create_dir_all(&windsurf).unwrap();
    std::fs::write(
        windsurf.join("mcp_config.json"),
        "{ // mine\n \"mcpServers\": { \"mistral\": { \"command\": \"docker\",\n \"args\": [\"run\", \"-i\", \"--rm\", \"mistral-mcp\"], }, }, }",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().display().to_string();
    let (out, stdout) = doctor(
        home.path(),
        &common::server_env(&fake),
        &["--allow-dir", &dir_arg],
    )
    .await;
    assert!(out.status.success(), "{stdout}");
    assert!(
        line(&stdout, "ok    api key").contains("from MISTRAL_API_KEY (31 chars, ends ...cdef)"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "ok    endpoint").contains("accepted the key"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "ok    allowed dir").contains("readable and writable"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "ok    client       cursor").contains("which exists"),
        "{stdout}"
    );
    assert!(
        line(&stdout, "ok    client       windsurf").contains("through docker"),
        "{stdout}"
    );
    assert!(stdout.contains("No problems found."), "{stdout}");
    let rec = fake.last();
    assert_eq!(rec.route(), "GET /v1/models");
    common::assert_authorised(&rec);
    assert_eq!(fake.requests().len(), 1, "doctor makes exactly one call");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_names_its_source_and_the_fix() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/models",
        Reply::json(401, json!({"message": "Unauthorized", "request_id": "r1"})),
    );
    let home = tempfile::tempdir().unwrap();
    let (out, stdout) = doctor(home.path(), &common::server_env(&fake), &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let fail = line(&stdout, "FAIL  endpoint");
    assert!(
        fail.contains("rejected the key from MISTRAL_API_KEY (HTTP 401)"),
        "{stdout}"
    );
    assert!(stdout.contains("fix: create a key at https://console.mistral.ai/api-keys and set MISTRAL_API_KEY to the new key"), "{stdout}");
    assert_eq!(fake.requests().len(), 1, "no retries: {stdout}");

    // The same through a key file: the file is the thing to fix.
    let key_file = home.path().join("key");
    std::fs::write(&key_file, TEST_KEY).unwrap();
    fake.push("GET /v1/models", Reply::json(403, json!({"message": "no"})));
    let vars = vec![("MISTRAL_BASE_URL".to_string(), fake.url.clone())];
    let key_arg = key_file.display().to_string();
    let (out, stdout) = doctor(home.path(), &vars, &["--api-key-file", &key_arg]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        line(&stdout, "FAIL  endpoint").contains(&format!("from --api-key-file {key_arg}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("write the new key into {key_arg}")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_base_url_is_a_network_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = tempfile::tempdir().unwrap();
    let vars = vec![
        ("MISTRAL_API_KEY".to_string(), TEST_KEY.to_string()),
        (
            "MISTRAL_BASE_URL".to_string(),
            format!("http://127.0.0.1:{port}"),
        ),
    ];
    let (out, stdout) = doctor(home.path(), &vars, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let fail = line(&stdout, "FAIL  endpoint");
    assert!(
        fail.contains("network error") && fail.contains("connection refused"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fix: nothing listens at that address"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_allowed_dir_fails_with_the_fix() {
    let fake = FakeMistral::start().await;
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no-such-dir");
    let missing_arg = missing.display().to_string();
    let (out, stdout) = doctor(
        home.path(),
        &common::server_env(&fake),
        &["--allow-dir", &missing_arg],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        line(&stdout, "FAIL  allowed dir").contains("does not exist"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "fix: create it (mkdir -p \"{missing_arg}\") or remove it from --allow-dir"
        )),
        "{stdout}"
    );
    // The other checks still ran: a missing directory does not hide a working key.
    assert!(line(&stdout, "ok    endpoint").contains("accepted the key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_entry_pointing_at_a_missing_binary_fails() {
    let fake = FakeMistral::start().await;
    let home = tempfile::tempdir().unwrap();
    let vibe = home.path().join(".vibe");
    std::fs::create_dir_all(&vibe).unwrap();
    std::fs::write(
        vibe.join("config.toml"),
        "[[mcp_servers]]\nname = \"mistral\"\ntransport = \"stdio\"\ncommand = \"/nowhere/bin/mistral-mcp\"\n",
    )
    .unwrap();
    let (out, stdout) = doctor(home.path(), &common::server_env(&fake), &[]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        line(&stdout, "FAIL  client       vibe")
            .contains("/nowhere/bin/mistral-mcp, which does not exist"),
        "{stdout}"
    );
    assert!(stdout.contains("set that entry's \"command\" to the full path of mistral-mcp"));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_and_a_strict_config_file() {
    let fake = FakeMistral::start().await;
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("config.toml");
    std::fs::write(&cfg, "[mistral]\napi_kye = \"typo\"\n").unwrap();
    let mut vars = common::server_env(&fake);
    vars.push(("MISTRAL_MCP_CONFIG".into(), cfg.display().to_string()));
    let (out, stdout) = doctor(home.path(), &vars, &["--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], false);
    let checks = report["checks"].as_array().unwrap();
    let config = &checks[0];
    assert_eq!(config["check"], "config");
    assert_eq!(config["status"], "fail");
    assert!(
        config["summary"].as_str().unwrap().contains("api_kye"),
        "{config}"
    );
    assert!(
        config["fix"]
            .as_str()
            .unwrap()
            .contains("MISTRAL_MCP_CONFIG")
    );
}
