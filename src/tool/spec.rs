//! What is fixed about an operation: its method and path, where its fields go (path,
//! query, headers, body), how it pages and streams, which key it needs, and what it does to
//! the world, which drives the MCP annotations and whether a failed attempt may be retried.
//! Hand-written operations declare an [`OpSpec`] beside their request type; generated ones
//! get theirs from the spec (`crate::api::generated`).

use crate::mistral::{Auth, Method};

/// What an operation does to the world; drives the MCP annotations and the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads state. Safe to retry.
    Read,
    /// A billable model call that stores nothing. Safe to retry.
    Inference,
    /// Creates or changes stored state.
    Write,
    /// Deletes data or irreversibly stops work.
    Destructive,
}

/// Where the fields left after path, query and headers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body; a leftover field is a bug.
    None,
    /// The leftover fields form a JSON object.
    Json,
    /// This one field's value is the whole JSON body (the spec's array bodies).
    Whole(&'static str),
    /// A multipart form: the file (from the agent's `path`, or `content_base64` with
    /// `file_name`) goes in this form field, every other field as a text part.
    Multipart(&'static str),
}

/// How a list operation pages, so its result can say how to get the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    None,
    /// `page` (from 0) and `page_size`.
    Numbered,
    /// An opaque cursor: the answer's `next` field goes back as the `param` argument, with
    /// the same page size (`size`) as the call.
    Cursor {
        param: &'static str,
        next: &'static str,
        size: &'static str,
    },
}

/// Whether Mistral answers with Server-Sent Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    Never,
    /// When the request sets `stream: true`.
    IfRequested,
    /// Always: the answer is an event stream.
    Always,
}

/// Everything fixed about an operation, declared once beside its request type (or
/// generated from the spec into `generated/`).
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    /// Catalog key (`tools.toml`) and default tool name.
    pub id: &'static str,
    pub method: Method,
    /// Path with `{placeholders}` filled from fields of the same name.
    pub path: &'static str,
    /// Fields sent in the query string.
    pub query: &'static [&'static str],
    /// Fields sent as headers: (field, header name).
    pub headers: &'static [(&'static str, &'static str)],
    pub effect: Effect,
    /// Repeating the call has no further effect.
    pub idempotent: bool,
    pub body: Body,
    pub paging: Paging,
    pub streaming: Streaming,
    /// Which key Mistral expects.
    pub auth: Auth,
}

impl OpSpec {
    const fn new(id: &'static str, method: Method, path: &'static str, effect: Effect) -> Self {
        let idempotent = !matches!(method, Method::Post);
        let body = match method {
            Method::Post | Method::Put | Method::Patch => Body::Json,
            Method::Get | Method::Delete => Body::None,
        };
        Self {
            id,
            method,
            path,
            query: &[],
            headers: &[],
            effect,
            idempotent,
            body,
            paging: Paging::None,
            streaming: Streaming::Never,
            auth: Auth::Key,
        }
    }
    pub const fn get(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Get, path, Effect::Read)
    }
    pub const fn post(id: &'static str, path: &'static str, effect: Effect) -> Self {
        Self::new(id, Method::Post, path, effect)
    }
    pub const fn patch(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Patch, path, Effect::Write)
    }
    pub const fn put(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Put, path, Effect::Write)
    }
    pub const fn delete(id: &'static str, path: &'static str) -> Self {
        Self::new(id, Method::Delete, path, Effect::Destructive)
    }
    pub const fn query(mut self, fields: &'static [&'static str]) -> Self {
        self.query = fields;
        self
    }
    pub const fn headers(mut self, fields: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = fields;
        self
    }
    pub const fn effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }
    pub const fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
    pub const fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }
    pub const fn no_body(mut self) -> Self {
        self.body = Body::None;
        self
    }
    /// A JSON body on a method that usually has none (a DELETE naming what to remove).
    pub const fn json_body(mut self) -> Self {
        self.body = Body::Json;
        self
    }
    pub const fn multipart(mut self, file_field: &'static str) -> Self {
        self.body = Body::Multipart(file_field);
        self
    }
    pub const fn whole_body(mut self, field: &'static str) -> Self {
        self.body = Body::Whole(field);
        self
    }
    pub const fn paged(mut self, paging: Paging) -> Self {
        self.paging = paging;
        self
    }
    pub const fn streaming(mut self, streaming: Streaming) -> Self {
        self.streaming = streaming;
        self
    }
    /// Needs the organization's admin key.
    pub const fn admin(mut self) -> Self {
        self.auth = Auth::Admin;
        self
    }
    /// Takes the key in an `x-api-key` header.
    pub const fn key_header(mut self) -> Self {
        self.auth = Auth::KeyHeader;
        self
    }

    /// `"POST /v1/chat/completions"`.
    pub fn operation(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }

    pub fn read_only(&self) -> bool {
        self.effect == Effect::Read
    }

    /// A 5xx or a timeout may be retried only where a second attempt cannot do harm twice.
    pub fn retry_server_errors(&self) -> bool {
        matches!(self.effect, Effect::Read | Effect::Inference) || self.idempotent
    }
}

/// Page size Mistral uses for page-numbered lists when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
