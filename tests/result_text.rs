//! The text of tool results: compact by default (a table of identifying columns, key fields,
//! long texts cut with a note), Mistral's JSON with `result_text = "json"`, narrowed by
//! `select`, and never past `max_result_tokens`. Measured on the realistic fixtures of
//! `common::fixtures`, in o200k tokens as bench/ counts them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fixtures::{self, Fixture};
use common::harness::{self, TestServer, structured, text};
use common::{FakeMistral, Reply};
use mistral_mcp::config::ResultText;
use serde_json::{Value, json};

/// Compact text may cost at most this share of the raw JSON's tokens on a list fixture.
const MAX_COMPACT_RATIO: f64 = 0.25;
/// Except the file list: its UUID ids alone are ~19% of its raw JSON (see the `ids alone`
/// column), and a row without the file's name would not be worth reading.
const MAX_FILES_RATIO: f64 = 0.30;

async fn server(fake: &FakeMistral, mode: ResultText, max_tokens: Option<usize>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::test_config(fake, dir.path(), |_| {});
    config.tools.result_text = mode;
    if let Some(max) = max_tokens {
        config.tools.max_result_tokens = max;
    }
    harness::start_with_config(config, dir).await
}

async fn call_fixture(
    s: &TestServer,
    fake: &FakeMistral,
    f: &Fixture,
    extra: Value,
) -> rmcp::model::CallToolResult {
    fake.push(f.route, Reply::json(200, f.body.clone()));
    let mut args = f.args.clone();
    if let (Some(a), Value::Object(e)) = (args.as_object_mut(), extra) {
        a.extend(e);
    }
    s.call(f.tool, args).await
}

fn tokens(bpe: &tiktoken_rs::CoreBPE, text: &str) -> usize {
    bpe.encode_ordinary(text).len()
}

/// Also the measurement: prints, per tool, the raw JSON's tokens, the text's in JSON mode
/// and in compact mode. `cargo test --test result_text token_table -- --nocapture`
#[tokio::test]
async fn token_table_compact_text_names_every_item_at_a_quarter_of_the_json() {
    let fake = FakeMistral::start().await;
    let compact_server = server(&fake, ResultText::Compact, None).await;
    let json_server = server(&fake, ResultText::Json, None).await;
    let bpe = tiktoken_rs::o200k_base().unwrap();
    let mut table = String::from(
        "| tool | items | raw JSON tokens | json-mode text | compact text | compact / raw | ids alone |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut failures = Vec::new();
    for f in fixtures::all() {
        let result = call_fixture(&compact_server, &fake, &f, json!({})).await;
        assert_ne!(result.is_error, Some(true), "{}: {}", f.tool, text(&result));
        let shown = text(&result);
        // OCR pages have no id: their text is cut with a note instead (checked below).
        if f.id_key == "id" {
            for id in f.ids() {
                assert!(
                    shown.contains(&id),
                    "{}: id {id} missing from\n{shown}",
                    f.tool
                );
            }
        }
        // The full JSON is still there for clients that read it.
        let full = structured(&result);
        assert_eq!(full.pointer(f.list), f.body.pointer(f.list), "{}", f.tool);
        let json_text = text(&call_fixture(&json_server, &fake, &f, json!({})).await);
        let raw = tokens(&bpe, &f.body.to_string());
        let compact = tokens(&bpe, &shown);
        let ratio = compact as f64 / raw as f64;
        let ids = tokens(&bpe, &f.ids().join("\n"));
        table.push_str(&format!(
            "| {} | {} | {raw} | {} | {compact} | {:.1}% | {:.1}% |\n",
            f.tool,
            f.ids().len(),
            tokens(&bpe, &json_text),
            ratio * 100.0,
            100.0 * ids as f64 / raw as f64
        ));
        if std::env::var_os("SHOW_TEXT").is_some() {
            println!("--- {} ---\n{shown}\n", f.tool);
        }
        let max = if f.tool == "files_list" {
            MAX_FILES_RATIO
        } else {
            MAX_COMPACT_RATIO
        };
        if ratio > max {
            failures.push(format!("{}: {:.0}%", f.tool, ratio * 100.0));
        }
    }
    println!("{table}");
    assert!(
        failures.is_empty(),
        "compact text over its share of the raw JSON: {failures:?}\n{table}"
    );
}

#[tokio::test]
async fn long_texts_are_cut_with_a_note_saying_how_to_get_the_rest() {
    let fake = FakeMistral::start().await;
    let s = server(&fake, ResultText::Compact, None).await;
    let all = fixtures::all();
    let ocr = all.iter().find(|f| f.tool == "ocr_process").unwrap();
    let shown = text(&call_fixture(&s, &fake, ocr, json!({})).await);
    assert!(shown.contains("--- page 1 ---"), "{shown}");
    assert!(shown.contains("[Text cut at "), "{shown}");
    assert!(
        shown.contains("structuredContent") && shown.contains("`pages`"),
        "{shown}"
    );

    let history = all
        .iter()
        .find(|f| f.tool == "conversations_history")
        .unwrap();
    let shown = text(&call_fixture(&s, &fake, history, json!({})).await);
    assert!(shown.contains("select: [\"entries[].content\""), "{shown}");
    assert!(shown.contains("Not shown per item"), "{shown}");
}

#[tokio::test]
async fn select_keeps_exactly_those_paths_in_text_and_structured() {
    let fake = FakeMistral::start().await;
    let s = server(&fake, ResultText::Compact, None).await;
    let models = fixtures::all()
        .into_iter()
        .find(|f| f.tool == "models_list")
        .unwrap();
    let select = json!({"select": ["data[].id", "data[].capabilities.vision"]});
    let result = call_fixture(&s, &fake, &models, select).await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let kept = structured(&result);
    let items = kept["data"].as_array().unwrap();
    assert_eq!(items.len(), models.ids().len());
    for (item, raw) in items.iter().zip(models.body["data"].as_array().unwrap()) {
        let expected =
            json!({"id": raw["id"], "capabilities": {"vision": raw["capabilities"]["vision"]}});
        assert_eq!(item, &expected);
    }
    assert_eq!(
        kept.as_object().unwrap().len(),
        1,
        "only `data` is kept: {kept}"
    );
    let shown = text(&result);
    assert!(shown.contains("capabilities.vision"), "{shown}");
    assert!(shown.contains("pixtral-large-2411 | yes"), "{shown}");
    assert!(!shown.contains("max_context_length"), "{shown}");
    assert!(!shown.contains("description"), "{shown}");
    // The request upstream did not carry our argument.
    assert!(!fake.last().query.contains("select"));

    // In JSON mode the text is the selection itself.
    let s = server(&fake, ResultText::Json, None).await;
    let result = call_fixture(&s, &fake, &models, json!({"select": ["data[].id"]})).await;
    let text_json: Value = serde_json::from_str(&text(&result)).unwrap();
    assert_eq!(text_json, structured(&result));
    assert_eq!(text_json["data"][0], json!({"id": models.ids()[0]}));
}

#[tokio::test]
async fn a_select_path_that_matches_nothing_is_an_error_listing_what_exists() {
    let fake = FakeMistral::start().await;
    let s = server(&fake, ResultText::Compact, None).await;
    let models = fixtures::all()
        .into_iter()
        .find(|f| f.tool == "models_list")
        .unwrap();
    let result = call_fixture(
        &s,
        &fake,
        &models,
        json!({"select": ["data[].capabilities.vison"]}),
    )
    .await;
    assert_eq!(result.is_error, Some(true));
    let message = text(&result);
    assert!(
        message.contains("`data[].capabilities.vison` matches nothing"),
        "{message}"
    );
    assert!(message.contains("data[].capabilities.vision"), "{message}");
    assert!(message.contains("data[].max_context_length"), "{message}");
    assert_eq!(structured(&result)["error"]["kind"], "invalid_arguments");

    let result = s.call("models_list", json!({"select": "data[].id"})).await;
    assert_eq!(result.is_error, Some(true));
    assert!(
        text(&result).contains("`select` must be a list of paths"),
        "{}",
        text(&result)
    );
}

#[tokio::test]
async fn every_read_tool_returning_json_takes_select_and_no_other_does() {
    let fake = FakeMistral::start().await;
    let s = server(&fake, ResultText::Compact, None).await;
    let tools = s.client.list_all_tools().await.unwrap();
    let catalog = mistral_mcp::catalog::Catalog::load(None).unwrap();
    for t in catalog.tools.iter() {
        let props = t.input_schema();
        let props = props["properties"].as_object().unwrap();
        let read_only = t.spec().read_only();
        let downloads = props.contains_key("save_to");
        assert_eq!(
            props.contains_key("select"),
            read_only && !downloads,
            "{}",
            t.name
        );
    }
    assert!(tools.iter().any(|t| {
        t.input_schema
            .get("properties")
            .and_then(|p| p.get("select"))
            .is_some()
    }));
}

#[tokio::test]
async fn past_the_cap_the_result_says_what_to_narrow_and_holds_no_json() {
    let fake = FakeMistral::start().await;
    let s = server(&fake, ResultText::Json, Some(2_000)).await;
    let files = fixtures::all()
        .into_iter()
        .find(|f| f.tool == "files_list")
        .unwrap();
    let result = call_fixture(&s, &fake, &files, json!({})).await;
    assert_eq!(result.is_error, Some(true));
    let message = text(&result);
    assert!(
        message.contains("over this server's limit of 2000"),
        "{message}"
    );
    assert!(message.contains("max_result_tokens"), "{message}");
    assert!(
        message.contains("`select`") && message.contains("`page_size`"),
        "{message}"
    );
    assert!(message.contains("data[].filename"), "{message}");
    assert!(!message.contains('{'), "no JSON in the advice: {message}");
    assert!(message.len() < 4_000, "{}", message.len());
    let shape = structured(&result);
    assert_eq!(shape["too_large"]["max_result_tokens"], 2_000);
    assert!(shape.get("data").is_none());

    // Narrowed as advised, the same list fits.
    let result = call_fixture(&s, &fake, &files, json!({"select": ["data[].id"]})).await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
}

#[tokio::test]
async fn the_cap_holds_for_compact_text_too() {
    let fake = FakeMistral::start().await;
    let s = server(&fake, ResultText::Compact, Some(1_000)).await;
    let files = fixtures::all()
        .into_iter()
        .find(|f| f.tool == "files_list")
        .unwrap();
    let result = call_fixture(&s, &fake, &files, json!({})).await;
    assert_eq!(result.is_error, Some(true), "{}", text(&result));
    let message = text(&result);
    assert!(
        message.contains("over this server's limit of 1000"),
        "{message}"
    );
    assert!(message.contains("`select`"), "{message}");
    // No half table: not one row of the list made it into the text.
    for id in files.ids().iter().take(5) {
        assert!(!message.contains(id.as_str()), "{message}");
    }
    assert!(structured(&result).get("data").is_none());
}

#[tokio::test]
async fn json_mode_restores_the_old_text() {
    let fake = FakeMistral::start().await;
    let s = server(&fake, ResultText::Json, None).await;
    for f in fixtures::all()
        .into_iter()
        .filter(|f| f.tool != "ocr_process")
    {
        let result = call_fixture(&s, &fake, &f, json!({})).await;
        let full = structured(&result);
        assert_eq!(text(&result), full.to_string(), "{}", f.tool);
    }
    // A tool with its own text keeps it whole.
    let all = fixtures::all();
    let ocr = all.iter().find(|f| f.tool == "ocr_process").unwrap();
    let shown = text(&call_fixture(&s, &fake, ocr, json!({})).await);
    assert!(
        shown.contains("--- page 30 ---"),
        "{}",
        &shown[shown.len() - 300..]
    );
}
