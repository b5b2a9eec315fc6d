//! Large base64 parts of a result (OCR page images; `blob_links` in tools.toml) moved out
//! into the state store and named by a resource link, `mistral://artifacts/{id}`, for
//! clients that read links: the result stays small and the client fetches an image only
//! when it wants it, from any replica. An artifact belongs to the principal whose call made
//! it and expires after an hour.

use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{ContentBlock, Resource, ResourceContents};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Caller, McpServer};
use crate::tool::ToolOutput;

pub const ARTIFACT_PREFIX: &str = "mistral://artifacts/";
const ARTIFACT_TTL: Duration = Duration::from_secs(3600);

#[derive(Serialize, Deserialize)]
struct Artifact {
    principal: String,
    mime: String,
    /// Base64, without a `data:` prefix.
    data: String,
}

/// One value moved out of the result, waiting to be stored.
struct Moved {
    id: String,
    name: String,
    artifact: Artifact,
}

/// Calls `f` with each object holding the last field of `segments`, and that field's name.
fn visit(value: &mut Value, segments: &[&str], f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let Value::Object(obj) = value else { return };
    let (key, each) = match first.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (*first, false),
    };
    if rest.is_empty() {
        f(obj, key);
        return;
    }
    let Some(child) = obj.get_mut(key) else {
        return;
    };
    match child {
        Value::Array(items) if each => {
            for item in items {
                visit(item, rest, f);
            }
        }
        _ if !each => visit(child, rest, f),
        _ => {}
    }
}

/// `data:image/jpeg;base64,AAA` as (mime, base64); raw base64 as octet-stream.
fn split_data_url(s: &str) -> (String, String) {
    if let Some(rest) = s.strip_prefix("data:")
        && let Some((head, data)) = rest.split_once(',')
    {
        let mime = head.strip_suffix(";base64").unwrap_or(head);
        return (mime.to_string(), data.to_string());
    }
    ("application/octet-stream".to_string(), s.to_string())
}

fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl McpServer {
    /// Moves the base64 strings at `paths` into the state store and puts a link to each
    /// beside the result. If the store cannot take them, the result stays as it was.
    pub(super) async fn link_blobs(
        &self,
        output: &mut ToolOutput,
        paths: &[String],
        principal: &str,
    ) {
        let mut moved = Vec::new();
        let original = output.structured.clone();
        for path in paths {
            let segments: Vec<&str> = path.split('.').collect();
            visit(&mut output.structured, &segments, &mut |obj, key| {
                let Some(Value::String(s)) = obj.get(key) else {
                    return;
                };
                let (mime, data) = split_data_url(s);
                let id = new_id();
                let name = obj
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| id.clone(), str::to_string);
                obj.insert(key.to_string(), json!(format!("{ARTIFACT_PREFIX}{id}")));
                moved.push(Moved {
                    id,
                    name,
                    artifact: Artifact {
                        principal: principal.to_string(),
                        mime,
                        data,
                    },
                });
            });
        }
        for m in &moved {
            let stored = match serde_json::to_string(&m.artifact) {
                Ok(json) => self.state().artifact_put(&m.id, &json, ARTIFACT_TTL).await,
                Err(_) => continue,
            };
            if let Err(e) = stored {
                tracing::warn!(error = %e, "artifacts could not be stored; the result keeps them inline");
                output.structured = original;
                return;
            }
        }
        for m in moved {
            output.extra.push(ContentBlock::resource_link(
                Resource::new(format!("{ARTIFACT_PREFIX}{}", m.id), m.name)
                    .with_mime_type(m.artifact.mime),
            ));
        }
    }

    /// The contents of `mistral://artifacts/{id}` for this caller.
    pub(super) async fn read_artifact(
        &self,
        uri: &str,
        id: &str,
        caller: &Caller,
    ) -> Result<ResourceContents, McpError> {
        let gone = || {
            McpError::invalid_params(
                format!(
                    "Resource not found: {}. Artifacts live an hour after the call that made them, for the caller who made it; run the tool again for a fresh one.",
                    crate::tool::clip(uri, 200)
                ),
                Some(json!({ "uri": uri })),
            )
        };
        let stored = self.state().artifact_get(id).await.map_err(|e| {
            McpError::internal_error(
                format!("{e}; try again shortly"),
                Some(json!({ "uri": uri })),
            )
        })?;
        let artifact: Artifact = stored
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or_else(gone)?;
        let principal = caller
            .grant
            .as_ref()
            .map_or("local", |g| g.principal.as_str());
        if artifact.principal != principal {
            return Err(gone());
        }
        Ok(ResourceContents::blob(artifact.data, uri).with_mime_type(artifact.mime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_split_into_mime_and_base64() {
        assert_eq!(
            split_data_url("data:image/jpeg;base64,AAAA"),
            ("image/jpeg".to_string(), "AAAA".to_string())
        );
        assert_eq!(
            split_data_url("AAAA"),
            ("application/octet-stream".to_string(), "AAAA".to_string())
        );
    }

    #[test]
    fn paths_reach_every_item() {
        let mut v = json!({"pages": [{"images": [{"id": "a", "b": "x"}, {"id": "c", "b": "y"}]}, {"images": []}]});
        let mut seen = Vec::new();
        visit(&mut v, &["pages[]", "images[]", "b"], &mut |obj, key| {
            seen.push(obj.get(key).cloned());
        });
        assert_eq!(seen, [Some(json!("x")), Some(json!("y"))]);
    }
}
