//! Batch, fine-tuning and library tools against the fake upstream: every tool sends a
//! spec-valid request, and the wait tools poll, report progress, time out and stop on
//! cancellation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::fake_jobs::{
    BATCH_JOB_ID, DOCUMENT_ID, FT_JOB_ID, LIBRARY_ID, OUTPUT_FILE_ID, USER_ID, batch_job, document,
    ft_job,
};
use common::harness::{self, structured, text};
use common::{FILE_ID, FakeMistral, Recorded, Reply, assert_valid_upstream, spec};
use serde_json::{Value, json};

const OUR_TOOLSETS: [&str; 3] = ["batch", "fine_tuning", "libraries"];

/// Like `assert_valid_upstream`, but fine-tuning job requests are checked against the
/// 2026-07-15 spec, the last one that describes them.
fn assert_valid(rec: &Recorded) {
    if !rec.path.starts_with("/v1/fine_tuning/jobs") {
        assert_valid_upstream(rec);
        return;
    }
    match spec::old_spec() {
        Some(old) => common::assert_valid_against(rec, old, "the 2026-07-15 spec"),
        None => {
            assert!(
                spec::spec().is_none(),
                "the current spec is present but openapi-2026-07-15.yaml is not"
            );
            common::assert_authorised(rec);
        }
    }
}

fn query_has(rec: &Recorded, pair: &str) -> bool {
    rec.query.split('&').any(|p| p == pair)
}

/// One call per tool of these areas, with typical arguments: each must succeed and send
/// only requests the spec accepts.
#[tokio::test]
async fn every_jobs_tool_sends_spec_valid_requests() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    std::fs::write(s.dir.path().join("faq.pdf"), b"%PDF-1.4 faq").unwrap();
    let pdf = s.dir.path().join("faq.pdf").display().to_string();
    let doc = json!({"library_id": LIBRARY_ID, "document_id": DOCUMENT_ID});
    let with = |extra: Value| {
        let mut v = doc.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "batch_jobs_create",
            json!({"endpoint": "/v1/chat/completions", "model": "mistral-small-latest", "input_files": [FILE_ID], "metadata": {"project": "faq"}, "timeout_hours": 48}),
            "POST /v1/batch/jobs",
        ),
        (
            "batch_jobs_create",
            json!({"endpoint": "/v1/embeddings", "model": "mistral-embed", "requests": [{"custom_id": "0", "body": {"input": ["hello"]}}, {"body": {"input": ["world"]}}]}),
            "POST /v1/batch/jobs",
        ),
        (
            "batch_jobs_list",
            json!({"page": 0, "page_size": 10, "status": ["RUNNING", "QUEUED"], "model": "mistral-small-latest", "created_by_me": true, "order_by": "-created", "created_after": "2026-01-01T00:00:00Z"}),
            "GET /v1/batch/jobs",
        ),
        (
            "batch_jobs_get",
            json!({"job_id": BATCH_JOB_ID, "inline": true}),
            "GET /v1/batch/jobs/{id}",
        ),
        (
            "batch_jobs_wait",
            json!({"job_id": BATCH_JOB_ID, "timeout_secs": 5}),
            "GET /v1/batch/jobs/{id}",
        ),
        (
            "batch_jobs_cancel",
            json!({"job_id": BATCH_JOB_ID}),
            "POST /v1/batch/jobs/{id}/cancel",
        ),
        (
            "batch_jobs_delete",
            json!({"job_id": BATCH_JOB_ID}),
            "DELETE /v1/batch/jobs/{id}",
        ),
        (
            "fine_tuning_jobs_create",
            json!({"model": "open-mistral-7b", "training_files": [{"file_id": FILE_ID, "weight": 1.0}], "validation_files": [FILE_ID], "suffix": "support", "hyperparameters": {"training_steps": 10, "learning_rate": 0.0001}, "auto_start": false}),
            "POST /v1/fine_tuning/jobs",
        ),
        (
            "fine_tuning_jobs_create",
            json!({"model": "ministral-3b-latest", "job_type": "classifier", "training_files": [{"file_id": FILE_ID}], "classifier_targets": [{"name": "intent", "labels": ["billing", "support"], "loss_function": "single_class"}], "dry_run": true}),
            "POST /v1/fine_tuning/jobs",
        ),
        (
            "fine_tuning_jobs_list",
            json!({"page": 1, "page_size": 5, "status": "RUNNING", "created_by_me": true, "suffix": "support"}),
            "GET /v1/fine_tuning/jobs",
        ),
        (
            "fine_tuning_jobs_get",
            json!({"job_id": FT_JOB_ID}),
            "GET /v1/fine_tuning/jobs/{id}",
        ),
        (
            "fine_tuning_jobs_wait",
            json!({"job_id": FT_JOB_ID}),
            "GET /v1/fine_tuning/jobs/{id}",
        ),
        (
            "fine_tuning_jobs_start",
            json!({"job_id": FT_JOB_ID}),
            "POST /v1/fine_tuning/jobs/{id}/start",
        ),
        (
            "fine_tuning_jobs_cancel",
            json!({"job_id": FT_JOB_ID}),
            "POST /v1/fine_tuning/jobs/{id}/cancel",
        ),
        (
            "libraries_create",
            json!({"name": "Support FAQ", "description": "Answers for support", "owner_type": "Workspace"}),
            "POST /v1/libraries",
        ),
        (
            "libraries_list",
            json!({"page_size": 20, "search": "faq"}),
            "GET /v1/libraries",
        ),
        (
            "libraries_list",
            json!({"page_token": "tok-2"}),
            "GET /v1/libraries",
        ),
        (
            "libraries_get",
            json!({"library_id": LIBRARY_ID}),
            "GET /v1/libraries/{id}",
        ),
        (
            "libraries_update",
            json!({"library_id": LIBRARY_ID, "name": "Support FAQ v2", "description": "Updated"}),
            "PATCH /v1/libraries/{id}",
        ),
        (
            "libraries_delete",
            json!({"library_id": LIBRARY_ID}),
            "DELETE /v1/libraries/{id}",
        ),
        (
            "libraries_documents_upload",
            json!({"library_id": LIBRARY_ID, "path": pdf}),
            "POST /v1/libraries/{id}/documents",
        ),
        (
            "libraries_documents_upload",
            json!({"library_id": LIBRARY_ID, "content_base64": "IyBGQVEK", "file_name": "faq.md"}),
            "POST /v1/libraries/{id}/documents",
        ),
        (
            "libraries_documents_list",
            json!({"library_id": LIBRARY_ID, "page": 0, "page_size": 1, "search": "faq", "sort_by": "created_at", "sort_order": "asc"}),
            "GET /v1/libraries/{id}/documents",
        ),
        (
            "libraries_documents_get",
            doc.clone(),
            "GET /v1/libraries/{id}/documents/{doc}",
        ),
        (
            "libraries_documents_update",
            with(
                json!({"name": "faq-2026.pdf", "attributes": {"team": "support", "year": 2026, "tags": ["faq", "public"]}, "expires_at": "2027-01-01T00:00:00Z"}),
            ),
            "PATCH /v1/libraries/{id}/documents/{doc}",
        ),
        (
            "libraries_documents_delete",
            doc.clone(),
            "DELETE /v1/libraries/{id}/documents/{doc}",
        ),
        (
            "libraries_documents_status",
            doc.clone(),
            "GET /v1/libraries/{id}/documents/{doc}/status",
        ),
        (
            "libraries_documents_wait",
            with(json!({"timeout_secs": 10})),
            "GET /v1/libraries/{id}/documents/{doc}",
        ),
        (
            "libraries_documents_text_content",
            with(json!({"page_start": 0, "page_end": 2})),
            "GET /v1/libraries/{id}/documents/{doc}/text_content",
        ),
        (
            "libraries_documents_signed_url",
            doc.clone(),
            "GET /v1/libraries/{id}/documents/{doc}/signed-url",
        ),
        (
            "libraries_documents_extracted_text_signed_url",
            doc.clone(),
            "GET /v1/libraries/{id}/documents/{doc}/extracted-text-signed-url",
        ),
        (
            "libraries_documents_reprocess",
            doc.clone(),
            "POST /v1/libraries/{id}/documents/{doc}/reprocess",
        ),
        (
            "libraries_accesses_list",
            json!({"library_id": LIBRARY_ID}),
            "GET /v1/libraries/{id}/share",
        ),
        (
            "libraries_accesses_share",
            json!({"library_id": LIBRARY_ID, "level": "Editor", "share_with_uuid": USER_ID, "share_with_type": "User"}),
            "PUT /v1/libraries/{id}/share",
        ),
        (
            "libraries_accesses_unshare",
            json!({"library_id": LIBRARY_ID, "share_with_uuid": USER_ID, "share_with_type": "User", "level": "Editor"}),
            "DELETE /v1/libraries/{id}/share",
        ),
    ];
    let cases = cases.into_iter().map(|(t, a, r)| (t, a, r, None)).collect();
    harness::check_every_tool(&s, &fake, &OUR_TOOLSETS, cases, assert_valid).await;
}

/// The details of what the table test sends and returns.
#[tokio::test]
async fn requests_and_results_have_the_expected_shape() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;

    let r = s
        .call(
            "batch_jobs_list",
            json!({"page": 0, "page_size": 1, "status": ["RUNNING", "QUEUED"], "metadata": {"project": "faq"}}),
        )
        .await;
    let rec = fake.last();
    assert!(query_has(&rec, "status=RUNNING") && query_has(&rec, "status=QUEUED"));
    assert!(rec.query.contains("metadata="), "{}", rec.query);
    assert_eq!(
        structured(&r)["next_page"],
        Value::Null,
        "total 1 fits one page"
    );

    fake.push(
        "GET /v1/batch/jobs",
        Reply::json(
            200,
            json!({"object": "list", "data": [batch_job("RUNNING", 0, 3)], "total": 7}),
        ),
    );
    let r = s
        .call("batch_jobs_list", json!({"page": 1, "page_size": 3}))
        .await;
    assert_eq!(
        structured(&r)["next_page"],
        json!({"page": 2, "page_size": 3})
    );

    let r = s.call("libraries_list", json!({"page_size": 20})).await;
    assert_eq!(
        structured(&r)["next_page"],
        json!({"page_token": "tok-2", "page_size": 20})
    );
    let r = s
        .call(
            "libraries_documents_list",
            json!({"library_id": LIBRARY_ID, "page_size": 1}),
        )
        .await;
    assert_eq!(
        structured(&r)["next_page"],
        json!({"page": 1, "page_size": 1})
    );

    s.call("libraries_create", json!({"name": "Support FAQ"}))
        .await;
    assert_eq!(
        fake.last().json(),
        json!({"name": "Support FAQ"}),
        "unset fields are not sent"
    );

    s.call(
        "fine_tuning_jobs_create",
        json!({"model": "open-mistral-7b", "training_files": [{"file_id": FILE_ID}], "dry_run": true}),
    )
    .await;
    let rec = fake.last();
    assert_eq!(rec.query, "dry_run=true");
    assert_eq!(
        rec.json(),
        json!({"model": "open-mistral-7b", "training_files": [{"file_id": FILE_ID}], "hyperparameters": {}})
    );

    let r = s
        .call("libraries_accesses_unshare", json!({"library_id": LIBRARY_ID, "share_with_uuid": USER_ID, "share_with_type": "User"}))
        .await;
    assert_eq!(r.is_error, Some(false));
    let rec = fake.last();
    assert_eq!(rec.method, "DELETE");
    assert_eq!(
        rec.json(),
        json!({"share_with_uuid": USER_ID, "share_with_type": "User"})
    );

    let r = s
        .call(
            "libraries_documents_signed_url",
            json!({"library_id": LIBRARY_ID, "document_id": DOCUMENT_ID}),
        )
        .await;
    assert_eq!(
        structured(&r)["url"],
        "https://storage.example.invalid/docs/faq.pdf?sig=abc"
    );

    let r = s
        .call(
            "libraries_documents_delete",
            json!({"library_id": LIBRARY_ID, "document_id": DOCUMENT_ID}),
        )
        .await;
    assert!(text(&r).contains("Deleted document"), "{}", text(&r));

    let r = s
        .call("batch_jobs_create", json!({"endpoint": "/v1/chat/completions", "model": "mistral-small-latest", "requests": [{"custom_id": "a", "body": {"messages": [{"role": "user", "content": "hi"}]}}]}))
        .await;
    assert!(
        text(&r).contains(&format!(
            "batch_jobs_wait {{\"job_id\": \"{BATCH_JOB_ID}\"}}"
        )),
        "{}",
        text(&r)
    );
}

/// The flow an agent follows: upload a JSONL, create the batch, wait with progress.
#[tokio::test]
async fn batch_from_uploaded_jsonl_is_waited_for_with_counters() {
    let fake = FakeMistral::start().await;
    for job in [
        batch_job("QUEUED", 0, 0),
        batch_job("RUNNING", 4, 10),
        batch_job("SUCCESS", 10, 10),
    ] {
        fake.push("GET /v1/batch/jobs/{id}", Reply::json(200, job));
    }
    let s = harness::start(&fake, |_| {}).await;
    let jsonl = "{\"custom_id\": \"0\", \"body\": {\"messages\": [{\"role\": \"user\", \"content\": \"Best French cheese?\"}]}}\n";
    let path = s.dir.path().join("requests.jsonl");
    std::fs::write(&path, jsonl).unwrap();

    let r = s
        .call(
            "files_upload",
            json!({"path": path.display().to_string(), "purpose": "batch"}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let file_id = structured(&r)["id"].as_str().unwrap().to_string();
    let upload = fake.last();
    let parts = upload.multipart();
    assert!(parts.iter().any(|(n, f, v)| n == "file"
        && f.as_deref() == Some("requests.jsonl")
        && v == jsonl.as_bytes()));
    assert!(
        parts
            .iter()
            .any(|(n, _, v)| n == "purpose" && v == b"batch")
    );

    let r = s
        .call("batch_jobs_create", json!({"endpoint": "/v1/chat/completions", "model": "mistral-small-latest", "input_files": [file_id]}))
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(fake.last().json()["input_files"], json!([FILE_ID]));
    let job_id = structured(&r)["id"].as_str().unwrap().to_string();

    // The client attaches a progress token to every call; keep only the wait's.
    s.progress.lock().unwrap().clear();
    let started = Instant::now();
    let r = s
        .call_with_progress(
            "batch_jobs_wait",
            json!({"job_id": job_id, "timeout_secs": 60}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert!(started.elapsed() < Duration::from_secs(10));
    let job = structured(&r);
    assert_eq!(job["status"], "SUCCESS");
    assert_eq!(job["output_file"], OUTPUT_FILE_ID);
    let t = text(&r);
    assert!(
        t.contains("SUCCESS: 10/10 requests done (10 succeeded, 0 failed)"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "files_download {{\"file_id\": \"{OUTPUT_FILE_ID}\"}}"
        )),
        "{t}"
    );

    let polls: Vec<Recorded> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == format!("/v1/batch/jobs/{BATCH_JOB_ID}"))
        .collect();
    assert_eq!(
        polls.len(),
        3,
        "polled until the terminal state, then stopped"
    );
    for rec in fake.requests() {
        assert_valid(&rec);
    }

    let progress = s.progress.lock().unwrap().clone();
    let messages: Vec<String> = progress.iter().filter_map(|p| p.message.clone()).collect();
    assert_eq!(
        messages,
        vec![
            "QUEUED: 0/0 requests done (0 succeeded, 0 failed)",
            "RUNNING: 4/10 requests done (4 succeeded, 0 failed)",
            "SUCCESS: 10/10 requests done (10 succeeded, 0 failed)",
        ]
    );
    assert!(
        progress.windows(2).all(|w| w[0].progress < w[1].progress),
        "progress must increase: {progress:?}"
    );
    let last = progress.last().unwrap();
    assert_eq!((last.progress, last.total), (10.0, Some(10.0)));
    assert_eq!(progress[1].total, Some(10.0));
}

#[tokio::test]
async fn wait_timeout_returns_the_running_state() {
    let fake = FakeMistral::start().await;
    for i in 0..10 {
        fake.push(
            "GET /v1/batch/jobs/{id}",
            Reply::json(200, batch_job("RUNNING", i, 100)),
        );
    }
    let s = harness::start(&fake, |_| {}).await;
    // The client attaches a progress token to every call; keep only the wait's.
    s.progress.lock().unwrap().clear();
    let started = Instant::now();
    let r = s
        .call_with_progress(
            "batch_jobs_wait",
            json!({"job_id": BATCH_JOB_ID, "timeout_secs": 2}),
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(
        r.is_error,
        Some(false),
        "a timeout is not an error: {}",
        text(&r)
    );
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert_eq!(structured(&r)["status"], "RUNNING");
    let t = text(&r);
    assert!(
        t.contains("still running") && t.contains("batch_jobs_wait"),
        "{t}"
    );
    // Polls at 0s, 1s and at the deadline; the last state is fresh.
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(structured(&r)["completed_requests"], 2);
    let progress = s.progress.lock().unwrap().clone();
    assert_eq!(progress.len(), 3);
    assert!(progress.windows(2).all(|w| w[0].progress < w[1].progress));
}

#[tokio::test]
async fn stalled_counters_still_send_increasing_progress() {
    let fake = FakeMistral::start().await;
    for _ in 0..3 {
        fake.push(
            "GET /v1/fine_tuning/jobs/{id}",
            Reply::json(200, ft_job("RUNNING")),
        );
    }
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call_with_progress(
            "fine_tuning_jobs_wait",
            json!({"job_id": FT_JOB_ID, "timeout_secs": 60}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(structured(&r)["status"], "SUCCESS");
    let t = text(&r);
    assert!(
        t.contains("ft:open-mistral-7b:support:f1e2d3c4") && t.contains("deprecated"),
        "{t}"
    );
    let progress = s.progress.lock().unwrap().clone();
    assert_eq!(progress.len(), 4);
    assert!(
        progress.windows(2).all(|w| w[0].progress < w[1].progress),
        "{progress:?}"
    );
    assert_eq!(
        progress[0].message.as_deref(),
        Some("RUNNING (step 5, train loss 0.8123)")
    );
    assert_eq!(
        progress.last().unwrap().message.as_deref(),
        Some("SUCCESS (step 5, train loss 0.8123)")
    );
    for rec in fake.requests() {
        assert_valid(&rec);
    }
}

#[tokio::test]
async fn cancelling_a_wait_stops_polling_at_once() {
    let fake = FakeMistral::start().await;
    for _ in 0..50 {
        fake.push(
            "GET /v1/batch/jobs/{id}",
            Reply::json(200, batch_job("RUNNING", 1, 100)),
        );
    }
    let s = harness::start(&fake, |_| {}).await;
    let params = rmcp::model::CallToolRequestParams::new("batch_jobs_wait").with_arguments(
        json!({"job_id": BATCH_JOB_ID, "timeout_secs": 600})
            .as_object()
            .cloned()
            .unwrap(),
    );
    // Dropping the call future sends notifications/cancelled; the wait is between polls then.
    let outcome =
        tokio::time::timeout(Duration::from_millis(1500), s.client.call_tool(params)).await;
    assert!(outcome.is_err(), "the wait should still have been running");
    let polls = fake.requests().len();
    assert!((1..=2).contains(&polls), "polled at 0s and 1s, got {polls}");
    // Without cancellation the next poll would come at 2.5s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        fake.requests().len(),
        polls,
        "the wait kept polling after cancellation"
    );
    let r = s
        .call("batch_jobs_get", json!({"job_id": BATCH_JOB_ID}))
        .await;
    assert_eq!(r.is_error, Some(false), "the server stays responsive");
}

#[tokio::test]
async fn library_document_is_uploaded_from_a_path_and_waited_for() {
    let fake = FakeMistral::start().await;
    for status in ["todo", "in_progress", "done"] {
        fake.push(
            "GET /v1/libraries/{id}/documents/{doc}",
            Reply::json(200, document("faq.pdf", status)),
        );
    }
    let s = harness::start(&fake, |_| {}).await;
    let r = s
        .call(
            "libraries_create",
            json!({"name": "Support FAQ", "description": "Answers for support"}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let library_id = structured(&r)["id"].as_str().unwrap().to_string();

    let pdf = s.dir.path().join("faq.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 frequently asked questions").unwrap();
    let r = s
        .call(
            "libraries_documents_upload",
            json!({"library_id": library_id, "path": pdf.display().to_string()}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let upload = fake.last();
    assert_eq!(
        upload.route(),
        format!("POST /v1/libraries/{LIBRARY_ID}/documents")
    );
    let parts = upload.multipart();
    assert_eq!(parts.len(), 1, "one `file` field and nothing else");
    assert_eq!(parts[0].0, "file");
    assert_eq!(parts[0].1.as_deref(), Some("faq.pdf"));
    assert_eq!(parts[0].2, b"%PDF-1.4 frequently asked questions");
    assert_valid(&upload);
    let document_id = structured(&r)["id"].as_str().unwrap().to_string();
    assert!(
        text(&r).contains("libraries_documents_wait"),
        "{}",
        text(&r)
    );

    s.progress.lock().unwrap().clear();
    let r = s
        .call_with_progress(
            "libraries_documents_wait",
            json!({"library_id": library_id, "document_id": document_id, "timeout_secs": 30}),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(structured(&r)["process_status"], "done");
    assert_eq!(structured(&r)["number_of_pages"], 3);
    let t = text(&r);
    assert!(
        t.contains("is done, 3 pages") && t.contains("libraries_documents_text_content"),
        "{t}"
    );
    let messages: Vec<String> = s
        .progress
        .lock()
        .unwrap()
        .iter()
        .filter_map(|p| p.message.clone())
        .collect();
    assert_eq!(
        messages,
        vec!["faq.pdf: todo", "faq.pdf: in_progress", "faq.pdf: done"]
    );
    for rec in fake.requests() {
        assert_valid(&rec);
    }
}

#[tokio::test]
async fn large_results_are_not_dumped_inline() {
    let fake = FakeMistral::start().await;
    let mut job = batch_job("SUCCESS", 2, 2);
    job["outputs"] = json!([{"custom_id": "0", "response": {"body": "x".repeat(300 * 1024)}}]);
    fake.push("GET /v1/batch/jobs/{id}", Reply::json(200, job));
    let long = "word ".repeat(70 * 1024);
    fake.push(
        "GET /v1/libraries/{id}/documents/{doc}/text_content",
        Reply::json(200, json!({"text": long})),
    );
    fake.push(
        "GET /v1/libraries/{id}/documents/{doc}/text_content",
        Reply::json(200, json!({"text": long})),
    );
    let s = harness::start(&fake, |_| {}).await;

    let r = s
        .call(
            "batch_jobs_get",
            json!({"job_id": BATCH_JOB_ID, "inline": true}),
        )
        .await;
    assert_eq!(r.is_error, Some(false));
    assert!(structured(&r).get("outputs").is_none());
    assert!(
        structured(&r)["outputs_omitted"]
            .as_str()
            .unwrap()
            .contains(OUTPUT_FILE_ID)
    );
    assert!(fake.last().query == "inline=true");

    let doc = json!({"library_id": LIBRARY_ID, "document_id": DOCUMENT_ID});
    let r = s
        .call("libraries_documents_text_content", doc.clone())
        .await;
    assert_eq!(r.is_error, Some(false));
    assert!(text(&r).len() < 270 * 1024);
    assert!(text(&r).contains("[Truncated:"), "truncation is said");
    assert_eq!(structured(&r)["truncated"], true);

    let target = s.dir.path().join("faq.txt");
    let mut args = doc;
    args["save_to"] = json!(target.display().to_string());
    let r = s.call("libraries_documents_text_content", args).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), long);
    assert!(text(&r).len() < 300);
    assert!(fake.last().query.is_empty(), "save_to is not sent upstream");
}

#[tokio::test]
async fn annotations_match_what_the_tools_do() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |o| o.mode = Some(mistral_mcp::config::ToolMode::All)).await;
    let tools = s.client.list_all_tools().await.unwrap();
    let ann = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} is not listed"))
            .annotations
            .clone()
            .unwrap()
    };
    for name in [
        "batch_jobs_cancel",
        "fine_tuning_jobs_cancel",
        "batch_jobs_delete",
        "libraries_delete",
        "libraries_documents_delete",
        "libraries_accesses_unshare",
    ] {
        let a = ann(name);
        assert_eq!(a.destructive_hint, Some(true), "{name}");
        assert_eq!(a.read_only_hint, Some(false), "{name}");
    }
    for name in [
        "batch_jobs_wait",
        "fine_tuning_jobs_wait",
        "libraries_documents_wait",
        "libraries_documents_status",
        "libraries_list",
    ] {
        assert_eq!(ann(name).read_only_hint, Some(true), "{name}");
    }
    for name in [
        "batch_jobs_create",
        "fine_tuning_jobs_create",
        "libraries_create",
        "libraries_documents_upload",
    ] {
        let a = ann(name);
        assert_eq!(a.idempotent_hint, Some(false), "{name}");
        assert_eq!(a.destructive_hint, Some(false), "{name}");
        assert_eq!(a.read_only_hint, Some(false), "{name}");
    }
    for t in tools
        .iter()
        .filter(|t| t.name.starts_with("fine_tuning_jobs_"))
    {
        let d = t.description.as_deref().unwrap_or("");
        assert!(
            d.contains("deprecated"),
            "{} must say fine-tuning is deprecated",
            t.name
        );
    }
    let get = tools
        .iter()
        .find(|t| t.name == "libraries_documents_get")
        .unwrap();
    let schema = serde_json::to_value(&*get.input_schema).unwrap();
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort();
    assert_eq!(required, ["document_id", "library_id"]);
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_naming_the_field() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let cases = [
        (
            "batch_jobs_create",
            json!({"model": "mistral-small-latest", "input_files": [FILE_ID]}),
            "endpoint",
        ),
        (
            "batch_jobs_create",
            json!({"endpoint": "/v1/chat/completions", "model": "m"}),
            "input_files",
        ),
        (
            "batch_jobs_create",
            json!({"endpoint": "/v1/chat/completions", "requests": [{"custom_id": "0"}]}),
            "requests[0]",
        ),
        (
            "batch_jobs_wait",
            json!({"job_id": BATCH_JOB_ID, "timeout_secs": 0}),
            "timeout_secs",
        ),
        (
            "batch_jobs_wait",
            json!({"job_id": BATCH_JOB_ID, "timeout_secs": "soon"}),
            "timeout_secs",
        ),
        ("batch_jobs_get", json!({"job_id": ".."}), "job_id"),
        (
            "fine_tuning_jobs_create",
            json!({"model": "open-mistral-7b", "hyperparams": {}}),
            "hyperparams",
        ),
        (
            "fine_tuning_jobs_create",
            json!({"model": "open-mistral-7b", "hyperparameters": {"learning_rte": 0.1}}),
            "learning_rte",
        ),
        (
            "libraries_documents_get",
            json!({"library_id": LIBRARY_ID}),
            "document_id",
        ),
        (
            "libraries_documents_upload",
            json!({"library_id": LIBRARY_ID}),
            "path",
        ),
        (
            "libraries_accesses_share",
            json!({"library_id": LIBRARY_ID, "share_with_uuid": USER_ID, "share_with_type": "User"}),
            "level",
        ),
        ("libraries_list", json!({"page_size": "all"}), "page_size"),
    ];
    harness::check_bad_arguments(&s, &fake, cases).await;
}

/// The 2026-07-15 spec is loaded and its validator rejects what Mistral rejects, so the
/// fine-tuning checks above can fail.
#[test]
fn old_spec_validator_rejects_invalid_fine_tuning_requests() {
    if spec::spec().is_none() {
        return;
    }
    let old = spec::old_spec().expect("openapi-2026-07-15.yaml is next to openapi.yaml");
    let ok = json!({"model": "open-mistral-7b", "hyperparameters": {}, "training_files": [{"file_id": FILE_ID}]});
    old.check_json_body("POST", "/v1/fine_tuning/jobs", &ok)
        .unwrap();
    for bad in [
        json!({"hyperparameters": {}}),
        json!({"model": "open-mistral-7b"}),
        json!({"model": "m", "hyperparameters": {}, "training_files": [FILE_ID]}),
        json!({"model": "m", "hyperparameters": {}, "suffix": "a-suffix-longer-than-18"}),
    ] {
        assert!(
            old.check_json_body("POST", "/v1/fine_tuning/jobs", &bad)
                .is_err(),
            "accepted {bad}"
        );
    }
    assert!(
        old.check_params("GET", "/v1/fine_tuning/jobs", "page=0&bogus=1")
            .is_err()
    );
    assert!(
        old.check_params("POST", "/v1/fine_tuning/jobs", "dry_run=true")
            .is_ok()
    );
    let current = spec::spec().unwrap();
    assert!(
        current.operations("GET", "/v1/fine_tuning/jobs").is_empty(),
        "the current spec gained fine-tuning jobs again; validate against it instead"
    );
}

/// A wait asked for longer than the server's per-call budget ends just before the budget
/// with the last state (not an over_budget error), so the agent can simply wait again.
#[tokio::test]
async fn a_wait_longer_than_the_call_budget_returns_the_last_state_in_time() {
    let fake = FakeMistral::start().await;
    for _ in 0..20 {
        fake.push(
            "GET /v1/batch/jobs/{id}",
            Reply::json(200, batch_job("RUNNING", 4, 10)),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::test_config(&fake, dir.path(), |_| {});
    config.tools.call_budget = Duration::from_secs(7);
    let s = harness::start_with_config(config, dir).await;
    let started = Instant::now();
    let r = s
        .call(
            "batch_jobs_wait",
            json!({"job_id": BATCH_JOB_ID, "timeout_secs": 600}),
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(structured(&r)["status"], "RUNNING");
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(6),
        "{elapsed:?}"
    );
}
