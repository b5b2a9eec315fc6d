//! Default fake-upstream answers for batch jobs, fine-tuning jobs and libraries, shaped like
//! the spec's response schemas, plus builders tests use to script job progress.

use serde_json::{Value, json};

use super::{FILE_ID, Reply, route_matches};

pub const BATCH_JOB_ID: &str = "b7e1c9a2-5d34-4f0e-9a61-0c2d8e4f1a10";
pub const FT_JOB_ID: &str = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9";
pub const LIBRARY_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
pub const DOCUMENT_ID: &str = "d0c0d0c0-1111-4222-8333-444455556666";
pub const OUTPUT_FILE_ID: &str = "0f0f0f0f-aaaa-4bbb-8ccc-dddddddddddd";
pub const USER_ID: &str = "5e5e5e5e-6f6f-4a7a-8b8b-9c9c9c9c9c9c";

/// A batch job in `status` with `completed` of `total` requests done (all succeeded).
pub fn batch_job(status: &str, completed: u64, total: u64) -> Value {
    let finished = matches!(
        status,
        "SUCCESS" | "FAILED" | "CANCELLED" | "TIMEOUT_EXCEEDED"
    );
    json!({
        "id": BATCH_JOB_ID, "object": "batch", "input_files": [FILE_ID], "metadata": {"project": "faq"},
        "endpoint": "/v1/chat/completions", "model": "mistral-small-latest", "agent_id": null,
        "output_file": if finished { json!(OUTPUT_FILE_ID) } else { Value::Null },
        "error_file": null, "errors": [], "outputs": null, "status": status,
        "created_at": 1732460000, "total_requests": total, "completed_requests": completed,
        "succeeded_requests": completed, "failed_requests": 0,
        "started_at": if status == "QUEUED" { Value::Null } else { json!(1732460010) },
        "completed_at": if finished { json!(1732460600) } else { Value::Null }
    })
}

/// A detailed fine-tuning job in `status`.
pub fn ft_job(status: &str) -> Value {
    let done = status == "SUCCESS";
    json!({
        "id": FT_JOB_ID, "auto_start": true, "model": "open-mistral-7b", "status": status,
        "created_at": 1732460000, "modified_at": 1732460100, "training_files": [FILE_ID],
        "validation_files": [], "object": "job",
        "fine_tuned_model": if done { json!("ft:open-mistral-7b:support:f1e2d3c4") } else { Value::Null },
        "suffix": "support", "integrations": [], "trained_tokens": if done { json!(120000) } else { Value::Null },
        "metadata": {"expected_duration_seconds": 600, "cost": 2.5, "cost_currency": "EUR", "train_tokens_per_step": 12000, "train_tokens": 120000, "data_tokens": 40000, "estimated_start_time": null},
        "job_type": "completion",
        "hyperparameters": {"training_steps": 10, "learning_rate": 0.0001, "weight_decay": 0.1, "warmup_fraction": 0.05, "epochs": null, "seq_len": 16384, "fim_ratio": 0.9},
        "repositories": [],
        "events": [{"name": "status-updated", "data": {"status": status}, "created_at": 1732460100}],
        "checkpoints": if status == "RUNNING" || done {
            json!([{"metrics": {"train_loss": 0.8123, "valid_loss": null, "valid_mean_token_accuracy": null}, "step_number": 5, "created_at": 1732460300}])
        } else { json!([]) }
    })
}

pub fn library(name: &str) -> Value {
    json!({
        "id": LIBRARY_ID, "name": name, "created_at": "2026-08-01T10:00:00Z", "updated_at": "2026-08-01T10:00:00Z",
        "owner_id": USER_ID, "owner_type": "Workspace", "total_size": 4096, "nb_documents": 1,
        "chunk_size": null, "emoji": null, "description": "Support answers", "generated_description": null,
        "explicit_user_members_count": null, "explicit_workspace_members_count": null,
        "org_sharing_role": null, "generated_name": null
    })
}

/// A library document whose processing is at `status`.
pub fn document(name: &str, status: &str) -> Value {
    let done = status == "done";
    json!({
        "id": DOCUMENT_ID, "library_id": LIBRARY_ID, "hash": null, "mime_type": "application/pdf",
        "extension": "pdf", "size": 4096, "name": name,
        "summary": if done { json!("A short FAQ.") } else { Value::Null },
        "created_at": "2026-08-01T10:05:00Z",
        "last_processed_at": if done { json!("2026-08-01T10:06:00Z") } else { Value::Null },
        "number_of_pages": if done { json!(3) } else { Value::Null },
        "process_status": status, "uploaded_by_id": USER_ID, "uploaded_by_type": "User",
        "tokens_processing_main_content": null, "tokens_processing_summary": null, "url": null,
        "attributes": {}, "expires_at": null,
        "processing_status": if done { "Completed" } else { "Running" },
        "tokens_processing_total": if done { 1500 } else { 0 }
    })
}

fn sharing() -> Value {
    json!({"library_id": LIBRARY_ID, "user_id": null, "org_id": "7a7a7a7a-0000-4000-8000-000000000001",
           "role": "Viewer", "share_with_type": "User", "share_with_uuid": USER_ID})
}

fn no_content() -> Reply {
    Reply::Bytes {
        status: 204,
        content_type: "application/json".into(),
        body: Vec::new(),
    }
}

/// A realistic answer for `method path`, or `None` if this group has no such route.
pub fn reply(method: &str, path: &str, req: &Value) -> Option<Reply> {
    let m = |p: &str| route_matches(p, method, path);
    let ok = |v: Value| Some(Reply::json(200, v));
    if m("GET /v1/batch/jobs") {
        return ok(json!({"object": "list", "data": [batch_job("SUCCESS", 2, 2)], "total": 1}));
    }
    if m("POST /v1/batch/jobs") {
        let n = req
            .get("requests")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as u64;
        return ok(batch_job("QUEUED", 0, n));
    }
    if m("GET /v1/batch/jobs/{id}") {
        return ok(batch_job("SUCCESS", 2, 2));
    }
    if m("DELETE /v1/batch/jobs/{id}") {
        return ok(json!({"id": BATCH_JOB_ID, "object": "batch", "deleted": true}));
    }
    if m("POST /v1/batch/jobs/{id}/cancel") {
        return ok(batch_job("CANCELLATION_REQUESTED", 1, 2));
    }
    if m("GET /v1/fine_tuning/jobs") {
        let mut job = ft_job("RUNNING");
        if let Value::Object(o) = &mut job {
            o.remove("events");
            o.remove("checkpoints");
        }
        return ok(json!({"object": "list", "data": [job], "total": 1}));
    }
    if m("POST /v1/fine_tuning/jobs") {
        return ok(ft_job("QUEUED"));
    }
    if m("GET /v1/fine_tuning/jobs/{id}") {
        return ok(ft_job("SUCCESS"));
    }
    if m("POST /v1/fine_tuning/jobs/{id}/cancel") {
        return ok(ft_job("CANCELLATION_REQUESTED"));
    }
    if m("POST /v1/fine_tuning/jobs/{id}/start") {
        return ok(ft_job("STARTED"));
    }
    if m("GET /v1/libraries") {
        return ok(json!({"data": [library("Support FAQ")], "next_page_token": "tok-2"}));
    }
    if m("POST /v1/libraries") {
        let name = req.get("name").and_then(Value::as_str).unwrap_or("Library");
        return Some(Reply::json(201, library(name)));
    }
    if m("GET /v1/libraries/{id}")
        || m("PATCH /v1/libraries/{id}")
        || m("DELETE /v1/libraries/{id}")
    {
        let name = req
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Support FAQ");
        return ok(library(name));
    }
    if m("GET /v1/libraries/{id}/documents") {
        return ok(json!({
            "pagination": {"total_items": 3, "total_pages": 3, "current_page": 0, "page_size": 1, "has_more": true},
            "data": [document("faq.pdf", "done")]
        }));
    }
    if m("POST /v1/libraries/{id}/documents") {
        return Some(Reply::json(201, document("faq.pdf", "todo")));
    }
    if m("GET /v1/libraries/{id}/documents/{doc}") || m("PATCH /v1/libraries/{id}/documents/{doc}")
    {
        let name = req.get("name").and_then(Value::as_str).unwrap_or("faq.pdf");
        return ok(document(name, "done"));
    }
    if m("DELETE /v1/libraries/{id}/documents/{doc}")
        || m("POST /v1/libraries/{id}/documents/{doc}/reprocess")
    {
        return Some(no_content());
    }
    if m("GET /v1/libraries/{id}/documents/{doc}/text_content") {
        return ok(json!({"text": "# FAQ\n\nHow do I reset my password? Use the account page."}));
    }
    if m("GET /v1/libraries/{id}/documents/{doc}/status") {
        return ok(
            json!({"document_id": DOCUMENT_ID, "process_status": "done", "processing_status": "Completed"}),
        );
    }
    if m("GET /v1/libraries/{id}/documents/{doc}/signed-url") {
        return ok(json!(
            "https://storage.example.invalid/docs/faq.pdf?sig=abc"
        ));
    }
    if m("GET /v1/libraries/{id}/documents/{doc}/extracted-text-signed-url") {
        return ok(json!("https://storage.example.invalid/docs/faq.md?sig=def"));
    }
    if m("GET /v1/libraries/{id}/share") {
        return ok(json!({"data": [sharing()]}));
    }
    if m("PUT /v1/libraries/{id}/share") || m("DELETE /v1/libraries/{id}/share") {
        return ok(sharing());
    }
    None
}
