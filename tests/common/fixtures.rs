//! Realistic large answers, the size and shape of Mistral's real ones: the whole model list,
//! 100 files, 20 agents with tools, a 40-entry conversation history, a 30-page OCR result and
//! a page of batch jobs. Deterministic (no randomness), so sizes and token counts repeat.
//!
//! One set for everything that measures result size: `tests/result_text.rs` checks the
//! compact text against them, `examples/result_tokens.rs` prints their token counts. The
//! example includes this file by path, so it uses nothing but `serde_json`.

use serde_json::{Value, json};

/// One large answer and the tool call that gets it.
pub struct Fixture {
    pub tool: &'static str,
    pub args: Value,
    /// The route the fake answers with `body` (`"GET /v1/models"`).
    pub route: &'static str,
    pub body: Value,
    /// Where the list sits in `body` (a JSON pointer), and the field that identifies its
    /// items.
    pub list: &'static str,
    pub id_key: &'static str,
}

impl Fixture {
    /// Every item's identifier, as text.
    pub fn ids(&self) -> Vec<String> {
        self.body
            .pointer(self.list)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.get(self.id_key))
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn all() -> Vec<Fixture> {
    vec![
        Fixture {
            tool: "models_list",
            args: json!({}),
            route: "GET /v1/models",
            body: models(),
            list: "/data",
            id_key: "id",
        },
        Fixture {
            tool: "files_list",
            args: json!({"page_size": 100}),
            route: "GET /v1/files",
            body: files(),
            list: "/data",
            id_key: "id",
        },
        Fixture {
            tool: "agents_list",
            args: json!({"page_size": 20}),
            route: "GET /v1/agents/pages",
            body: agents(),
            list: "/data",
            id_key: "id",
        },
        Fixture {
            tool: "conversations_history",
            args: json!({"conversation_id": "conv_0195d2a1b3c47e8f9a0b1c2d3e4f5a6b"}),
            route: "GET /v1/conversations/{id}/history",
            body: history(),
            list: "/entries",
            id_key: "id",
        },
        Fixture {
            tool: "ocr_process",
            args: json!({"document": {"type": "document_url", "document_url": "https://example.com/report.pdf"}}),
            route: "POST /v1/ocr",
            body: ocr(),
            list: "/pages",
            id_key: "index",
        },
        Fixture {
            tool: "batch_jobs_list",
            args: json!({"page_size": 25}),
            route: "GET /v1/batch/jobs",
            body: batch_jobs(),
            list: "/data",
            id_key: "id",
        },
    ]
}

/// A uuid-looking id, stable for `(seed, i)`.
fn uuid(seed: u64, i: u64) -> String {
    let x = (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(i);
    let y = x.rotate_left(17) ^ 0x94D0_49BB_1331_11EB;
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        x >> 32,
        x & 0xffff,
        (y >> 20) & 0xfff,
        (y >> 8) & 0xfff,
        y & 0xffff_ffff_ffff
    )
}

const MODEL_FAMILIES: &[(&str, &str, u64, [bool; 6])] = &[
    // (family, description, context, [fc, fim, fine_tuning, vision, ocr, audio])
    (
        "mistral-medium",
        "Our frontier-class multimodal model, with vision and function calling.",
        131_072,
        [true, false, false, true, false, false],
    ),
    (
        "mistral-large",
        "Our top-tier reasoning model for high-complexity tasks.",
        131_072,
        [true, false, true, true, false, false],
    ),
    (
        "mistral-small",
        "A leader in the small models category, multimodal and multilingual.",
        131_072,
        [true, false, true, true, false, false],
    ),
    (
        "ministral-8b",
        "Powerful edge model with extremely high performance/price ratio.",
        131_072,
        [true, false, true, false, false, false],
    ),
    (
        "ministral-3b",
        "World's best edge model.",
        131_072,
        [true, false, true, false, false, false],
    ),
    (
        "codestral",
        "Our cutting-edge language model for code completion, fill-in-the-middle.",
        262_144,
        [true, true, true, false, false, false],
    ),
    (
        "devstral-medium",
        "An enterprise-grade text model that excels at software engineering agents.",
        131_072,
        [true, false, false, false, false, false],
    ),
    (
        "magistral-medium",
        "Our frontier-class reasoning model.",
        40_960,
        [true, false, false, true, false, false],
    ),
    (
        "magistral-small",
        "Our small reasoning model.",
        40_960,
        [true, false, true, true, false, false],
    ),
    (
        "pixtral-large",
        "Frontier-class multimodal model.",
        131_072,
        [true, false, false, true, false, false],
    ),
    (
        "open-mistral-nemo",
        "Our best multilingual open source model.",
        131_072,
        [true, false, true, false, false, false],
    ),
    (
        "voxtral-small",
        "Our first model with audio input capabilities for instruct use cases.",
        32_768,
        [true, false, false, false, false, true],
    ),
    (
        "voxtral-mini",
        "Audio input model for transcription and understanding.",
        32_768,
        [false, false, false, false, false, true],
    ),
    (
        "mistral-ocr",
        "Our OCR service for documents: text, tables, images.",
        16_384,
        [false, false, false, false, true, false],
    ),
    (
        "mistral-embed",
        "Our state-of-the-art semantic embedding model.",
        8_192,
        [false, false, false, false, false, false],
    ),
    (
        "codestral-embed",
        "Our embedding model specialized in code.",
        8_192,
        [false, false, false, false, false, false],
    ),
    (
        "mistral-moderation",
        "Our moderation service to detect harmful text content.",
        8_192,
        [false, false, false, false, false, false],
    ),
];

/// `GET /v1/models`: every family in its dated versions and aliases, each a card of its own,
/// as Mistral lists them (about 70 cards).
pub fn models() -> Value {
    let mut cards = Vec::new();
    for (f, (family, description, context, caps)) in MODEL_FAMILIES.iter().enumerate() {
        let versions = ["2411", "2503", "2505", "2507"];
        let count = 2 + f % 3;
        for (v, version) in versions.iter().take(count).enumerate() {
            let id = format!("{family}-{version}");
            let latest = v + 1 == count;
            let aliases: Vec<String> = if latest {
                vec![format!("{family}-latest")]
            } else {
                Vec::new()
            };
            let deprecated = v == 0 && count > 2;
            cards.push(card(
                &id,
                description,
                *context,
                caps,
                &aliases,
                deprecated,
                f,
                v,
            ));
            if latest {
                let alias = format!("{family}-latest");
                cards.push(card(
                    &alias,
                    description,
                    *context,
                    caps,
                    &[id],
                    false,
                    f,
                    v,
                ));
            }
        }
    }
    json!({"object": "list", "data": cards})
}

#[allow(clippy::too_many_arguments)]
fn card(
    id: &str,
    description: &str,
    context: u64,
    caps: &[bool; 6],
    aliases: &[String],
    deprecated: bool,
    f: usize,
    v: usize,
) -> Value {
    let [fc, fim, ft, vision, ocr, audio] = *caps;
    let embed = id.contains("embed");
    let moderation = id.contains("moderation");
    json!({
        "id": id,
        "object": "model",
        "created": 1_732_460_000 + (f * 1000 + v) as u64,
        "owned_by": "mistralai",
        "capabilities": {
            "completion_chat": fc || vision,
            "function_calling": fc,
            "completion_fim": fim,
            "fine_tuning": ft,
            "vision": vision,
            "ocr": ocr,
            "classification": moderation,
            "moderation": moderation,
            "audio": audio,
            "audio_transcription": audio,
            "embeddings": embed,
        },
        "name": id,
        "description": description,
        "max_context_length": context,
        "aliases": aliases,
        "deprecation": if deprecated { json!("2026-03-31T12:00:00Z") } else { Value::Null },
        "deprecation_replacement_model": if deprecated { json!(format!("{}-latest", id.rsplit_once('-').map_or(id, |(a, _)| a))) } else { Value::Null },
        "default_model_temperature": if fc { json!(0.3) } else { Value::Null },
        "type": "base",
    })
}

/// `GET /v1/files?page_size=100`: 100 files of the three common purposes.
pub fn files() -> Value {
    let purposes = ["batch", "fine-tune", "ocr"];
    let data: Vec<Value> = (0..100u64)
        .map(|i| {
            let purpose = purposes[(i % 3) as usize];
            let (name, mime, sample, lines) = match purpose {
                "batch" => (
                    format!("batch_requests_{i:03}.jsonl"),
                    "application/jsonl",
                    json!("batch_request"),
                    json!(1000 + i * 7),
                ),
                "fine-tune" => (
                    format!("train_set_v{i}.jsonl"),
                    "application/jsonl",
                    json!("instruct"),
                    json!(5000 + i * 13),
                ),
                _ => (
                    format!("invoice_2025_{i:04}.pdf"),
                    "application/pdf",
                    Value::Null,
                    Value::Null,
                ),
            };
            json!({
                "id": uuid(1, i),
                "object": "file",
                "bytes": 12_000 + i * 3_517,
                "created_at": 1_750_000_000 + i * 3_600,
                "filename": name,
                "purpose": purpose,
                "sample_type": sample,
                "num_lines": lines,
                "mimetype": mime,
                "source": "upload",
                "signature": format!("{:064x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                "expires_at": null,
                "visibility": "user",
            })
        })
        .collect();
    json!({"object": "list", "data": data, "total": 100})
}

/// `GET /v1/agents/pages`: a page of 20 agents, each with instructions and a few tools.
pub fn agents() -> Value {
    let agents: Vec<Value> = (0..20u64)
        .map(|i| {
            let mut tools = vec![json!({"type": "web_search"})];
            if i % 2 == 0 {
                tools.push(json!({"type": "code_interpreter"}));
            }
            if i % 3 == 0 {
                tools.push(json!({"type": "document_library", "library_ids": [uuid(7, i)]}));
            }
            tools.push(json!({"type": "function", "function": {
                "name": format!("lookup_order_{i}"),
                "description": "Look up an order by its number and return its status, items and delivery date.",
                "strict": false,
                "parameters": {"type": "object", "properties": {
                    "order_number": {"type": "string", "description": "The order number, e.g. A-10023."},
                    "include_items": {"type": "boolean", "description": "Also return the items."}
                }, "required": ["order_number"]}
            }}));
            json!({
                "id": format!("ag_{}", uuid(3, i).replace('-', "")),
                "object": "agent",
                "name": format!("Support agent {i}"),
                "description": format!("Answers customer questions for team {i} using the knowledge base and the order system."),
                "model": if i % 2 == 0 { "mistral-medium-latest" } else { "mistral-small-latest" },
                "instructions": "You are a helpful support agent for an online shop. Answer in the customer's language, \
                    politely and briefly. Look up orders with the lookup tool before answering questions about them. \
                    Never promise refunds; hand the conversation to a human for refunds, complaints or legal matters. \
                    Cite the knowledge-base article you used.",
                "tools": tools,
                "completion_args": {"stop": null, "presence_penalty": null, "frequency_penalty": null,
                    "temperature": 0.3, "top_p": null, "max_tokens": null, "random_seed": null,
                    "prediction": null, "response_format": null, "tool_choice": "auto"},
                "handoffs": null,
                "metadata": {"team": format!("team-{i}")},
                "version": 1 + i % 4,
                "versions": (0..=(i % 4)).collect::<Vec<u64>>(),
                "created_at": format!("2025-09-{:02}T10:{:02}:00.000000Z", 1 + i, i),
                "updated_at": format!("2025-10-{:02}T08:{:02}:00.000000Z", 1 + i, i),
                "deployment_chat": false,
                "source": "api",
                "version_message": null,
            })
        })
        .collect();
    json!({"object": "list", "data": agents, "next_page_token": "eyJvZmZzZXQiOjIwfQ"})
}

const QUESTION: &str = "Could you check where my order A-10023 is? It was supposed to arrive on \
    Monday and the tracking page has not changed since last week. I also need to know whether \
    I can still add a second charger to it.";
const ANSWER: &str = "I checked order A-10023 for you. It left our warehouse in Lyon on \
    Thursday and is with the carrier, who reports a delay at the regional sorting centre \
    because of the strike on Monday; the new estimated delivery date is Wednesday before \
    noon. You will get an e-mail with the updated tracking link as soon as the carrier scans \
    it again.\n\nAbout the second charger: the order has already shipped, so it can no \
    longer be changed. You have two options. You can place a new order for the charger \
    (model CH-65, 65 W, USB-C) and choose the same delivery address; orders placed before \
    16:00 leave the warehouse the same day. Or, if you prefer a single delivery, you can \
    refuse the current parcel when it arrives and we will refund it as soon as it is back, \
    then you order both items together; this takes about a week longer.\n\nIs there \
    anything else I can help you with? If the parcel has not arrived by Thursday, reply \
    here and I will open a claim with the carrier straight away.";

/// `GET /v1/conversations/{id}/history`: 40 entries, questions, tool calls and long answers.
pub fn history() -> Value {
    let entries: Vec<Value> = (0..40u64)
        .map(|i| {
            let at = format!("2025-11-02T09:{:02}:{:02}.000000Z", i, (i * 7) % 60);
            match i % 4 {
                0 => json!({"object": "entry", "type": "message.input", "id": format!("msg_{}", uuid(5, i).replace('-', "")),
                    "created_at": at, "completed_at": null, "role": "user", "content": QUESTION, "prefix": false}),
                1 => json!({"object": "entry", "type": "function.call", "id": format!("fc_{}", uuid(5, i).replace('-', "")),
                    "created_at": at, "completed_at": at, "tool_call_id": format!("call_{i}"), "name": "lookup_order",
                    "arguments": "{\"order_number\": \"A-10023\", \"include_items\": true}"}),
                2 => json!({"object": "entry", "type": "function.result", "id": format!("fr_{}", uuid(5, i).replace('-', "")),
                    "created_at": at, "completed_at": null, "tool_call_id": format!("call_{}", i - 1),
                    "result": "{\"status\": \"in_transit\", \"carrier\": \"Colissimo\", \"eta\": \"2025-11-05\", \"items\": [{\"sku\": \"LT-14\", \"qty\": 1}]}"}),
                _ => json!({"object": "entry", "type": "message.output", "id": format!("msg_{}", uuid(5, i).replace('-', "")),
                    "created_at": at, "completed_at": at, "agent_id": "ag_0195d2a1b3c47e8f", "model": "mistral-medium-2505",
                    "role": "assistant", "content": [{"type": "text", "text": ANSWER}]}),
            }
        })
        .collect();
    json!({"object": "conversation.history", "conversation_id": "conv_0195d2a1b3c47e8f9a0b1c2d3e4f5a6b", "entries": entries})
}

/// `POST /v1/ocr`: a 30-page report, each page a few paragraphs, a table and an image.
pub fn ocr() -> Value {
    let pages: Vec<Value> = (0..30u64)
        .map(|i| {
            let markdown = format!(
                "# {} Annual report 2024, section {}\n\n{}\n\n| Quarter | Revenue (M EUR) | Growth |\n|---|---|---|\n\
                 | Q1 | {} | 4.1% |\n| Q2 | {} | 3.8% |\n| Q3 | {} | 5.2% |\n| Q4 | {} | 6.0% |\n\n![img-{i}.jpeg](img-{i}.jpeg)\n\n{}",
                i + 1,
                i + 1,
                "Revenue grew in every region this year, led by the industrial division, whose new \
                 service contracts more than offset the decline in one-off equipment sales. Operating \
                 margin improved by 1.4 points thanks to lower logistics costs and the completed \
                 migration of the order system. ".repeat(4),
                120 + i,
                125 + i,
                131 + i,
                139 + i,
                "The board proposes a dividend of 1.20 EUR per share, up from 1.05 EUR, and a \
                 share buy-back of up to 200 million EUR over the next eighteen months. ".repeat(3),
            );
            json!({
                "index": i,
                "markdown": markdown,
                "images": [{"id": format!("img-{i}.jpeg"), "top_left_x": 120, "top_left_y": 880,
                    "bottom_right_x": 1480, "bottom_right_y": 1620, "image_base64": null, "image_annotation": null}],
                "tables": [],
                "hyperlinks": [],
                "header": format!("ACME Industries, annual report 2024, page {}", i + 1),
                "footer": null,
                "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
            })
        })
        .collect();
    json!({"pages": pages, "model": "mistral-ocr-2512", "document_annotation": null,
           "usage_info": {"pages_processed": 30, "doc_size_bytes": 2_481_152}})
}

/// `GET /v1/batch/jobs?page_size=25`: a page of 25 jobs of a longer list.
pub fn batch_jobs() -> Value {
    let statuses = ["SUCCESS", "RUNNING", "FAILED", "QUEUED", "CANCELLED"];
    let data: Vec<Value> = (0..25u64)
        .map(|i| {
            let status = statuses[(i % 5) as usize];
            let total = 1000 + i * 40;
            let done = match status {
                "SUCCESS" => total,
                "RUNNING" => total / 2,
                "FAILED" => total / 10,
                _ => 0,
            };
            json!({
                "id": uuid(9, i),
                "object": "batch",
                "input_files": [uuid(1, i * 3)],
                "metadata": {"job": format!("nightly-eval-{i}")},
                "endpoint": "/v1/chat/completions",
                "model": "mistral-small-latest",
                "agent_id": null,
                "output_file": if status == "SUCCESS" { json!(uuid(11, i)) } else { Value::Null },
                "error_file": if status == "FAILED" { json!(uuid(13, i)) } else { Value::Null },
                "errors": if status == "FAILED" { json!([{"message": "Input file line 101: invalid JSON", "count": 1}]) } else { json!([]) },
                "outputs": null,
                "status": status,
                "created_at": 1_760_000_000 + i * 86_400,
                "total_requests": total,
                "completed_requests": done,
                "succeeded_requests": done.saturating_sub(i % 3),
                "failed_requests": i % 3,
                "started_at": if status == "QUEUED" { Value::Null } else { json!(1_760_000_060 + i * 86_400) },
                "completed_at": if matches!(status, "SUCCESS" | "FAILED" | "CANCELLED") { json!(1_760_003_600 + i * 86_400) } else { Value::Null },
            })
        })
        .collect();
    json!({"object": "list", "data": data, "total": 140})
}
