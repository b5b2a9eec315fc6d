//! Micro-benchmarks of mistral-mcp's own work on the paths that matter: start-up (schemas and
//! the catalog), intent search, turning tool arguments into an upstream request, and shaping
//! Mistral's answer into a tool result.
//!
//! cargo bench --bench hot_paths            (not run by `cargo test`)
//!
//! The side-by-side comparison with other servers is `bench/run` (see BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mistral_mcp::api::chat::ChatComplete;
use mistral_mcp::api::embeddings::CreateEmbeddings;
use mistral_mcp::catalog::Catalog;
use mistral_mcp::config::{Config, Overrides};
use mistral_mcp::schema::input_schema;
use mistral_mcp::tool::{Operation, ToolOutput, build_request, parse_arguments};
use rmcp::model::JsonObject;
use serde_json::{Value, json};

/// A spread of intents from ../shared/eval/intents-dev.tsv: short and long, every area.
const QUERIES: &[&str] = &[
    "generate a chat completion with Mistral Large",
    "check whether this text contains hate speech or violence",
    "upload invoice.pdf so I can reference it by id later",
    "submit a batch inference job for high-volume offline scoring",
    "get details about the model mistral-large-latest",
    "list fine-tuning jobs",
    "get the configuration of an agent",
    "start a conversation",
    "get only the messages of a conversation",
    "list the documents in a library",
    "text to speech: read this paragraph aloud",
    "run OCR on an invoice PDF",
];

fn args(v: Value) -> JsonObject {
    v.as_object().cloned().unwrap()
}

fn chat_args() -> JsonObject {
    args(json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "hi"}]}))
}

fn embed_args() -> JsonObject {
    args(json!({"model": "mistral-embed", "input": ["hello"]}))
}

fn chat_response() -> Value {
    json!({
        "id": "cmpl-e5cc70bb28c444948073e77776eb30ef", "object": "chat.completion",
        "model": "mistral-small-latest", "created": 1_764_000_000,
        "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Bonjour! How can I help you today?", "tool_calls": null}}]
    })
}

/// One mistral-embed vector: 1024 floats, as Mistral sends them.
fn embed_response() -> Value {
    let vector: Vec<f64> = (0..1024)
        .map(|i: i32| f64::from((i * 7919) % 2000 - 1000) / 12_345.0)
        .collect();
    json!({
        "id": "embd-aad6fc62b17349b192ef09225058bc45", "object": "list", "model": "mistral-embed",
        "data": [{"object": "embedding", "embedding": vector, "index": 0}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}
    })
}

fn startup(c: &mut Criterion) {
    let mut g = c.benchmark_group("startup");
    g.bench_function("input_schema::<ChatComplete>", |b| {
        b.iter(|| black_box(input_schema::<ChatComplete>()))
    });
    g.bench_function("Catalog::load(None)", |b| {
        b.iter(|| black_box(Catalog::load(None).unwrap()))
    });
    g.bench_function("build_server (catalog, listing, search index)", |b| {
        let config = Config::load_with(&Overrides::default(), &|_| None).unwrap();
        b.iter(|| black_box(mistral_mcp::app::build_server(&config).unwrap()))
    });
    g.finish();
}

fn search(c: &mut Criterion) {
    let config = Config::load_with(&Overrides::default(), &|_| None).unwrap();
    let server = mistral_mcp::app::build_server(&config).unwrap();
    let index = server.search_index();
    let mut g = c.benchmark_group("search");
    g.bench_function(
        format!("SearchIndex::search, {} intents, top 5", QUERIES.len()),
        |b| {
            b.iter(|| {
                for q in QUERIES {
                    black_box(index.search(black_box(q), 5));
                }
            })
        },
    );
    g.finish();
}

fn request(c: &mut Criterion) {
    let mut g = c.benchmark_group("request");
    g.bench_function("chat_complete: parse arguments + build_request", |b| {
        b.iter_batched(
            chat_args,
            |a| {
                let req: ChatComplete = parse_arguments(a).unwrap();
                black_box(build_request(&ChatComplete::SPEC, &req).unwrap())
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("embeddings_create: parse arguments + build_request", |b| {
        b.iter_batched(
            embed_args,
            |a| {
                let req: CreateEmbeddings = parse_arguments(a).unwrap();
                black_box(build_request(&CreateEmbeddings::SPEC, &req).unwrap())
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// What happens to Mistral's answer on its way to the agent: parsed, shaped into a tool
/// result (chat and embeddings carry a short summary as text, the JSON as
/// structuredContent) and serialised as the JSON-RPC payload.
fn response(c: &mut Criterion) {
    let mut g = c.benchmark_group("response");
    for (name, body) in [
        ("chat", chat_response()),
        ("embeddings, 1024 floats", embed_response()),
    ] {
        let bytes = serde_json::to_vec(&body).unwrap();
        g.bench_function(format!("{name}: parse the upstream body"), |b| {
            b.iter(|| black_box(serde_json::from_slice::<Value>(black_box(&bytes)).unwrap()))
        });
        g.bench_function(
            format!("{name}: ToolOutput::into_result + serialise"),
            |b| {
                b.iter_batched(
                    || {
                        ToolOutput::json(body.clone())
                            .with_summary("1 embedding(s) of 1024 dimensions")
                    },
                    |out| black_box(serde_json::to_vec(&out.into_result()).unwrap()),
                    criterion::BatchSize::SmallInput,
                )
            },
        );
    }
    // Tools without a summary repeat the JSON as text (for clients that ignore
    // structuredContent): the answer is serialised twice.
    g.bench_function("models list: ToolOutput::into_result (JSON as text too) + serialise", |b| {
        let models = json!({"object": "list", "data": (0..8).map(|i| json!({
            "id": format!("mistral-model-{i}"), "object": "model", "created": 1_732_000_000,
            "owned_by": "mistralai", "max_context_length": 131_072,
            "capabilities": {"completion_chat": true, "function_calling": true, "vision": i % 2 == 0}
        })).collect::<Vec<_>>()});
        b.iter_batched(
            || ToolOutput::json(models.clone()),
            |out| black_box(serde_json::to_vec(&out.into_result()).unwrap()),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, startup, search, request, response);
criterion_main!(benches);
