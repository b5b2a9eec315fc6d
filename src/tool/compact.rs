//! The text of a tool result. Mistral's JSON stays whole in `structuredContent`; the text the
//! model reads is, by default (`[tools] result_text = "compact"`), a readable digest of it,
//! driven by the JSON's shape rather than by per-tool code:
//!
//! - a list (`data`, or the one array of a response without an `id`) becomes a count, a table
//!   of the columns that identify and distinguish items (`id`, `name`, `status`, `created_at`…,
//!   or the tool's `columns` in tools.toml), a line for values every item shares, the names of
//!   the fields left out, and how to get the next page;
//! - an object becomes its fields, nested ones flattened, lists of objects named by their ids;
//! - long texts (page markdown, conversation entries, instructions, a long summary) are cut at
//!   the sizes below, with a note saying how to read the rest.
//!
//! Nothing is dropped silently: every cut or omission is said in the text. Past
//! `[tools] max_result_tokens` the text is replaced by what to narrow or page, never by a cut
//! JSON. `result_text = "json"` gives Mistral's JSON as the text, as before.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use super::output::ToolOutput;
use super::select;
use crate::config::ResultText;
use crate::error::ToolError;

/// A text field of a list item (page markdown, a message) is cut to this many characters.
pub const ITEM_TEXT_CHARS: usize = 100;
/// Items' texts stop being shown once this many characters of them are in the text.
pub const TEXT_BUDGET_CHARS: usize = 1_600;
/// A string field of an object is cut to this many characters.
pub const FIELD_CHARS: usize = 600;
/// A table cell is cut to this many characters (identifiers never are).
pub const CELL_CHARS: usize = 48;
/// A tool's own readable text (OCR pages in order, a transcript) is cut to this many
/// characters.
pub const SUMMARY_CHARS: usize = 12_000;
/// At most this many columns are picked automatically for a table.
const MAX_AUTO_COLUMNS: usize = 5;
/// Bytes per token when estimating a text's size: o200k averages 3-4.5 bytes a token on
/// JSON and English, so 3 errs towards a smaller result.
const BYTES_PER_TOKEN: usize = 3;
/// Paths offered in the over-the-cap advice.
const MAX_ADVISED_PATHS: usize = 40;

/// Item fields that identify and distinguish items, in the order they become columns.
const COLUMN_KEYS: &[&str] = &[
    "id",
    "name",
    "filename",
    "title",
    "type",
    "role",
    "status",
    "model",
    "purpose",
    "job_type",
    "bytes",
    "version",
    "created_at",
    "created",
];
/// Fields whose values name a thing: never cut in a cell, never folded into "same in every
/// item".
const IDENTIFYING_KEYS: &[&str] = &["id", "name", "filename", "title"];
/// Item fields holding a long text, shown under the item's row.
const TEXT_KEYS: &[&str] = &["markdown", "content", "text", "transcript"];
/// Input fields that narrow or page a result, named in the advice when it is too large.
pub const NARROWING_ARGS: &[&str] = &[
    "page",
    "page_size",
    "pages",
    "limit",
    "offset",
    "cursor",
    "page_token",
    "save_to",
];

/// How one tool's results are written.
pub struct ResultPolicy<'a> {
    pub mode: ResultText,
    pub max_tokens: usize,
    /// Item columns for list results (tools.toml `columns`); empty picks them from the JSON.
    pub columns: &'a [String],
    /// The item field a list's rows are grouped by (tools.toml `group_by`).
    pub group_by: Option<&'a str>,
    /// The tool's input fields that narrow or page its result (`select` among them when the
    /// tool takes it).
    pub narrowing: &'a [String],
    /// A read-only call can simply be repeated narrower: too large a result is an error.
    pub read_only: bool,
}

/// An estimate of `text`'s size in tokens, for the cap.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(BYTES_PER_TOKEN)
}

/// The result of a successful call: `select` applied, the text written by `policy`, and the
/// cap enforced.
pub fn finish(
    output: ToolOutput,
    select: Option<&[String]>,
    policy: &ResultPolicy<'_>,
) -> Result<CallToolResult, ToolError> {
    let ToolOutput {
        summary,
        structured,
        extra,
    } = output;
    // Paging is read before `select` narrows it away: the text still says how to go on.
    let next_page = structured.get("next_page").cloned();
    let (structured, summary) = match select {
        Some(paths) => (select::apply(&structured, paths)?, None),
        None => (structured, summary),
    };
    let mut result = match policy.mode {
        ResultText::Json => ToolOutput {
            summary,
            structured,
            extra: Vec::new(),
        }
        .into_result(),
        ResultText::Compact => {
            let text = match summary {
                Some(s) => cut_summary(&s, policy),
                None => render(
                    &structured,
                    &Render {
                        columns: if select.is_some() {
                            &[]
                        } else {
                            policy.columns
                        },
                        group_by: policy.group_by.filter(|_| select.is_none()),
                        selected: select,
                        narrowing: policy.narrowing,
                        next_page: next_page.as_ref(),
                    },
                ),
            };
            let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
            r.structured_content = Some(structured);
            r
        }
    };
    let text_len = result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map_or(0, |t| t.text.len());
    let tokens = text_len.div_ceil(BYTES_PER_TOKEN);
    if tokens > policy.max_tokens {
        let shape = result.structured_content.take().unwrap_or(Value::Null);
        result = too_large(tokens, &shape, policy);
    }
    result.content.extend(extra);
    Ok(result)
}

/// What replaces a result over the cap: its size, what to narrow, and the paths it has.
fn too_large(tokens: usize, value: &Value, policy: &ResultPolicy<'_>) -> CallToolResult {
    let mut ways = Vec::new();
    let has = |a: &str| policy.narrowing.iter().any(|n| n == a);
    if has(select::SELECT_ARG) {
        ways.push("`select` only the paths you need (those below)".to_string());
    }
    for (arg, how) in [
        ("page_size", "a smaller `page_size`"),
        ("limit", "a smaller `limit`"),
        ("pages", "fewer `pages`"),
        ("save_to", "`save_to` a file"),
    ] {
        if has(arg) {
            ways.push(how.to_string());
        }
    }
    ways.push("narrower filters (describe_tools lists this tool's arguments)".to_string());
    let mut paths = select::known_paths(value);
    paths.truncate(MAX_ADVISED_PATHS);
    let done = if policy.read_only {
        ""
    } else {
        " The call itself succeeded: repeat it only to see its result."
    };
    let text = format!(
        "This result is about {tokens} tokens of text, over this server's limit of {} per result \
         ([tools] max_result_tokens); it is not shown rather than shown cut.{done} To get it, \
         call again with {}. The result's paths: {}.",
        policy.max_tokens,
        ways.join(", or "),
        paths.join(", "),
    );
    let structured = json!({ "too_large": {
        "estimated_tokens": tokens,
        "max_result_tokens": policy.max_tokens,
        "paths": paths,
    }});
    let mut result = if policy.read_only {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    result.structured_content = Some(structured);
    result
}

/// A tool's own text, cut at [`SUMMARY_CHARS`] (at a line end when one is near) with a note.
/// A short last line is kept: tools end their text with what it covers ("30 pages processed
/// by …", "[Truncated: … use save_to]").
fn cut_summary(summary: &str, policy: &ResultPolicy<'_>) -> String {
    if summary.len() <= SUMMARY_CHARS {
        return summary.to_string();
    }
    let tail = summary
        .trim_end()
        .rsplit_once('\n')
        .map(|(_, last)| last)
        .filter(|last| last.len() <= MAX_KEPT_LAST_LINE)
        .unwrap_or("");
    let mut end = SUMMARY_CHARS - tail.len();
    while !summary.is_char_boundary(end) {
        end -= 1;
    }
    let head = &summary[..end];
    let head = match head.rfind('\n') {
        Some(nl) if nl > end / 2 => &head[..nl],
        _ => head,
    };
    let ranges: Vec<String> = policy
        .narrowing
        .iter()
        .filter(|a| a.as_str() != select::SELECT_ARG)
        .map(|a| format!("`{a}`"))
        .collect();
    let range = if ranges.is_empty() {
        String::new()
    } else {
        format!(
            ", or call again with {} to take a part",
            ranges.join(" or ")
        )
    };
    format!(
        "{head}\n[Text cut at {} of {} characters. The whole result is in structuredContent{range}.]\n{tail}",
        head.len(),
        summary.len()
    )
    .trim_end()
    .to_string()
}

/// The longest last line of a tool's own text kept when the text is cut.
const MAX_KEPT_LAST_LINE: usize = 400;

/// How [`render`] writes one result.
pub struct Render<'a> {
    pub columns: &'a [String],
    /// A list's rows are grouped under this item field's values (tools.toml `group_by`).
    pub group_by: Option<&'a str>,
    /// The agent's `select` paths: every field they keep is shown, and no text is cut.
    pub selected: Option<&'a [String]>,
    pub narrowing: &'a [String],
    /// The arguments of the next page, if any.
    pub next_page: Option<&'a Value>,
}

/// The compact text of a JSON result.
pub fn render(value: &Value, opts: &Render<'_>) -> String {
    let mut out = String::new();
    let mut notes = Vec::new();
    let Some(root) = value.as_object() else {
        return value.to_string();
    };
    match find_list(root) {
        Some((path, items)) => {
            let rest = root_without(root, &path);
            render_list(&mut out, &mut notes, &path, items, root, opts);
            if !rest.is_empty() {
                render_object(&mut out, &mut notes, &rest, "", 0, opts);
            }
        }
        None => {
            let rest = root_without(root, "");
            render_object(&mut out, &mut notes, &rest, "", 0, opts);
        }
    }
    if let Some(next) = opts.next_page {
        notes.push(format!("Next page: call again with {next}."));
    }
    for note in notes {
        out.push_str(&note);
        out.push('\n');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if out.is_empty() {
        out.push_str("(empty result)");
    }
    out
}

/// The root's fields other than the list and the paging arguments the notes already give.
fn root_without(root: &Map<String, Value>, list_path: &str) -> Map<String, Value> {
    let top = list_path.split('.').next().unwrap_or(list_path);
    root.iter()
        .filter(|(k, _)| k.as_str() != top && k.as_str() != "next_page")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The list a result is about: `data`, else, in an answer that is not itself an object with
/// an `id`, the first array of objects at the top or one object down.
fn find_list(root: &Map<String, Value>) -> Option<(String, &Vec<Value>)> {
    if let Some(Value::Array(items)) = root.get("data") {
        return Some(("data".into(), items));
    }
    if root.contains_key("id") {
        return None;
    }
    fn of_objects(v: &Value) -> Option<&Vec<Value>> {
        v.as_array()
            .filter(|a| a.first().is_some_and(Value::is_object))
    }
    root.iter()
        .find_map(|(k, v)| of_objects(v).map(|a| (k.clone(), a)))
        .or_else(|| {
            root.iter().find_map(|(k, v)| {
                v.as_object()?
                    .iter()
                    .find_map(|(ik, iv)| of_objects(iv).map(|a| (format!("{k}.{ik}"), a)))
            })
        })
}

fn render_list(
    out: &mut String,
    notes: &mut Vec<String>,
    path: &str,
    items: &[Value],
    root: &Map<String, Value>,
    opts: &Render<'_>,
) {
    let total = root
        .get("total")
        .and_then(Value::as_u64)
        .filter(|t| *t as usize != items.len())
        .map(|t| format!(" ({t} in all)"))
        .unwrap_or_default();
    let noun = if items.len() == 1 { "item" } else { "items" };
    out.push_str(&format!("{} {noun} in `{path}`{total}", items.len()));
    if items.is_empty() {
        out.push('\n');
        return;
    }
    if !items.iter().all(Value::is_object) {
        let cells: Vec<String> = items.iter().map(|v| cell(v, true)).collect();
        out.push_str(&format!(": {}\n", cells.join(", ")));
        return;
    }
    out.push_str(":\n");
    let objects: Vec<&Map<String, Value>> = items.iter().filter_map(Value::as_object).collect();
    let mut columns = pick_columns(&objects, path, opts);
    let text_key = opts
        .selected
        .is_none()
        .then(|| {
            TEXT_KEYS.iter().copied().find(|k| {
                !columns.iter().any(|c| c == k)
                    && objects
                        .iter()
                        .any(|o| o.get(*k).and_then(text_of).is_some())
            })
        })
        .flatten();
    // A column every item shares says one thing once, not once per row.
    let mut same: Vec<(String, String)> = Vec::new();
    if objects.len() > 1 && opts.selected.is_none() {
        columns.retain(|c| {
            let first = lookup(objects[0], c);
            let shared = !IDENTIFYING_KEYS.contains(&c.as_str())
                && first.is_some_and(|f| !f.is_null())
                && objects.iter().all(|o| lookup(o, c) == first);
            if shared && let Some(v) = first {
                same.push((c.clone(), cell(v, false)));
            }
            !shared
        });
    }
    // Grouped rows say the shared value once per group, in order of first appearance.
    let group = opts
        .group_by
        .filter(|g| objects.iter().any(|o| o.contains_key(*g)));
    let mut order: Vec<(String, Vec<&Map<String, Value>>)> = Vec::new();
    for o in &objects {
        let key = group.map_or_else(String::new, |g| {
            o.get(g).map_or_else(|| "-".to_string(), |v| cell(v, true))
        });
        match order.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(o),
            None => order.push((key, vec![o])),
        }
    }
    if let Some(g) = group {
        columns.retain(|c| c != g);
    }
    out.push_str(&columns.join(" | "));
    out.push('\n');
    let mut budget = TEXT_BUDGET_CHARS;
    let (mut cut, mut unshown) = (0usize, 0usize);
    for (key, rows) in &order {
        let cells_of = |o: &Map<String, Value>| -> Vec<String> {
            columns
                .iter()
                .map(|c| {
                    let keep = opts.selected.is_some() || is_identifying(c);
                    lookup(o, c).map_or_else(|| "-".to_string(), |v| cell(v, keep))
                })
                .collect()
        };
        let table: Vec<Vec<String>> = rows.iter().map(|o| cells_of(o)).collect();
        // A file extension every row of a column shares is said once: names stay whole.
        let extensions: Vec<Option<String>> = (0..columns.len())
            .map(|i| {
                (columns[i] != "id")
                    .then(|| shared_extension(table.iter().map(|r| r[i].as_str())))
                    .flatten()
            })
            .collect();
        let said: Vec<String> = columns
            .iter()
            .zip(&extensions)
            .filter_map(|(c, e)| e.as_ref().map(|e| format!("every {c} ends in {e}")))
            .collect();
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(", {}", said.join(", "))
        };
        if let Some(g) = group {
            out.push_str(&format!("{g} = {key} ({}){said}:\n", rows.len()));
        } else if !said.is_empty() {
            out.push_str(&format!("({})\n", &said[2..]));
        }
        for (o, mut row) in rows.iter().zip(table) {
            for (cell, ext) in row.iter_mut().zip(&extensions) {
                if let Some(e) = ext {
                    cell.truncate(cell.len() - e.len());
                }
            }
            out.push_str(&row.join(" | "));
            out.push('\n');
            let Some(text) = text_key.and_then(|k| o.get(k)).and_then(text_of) else {
                continue;
            };
            if budget == 0 {
                unshown += 1;
                continue;
            }
            let limit = ITEM_TEXT_CHARS.min(budget);
            let shown = clip_chars(&text, limit);
            if shown.len() < text.len() {
                cut += 1;
            }
            budget = budget.saturating_sub(shown.len());
            out.push_str(&format!("  > {}\n", shown.replace('\n', " ")));
        }
    }
    if !same.is_empty() {
        let pairs: Vec<String> = same.iter().map(|(c, v)| format!("{c}={v}")).collect();
        out.push_str(&format!("Same in every item: {}\n", pairs.join(", ")));
    }
    if let Some(k) = text_key
        && (cut > 0 || unshown > 0)
    {
        let id = if columns.iter().any(|c| c == "id") {
            format!(", \"{path}[].id\"")
        } else {
            String::new()
        };
        notes.push(format!(
            "Texts (`{path}[].{k}`) cut to {ITEM_TEXT_CHARS} characters each and \
             {TEXT_BUDGET_CHARS} in all: {cut} cut, {unshown} not shown. Whole texts: call again \
             with select: [\"{path}[].{k}\"{id}]{}.",
            range_hint(opts)
        ));
    }
    if opts.selected.is_none() {
        let mut left: Vec<&str> = Vec::new();
        for o in &objects {
            for k in o.keys() {
                let shown = columns
                    .iter()
                    .chain(same.iter().map(|(c, _)| c))
                    .chain(group.map(str::to_string).iter())
                    .any(|c| c.split('.').next() == Some(k.as_str()));
                if !shown && Some(k.as_str()) != text_key && !left.contains(&k.as_str()) {
                    left.push(k);
                }
            }
        }
        if !left.is_empty() {
            notes.push(format!(
                "Not shown per item (in structuredContent; `select` picks them, e.g. \
                 \"{path}[].{}\"): {}.",
                left[0],
                left.join(", ")
            ));
        }
    }
}

/// The file extension (`.jsonl`) every cell ends in, when there are at least three cells,
/// each with a name before it.
fn shared_extension<'c>(mut cells: impl Iterator<Item = &'c str>) -> Option<String> {
    let first = cells.next()?;
    let dot = first.rfind('.')?;
    let ext = &first[dot..];
    let plausible = (2..=7).contains(&ext.len())
        && dot > 0
        && ext[1..].chars().all(|c| c.is_ascii_alphanumeric())
        && ext[1..].chars().any(|c| c.is_ascii_alphabetic());
    if !plausible {
        return None;
    }
    let mut count = 1;
    for c in cells {
        if !(c.len() > ext.len() && c.ends_with(ext)) {
            return None;
        }
        count += 1;
    }
    (count >= 3).then(|| ext.to_string())
}

/// ` (with `page` or `pages` to take a range)` when the tool has such arguments.
fn range_hint(opts: &Render<'_>) -> String {
    let ranges: Vec<String> = opts
        .narrowing
        .iter()
        .filter(|a| a.as_str() != select::SELECT_ARG && a.as_str() != "save_to")
        .map(|a| format!("`{a}`"))
        .collect();
    if ranges.is_empty() {
        String::new()
    } else {
        format!(", with {} to take a range", ranges.join(" or "))
    }
}

fn is_identifying(column: &str) -> bool {
    let last = column.rsplit('.').next().unwrap_or(column);
    IDENTIFYING_KEYS.contains(&last) || last.ends_with("_id")
}

/// The configured columns; else, after `select`, every field kept; else the well-known
/// identifying keys the items have.
fn pick_columns(objects: &[&Map<String, Value>], path: &str, opts: &Render<'_>) -> Vec<String> {
    if !opts.columns.is_empty() {
        return opts.columns.to_vec();
    }
    if let Some(paths) = opts.selected {
        // The selected item paths, in the agent's order; a whole item selected shows all.
        let prefix = format!("{path}[].");
        let mut cols: Vec<String> = paths
            .iter()
            .filter_map(|p| p.strip_prefix(&prefix))
            .map(|c| c.replace("[]", ""))
            .collect();
        if !cols.is_empty() {
            return cols;
        }
        for o in objects {
            leaf_paths(o, "", &mut cols);
        }
        return cols;
    }
    // A column most rows leave empty is noise: it joins the fields not shown.
    COLUMN_KEYS
        .iter()
        .filter(|k| {
            let set = objects
                .iter()
                .filter(|o| o.get(**k).is_some_and(|v| !v.is_null() && !v.is_object()))
                .count();
            set * 2 >= objects.len() && set > 0
        })
        .take(MAX_AUTO_COLUMNS)
        .map(|k| k.to_string())
        .collect()
}

fn leaf_paths(obj: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in obj {
        let path = format!("{prefix}{k}");
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                leaf_paths(inner, &format!("{path}."), out);
            }
            _ => {
                if !out.contains(&path) {
                    out.push(path);
                }
            }
        }
    }
}

/// The value at a dotted path inside an item.
fn lookup<'v>(obj: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    Some(cur)
}

fn all_bools(obj: &Map<String, Value>) -> bool {
    !obj.is_empty() && obj.values().all(Value::is_boolean)
}

/// The text of a message-like value: a string, or the `text` of its chunks.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Array(chunks) => {
            let parts: Vec<&str> = chunks
                .iter()
                .filter_map(|c| c.get("text").and_then(Value::as_str))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        _ => None,
    }
}

/// One value in a table cell: on one line, cut unless `keep`.
fn cell(v: &Value, keep: bool) -> String {
    let text = match v {
        Value::Null => "-".to_string(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "\"\"".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Object(o) => label(o),
                other => cell(other, true),
            })
            .collect::<Vec<_>>()
            .join(","),
        // A set of flags reads as the names of those that are on.
        Value::Object(o) if all_bools(o) => {
            let on: Vec<&str> = o
                .iter()
                .filter(|(_, v)| v.as_bool() == Some(true))
                .map(|(k, _)| k.as_str())
                .collect();
            if on.is_empty() {
                "-".to_string()
            } else {
                on.join(",")
            }
        }
        Value::Object(_) => v.to_string(),
    };
    let text = text.replace('\n', " ").replace('|', "\\|");
    // Flags are the point of their column: never cut.
    let flags = matches!(v, Value::Object(o) if all_bools(o));
    if keep || flags {
        text
    } else {
        clip_chars(&text, CELL_CHARS)
    }
}

/// What names an object in a list: its type and name (`function:get_weather`), else its id,
/// name or title, else its type, else how many fields it has.
fn label(o: &Map<String, Value>) -> String {
    let s = |k: &str| o.get(k).and_then(Value::as_str);
    let named = ["id", "name", "title"].into_iter().find_map(s);
    let kind = s("type");
    // `{"type": "function", "function": {"name": …}}`: the name sits under the type.
    let inner = kind
        .and_then(|t| o.get(t))
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str);
    match (kind, named.or(inner)) {
        (Some(t), Some(n)) => format!("{t}:{n}"),
        (None, Some(n)) => n.to_string(),
        (Some(t), None) => t.to_string(),
        (None, None) => format!("{{{} fields}}", o.len()),
    }
}

/// At most `max` bytes of `text`, cut at a character boundary and marked `…` when cut.
fn clip_chars(text: &str, max: usize) -> String {
    crate::error::clip(text, max)
}

/// An object's fields as `key: value` lines: nested objects flattened two levels down,
/// lists of objects named by their labels, empty fields on one line.
fn render_object(
    out: &mut String,
    notes: &mut Vec<String>,
    obj: &Map<String, Value>,
    prefix: &str,
    depth: usize,
    opts: &Render<'_>,
) {
    let mut empty = Vec::new();
    for (k, v) in obj {
        let key = format!("{prefix}{k}");
        match v {
            Value::Null => empty.push(key),
            Value::Array(a) if a.is_empty() => empty.push(key),
            Value::Object(o) if o.is_empty() => empty.push(key),
            Value::Object(o) if !all_bools(o) && depth < 2 => {
                render_object(out, notes, o, &format!("{key}."), depth + 1, opts);
            }
            Value::String(s) if opts.selected.is_none() && s.len() > FIELD_CHARS => {
                let shown = clip_chars(s, FIELD_CHARS);
                out.push_str(&format!("{key}: {shown}\n"));
                notes.push(format!(
                    "`{key}` cut at {FIELD_CHARS} of {} characters: select: [\"{key}\"] gives it \
                     whole.",
                    s.len()
                ));
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                let shown = cell(v, true);
                let line = if opts.selected.is_some() || shown.len() <= FIELD_CHARS {
                    shown
                } else {
                    clip_chars(&shown, FIELD_CHARS)
                };
                out.push_str(&format!("{key}: {} items: {line}\n", items.len()));
                if opts.selected.is_none() {
                    notes.push(format!(
                        "`{key}[]` items are named only; their fields: select: [\"{key}[]\"]."
                    ));
                }
            }
            Value::Object(o) if !all_bools(o) => {
                out.push_str(&format!("{key}: {}\n", cell(v, opts.selected.is_some())));
            }
            _ => out.push_str(&format!(
                "{key}: {}\n",
                object_field(v, opts.selected.is_some())
            )),
        }
    }
    if !empty.is_empty() {
        out.push_str(&format!("Empty: {}\n", empty.join(", ")));
    }
}

/// A scalar (or flags) field of an object: strings keep their lines.
fn object_field(v: &Value, keep: bool) -> String {
    match v {
        Value::String(s) if keep => s.clone(),
        Value::String(s) => clip_chars(s, FIELD_CHARS),
        other => cell(other, keep),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(value: &Value) -> String {
        render(
            value,
            &Render {
                columns: &[],
                group_by: None,
                selected: None,
                narrowing: &[],
                next_page: None,
            },
        )
    }

    #[test]
    fn a_list_is_a_table_of_identifying_columns_with_what_was_left_out() {
        let v = json!({"object": "list", "data": [
            {"id": "file-1", "object": "file", "filename": "a.jsonl", "bytes": 10, "purpose": "batch", "created_at": 1, "sample_type": "x"},
            {"id": "file-2", "object": "file", "filename": "b.jsonl", "bytes": 20, "purpose": "batch", "created_at": 2, "sample_type": "y"},
        ], "total": 2});
        let text = plain(&v);
        assert!(text.starts_with("2 items in `data`:\n"), "{text}");
        assert!(
            text.contains("id | filename | bytes | created_at"),
            "{text}"
        );
        assert!(text.contains("file-1 | a.jsonl | 10 | 1"), "{text}");
        assert!(text.contains("Same in every item: purpose=batch"), "{text}");
        assert!(text.contains("sample_type"), "{text}");
        assert!(text.contains("object: list"), "{text}");
    }

    #[test]
    fn a_shared_file_extension_is_said_once() {
        let names = ["a.jsonl", "b.jsonl", "c.jsonl"];
        assert_eq!(
            shared_extension(names.into_iter()).as_deref(),
            Some(".jsonl")
        );
        // Too few rows, a cell that is only the extension, mixed or implausible extensions.
        assert_eq!(shared_extension(["a.pdf", "b.pdf"].into_iter()), None);
        assert_eq!(
            shared_extension(["a.pdf", ".pdf", "c.pdf"].into_iter()),
            None
        );
        assert_eq!(
            shared_extension(["a.pdf", "b.txt", "c.pdf"].into_iter()),
            None
        );
        assert_eq!(shared_extension(["v1.2", "v3.2", "v4.2"].into_iter()), None);
        assert_eq!(
            shared_extension(["x.a b", "y.a b", "z.a b"].into_iter()),
            None
        );
    }

    #[test]
    fn flags_read_as_the_names_that_are_on() {
        let v = json!({"data": [{"id": "m", "capabilities": {"vision": true, "ocr": false, "chat": true}}]});
        let cols = vec!["id".to_string(), "capabilities".to_string()];
        let text = render(
            &v,
            &Render {
                columns: &cols,
                group_by: None,
                selected: None,
                narrowing: &[],
                next_page: None,
            },
        );
        assert!(text.contains("m | chat,vision"), "{text}");
    }

    #[test]
    fn long_texts_are_cut_and_say_how_to_get_the_rest() {
        let entries: Vec<Value> = (0..40)
            .map(|i| json!({"id": format!("e{i}"), "role": "user", "content": "word ".repeat(300)}))
            .collect();
        let text = plain(&json!({"conversation_id": "c", "entries": entries}));
        assert!(text.contains("e39"), "{text}");
        assert!(text.contains("select: [\"entries[].content\""), "{text}");
        assert!(text.len() < 8_000, "{}", text.len());
    }

    #[test]
    fn an_object_shows_its_fields_and_names_its_lists() {
        let v = json!({"id": "ag_1", "name": "helper", "tools": [
            {"type": "web_search"}, {"type": "function", "function": {"name": "get_weather"}}
        ], "completion_args": {"temperature": 0.3}, "handoffs": null});
        let text = plain(&v);
        assert!(text.contains("id: ag_1"), "{text}");
        assert!(
            text.contains("tools: 2 items: web_search,function:get_weather"),
            "{text}"
        );
        assert!(text.contains("completion_args.temperature: 0.3"), "{text}");
        assert!(text.contains("Empty: handoffs"), "{text}");
    }
}
