//! The tool catalog: which operations are tools, under what names, in which toolsets, with
//! what descriptions and search keywords.
//!
//! `tools.toml` is compiled into the binary; an override file (`--catalog`) patches entries
//! of it (rename, re-describe, add keywords, disable). Both are strict: an unknown key, an
//! unknown operation or a duplicate name stops the server with a message naming it. The
//! catalog is joined with the operation registry ([`crate::api::registry`]) into
//! [`ToolDef`]s, the single list everything else (listing, calling, search, docs) reads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde::Deserialize;

use crate::tool::compact::NARROWING_ARGS;
use crate::tool::select;
use crate::tool::{Effect, OpEntry, OpSpec};

/// The catalog shipped with the binary, less its example intents, deflated by build.rs.
const EMBEDDED_DEFLATED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tools.toml.deflate"));
/// tools.toml's example intents, `id<TAB>example` lines, deflated by build.rs.
const EXAMPLES_DEFLATED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/examples.tsv.deflate"));

/// The catalog shipped with the binary. Its tools' `examples` are apart, in
/// [`embedded_examples`]: start-up does not parse them.
pub fn embedded() -> anyhow::Result<String> {
    let bytes = miniz_oxide::inflate::decompress_to_vec(EMBEDDED_DEFLATED)
        .map_err(|e| anyhow::anyhow!("the embedded catalog does not inflate: {e:?}"))?;
    String::from_utf8(bytes).context("the embedded catalog is not UTF-8")
}

/// The shipped catalog's example intents of the tool with catalog id `id`, inflated on the
/// first call (the first search).
pub fn embedded_examples(id: &str) -> Vec<String> {
    static BY_ID: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    BY_ID
        .get_or_init(|| {
            let text = miniz_oxide::inflate::decompress_to_vec(EXAMPLES_DEFLATED)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_default();
            let mut by_id: HashMap<String, Vec<String>> = HashMap::new();
            for (id, example) in text.lines().filter_map(|l| l.split_once('\t')) {
                by_id
                    .entry(id.to_string())
                    .or_default()
                    .push(example.to_string());
            }
            by_id
        })
        .get(id)
        .cloned()
        .unwrap_or_default()
}

/// Longest tool name any major client accepts.
pub const MAX_NAME_LEN: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    toolsets: BTreeMap<String, ToolsetDef>,
    /// `"METHOD /path"` → why that operation is not a tool.
    #[serde(default)]
    excluded: BTreeMap<String, String>,
    tools: BTreeMap<String, ToolEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsetDef {
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolEntry {
    name: Option<String>,
    /// `"METHOD /path"` as the spec keys it (a `#fragment` included).
    operation: String,
    /// The request and its `run` are written by hand in `src/api/<area>.rs` instead of
    /// generated from the spec.
    #[serde(default)]
    hand_written: bool,
    /// `read`, `inference`, `write` or `destructive`, where the method's default is wrong.
    effect: Option<String>,
    /// Where the method's default (all but POST) is wrong.
    idempotent: Option<bool>,
    /// Help for input fields, by field name: what agents read beside the schema.
    #[serde(default)]
    fields: BTreeMap<String, String>,
    /// The result's readable text, with `{name}` filled from the result's top-level fields,
    /// else from the arguments: `"Uploaded {filename} as file {id}."`.
    summary: Option<String>,
    /// Columns of the compact table of a list result, as item paths (`capabilities`,
    /// `capabilities.vision`), where the well-known identifying keys are not the right ones.
    #[serde(default)]
    columns: Vec<String>,
    /// The item field a list result's rows are grouped by (`purpose`), said once per group
    /// instead of on every row.
    group_by: Option<String>,
    /// Top-level result fields that hold an uploaded file's id (`output_file`): a client
    /// that reads resource links gets a link to each file's content beside the result.
    #[serde(default)]
    file_links: Vec<String>,
    /// Result fields holding base64 content (`pages[].images[].image_base64`): a client
    /// that reads resource links gets each as a linked resource instead of inline.
    #[serde(default)]
    blob_links: Vec<String>,
    /// The call can run long (a wait, a stream, a large document): a client that declared
    /// MCP's tasks extension gets a task to poll instead of a call held open.
    #[serde(default)]
    task: bool,
    /// The catalog id of the tool that stops the upstream work this one follows
    /// (`batch_jobs_cancel` for `batch_jobs_wait`), run when its task is cancelled.
    cancel_with: Option<String>,
    toolset: String,
    title: String,
    description: String,
    #[serde(default)]
    keywords: Vec<String>,
    /// Requests this tool answers, in users' words: what search learns from.
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// An override file: every field optional, applied over the embedded entries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    #[serde(default)]
    tools: BTreeMap<String, ToolPatch>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolPatch {
    name: Option<String>,
    toolset: Option<String>,
    title: Option<String>,
    description: Option<String>,
    keywords: Option<Vec<String>>,
    /// Added to the shipped keywords instead of replacing them.
    extra_keywords: Option<Vec<String>>,
    /// Added to the shipped example intents.
    extra_examples: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// One operation as a tool: everything listing, calling and searching need.
pub struct ToolDef {
    pub name: String,
    pub toolset: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    /// Example intents, for search.
    pub examples: Vec<String>,
    pub enabled: bool,
    /// The spec's key for the operation, `"METHOD /path"` with any `#fragment`.
    pub operation: String,
    /// Template of the result's readable text; see [`ToolDef::summarize`].
    pub summary: Option<String>,
    /// Columns of a list result's compact table; empty picks them from the result.
    pub columns: Vec<String>,
    /// The item field a list result's rows are grouped by.
    pub group_by: Option<String>,
    /// Result fields holding file ids that get a resource link.
    pub file_links: Vec<String>,
    /// Result fields holding base64 content moved out into linked resources.
    pub blob_links: Vec<String>,
    /// Runs as an MCP task for clients that declared the tasks extension.
    pub task: bool,
    /// Catalog id of the tool that cancels this one's upstream work.
    pub cancel_with: Option<String>,
    /// The input fields that narrow or page the result (`select` when the tool takes it),
    /// named when a result is too large.
    pub narrowing: Vec<String>,
    pub op: OpEntry,
}

impl ToolDef {
    pub fn spec(&self) -> &'static OpSpec {
        self.op.spec
    }

    pub fn input_schema(&self) -> Arc<JsonObject> {
        self.op.input_schema.clone()
    }

    /// Whether the tool takes the `select` argument (see [`with_select`]).
    pub fn takes_select(&self) -> bool {
        self.narrowing.iter().any(|n| n == select::SELECT_ARG)
    }

    /// Every tool reaches Mistral, an open world: `openWorldHint` is left at the MCP default
    /// (true) rather than spelled out in every listed tool.
    pub fn annotations(&self) -> ToolAnnotations {
        let spec = self.spec();
        ToolAnnotations::new()
            .read_only(spec.read_only())
            .destructive(spec.effect == Effect::Destructive)
            .idempotent(spec.idempotent)
    }

    /// The readable text of a result, from the `summary` template: each `{name}` is the
    /// result's top-level field of that name, else the argument, else `?`.
    pub fn summarize(&self, result: &serde_json::Value, args: &JsonObject) -> Option<String> {
        let template = self.summary.as_deref()?;
        let mut out = String::with_capacity(template.len() + 64);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            out.push_str(&rest[..open]);
            let name = &rest[open + 1..close];
            let value = result.get(name).or_else(|| args.get(name));
            match value {
                Some(serde_json::Value::String(s)) => out.push_str(s),
                Some(serde_json::Value::Null) | None => out.push('?'),
                Some(other) => out.push_str(&other.to_string()),
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// The MCP tool as `tools/list` shows it.
    pub fn to_tool(&self) -> Tool {
        Tool::new(
            self.name.clone(),
            self.description.clone(),
            self.input_schema(),
        )
        .with_title(self.title.clone())
        .with_annotations(self.annotations())
    }
}

/// The joined catalog.
pub struct Catalog {
    pub toolsets: BTreeMap<String, ToolsetDef>,
    /// Spec operations deliberately not exposed, with the reason.
    pub excluded: BTreeMap<String, String>,
    pub tools: Vec<ToolDef>,
}

impl Catalog {
    /// The embedded catalog, patched by `override_path` if given.
    pub fn load(override_path: Option<&Path>) -> anyhow::Result<Self> {
        let patch = match override_path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read catalog override {}", p.display()))?;
                let patch: OverrideFile = toml::from_str(&text)
                    .with_context(|| format!("invalid catalog override {}", p.display()))?;
                Some(patch)
            }
            None => None,
        };
        Self::build(&embedded()?, patch, crate::api::registry())
    }

    fn build(
        text: &str,
        patch: Option<OverrideFile>,
        registry: Vec<OpEntry>,
    ) -> anyhow::Result<Self> {
        let file: CatalogFile = toml::from_str(text).context("invalid embedded tools.toml")?;
        let mut entries = file.tools;
        if let Some(patch) = patch {
            for (id, p) in patch.tools {
                let Some(e) = entries.get_mut(&id) else {
                    bail!(
                        "catalog override names unknown operation `{id}`; `mistral-mcp tools` lists them"
                    );
                };
                if let Some(v) = p.name {
                    e.name = Some(v);
                }
                if let Some(v) = p.toolset {
                    e.toolset = v;
                }
                if let Some(v) = p.title {
                    e.title = v;
                }
                if let Some(v) = p.description {
                    e.description = v;
                }
                if let Some(v) = p.keywords {
                    e.keywords = v;
                }
                if let Some(v) = p.extra_keywords {
                    e.keywords.extend(v);
                }
                if let Some(v) = p.extra_examples {
                    e.examples.extend(v);
                }
                if let Some(v) = p.enabled {
                    e.enabled = v;
                }
            }
        }

        let mut by_id: HashMap<&'static str, OpEntry> = HashMap::new();
        for op in registry {
            if by_id.insert(op.spec.id, op).is_some() {
                bail!("two operations share the id registered last");
            }
        }
        let mut tools = Vec::with_capacity(entries.len());
        let mut names = HashSet::new();
        for (id, e) in entries {
            let Some(op) = by_id.remove(id.as_str()) else {
                bail!("tools.toml describes `{id}`, but no operation has that id");
            };
            let name = e.name.clone().unwrap_or_else(|| id.clone());
            validate_name(&name)?;
            if !names.insert(name.clone()) {
                bail!("two tools are named `{name}`");
            }
            if !file.toolsets.contains_key(&e.toolset) {
                bail!("tool `{name}` is in undeclared toolset `{}`", e.toolset);
            }
            if e.description.trim().is_empty() || e.title.trim().is_empty() {
                bail!("tool `{name}` needs a title and a description");
            }
            if META_TOOLS.contains(&name.as_str()) {
                bail!("`{name}` is reserved for a built-in tool");
            }
            check_mechanics(&id, &e, &op)?;
            check_columns(&name, &e.columns)?;
            check_columns(&name, e.group_by.as_slice())?;
            check_columns(&name, &e.file_links)?;
            check_result_paths(&name, &e.blob_links)?;
            let op = with_field_help(&id, op, &e.fields)?;
            let op = with_select(&id, op)?;
            let narrowing = narrowing_args(&op.input_schema);
            tools.push(ToolDef {
                name,
                toolset: e.toolset,
                title: e.title,
                description: e.description.trim().to_string(),
                keywords: e.keywords,
                examples: e.examples,
                enabled: e.enabled,
                operation: e.operation,
                summary: e.summary,
                columns: e.columns,
                file_links: e.file_links,
                blob_links: e.blob_links,
                task: e.task,
                cancel_with: e.cancel_with,
                group_by: e.group_by,
                narrowing,
                op,
            });
        }
        if let Some(id) = by_id.keys().next() {
            bail!("operation `{id}` has no entry in tools.toml");
        }
        for t in &tools {
            if let Some(c) = &t.cancel_with
                && !tools.iter().any(|o| o.spec().id == c.as_str())
            {
                bail!(
                    "tool `{}` has cancel_with = `{c}`, which is no tool's id",
                    t.name
                );
            }
            if t.cancel_with.is_some() && !t.task {
                bail!(
                    "tool `{}` has cancel_with but is not a task (task = true)",
                    t.name
                );
            }
        }
        tools.sort_by(|a, b| {
            (a.toolset.as_str(), a.name.as_str()).cmp(&(b.toolset.as_str(), b.name.as_str()))
        });
        for (operation, reason) in &file.excluded {
            if reason.trim().is_empty() {
                bail!("excluded operation `{operation}` needs a reason");
            }
        }
        Ok(Self {
            toolsets: file.toolsets,
            excluded: file.excluded,
            tools,
        })
    }

    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Checks `--toolsets` values, so a typo is an error and not an empty server.
    pub fn check_toolsets(&self, wanted: &[String]) -> anyhow::Result<()> {
        for t in wanted {
            if !self.toolsets.contains_key(t) {
                let known: Vec<&str> = self.toolsets.keys().map(String::as_str).collect();
                bail!(
                    "unknown toolset `{t}`; known toolsets: {}",
                    known.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// The catalog's view of an operation must agree with the operation itself: the route,
/// whether it is generated, its effect and idempotency.
fn check_mechanics(id: &str, e: &ToolEntry, op: &OpEntry) -> anyhow::Result<()> {
    let spec = op.spec;
    let operation = e.operation.split('#').next().unwrap_or(&e.operation);
    if operation != spec.operation() {
        bail!(
            "tools.toml says `{id}` is `{}`, but the operation sends `{}`",
            e.operation,
            spec.operation()
        );
    }
    if e.hand_written == op.generated {
        bail!(
            "tools.toml says `{id}` is {}, but it is {}; fix `hand_written` (and run scripts/generate)",
            if e.hand_written {
                "hand-written"
            } else {
                "generated"
            },
            if op.generated {
                "generated"
            } else {
                "hand-written"
            },
        );
    }
    if let Some(effect) = &e.effect {
        let actual = match spec.effect {
            Effect::Read => "read",
            Effect::Inference => "inference",
            Effect::Write => "write",
            Effect::Destructive => "destructive",
        };
        if effect != actual {
            bail!(
                "tools.toml gives `{id}` effect `{effect}`, but the operation declares `{actual}`"
            );
        }
    }
    if let Some(idempotent) = e.idempotent
        && idempotent != spec.idempotent
    {
        bail!(
            "tools.toml gives `{id}` idempotent = {idempotent}, but the operation declares the opposite"
        );
    }
    Ok(())
}

/// Puts `tools.toml`'s field help into the input schema, before any generated note (an open
/// enum's known values). A help line for a field the schema does not have is an error.
fn with_field_help(
    id: &str,
    mut op: OpEntry,
    help: &BTreeMap<String, String>,
) -> anyhow::Result<OpEntry> {
    if help.is_empty() {
        return Ok(op);
    }
    let mut schema = (*op.input_schema).clone();
    let Some(serde_json::Value::Object(props)) = schema.get_mut("properties") else {
        bail!("`{id}` has field help but no input fields");
    };
    for (field, text) in help {
        let prop = match props.get_mut(field) {
            // A free JSON value's schema can be `true`: it becomes an object to hold the help.
            Some(p @ serde_json::Value::Bool(true)) => {
                *p = serde_json::Value::Object(serde_json::Map::new());
                p
            }
            Some(p) => p,
            None => bail!(
                "tools.toml has help for `{id}` field `{field}`, which the tool does not have"
            ),
        };
        let Some(prop) = prop.as_object_mut() else {
            bail!("`{id}` field `{field}` has a schema that cannot carry help");
        };
        let text = text.trim();
        let merged = match prop.get("description").and_then(|d| d.as_str()) {
            // The generated note repeats what the help already lists.
            Some(note)
                if note.starts_with("Known values: ")
                    && known_values(note).iter().all(|v| text.contains(v.as_str())) =>
            {
                text.to_string()
            }
            // Other generated text (a multipart file field's) is replaced by the help.
            Some(note) if note.starts_with("Known values: ") => format!("{text} {note}"),
            _ => text.to_string(),
        };
        prop.insert("description".into(), serde_json::Value::String(merged));
    }
    op.input_schema = Arc::new(schema);
    Ok(op)
}

/// The backticked values of a generated "Known values: `a`, `b`." note; none for other text.
fn known_values(note: &str) -> Vec<String> {
    note.strip_prefix("Known values: ")
        .unwrap_or_default()
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|v| format!("`{v}`"))
        .collect()
}

/// Adds the `select` argument to a read-only tool that returns JSON: every one of them, so
/// an agent can count on it. Tools that return a file's bytes (they take `save_to`) have no
/// JSON to select from.
fn with_select(id: &str, mut op: OpEntry) -> anyhow::Result<OpEntry> {
    let props = op
        .input_schema
        .get("properties")
        .and_then(|p| p.as_object());
    if !op.spec.read_only() || props.is_some_and(|p| p.contains_key("save_to")) {
        return Ok(op);
    }
    if props.is_some_and(|p| p.contains_key(select::SELECT_ARG)) {
        bail!(
            "`{id}` has its own `{}` field, which clashes with the result selection argument",
            select::SELECT_ARG
        );
    }
    let mut schema = (*op.input_schema).clone();
    let props = schema
        .entry("properties")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    let Some(props) = props.as_object_mut() else {
        bail!("`{id}` has an input schema whose properties are not an object");
    };
    props.insert(select::SELECT_ARG.into(), select::schema());
    op.input_schema = Arc::new(schema);
    Ok(op)
}

/// The input fields of a schema that narrow or page the result.
fn narrowing_args(schema: &JsonObject) -> Vec<String> {
    let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else {
        return Vec::new();
    };
    std::iter::once(select::SELECT_ARG)
        .chain(NARROWING_ARGS.iter().copied())
        .filter(|a| props.contains_key(*a))
        .map(str::to_string)
        .collect()
}

/// `columns` entries are item paths: dot-separated, non-empty names.
fn check_columns(name: &str, columns: &[String]) -> anyhow::Result<()> {
    for c in columns {
        let ok = !c.is_empty()
            && c.split('.').all(|p| {
                !p.is_empty() && p.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            });
        if !ok {
            bail!(
                "tool `{name}` has column `{c}`; columns are item fields, dot-separated \
                 (`id`, `capabilities.vision`)"
            );
        }
    }
    Ok(())
}

/// `blob_links` entries are result paths: dot-separated names, `[]` after a name that holds
/// an array (`pages[].images[].image_base64`).
fn check_result_paths(name: &str, paths: &[String]) -> anyhow::Result<()> {
    for p in paths {
        let ok = !p.is_empty()
            && p.split('.').all(|seg| {
                let seg = seg.strip_suffix("[]").unwrap_or(seg);
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            })
            && !p.ends_with("[]");
        if !ok {
            bail!(
                "tool `{name}` has blob_links path `{p}`; paths are dot-separated fields, with `[]` \
                 after an array (`pages[].images[].image_base64`)"
            );
        }
    }
    Ok(())
}

/// Names of the built-in discovery tools.
pub const META_TOOLS: &[&str] = &["search_tools", "describe_tools", "call_tool"];

fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !ok_chars {
        bail!("tool name `{name}` must be 1-{MAX_NAME_LEN} characters of A-Z, a-z, 0-9, _ or -");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_matches_the_registry() {
        let c = Catalog::load(None).unwrap();
        assert!(c.tools.len() >= 20);
        for t in &c.tools {
            crate::schema::check_portable(&t.name, &t.input_schema()).unwrap();
            assert!(
                t.description.len() <= 1024,
                "{} description too long",
                t.name
            );
        }
    }

    #[test]
    fn override_patches_and_rejects_unknowns() {
        let patch: OverrideFile =
            toml::from_str("[tools.files_delete]\nenabled = false\nname = \"rm_file\"\n").unwrap();
        let c = Catalog::build(&embedded().unwrap(), Some(patch), crate::api::registry()).unwrap();
        let t = c.get("rm_file").unwrap();
        assert!(!t.enabled);
        let patch: OverrideFile = toml::from_str("[tools.no_such_op]\nenabled = false\n").unwrap();
        let err = Catalog::build(&embedded().unwrap(), Some(patch), crate::api::registry())
            .err()
            .unwrap();
        assert!(err.to_string().contains("no_such_op"));
        assert!(toml::from_str::<OverrideFile>("[tools.files_delete]\nenabld = false\n").is_err());
    }

    #[test]
    fn bad_names_are_rejected() {
        assert!(validate_name("ok_name-1").is_ok());
        assert!(validate_name("has space").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }
}
