//! The operation framework, apart from the API areas that use it. An operation is a typed
//! request implementing [`Operation`]: its [`OpSpec`] (spec.rs) says where each field goes and
//! how the call behaves; its fields, through schemars, are the tool's input schema; serde
//! parses the agent's arguments into it (request.rs). [`perform`] is what an operation with no
//! special behaviour does; streams (stream.rs) and long-running waits (wait.rs) are shared
//! building blocks for the ones that override [`Operation::run`]. Results and failures are
//! [`ToolOutput`] (output.rs) and [`ToolError`] (`crate::error`).

pub mod compact;
pub mod context;
pub mod output;
pub mod request;
pub mod select;
pub mod spec;
pub mod stream;
pub mod wait;

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::error::{ToolError, clip};
pub use context::{CallContext, ProgressSink, ProgressUpdate};
pub use output::{MAX_DUPLICATED_RESULT_BYTES, ToolOutput, file_content_link, file_content_uri};
pub use request::{
    MAX_PATH_VALUE, MAX_QUERY_VALUE, MAX_URL_LEN, build_request, build_request_from,
    check_arguments, parse_arguments, request_fields,
};
pub use spec::{Body, DEFAULT_PAGE_SIZE, Effect, OpSpec, Paging, Streaming};

use crate::mistral::RequestBody;

/// Sends a page-numbered list request and adds `next_page` to its result.
pub async fn send_page<T: Serialize>(
    spec: &OpSpec,
    request: &T,
    page: Option<u32>,
    page_size: Option<u32>,
    ctx: &CallContext,
) -> Result<ToolOutput, ToolError> {
    let upstream = build_request(spec, request)?;
    send_page_request(upstream, page, page_size, ctx).await
}

async fn send_page_request(
    upstream: crate::mistral::UpstreamRequest,
    page: Option<u32>,
    page_size: Option<u32>,
    ctx: &CallContext,
) -> Result<ToolOutput, ToolError> {
    let response = ctx.send(&upstream).await?;
    Ok(ToolOutput::from_response(&response, ctx)?
        .with_next_page(page.unwrap_or(0), page_size.unwrap_or(DEFAULT_PAGE_SIZE)))
}

/// A Mistral operation as a typed request.
pub trait Operation: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static {
    const SPEC: OpSpec;

    /// Performs the operation. The default sends `self` as described by [`Self::SPEC`] and
    /// returns Mistral's JSON.
    fn run(self, ctx: CallContext) -> impl Future<Output = Result<ToolOutput, ToolError>> + Send {
        async move { perform(&Self::SPEC, &self, &ctx).await }
    }
}

/// What every operation without special behaviour does, driven by its [`OpSpec`]: send the
/// request, read the answer (or its event stream, as progress), and say how to get the
/// next page.
pub async fn perform<T: Serialize>(
    spec: &OpSpec,
    request: &T,
    ctx: &CallContext,
) -> Result<ToolOutput, ToolError> {
    let fields = request_fields(request)?;
    perform_fields(spec, fields, ctx).await
}

/// [`perform`] from the request's fields: the one copy of the generic path's code.
async fn perform_fields(
    spec: &OpSpec,
    fields: JsonObject,
    ctx: &CallContext,
) -> Result<ToolOutput, ToolError> {
    if let Body::Multipart(file_field) = spec.body {
        return upload(spec, file_field, fields, ctx).await;
    }
    let upstream = build_request_from(spec, fields)?;
    let streams = match spec.streaming {
        Streaming::Never => false,
        Streaming::Always => true,
        Streaming::IfRequested => {
            matches!(&upstream.body, RequestBody::Json(b) if b.get("stream") == Some(&Value::Bool(true)))
        }
    };
    if streams {
        return stream::collect_events(ctx, &upstream).await;
    }
    let response = ctx.send(&upstream).await?;
    let out = ToolOutput::from_response(&response, ctx)?;
    let query = |name: &str| {
        upstream
            .query
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<u32>().ok())
    };
    Ok(match spec.paging {
        Paging::None => out,
        Paging::Numbered => out.with_next_page(
            query("page").unwrap_or(0),
            query("page_size").unwrap_or(DEFAULT_PAGE_SIZE),
        ),
        Paging::Cursor { param, next, size } => {
            out.with_next_cursor(param, next, query(size).map(|n| (size, n)))
        }
    })
}

/// The fields an agent names a file with, for a multipart operation.
const FILE_SOURCE: [&str; 3] = ["path", "content_base64", "file_name"];

/// A multipart operation: the file the agent named is read (from the allowed directories, or
/// decoded), sent as `file_field`, and every other field as a text part.
async fn upload(
    spec: &OpSpec,
    file_field: &str,
    mut fields: JsonObject,
    ctx: &CallContext,
) -> Result<ToolOutput, ToolError> {
    let [path, content, name] = FILE_SOURCE.map(|k| match fields.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    });
    // The ids are checked before the file is read.
    let mut upstream = build_request_from(spec, fields)?;
    let file = ctx
        .load_file(path.as_deref(), content.as_deref(), name.as_deref())
        .await?;
    let size = file.bytes.len();
    ctx.progress(
        0.0,
        Some(1.0),
        format!("uploading {} ({size} bytes)", file.file_name),
    )
    .await;
    if let RequestBody::Multipart(parts) = &mut upstream.body {
        parts.insert(
            0,
            (
                file_field.to_string(),
                crate::mistral::FormField::File {
                    file_name: file.file_name,
                    mime: file.mime,
                    bytes: file.bytes,
                },
            ),
        );
    }
    let response = ctx.send(&upstream).await?;
    ToolOutput::from_response(&response, ctx)
}

/// A registered operation: its spec, its input schema and a type-erased entry point.
pub struct OpEntry {
    pub spec: &'static OpSpec,
    pub input_schema: Arc<JsonObject>,
    /// Generated from the spec (`generated/`) rather than written by hand.
    pub generated: bool,
    invoke: fn(JsonObject, CallContext) -> BoxFuture<'static, Result<ToolOutput, ToolError>>,
}

impl OpEntry {
    pub async fn invoke(
        &self,
        args: JsonObject,
        ctx: CallContext,
    ) -> Result<ToolOutput, ToolError> {
        (self.invoke)(args, ctx).await
    }
}

pub fn entry<O: Operation>() -> OpEntry {
    OpEntry {
        spec: &O::SPEC,
        input_schema: Arc::new(crate::schema::input_schema::<O>()),
        generated: false,
        invoke: invoke::<O>,
    }
}

/// The entry of an operation generated from the spec: no special behaviour, so its
/// arguments, once the typed request has accepted them, are exactly the fields it would
/// serialise back. They are sent as given, and everything after the check is compiled once
/// for all ~250 generated operations instead of once each.
pub fn generated_entry<O: Operation>() -> OpEntry {
    OpEntry {
        spec: &O::SPEC,
        input_schema: Arc::new(crate::schema::input_schema::<O>()),
        generated: true,
        invoke: invoke_checked::<O>,
    }
}

fn invoke_checked<O: Operation>(
    args: JsonObject,
    ctx: CallContext,
) -> BoxFuture<'static, Result<ToolOutput, ToolError>> {
    let args = Value::Object(args);
    let checked = match check_arguments::<O>(&args) {
        Ok(()) => Ok(args),
        // Only on failure: the schema (built once per call here) places the error.
        Err(e) => Err(request::located_argument_error(
            &e,
            &args,
            &crate::schema::input_schema::<O>(),
        )),
    };
    send_checked(&O::SPEC, checked, ctx)
}

fn send_checked(
    spec: &'static OpSpec,
    checked: Result<Value, ToolError>,
    ctx: CallContext,
) -> BoxFuture<'static, Result<ToolOutput, ToolError>> {
    Box::pin(async move {
        let fields = request::fields_of(Ok(checked?))?;
        perform_fields(spec, fields, &ctx).await
    })
}

fn invoke<O: Operation>(
    args: JsonObject,
    ctx: CallContext,
) -> BoxFuture<'static, Result<ToolOutput, ToolError>> {
    Box::pin(async move {
        let request: O = parse_arguments(args)?;
        request.run(ctx).await
    })
}
