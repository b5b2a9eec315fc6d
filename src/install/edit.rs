//! Editing a client's configuration file: add, update or remove one server entry and leave
//! everything else as it was, then write the result with a backup and an atomic rename.
//!
//! JSON is read into [`Json`], an order-keeping value (serde_json's own `Value` sorts keys
//! unless the crate-wide `preserve_order` feature is on, which would reorder the server's
//! other JSON output), so other servers and settings keep their keys and order; the file is
//! re-indented with the indent it already used. JSON with comments or trailing commas
//! (allowed by VS Code) is refused rather than rewritten without its comments. TOML goes
//! through `toml_edit`, which keeps comments and layout.

use std::io::Write;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::clients::Shape;

/// A JSON value whose objects keep their key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(IndexMap<String, Json>),
}

impl Json {
    pub fn str(s: impl Into<String>) -> Self {
        Json::String(s.into())
    }

    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Self {
        Json::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// One server entry, independent of the client's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// VS Code: the id of a `promptString` input the env refers to (`${input:ID}`).
    pub vscode_input: Option<String>,
}

/// Keys of a server entry this tool owns; others (`disabled`, `autoApprove`, ...) survive an
/// update.
const MANAGED_KEYS: &[&str] = &["type", "transport", "command", "args", "env"];

/// What an edit did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The file already says this; nothing to write.
    Unchanged,
    /// The new file contents.
    Changed(String),
}

/// The entry as the client's JSON expects it.
pub fn entry_json(shape: Shape, entry: &Entry) -> Json {
    let mut o = IndexMap::new();
    if matches!(shape, Shape::McpServersTyped | Shape::VsCode) {
        o.insert("type".into(), Json::str("stdio"));
    }
    o.insert("command".into(), Json::str(&entry.command));
    if !entry.args.is_empty() {
        let args = entry.args.iter().map(Json::str).collect();
        o.insert("args".into(), Json::Array(args));
    }
    if !entry.env.is_empty() {
        let env = entry.env.iter().map(|(k, v)| (k.clone(), Json::str(v)));
        o.insert("env".into(), Json::object(env));
    }
    Json::Object(o)
}

/// VS Code's password prompt for the key.
pub fn vscode_input(id: &str) -> Json {
    Json::object([
        ("type", Json::str("promptString")),
        ("id", Json::str(id)),
        ("description", Json::str("Mistral API key")),
        ("password", Json::Bool(true)),
    ])
}

fn servers_key(shape: Shape) -> &'static str {
    if shape == Shape::VsCode {
        "servers"
    } else {
        "mcpServers"
    }
}

/// Parses a JSON config; an empty file counts as `{}`. Errors say where the syntax breaks.
pub fn parse_json(text: &str) -> Result<IndexMap<String, Json>, String> {
    if text.trim().is_empty() {
        return Ok(IndexMap::new());
    }
    // serde_json's own error carries line and column; the untagged enum's would not.
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        // A hint only; a false positive inside a string costs nothing.
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let jsonc = text.contains("//")
            || text.contains("/*")
            || compact.contains(",}")
            || compact.contains(",]");
        let hint = if jsonc {
            " (comments and trailing commas are not supported: remove them, or add the entry \
             by hand with the snippet from `--print`)"
        } else {
            ""
        };
        return Err(format!("is not valid JSON: {e}{hint}"));
    }
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(o)) => Ok(o),
        Ok(_) => Err("is not a JSON object at the top level".into()),
        Err(e) => Err(format!("is not valid JSON: {e}")),
    }
}

/// Renders a JSON document with the indent and line endings the original used.
fn render_json(doc: &IndexMap<String, Json>, original: &str) -> Result<String, String> {
    let indent = original
        .lines()
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .find(|ws| !ws.is_empty())
        .unwrap_or("  ");
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    doc.serialize(&mut ser).map_err(|e| e.to_string())?;
    let mut text = String::from_utf8(out).map_err(|e| e.to_string())?;
    text.push('\n');
    if original.contains("\r\n") {
        text = text.replace('\n', "\r\n");
    }
    Ok(text)
}

fn servers_mut(
    doc: &mut IndexMap<String, Json>,
    shape: Shape,
) -> Result<&mut IndexMap<String, Json>, String> {
    let key = servers_key(shape);
    match doc
        .entry(key.to_string())
        .or_insert_with(|| Json::Object(IndexMap::new()))
    {
        Json::Object(o) => Ok(o),
        _ => Err(format!("has a `{key}` that is not an object")),
    }
}

/// Adds or updates the entry `name`, leaving every other key alone.
pub fn upsert_json(text: &str, shape: Shape, name: &str, entry: &Entry) -> Result<Outcome, String> {
    let before = parse_json(text)?;
    let mut doc = before.clone();
    let Json::Object(new) = entry_json(shape, entry) else {
        return Err("internal: entry is not an object".into());
    };
    let servers = servers_mut(&mut doc, shape)?;
    match servers.get_mut(name) {
        Some(Json::Object(old)) => {
            // Update in place so the entry keeps its position and the user's extra keys.
            old.retain(|k, _| !MANAGED_KEYS.contains(&k.as_str()) || new.contains_key(k));
            for (k, v) in new {
                old.insert(k, v);
            }
        }
        _ => {
            servers.insert(name.to_string(), Json::Object(new));
        }
    }
    if let Some(id) = &entry.vscode_input {
        let inputs = doc
            .entry("inputs".to_string())
            .or_insert_with(|| Json::Array(Vec::new()));
        let Json::Array(inputs) = inputs else {
            return Err("has an `inputs` that is not an array".into());
        };
        let wanted = vscode_input(id);
        match inputs.iter_mut().find(|i| input_id(i) == Some(id)) {
            Some(existing) => *existing = wanted,
            None => inputs.push(wanted),
        }
    }
    if doc == before {
        return Ok(Outcome::Unchanged);
    }
    render_json(&doc, text).map(Outcome::Changed)
}

fn input_id(input: &Json) -> Option<&str> {
    match input {
        Json::Object(o) => match o.get("id") {
            Some(Json::String(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Removes the entry `name` (and, for VS Code, the key prompt only it used).
pub fn remove_json(
    text: &str,
    shape: Shape,
    name: &str,
    input: Option<&str>,
) -> Result<Outcome, String> {
    let mut doc = parse_json(text)?;
    let key = servers_key(shape);
    let removed = match doc.get_mut(key) {
        Some(Json::Object(servers)) => servers.shift_remove(name).is_some(),
        _ => false,
    };
    if !removed {
        return Ok(Outcome::Unchanged);
    }
    if let Some(id) = input {
        let still_used = serde_json::to_string(&doc.get(key))
            .map(|s| s.contains(&format!("${{input:{id}}}")))
            .unwrap_or(true);
        if !still_used && let Some(Json::Array(inputs)) = doc.get_mut("inputs") {
            inputs.retain(|i| input_id(i) != Some(id));
            if inputs.is_empty() {
                doc.shift_remove("inputs");
            }
        }
    }
    render_json(&doc, text).map(Outcome::Changed)
}

fn parse_toml(text: &str) -> Result<toml_edit::DocumentMut, String> {
    text.parse::<toml_edit::DocumentMut>()
        .map_err(|e| format!("is not valid TOML: {e}"))
}

fn vibe_servers(
    doc: &mut toml_edit::DocumentMut,
) -> Result<Option<&mut toml_edit::ArrayOfTables>, String> {
    match doc.get_mut("mcp_servers") {
        None => Ok(None),
        Some(item) => item.as_array_of_tables_mut().map(Some).ok_or_else(|| {
            "has an `mcp_servers` that is not written as `[[mcp_servers]]` tables; \
             add the entry by hand with the snippet from `--print`"
                .to_string()
        }),
    }
}

fn table_name(t: &toml_edit::Table) -> Option<&str> {
    t.get("name").and_then(|v| v.as_str())
}

/// Vibe's `[[mcp_servers]]` table for the entry.
pub fn entry_toml(name: &str, entry: &Entry) -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    fill_toml(&mut t, name, entry);
    t
}

fn fill_toml(t: &mut toml_edit::Table, name: &str, entry: &Entry) {
    use toml_edit::{Array, InlineTable, value};
    t.insert("name", value(name));
    t.insert("transport", value("stdio"));
    t.insert("command", value(&entry.command));
    if entry.args.is_empty() {
        t.remove("args");
    } else {
        t.insert("args", value(entry.args.iter().collect::<Array>()));
    }
    if entry.env.is_empty() {
        t.remove("env");
    } else {
        let env: InlineTable = entry
            .env
            .iter()
            .map(|(k, v)| (k.clone(), toml_edit::Value::from(v.as_str())))
            .collect();
        t.insert("env", value(env));
    }
}

/// Adds or updates the `[[mcp_servers]]` table named `name`.
pub fn upsert_toml(text: &str, name: &str, entry: &Entry) -> Result<Outcome, String> {
    let mut doc = parse_toml(text)?;
    match vibe_servers(&mut doc)? {
        Some(servers) => {
            let found = servers.iter().position(|t| table_name(t) == Some(name));
            match found.and_then(|i| servers.get_mut(i)) {
                Some(t) => fill_toml(t, name, entry),
                None => servers.push(entry_toml(name, entry)),
            }
        }
        None => {
            let mut servers = toml_edit::ArrayOfTables::new();
            servers.push(entry_toml(name, entry));
            doc.insert("mcp_servers", toml_edit::Item::ArrayOfTables(servers));
        }
    }
    let new = doc.to_string();
    Ok(if new == text {
        Outcome::Unchanged
    } else {
        Outcome::Changed(new)
    })
}

/// Removes the `[[mcp_servers]]` table named `name`.
pub fn remove_toml(text: &str, name: &str) -> Result<Outcome, String> {
    let mut doc = parse_toml(text)?;
    let Some(servers) = vibe_servers(&mut doc)? else {
        return Ok(Outcome::Unchanged);
    };
    let Some(i) = servers.iter().position(|t| table_name(t) == Some(name)) else {
        return Ok(Outcome::Unchanged);
    };
    servers.remove(i);
    if servers.is_empty() {
        doc.remove("mcp_servers");
    }
    Ok(Outcome::Changed(doc.to_string()))
}

/// `<file>.bak` beside the file.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// Copies the current file to its backup (if there is one), then replaces it with `text`
/// through a temporary file in the same directory and a rename, so a crash leaves either the
/// old or the new file, never half of one. Returns the backup's path.
pub fn write_with_backup(
    path: &Path,
    text: &str,
    private: bool,
) -> std::io::Result<Option<PathBuf>> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let existing = std::fs::metadata(path).ok();
    let backup = match existing {
        Some(_) => {
            let b = backup_path(path);
            std::fs::copy(path, &b)?;
            Some(b)
        }
        None => None,
    };
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        match &existing {
            // Keep the original's permissions (e.g. a 0600 ~/.claude.json).
            Some(m) => std::fs::set_permissions(&tmp, m.permissions())?,
            None if private => restrict(&tmp)?,
            None => {}
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| backup)
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn entry() -> Entry {
        Entry {
            command: "/opt/bin/mistral-mcp".into(),
            args: vec!["--tools".into(), "dynamic".into()],
            env: vec![],
            vscode_input: None,
        }
    }

    fn changed(o: Outcome) -> String {
        match o {
            Outcome::Changed(s) => s,
            Outcome::Unchanged => panic!("expected a change"),
        }
    }

    const TWO: &str = r#"{
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "zeta": { "command": "z" },
        "alpha": { "command": "a", "args": ["1"] }
    },
    "after": [1, 2.5, null, true]
}
"#;

    #[test]
    fn claude_desktop_entry_shape() {
        let j = serde_json::to_value(entry_json(Shape::McpServers, &entry())).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"command": "/opt/bin/mistral-mcp", "args": ["--tools", "dynamic"]})
        );
    }

    #[test]
    fn claude_code_and_vscode_entries_say_stdio_first() {
        for shape in [Shape::McpServersTyped, Shape::VsCode] {
            let s = serde_json::to_string(&entry_json(shape, &entry())).unwrap();
            assert!(s.starts_with(r#"{"type":"stdio","command":"#), "{s}");
        }
    }

    #[test]
    fn upsert_keeps_order_indent_and_other_keys_and_is_idempotent() {
        let once = changed(upsert_json(TWO, Shape::McpServers, "mistral", &entry()).unwrap());
        let order: Vec<_> = parse_json(&once).unwrap().keys().cloned().collect();
        assert_eq!(order, ["globalShortcut", "mcpServers", "after"]);
        let Json::Object(servers) = &parse_json(&once).unwrap()["mcpServers"] else {
            panic!()
        };
        let names: Vec<_> = servers.keys().cloned().collect();
        assert_eq!(names, ["zeta", "alpha", "mistral"]);
        assert!(once.contains("\n    \"globalShortcut\""), "{once}");
        assert!(once.contains("2.5"), "{once}");
        assert_eq!(
            upsert_json(&once, Shape::McpServers, "mistral", &entry()).unwrap(),
            Outcome::Unchanged
        );
        let removed = changed(remove_json(&once, Shape::McpServers, "mistral", None).unwrap());
        assert_eq!(parse_json(&removed).unwrap(), parse_json(TWO).unwrap());
    }

    #[test]
    fn update_keeps_position_and_unknown_keys_of_the_entry() {
        let text = r#"{"mcpServers": {"mistral": {"command": "old", "env": {"X": "1"}, "disabled": false}, "b": {"command": "b"}}}"#;
        let out = changed(upsert_json(text, Shape::McpServers, "mistral", &entry()).unwrap());
        let doc = parse_json(&out).unwrap();
        let s = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            s,
            r#"{"mcpServers":{"mistral":{"command":"/opt/bin/mistral-mcp","disabled":false,"args":["--tools","dynamic"]},"b":{"command":"b"}}}"#
        );
    }

    #[test]
    fn malformed_json_is_refused_with_a_position() {
        let err = upsert_json("{\n  \"a\": 1,\n}", Shape::McpServers, "m", &entry()).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        let err = upsert_json("[1]", Shape::McpServers, "m", &entry()).unwrap_err();
        assert!(err.contains("not a JSON object"), "{err}");
        let err =
            upsert_json(r#"{"mcpServers": []}"#, Shape::McpServers, "m", &entry()).unwrap_err();
        assert!(err.contains("`mcpServers`"), "{err}");
    }

    #[test]
    fn vscode_adds_a_password_input_and_removes_it_with_the_entry() {
        let mut e = entry();
        e.env = vec![("MISTRAL_API_KEY".into(), "${input:mistral-key}".into())];
        e.vscode_input = Some("mistral-key".into());
        let text = r#"{"servers": {"other": {"type": "stdio", "command": "o"}}}"#;
        let out = changed(upsert_json(text, Shape::VsCode, "mistral", &e).unwrap());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["inputs"][0]["password"], true);
        assert_eq!(v["servers"]["mistral"]["type"], "stdio");
        assert_eq!(
            v["servers"]["mistral"]["env"]["MISTRAL_API_KEY"],
            "${input:mistral-key}"
        );
        let back =
            changed(remove_json(&out, Shape::VsCode, "mistral", Some("mistral-key")).unwrap());
        assert_eq!(parse_json(&back).unwrap(), parse_json(text).unwrap());
    }

    #[test]
    fn empty_file_counts_as_empty_object_and_crlf_is_kept() {
        let out = changed(upsert_json("", Shape::McpServers, "m", &entry()).unwrap());
        assert!(out.starts_with("{\n  \"mcpServers\""), "{out}");
        let out = changed(
            upsert_json("{\r\n  \"a\": 1\r\n}\r\n", Shape::McpServers, "m", &entry()).unwrap(),
        );
        assert!(out.contains("\r\n") && !out.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn vibe_table_shape_and_round_trip() {
        let text = "# my vibe\nactive_model = \"devstral\"\n\n[[mcp_servers]]\nname = \"fs\"\ntransport = \"stdio\"\ncommand = \"fs-mcp\"\n";
        let mut e = entry();
        e.env = vec![("MISTRAL_API_KEY".into(), "k".into())];
        let out = changed(upsert_toml(text, "mistral", &e).unwrap());
        assert!(out.starts_with(text), "{out}");
        let v: toml::Value = toml::from_str(&out).unwrap();
        let m = &v["mcp_servers"][1];
        assert_eq!(m["name"].as_str(), Some("mistral"));
        assert_eq!(m["transport"].as_str(), Some("stdio"));
        assert_eq!(m["command"].as_str(), Some("/opt/bin/mistral-mcp"));
        assert_eq!(m["args"][1].as_str(), Some("dynamic"));
        assert_eq!(m["env"]["MISTRAL_API_KEY"].as_str(), Some("k"));
        assert_eq!(
            upsert_toml(&out, "mistral", &e).unwrap(),
            Outcome::Unchanged
        );
        assert_eq!(changed(remove_toml(&out, "mistral").unwrap()), text);
        assert_eq!(remove_toml(text, "mistral").unwrap(), Outcome::Unchanged);
    }

    #[test]
    fn malformed_toml_is_refused_with_a_position() {
        let err = upsert_toml("a = \n", "m", &entry()).unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn write_keeps_a_backup_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        assert_eq!(write_with_backup(&path, "{}\n", true).unwrap(), None);
        let b = write_with_backup(&path, "{\"a\":1}\n", true)
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read_to_string(b).unwrap(), "{}\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
