//! Snapshots of exactly what agents see in `tools/list`, in each mode, so every change to a
//! name, description, annotation or schema is a reviewed diff. Update with
//! `INSTA_UPDATE=always cargo test --test tools_list_snapshot` and review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mistral_mcp::catalog::Catalog;
use mistral_mcp::config::{Config, Overrides, ToolMode};
use mistral_mcp::server::McpServer;
use serde_json::Value;

fn listed(mode: ToolMode) -> Value {
    let o = Overrides {
        mode: Some(mode),
        ..Default::default()
    };
    let config = Config::load_with(&o, &|_| None).unwrap();
    let server = McpServer::new(&config, Catalog::load(None).unwrap()).unwrap();
    serde_json::to_value(server.listed_tools()).unwrap()
}

#[test]
fn tools_list_all_mode() {
    insta::assert_json_snapshot!("tools_list_all", listed(ToolMode::All));
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
