//! Keeping secrets out of everything the server says: tool results, progress
//! notifications and log lines.
//!
//! Mistral never echoes keys, but a proxy, a gateway or a compromised upstream can, and
//! then any byte of a response may carry one: a JSON field, an error message, an SSE
//! delta, a downloaded text file. Rather than redact at each place upstream bytes are
//! handled (and miss the next one), every secret the process holds is registered here
//! when it is loaded, and the few exits (the tool result at the one tool-call path, each
//! progress notification, the log writer) pass through [`scrub`]. The registry is
//! process-wide because the log writer has no other way to know the secrets.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::RwLock;

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// What a secret is replaced with.
pub const MASK: &str = "[redacted]";

/// Secrets shorter than this are not redacted: masking every occurrence of a short
/// string would garble ordinary text, and no real key is that short.
pub const MIN_SECRET_LEN: usize = 8;

static SECRETS: RwLock<Vec<SecretString>> = RwLock::new(Vec::new());

/// Registers a secret so that it is masked from now on. Idempotent.
pub fn register(secret: &SecretString) {
    let value = secret.expose_secret();
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    // A poisoned lock only means another thread panicked mid-push; the list is still valid.
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s.expose_secret() == value) {
        secrets.push(SecretString::from(value.to_string()));
    }
}

/// The text with every registered secret replaced by [`MASK`]; borrowed when clean.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        let secret = secret.expose_secret();
        if out.contains(secret) {
            out = Cow::Owned(out.replace(secret, MASK));
        }
    }
    out
}

/// Scrubs a string in place; true when something was masked.
pub fn scrub_string(text: &mut String) -> bool {
    match scrub(text) {
        Cow::Borrowed(_) => false,
        Cow::Owned(clean) => {
            *text = clean;
            true
        }
    }
}

/// Scrubs every string (and object key) of a JSON value in place.
pub fn scrub_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            scrub_string(s);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_json),
        Value::Object(map) => {
            let dirty_keys: Vec<String> = map
                .keys()
                .filter(|k| matches!(scrub(k), Cow::Owned(_)))
                .cloned()
                .collect();
            for key in dirty_keys {
                if let Some(v) = map.remove(&key) {
                    map.insert(scrub(&key).into_owned(), v);
                }
            }
            map.values_mut().for_each(scrub_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Scrubs a whole tool result: text blocks, embedded text resources, resource links and
/// `structuredContent`. Binary blocks (images, audio, blobs) are left as they are: they
/// carry base64 of media, not text an upstream could have echoed a key into.
pub fn scrub_result(result: &mut CallToolResult) {
    if no_secrets() {
        return;
    }
    for block in &mut result.content {
        scrub_block(block);
    }
    if let Some(structured) = &mut result.structured_content {
        scrub_json(structured);
    }
}

fn scrub_block(block: &mut ContentBlock) {
    match block {
        ContentBlock::Text(t) => {
            scrub_string(&mut t.text);
        }
        ContentBlock::Resource(r) => match &mut r.resource {
            ResourceContents::TextResourceContents { text, uri, .. } => {
                scrub_string(text);
                scrub_string(uri);
            }
            ResourceContents::BlobResourceContents { uri, .. } => {
                scrub_string(uri);
            }
            _ => {}
        },
        ContentBlock::ResourceLink(link) => {
            scrub_string(&mut link.uri);
            scrub_string(&mut link.name);
            if let Some(d) = &mut link.description {
                scrub_string(d);
            }
        }
        _ => {}
    }
}

fn no_secrets() -> bool {
    SECRETS.read().unwrap_or_else(|e| e.into_inner()).is_empty()
}

/// Scrubs text that leaves in pieces (streamed deltas sent as progress), where a secret
/// could be split across two pieces that are each clean. It holds back the end of the
/// text only while that end could be the start of a secret, so ordinary text flows on
/// at once: a secret that straddled what is released would have had to start inside
/// what is held back.
#[derive(Debug, Default)]
pub struct PieceScrubber {
    held: String,
}

impl PieceScrubber {
    /// Takes the next piece; returns the text that is safe to release now.
    pub fn push(&mut self, piece: &str) -> String {
        self.held.push_str(piece);
        scrub_string(&mut self.held);
        let mut cut = self.held.len() - secret_prefix_at_end(&self.held);
        // Always a boundary already (a secret starts with a whole char); kept panic-free.
        while !self.held.is_char_boundary(cut) {
            cut -= 1;
        }
        let rest = self.held.split_off(cut);
        std::mem::replace(&mut self.held, rest)
    }

    /// The end of the text: releases what was held back.
    pub fn finish(&mut self) -> String {
        let mut rest = std::mem::take(&mut self.held);
        scrub_string(&mut rest);
        rest
    }
}

/// The length of the longest end of `text` that is a proper start of a registered
/// secret (always a char boundary: the secret's start is valid UTF-8 too).
fn secret_prefix_at_end(text: &str) -> usize {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    secrets
        .iter()
        .filter_map(|secret| {
            let secret = secret.expose_secret().as_bytes();
            (1..secret.len().min(text.len() + 1))
                .rev()
                .find(|&k| text.as_bytes().ends_with(&secret[..k]))
        })
        .max()
        .unwrap_or(0)
}

/// A log writer that masks secrets in what passes through it. tracing-subscriber's fmt
/// layer formats each event into one buffer and writes it with one call, so a secret is
/// never split across two writes.
pub struct RedactingWriter<W: Write> {
    inner: W,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self { inner }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        match scrub(&text) {
            // Clean (the usual case): pass the original bytes through untouched.
            Cow::Borrowed(_) => self.inner.write_all(buf)?,
            Cow::Owned(clean) => self.inner.write_all(clean.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CANARY: &str = "sk-unit-CANARY-5e1f0c9a";

    #[test]
    fn scrubs_strings_keys_and_results() {
        register(&SecretString::from(CANARY.to_string()));
        register(&SecretString::from("short".to_string()));
        assert!(matches!(scrub("nothing here"), Cow::Borrowed(_)));
        assert_eq!(scrub("short stays"), "short stays");
        assert_eq!(scrub(&format!("key={CANARY}!")), "key=[redacted]!");

        let mut v = json!({"a": [CANARY, {"b": format!("x{CANARY}")}], CANARY: 1});
        scrub_json(&mut v);
        assert!(!v.to_string().contains(CANARY), "{v}");
        assert!(v.get(MASK).is_some());

        let mut r = CallToolResult::success(vec![ContentBlock::text(format!("t {CANARY}"))]);
        r.structured_content = Some(json!({"m": CANARY}));
        scrub_result(&mut r);
        assert!(!serde_json::to_string(&r).unwrap().contains(CANARY));
    }

    #[test]
    fn a_secret_split_across_pieces_is_masked() {
        register(&SecretString::from(CANARY.to_string()));
        let text = format!("before {CANARY} after, and é{CANARY}");
        for step in 1..text.len() {
            let mut scrubber = PieceScrubber::default();
            let mut released = String::new();
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let mut at = step.min(rest.len());
                while !rest.is_char_boundary(at) {
                    at += 1;
                }
                released.push_str(&scrubber.push(&rest[..at]));
                rest = &rest[at..];
            }
            released.push_str(&scrubber.finish());
            assert_eq!(
                released, "before [redacted] after, and é[redacted]",
                "step {step}"
            );
        }
    }

    #[test]
    fn the_log_writer_masks() {
        register(&SecretString::from(CANARY.to_string()));
        let mut w = RedactingWriter::new(Vec::new());
        w.write_all(format!("line with {CANARY}\n").as_bytes())
            .unwrap();
        w.write_all(b"clean line\n").unwrap();
        let out = String::from_utf8(w.inner).unwrap();
        assert_eq!(out, "line with [redacted]\nclean line\n");
    }
}
