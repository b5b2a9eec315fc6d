//! Snapshots of exactly what agents see in `tools/list`, in each mode, so every change to a
//! name, description, annotation or schema is a reviewed diff.
//!
//! All mode: one file per tool, `tests/snapshots/tools/<tool name>.json`, the tool as
//! `tools/list` shows it (pretty JSON, keys sorted), compared with the live list. The test
//! fails on a changed tool, a tool without a file and a file whose tool no longer exists.
//! Dynamic mode: the insta snapshot `tests/snapshots/tools_list_snapshot__tools_list_dynamic.snap`.
//!
//! Update both with `UPDATE_SNAPSHOTS=1 cargo test --test tools_list_snapshot` (or insta's
//! `INSTA_UPDATE=always`, which rewrites the per-tool files too): changed and new tools'
//! files are rewritten, files of tools that no longer exist are removed, and what changed is
//! printed. Then review `git diff tests/snapshots` (and `git status` for new files).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mistral_mcp::catalog::Catalog;
use mistral_mcp::config::{Config, Overrides, ToolMode};
use mistral_mcp::server::McpServer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn listed(mode: ToolMode) -> Value {
    let o = Overrides {
        mode: Some(mode),
        ..Default::default()
    };
    // With the admin key, so the admin tools are snapshotted too.
    let env = |k: &str| (k == "MISTRAL_ADMIN_API_KEY").then(|| "sk-admin-snapshot".to_string());
    let config = Config::load_with(&o, &env).unwrap();
    let server = McpServer::new(&config, Catalog::load(None).unwrap()).unwrap();
    serde_json::to_value(server.listed_tools()).unwrap()
}

/// Whether the snapshots are to be rewritten rather than compared.
fn updating() -> bool {
    std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| !v.is_empty() && v != "0")
        || std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always")
}

/// `v` with every object's keys sorted, so a file's text does not depend on map order.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The first line where two texts differ, for the failure message.
fn first_difference(old: &str, new: &str) -> String {
    let (mut a, mut b) = (old.lines(), new.lines());
    for n in 1.. {
        match (a.next(), b.next()) {
            (None, None) => break,
            (x, y) if x == y => continue,
            (x, y) => {
                return format!(
                    "line {n}: - {}\n               + {}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                );
            }
        }
    }
    "whitespace only".into()
}

#[test]
fn tools_list_all_mode() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/tools");
    let update = updating();
    let mut live = BTreeMap::new();
    for tool in listed(ToolMode::All).as_array().unwrap() {
        let name = tool["name"].as_str().unwrap().to_string();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                && !name.starts_with('.'),
            "tool name `{name}` is no file name"
        );
        let text = serde_json::to_string_pretty(&sorted(tool)).unwrap() + "\n";
        assert!(
            live.insert(name.clone(), text).is_none(),
            "tool `{name}` is listed twice"
        );
    }
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }

    let mut changed = Vec::new();
    let mut added = Vec::new();
    for (name, text) in &live {
        let path = dir.join(format!("{name}.json"));
        match std::fs::read_to_string(&path) {
            Ok(old) if old == *text => continue,
            Ok(old) => changed.push(format!("{name}: {}", first_difference(&old, text))),
            Err(_) => added.push(name.clone()),
        }
        if update {
            std::fs::write(&path, text).unwrap();
        }
    }
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if path.extension().is_some_and(|e| e == "json") && !live.contains_key(stem) {
            removed.push(stem.to_string());
            if update {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    removed.sort();

    let report = [
        ("changed", &changed),
        ("new (no snapshot file)", &added),
        ("gone (a file but no such tool)", &removed),
    ]
    .iter()
    .filter(|(_, items)| !items.is_empty())
    .map(|(what, items)| format!("{} {what}:\n  {}", items.len(), items.join("\n  ")))
    .collect::<Vec<_>>()
    .join("\n");
    println!("tools/list (all mode): {} tools", live.len());
    if update {
        if !report.is_empty() {
            println!("snapshots in {} rewritten:\n{report}", dir.display());
        }
        return;
    }
    assert!(
        report.is_empty(),
        "tools/list differs from tests/snapshots/tools/:\n{report}\n\nIf intended: \
         UPDATE_SNAPSHOTS=1 cargo test --test tools_list_snapshot, then review git diff"
    );
}

#[test]
fn tools_list_dynamic_mode() {
    insta::assert_json_snapshot!("tools_list_dynamic", listed(ToolMode::Dynamic));
}

/// Rules every client needs: object roots, no top-level combinators, no refs, names of
/// at most 64 characters, every tool annotated, a title and a description.
#[test]
fn every_listed_tool_is_portable() {
    for mode in [ToolMode::All, ToolMode::Core, ToolMode::Dynamic] {
        for tool in listed(mode).as_array().unwrap() {
            let name = tool["name"].as_str().unwrap();
            assert!(name.len() <= 64 && !name.is_empty(), "{name}");
            let schema = tool["inputSchema"].as_object().unwrap();
            mistral_mcp::schema::check_portable(name, schema).unwrap();
            let a = &tool["annotations"];
            for hint in ["readOnlyHint", "destructiveHint", "idempotentHint"] {
                assert!(a[hint].is_boolean(), "{name} lacks {hint}");
            }
            // Absent means true (the MCP default): every Mistral tool reaches the outside.
            assert!(
                a.get("openWorldHint").is_none_or(Value::is_boolean),
                "{name}: openWorldHint"
            );
            assert!(
                tool["title"].is_string() && tool["description"].as_str().unwrap().len() > 20,
                "{name}"
            );
        }
    }
}

/// The context each mode costs an agent: the default must stay near 6,000 tokens and the
/// dynamic mode under 500, however many operations the catalog grows to. Prints the figures
/// (`cargo test --test tools_list_snapshot -- --nocapture`); tokens are estimated as bytes/4.
#[test]
fn each_mode_fits_its_context_budget() {
    let mut sizes = Vec::new();
    for (mode, budget) in [
        // 25,000: `select` on every read tool added ~900 bytes to the core listing.
        (ToolMode::Core, 25_000),
        (ToolMode::Dynamic, 2_000),
        (ToolMode::All, usize::MAX),
    ] {
        let tools = listed(mode);
        let bytes = serde_json::to_string(&tools).unwrap().len();
        let count = tools.as_array().unwrap().len();
        println!(
            "tools/list {mode:?}: {count} tools, {bytes} bytes of compact JSON, ~{} tokens",
            bytes / 4
        );
        sizes.push((mode, bytes, budget));
    }
    for (mode, bytes, budget) in sizes {
        assert!(
            bytes <= budget,
            "{mode:?} tools/list is {bytes} bytes, over {budget}"
        );
    }
}
