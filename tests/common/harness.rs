//! Starting the server for a test: in-process over a duplex pipe (fast, most tests) with a
//! recording MCP client.

use std::sync::{Arc, Mutex};

use mistral_mcp::catalog::Catalog;
use mistral_mcp::config::{Config, Overrides};
use mistral_mcp::server::McpServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, NumberOrString, ProgressNotificationParam,
    ProgressToken, RequestMetaObject,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

use super::{FakeMistral, TEST_KEY};

/// An MCP client that records progress notifications.
#[derive(Clone, Default)]
pub struct RecordingClient {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for RecordingClient {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }
}

pub struct TestServer {
    pub client: RunningService<RoleClient, RecordingClient>,
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    pub dir: tempfile::TempDir,
}

/// Configuration pointing at `fake`, with a temporary allowed directory; `tweak` adjusts it.
pub fn test_config(
    fake: &FakeMistral,
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut Overrides),
) -> Config {
    let mut o = Overrides {
        allowed_dirs: vec![dir.to_path_buf()],
        max_retries: Some(2),
        ..Default::default()
    };
    tweak(&mut o);
    let url = fake.url.clone();
    let env = move |k: &str| match k {
        "MISTRAL_API_KEY" => Some(TEST_KEY.to_string()),
        "MISTRAL_ADMIN_API_KEY" => Some(super::TEST_ADMIN_KEY.to_string()),
        "MISTRAL_BASE_URL" => Some(url.clone()),
        _ => None,
    };
    let mut config = Config::load_with(&o, &env).unwrap();
    config.upstream.retry.initial_delay = std::time::Duration::from_millis(10);
    config
}

pub async fn start(fake: &FakeMistral, tweak: impl FnOnce(&mut Overrides)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(fake, dir.path(), tweak);
    start_with_config(config, dir).await
}

pub async fn start_with_config(config: Config, dir: tempfile::TempDir) -> TestServer {
    let server = McpServer::new(&config, Catalog::load(None).unwrap()).unwrap();
    let (s, c) = tokio::io::duplex(1 << 22);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(s).await {
            let _ = running.waiting().await;
        }
    });
    let handler = RecordingClient::default();
    let progress = handler.progress.clone();
    let client = handler.serve(c).await.unwrap();
    TestServer {
        client,
        progress,
        dir,
    }
}

impl TestServer {
    pub async fn call(&self, name: &str, args: Value) -> CallToolResult {
        let params = CallToolRequestParams::new(name.to_string())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        self.client.call_tool(params).await.unwrap()
    }

    pub async fn call_with_progress(&self, name: &str, args: Value) -> CallToolResult {
        let mut params = CallToolRequestParams::new(name.to_string())
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
            NumberOrString::String("p-1".into()),
        )));
        self.client.call_tool(params).await.unwrap()
    }
}

/// The text of a result's first content block.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

pub fn structured(result: &CallToolResult) -> Value {
    result.structured_content.clone().unwrap_or(Value::Null)
}

/// Calls every tool of a table (tool, arguments, expected route, optional scripted reply):
/// each call must succeed with text and a structured object, reach the expected route, and
/// send only requests `validate` accepts. Then every tool of `toolsets` must have been called.
pub async fn check_every_tool(
    s: &TestServer,
    fake: &FakeMistral,
    toolsets: &[&str],
    cases: Vec<(&str, Value, &str, Option<super::Reply>)>,
    validate: impl Fn(&super::Recorded),
) {
    let mut called = std::collections::BTreeSet::new();
    for (tool, args, route, scripted) in cases {
        fake.clear();
        if let Some(reply) = scripted {
            fake.push(route, reply);
        }
        let result = s.call(tool, args.clone()).await;
        assert_eq!(
            result.is_error,
            Some(false),
            "{tool} {args} failed: {}",
            text(&result)
        );
        assert!(!text(&result).is_empty(), "{tool} returned no text");
        assert!(
            structured(&result).is_object(),
            "{tool} returned no structured object"
        );
        let requests = fake.requests();
        let last = requests.last().expect("no upstream request");
        assert!(
            super::route_matches(route, &last.method, &last.path),
            "{tool}: sent {} but {route} was expected",
            last.route()
        );
        requests.iter().for_each(&validate);
        called.insert(tool.to_string());
    }
    let catalog = Catalog::load(None).unwrap();
    for t in catalog
        .tools
        .iter()
        .filter(|t| toolsets.contains(&t.toolset.as_str()))
    {
        assert!(
            called.contains(&t.name),
            "tool {} has no spec-validated call",
            t.name
        );
    }
}

/// Each (tool, arguments, field) must fail as a tool error that names the field, and none
/// may reach the upstream.
pub async fn check_bad_arguments(
    s: &TestServer,
    fake: &FakeMistral,
    cases: impl IntoIterator<Item = (&str, Value, &str)>,
) {
    for (tool, args, field) in cases {
        let r = s.call(tool, args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{tool} {args} should fail");
        assert!(
            text(&r).contains(field),
            "{tool} {args}: error does not name `{field}`: {}",
            text(&r)
        );
    }
    assert!(
        fake.requests().is_empty(),
        "bad arguments must not reach Mistral"
    );
}
