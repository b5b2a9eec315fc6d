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
    let config = Config::load_with(&o, &|_| None).unwrap();
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
    for mode in [ToolMode::All, ToolMode::Dynamic] {
        for tool in listed(mode).as_array().unwrap() {
            let name = tool["name"].as_str().unwrap();
            assert!(name.len() <= 64 && !name.is_empty(), "{name}");
            let schema = tool["inputSchema"].as_object().unwrap();
            mistral_mcp::schema::check_portable(name, schema).unwrap();
            let a = &tool["annotations"];
            for hint in [
                "readOnlyHint",
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
            ] {
                assert!(a[hint].is_boolean(), "{name} lacks {hint}");
            }
            assert!(
                tool["title"].is_string() && tool["description"].as_str().unwrap().len() > 20,
                "{name}"
            );
        }
    }
}

#[test]
fn dynamic_mode_is_small() {
    let bytes = serde_json::to_string(&listed(ToolMode::Dynamic))
        .unwrap()
        .len();
    assert!(bytes < 4000, "dynamic tools/list grew to {bytes} bytes");
}
