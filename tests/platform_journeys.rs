//! The newer platform areas as a new user's agent reaches them: the real binary over stdio in
//! its default mode, where only the core toolsets are listed, so every step goes through
//! search_tools, describe_tools and call_tool. Connectors, prompts, workflows, observability
//! datasets, the user's own account and, with an admin key, the organization's API keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::harness::{RecordingClient, structured, text};
use common::{FakeMistral, Reply, TEST_ADMIN_KEY, assert_valid_upstream};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

struct Agent {
    client: RunningService<RoleClient, RecordingClient>,
}

async fn launch(fake: &FakeMistral, admin: bool) -> Agent {
    let mut env = common::server_env(fake);
    if admin {
        env.push(("MISTRAL_ADMIN_API_KEY".into(), TEST_ADMIN_KEY.into()));
    }
    let transport = TokioChildProcess::new(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mistral-mcp")).configure(|c| {
            c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }),
    )
    .unwrap();
    let client = RecordingClient::default().serve(transport).await.unwrap();
    Agent { client }
}

impl Agent {
    async fn raw(&self, name: &str, args: Value) -> CallToolResult {
        let params = CallToolRequestParams::new(name.to_string())
            .with_arguments(args.as_object().cloned().unwrap());
        self.client.call_tool(params).await.unwrap()
    }

    /// The tool names search_tools ranks for `query`.
    async fn search(&self, query: &str) -> Vec<String> {
        let r = self
            .raw("search_tools", json!({"query": query, "limit": 5}))
            .await;
        structured(&r)["results"]
            .as_array()
            .unwrap_or_else(|| panic!("search_tools gave no results: {}", text(&r)))
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Runs a tool that is not listed, as an agent in the default mode does: it must be
    /// describable, then callable through call_tool.
    async fn call(&self, name: &str, arguments: Value) -> Value {
        let d = self.raw("describe_tools", json!({"names": [name]})).await;
        assert!(
            text(&d).contains(name),
            "describe_tools {name}: {}",
            text(&d)
        );
        let r = self
            .raw("call_tool", json!({"name": name, "arguments": arguments}))
            .await;
        assert_eq!(r.is_error, Some(false), "{name}: {}", text(&r));
        structured(&r)
    }
}

fn listed_names(tools: &[rmcp::model::Tool]) -> Vec<String> {
    tools.iter().map(|t| t.name.to_string()).collect()
}

#[tokio::test]
async fn the_default_mode_lists_the_core_and_reaches_the_rest() {
    let fake = FakeMistral::start().await;
    let agent = launch(&fake, false).await;
    let names = listed_names(&agent.client.list_all_tools().await.unwrap());
    for core in [
        "chat_complete",
        "ocr_process",
        "files_upload",
        "models_list",
    ] {
        assert!(names.contains(&core.to_string()), "{core} not listed");
    }
    for meta in ["search_tools", "describe_tools", "call_tool"] {
        assert!(names.contains(&meta.to_string()), "{meta} not listed");
    }
    assert!(
        !names.iter().any(|n| n.starts_with("workflows_")),
        "non-core tools are not listed by default"
    );
    // Without the admin key, admin tools are off and the error says how to turn them on.
    let r = agent
        .raw(
            "call_tool",
            json!({"name": "admin_api_keys_list", "arguments": {}}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("MISTRAL_ADMIN_API_KEY"), "{}", text(&r));
    assert!(fake.requests().is_empty(), "nothing reached Mistral");
}

#[tokio::test]
async fn list_connectors_and_call_one_of_their_tools() {
    let fake = FakeMistral::start().await;
    fake.push(
        "GET /v1/connectors",
        Reply::json(
            200,
            json!({"items": [{"id": "0196a0c1-0000-4f4b-9a1c-000000000001", "name": "jira", "title": "Jira"}],
                   "pagination": {"next_cursor": null}}),
        ),
    );
    fake.push(
        "POST /v1/connectors/{id}/tools/{tool}/call",
        Reply::json(
            200,
            json!({"content": [{"type": "text", "text": "3 issues found"}]}),
        ),
    );
    let agent = launch(&fake, false).await;
    assert!(
        agent
            .search("list my connectors")
            .await
            .contains(&"connectors_list".to_string())
    );
    let list = agent.call("connectors_list", json!({})).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let out = agent
        .call(
            "connectors_tools_call",
            json!({"connector_id_or_name": id, "tool_name": "search_issues", "arguments": {"jql": "assignee = me"}}),
        )
        .await;
    assert_eq!(out["content"][0]["text"], "3 issues found");
    let last = fake.last();
    assert_eq!(
        last.path,
        format!("/v1/connectors/{id}/tools/search_issues/call")
    );
    assert_eq!(last.json()["arguments"], json!({"jql": "assignee = me"}));
    fake.requests().iter().for_each(assert_valid_upstream);
}

#[tokio::test]
async fn create_a_prompt_then_a_new_version_of_it() {
    let fake = FakeMistral::start().await;
    let agent = launch(&fake, false).await;
    let created = agent
        .call(
            "prompts_create",
            json!({"name": "support-reply", "definition": {"content": "You answer {{customer}}'s ticket politely."}}),
        )
        .await;
    assert!(created.is_object());
    agent
        .call(
            "prompts_versions_create",
            json!({"prompt_id": "0196a0c1-0000-4f4b-9a1c-0000000000aa", "definition": {"content": "You answer {{customer}}'s ticket politely and briefly."}}),
        )
        .await;
    let requests = fake.requests();
    assert_eq!(requests[0].route(), "POST /v2/prompts");
    assert_eq!(
        requests[1].path,
        "/v2/prompts/0196a0c1-0000-4f4b-9a1c-0000000000aa/versions"
    );
    requests.iter().for_each(assert_valid_upstream);
}

#[tokio::test]
async fn execute_a_workflow_and_read_its_execution() {
    let fake = FakeMistral::start().await;
    let agent = launch(&fake, false).await;
    agent
        .call(
            "workflows_execute",
            json!({"workflow_identifier": "invoice-processing", "input": {"invoice_id": "inv_42"}}),
        )
        .await;
    agent
        .call(
            "workflows_executions_get",
            json!({"execution_id": "exec_1"}),
        )
        .await;
    let requests = fake.requests();
    assert_eq!(
        requests[0].route(),
        "POST /v1/workflows/invoice-processing/execute"
    );
    assert_eq!(requests[0].json()["input"], json!({"invoice_id": "inv_42"}));
    assert_eq!(requests[1].route(), "GET /v1/workflows/executions/exec_1");
    requests.iter().for_each(assert_valid_upstream);
}

#[tokio::test]
async fn create_a_dataset_add_a_record_and_export_it() {
    let fake = FakeMistral::start().await;
    let agent = launch(&fake, false).await;
    let dataset = "0196a0c1-0000-4f4b-9a1c-0000000000d5";
    agent
        .call(
            "observability_datasets_create",
            json!({"name": "refund questions", "description": "Tickets about refunds"}),
        )
        .await;
    agent
        .call(
            "observability_datasets_records_create",
            json!({"dataset_id": dataset, "payload": {"messages": [{"role": "user", "content": "Can I get a refund?"}]}, "properties": {}}),
        )
        .await;
    agent
        .call(
            "observability_datasets_export_jsonl",
            json!({"dataset_id": dataset}),
        )
        .await;
    let routes: Vec<String> = fake.requests().iter().map(|r| r.route()).collect();
    assert_eq!(
        routes,
        [
            "POST /v1/observability/datasets".to_string(),
            format!("POST /v1/observability/datasets/{dataset}/records"),
            format!("GET /v1/observability/datasets/{dataset}/exports/to-jsonl"),
        ]
    );
    fake.requests().iter().for_each(assert_valid_upstream);
}

#[tokio::test]
async fn read_my_own_account() {
    let fake = FakeMistral::start().await;
    let agent = launch(&fake, false).await;
    agent.call("users_me_get", json!({})).await;
    let last = fake.last();
    assert_eq!(last.route(), "GET /v1/users/me");
    // The user-context operations take the key in `x-api-key`, as the spec says.
    assert_valid_upstream(&last);
}

#[tokio::test]
async fn with_an_admin_key_list_the_organizations_api_keys() {
    let fake = FakeMistral::start().await;
    let agent = launch(&fake, true).await;
    agent.call("admin_api_keys_list", json!({})).await;
    let last = fake.last();
    assert_eq!(last.route(), "GET /v1/admin/api-keys");
    // The admin key, never the ordinary one, in both places the spec and docs name.
    assert_valid_upstream(&last);
}
