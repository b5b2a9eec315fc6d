//! Resources, prompts and completions through the real binary over stdio, driven by the
//! rmcp client: what a desktop client's attach menu, prompt picker and argument
//! completion would do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Stdio;

use common::harness::{RecordingClient, text};
use common::{FakeMistral, Reply, fixtures};
use rmcp::model::{
    ArgumentInfo, CallToolRequestParams, CompleteRequestParams, ContentBlock,
    GetPromptRequestParams, ReadResourceRequestParams, Reference, ResourceContents,
};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::json;
use tokio::io::AsyncReadExt;

type Client = RunningService<RoleClient, RecordingClient>;

async fn launch(fake: &FakeMistral, extra_env: &[(&str, &str)]) -> Client {
    let env = common::server_env(fake);
    let (transport, stderr) = TokioChildProcess::builder(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mistral-mcp")).configure(|c| {
            c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            c.envs(extra_env.iter().copied());
        }),
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = stderr.unwrap();
    tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
    });
    RecordingClient::default().serve(transport).await.unwrap()
}

fn uri_text(c: &ResourceContents) -> (&str, Option<&str>) {
    match c {
        ResourceContents::TextResourceContents { uri, text, .. } => (uri, Some(text)),
        ResourceContents::BlobResourceContents { uri, .. } => (uri, None),
        _ => panic!("unexpected contents {c:?}"),
    }
}

/// The resource links a tool result carries.
fn links_in(result: &rmcp::model::CallToolResult) -> Vec<rmcp::model::Resource> {
    result
        .content
        .iter()
        .filter_map(|c| match c {
            ContentBlock::ResourceLink(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}

fn upstream_count(fake: &FakeMistral, route: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.route() == route)
        .count()
}

#[tokio::test]
async fn models_and_files_are_resources_a_client_can_list_and_read() {
    let fake = FakeMistral::start().await;
    fake.push("GET /v1/files", Reply::json(200, fixtures::files()));
    let client = launch(&fake, &[]).await;

    let caps = client.peer_info().unwrap().capabilities.clone();
    assert!(caps.resources.is_some() && caps.prompts.is_some() && caps.completions.is_some());

    let page = client.list_resources(None).await.unwrap();
    assert_eq!(page.resources[0].uri, "mistral://models");
    assert_eq!(
        page.resources.len(),
        101,
        "the models, then a page of 100 files"
    );
    let first_file = &page.resources[1];
    assert!(first_file.uri.starts_with("mistral://files/"));
    assert_eq!(first_file.name, "batch_requests_000.jsonl");
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("1"),
        "a full page has a next one"
    );
    let listed = fake.last();
    assert_eq!(listed.route(), "GET /v1/files");
    common::assert_valid_upstream(&listed);

    let templates = client.list_resource_templates(None).await.unwrap();
    let uris: Vec<&str> = templates
        .resource_templates
        .iter()
        .map(|t| t.uri_template.as_str())
        .collect();
    assert_eq!(
        uris,
        [
            "mistral://models/{model_id}",
            "mistral://files/{file_id}",
            "mistral://files/{file_id}/content"
        ]
    );

    fake.push("GET /v1/models", Reply::json(200, fixtures::models()));
    let models = client
        .read_resource(ReadResourceRequestParams::new("mistral://models"))
        .await
        .unwrap();
    let (uri, body) = uri_text(&models.contents[0]);
    assert_eq!(uri, "mistral://models");
    let body = body.unwrap();
    assert!(body.contains("mistral-medium-latest"), "{body}");
    assert!(body.len() < 20_000, "the compact text, not the raw JSON");

    let one = client
        .read_resource(ReadResourceRequestParams::new(
            "mistral://models/mistral-small-latest",
        ))
        .await
        .unwrap();
    assert_eq!(fake.last().route(), "GET /v1/models/mistral-small-latest");
    assert!(uri_text(&one.contents[0]).1.is_some());

    // A small text file: its metadata, then its content.
    let id = "0b9f2b4e-6d1c-4d7a-9c55-3f1e2a7b8c90";
    fake.push(
        "GET /v1/files/{id}",
        Reply::json(
            200,
            json!({"id": id, "object": "file", "bytes": 42, "created_at": 1_750_000_000,
                   "filename": "requests.jsonl", "purpose": "batch", "source": "upload"}),
        ),
    );
    fake.push(
        "GET /v1/files/{id}/content",
        Reply::raw(
            200,
            "application/octet-stream",
            vec![b"{\"custom_id\": \"1\"}\n"],
        ),
    );
    let file = client
        .read_resource(ReadResourceRequestParams::new(format!(
            "mistral://files/{id}"
        )))
        .await
        .unwrap();
    assert_eq!(file.contents.len(), 2, "{file:?}");
    assert!(
        uri_text(&file.contents[0])
            .1
            .unwrap()
            .contains("requests.jsonl")
    );
    let (content_uri, content) = uri_text(&file.contents[1]);
    assert_eq!(content_uri, format!("mistral://files/{id}/content"));
    assert_eq!(content, Some("{\"custom_id\": \"1\"}\n"));

    // Nothing by that name: invalid params with the uri (SEP-2164), for our scheme and others.
    for uri in ["test://nothing-here", "mistral://elsewhere"] {
        let err = client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .unwrap_err();
        let text = format!("{err:?}");
        assert!(
            text.contains("-32602")
                || text.contains("InvalidParams")
                || text.contains("INVALID_PARAMS"),
            "{text}"
        );
        assert!(text.contains(uri), "{text}");
    }
    fake.push(
        "GET /v1/files/{id}",
        Reply::json(404, json!({"detail": "No file with that id"})),
    );
    let err = client
        .read_resource(ReadResourceRequestParams::new("mistral://files/f-gone"))
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("Mistral has no such object"),
        "{err:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_listing_survives_an_unreachable_files_api_and_says_what_is_missing() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/files",
        Reply::json(403, json!({"detail": "Files are not enabled for this key"})),
    );
    let client = launch(&fake, &[]).await;
    let page = client.list_resources(None).await.unwrap();
    assert_eq!(page.resources.len(), 1);
    assert_eq!(page.resources[0].uri, "mistral://models");
    let meta = serde_json::to_value(&page.meta).unwrap();
    let warning = meta["io.github.mistral-mcp/warning"].as_str().unwrap();
    assert!(warning.contains("Files are missing"), "{warning}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_binary_download_is_a_resource_link_the_client_can_read() {
    let fake = FakeMistral::start().await;
    let client = launch(&fake, &[]).await;
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    fake.push(
        "GET /v1/files/{id}/content",
        Reply::raw(200, "image/png", vec![png]),
    );
    let r = client
        .call_tool(
            CallToolRequestParams::new("files_download")
                .with_arguments(json!({"file_id": "f-img"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let link = links_in(&r).into_iter().next().expect("a resource link");
    assert_eq!(link.uri, "mistral://files/f-img/content");
    assert!(
        !r.content
            .iter()
            .any(|c| matches!(c, ContentBlock::Resource(_))),
        "no inline blob beside the link"
    );

    fake.push(
        "GET /v1/files/{id}/content",
        Reply::raw(200, "image/png", vec![png]),
    );
    let read = client
        .read_resource(ReadResourceRequestParams::new(link.uri.clone()))
        .await
        .unwrap();
    match &read.contents[0] {
        ResourceContents::BlobResourceContents {
            blob, mime_type, ..
        } => {
            assert_eq!(mime_type.as_deref(), Some("image/png"));
            assert!(!blob.is_empty());
        }
        other => panic!("expected a blob, got {other:?}"),
    }

    // A finished batch job links its output file (the error file is null: no link).
    fake.push(
        "GET /v1/batch/jobs/{id}",
        Reply::json(200, common::fake_jobs::batch_job("SUCCESS", 3, 3)),
    );
    let job = client
        .call_tool(CallToolRequestParams::new("call_tool").with_arguments(
            json!({"name": "batch_jobs_get", "arguments": {"job_id": common::fake_jobs::BATCH_JOB_ID}})
                .as_object()
                .cloned()
                .unwrap(),
        ))
        .await
        .unwrap();
    let links: Vec<String> = links_in(&job).into_iter().map(|l| l.uri).collect();
    assert_eq!(
        links,
        [format!(
            "mistral://files/{}/content",
            common::fake_jobs::OUTPUT_FILE_ID
        )],
        "{}",
        text(&job)
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn prompts_fill_their_steps_and_name_tools_the_way_this_server_reaches_them() {
    let fake = FakeMistral::start().await;
    let client = launch(&fake, &[]).await;
    let prompts = client.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ocr_and_summarize",
            "rag_setup",
            "batch_from_jsonl",
            "fine_tune"
        ]
    );
    assert!(prompts.iter().all(|p| p.description.is_some()));

    let args = json!({"library": "Support handbook", "documents": "/docs/a.pdf, /docs/b.md"});
    let got = client
        .get_prompt(
            GetPromptRequestParams::new("rag_setup")
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    let body = serde_json::to_value(&got.messages[0]).unwrap();
    let text = body["content"]["text"].as_str().unwrap();
    assert!(text.contains("Support handbook"), "{text}");
    assert!(text.contains("/docs/a.pdf, /docs/b.md"));
    assert!(
        text.contains("mistral-medium-latest"),
        "the default model: {text}"
    );
    // The default tool list (core) does not list library tools: the steps say how to reach them.
    assert!(
        text.contains("`libraries_create` (through `call_tool`)"),
        "{text}"
    );
    assert!(
        !text.contains("{library}") && !text.contains("`tool:"),
        "{text}"
    );

    let missing = client
        .get_prompt(GetPromptRequestParams::new("rag_setup"))
        .await
        .unwrap_err();
    assert!(
        format!("{missing:?}").contains("needs `library`"),
        "{missing:?}"
    );
    let unknown = client
        .get_prompt(
            GetPromptRequestParams::new("fine_tune")
                .with_arguments(json!({"training": "x"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap_err();
    assert!(
        format!("{unknown:?}").contains("no argument `training`"),
        "{unknown:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn completion_offers_real_ids_and_reuses_them_while_typing() {
    let fake = FakeMistral::start().await;
    fake.push("GET /v1/models", Reply::json(200, fixtures::models()));
    let client = launch(&fake, &[]).await;
    let complete = |name: &str, arg: &str, value: &str| {
        CompleteRequestParams::new(Reference::for_prompt(name), ArgumentInfo::new(arg, value))
    };
    let first = client
        .complete(complete("rag_setup", "model", "mistral-sm"))
        .await
        .unwrap();
    assert!(!first.completion.values.is_empty());
    assert!(
        first
            .completion
            .values
            .iter()
            .all(|v| v.starts_with("mistral-small")),
        "{:?}",
        first.completion.values
    );
    let again = client
        .complete(complete("rag_setup", "model", "mistral-small-l"))
        .await
        .unwrap();
    assert_eq!(again.completion.values, ["mistral-small-latest"]);
    assert_eq!(
        upstream_count(&fake, "GET /v1/models"),
        1,
        "the second keystroke is served from the cache"
    );

    // Files for a resource template, found by name as well as by id.
    fake.push("GET /v1/files", Reply::json(200, fixtures::files()));
    let files = client
        .complete(CompleteRequestParams::new(
            Reference::for_resource("mistral://files/{file_id}"),
            ArgumentInfo::new("file_id", "invoice_2025_0002"),
        ))
        .await
        .unwrap();
    assert_eq!(files.completion.values.len(), 1, "{:?}", files.completion);

    // An argument that takes free text gets no suggestions, and no upstream call.
    let before = fake.requests().len();
    let none = client
        .complete(complete("ocr_and_summarize", "focus", "am"))
        .await
        .unwrap();
    assert!(none.completion.values.is_empty());
    assert_eq!(fake.requests().len(), before);
    client.cancel().await.unwrap();
}

/// OCR page images (`include_image_base64`) come back as links to artifacts the client reads
/// when it wants them, not as base64 inside the result.
#[tokio::test]
async fn ocr_images_are_linked_artifacts_the_client_can_read() {
    let fake = FakeMistral::start().await;
    let jpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDA";
    let mut ocr = fixtures::ocr();
    for page in ocr["pages"].as_array_mut().unwrap().iter_mut().take(2) {
        page["images"][0]["image_base64"] = json!(format!("data:image/jpeg;base64,{jpeg}"));
    }
    fake.push("POST /v1/ocr", Reply::json(200, ocr));
    let client = launch(&fake, &[]).await;
    let r = client
        .call_tool(
            CallToolRequestParams::new("ocr_process").with_arguments(
                json!({"document": {"type": "document_url", "document_url": "https://example.com/r.pdf"},
                       "include_image_base64": true})
                .as_object()
                .cloned()
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let links = links_in(&r);
    assert_eq!(links.len(), 2, "{:?}", r.content);
    assert_eq!(links[0].name, "img-0.jpeg");
    assert_eq!(links[0].mime_type.as_deref(), Some("image/jpeg"));
    let structured = serde_json::to_string(&r.structured_content).unwrap();
    assert!(!structured.contains(jpeg), "no base64 left in the result");
    assert!(
        structured.contains(&links[0].uri),
        "the image's field names its link"
    );

    let read = client
        .read_resource(ReadResourceRequestParams::new(links[1].uri.clone()))
        .await
        .unwrap();
    match &read.contents[0] {
        ResourceContents::BlobResourceContents {
            blob, mime_type, ..
        } => {
            assert_eq!(blob, jpeg);
            assert_eq!(mime_type.as_deref(), Some("image/jpeg"));
        }
        other => panic!("expected a blob, got {other:?}"),
    }
    let gone = client
        .read_resource(ReadResourceRequestParams::new("mistral://artifacts/0123"))
        .await
        .unwrap_err();
    assert!(
        format!("{gone:?}").contains("Artifacts live an hour"),
        "{gone:?}"
    );
    client.cancel().await.unwrap();
}
