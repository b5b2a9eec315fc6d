//! Local file writes under attack: `save_to` targets swapped for symlinks mid-download,
//! concurrent downloads to one path, invalid paths that must fail before anything billable
//! is spent, and a 200 MiB download that must stream to disk instead of filling memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::harness::{self, RecordingClient, text};
use common::{FILE_ID, FakeMistral, Reply};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const BIN: &str = env!("CARGO_BIN_EXE_mistral-mcp");
const DOWNLOAD: &str = "GET /v1/files/{id}/content";

/// A download of `chunks` chunks, one every `pause`: slow enough to act on the path meanwhile.
fn slow_download(chunks: &[&[u8]], pause: Duration) -> Reply {
    Reply::raw(200, "application/octet-stream", chunks.to_vec()).paced(pause)
}

/// Waits until the fake has received `n` requests: the server is then mid-download.
async fn until_requests(fake: &FakeMistral, n: usize) {
    for _ in 0..500 {
        if fake.requests().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the fake never received {n} request(s)");
}

fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test]
async fn a_target_swapped_for_a_symlink_mid_download_writes_nothing_outside() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, b"original").unwrap();
    let target = s.dir.path().join("out.bin");
    fake.push(
        DOWNLOAD,
        slow_download(
            &[b"attacker ", b"controlled ", b"bytes"],
            Duration::from_millis(150),
        ),
    );

    let call = s.call(
        "files_download",
        json!({"file_id": FILE_ID, "save_to": path_arg(&target)}),
    );
    let swap = async {
        until_requests(&fake, 1).await;
        let _ = std::fs::remove_file(&target);
        std::os::unix::fs::symlink(&victim, &target).unwrap();
    };
    let (r, ()) = tokio::join!(call, swap);

    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"original",
        "the download was written through the symlink, outside the allowed directory"
    );
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("replaced"), "{}", text(&r));
    assert!(
        std::fs::symlink_metadata(&target)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the swapped-in link is left alone"
    );
}

#[tokio::test]
async fn a_parent_directory_swapped_for_a_symlink_mid_download_writes_nothing_outside() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let outside = tempfile::tempdir().unwrap();
    let sub = s.dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    fake.push(
        DOWNLOAD,
        slow_download(
            &[b"attacker ", b"controlled ", b"bytes"],
            Duration::from_millis(150),
        ),
    );

    let call = s.call(
        "files_download",
        json!({"file_id": FILE_ID, "save_to": path_arg(&sub.join("out.bin"))}),
    );
    let swap = async {
        until_requests(&fake, 1).await;
        std::fs::rename(&sub, s.dir.path().join("sub-moved")).unwrap();
        std::os::unix::fs::symlink(outside.path(), &sub).unwrap();
    };
    let (r, ()) = tokio::join!(call, swap);

    let escaped: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
    assert!(
        escaped.is_empty(),
        "the download was written outside the allowed directory: {escaped:?}"
    );
    // The bytes stay in the directory that was opened, wherever it was moved to.
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(
        std::fs::read(s.dir.path().join("sub-moved/out.bin")).unwrap(),
        b"attacker controlled bytes"
    );
}

#[tokio::test]
async fn two_concurrent_downloads_to_one_path_one_wins_the_other_is_told_it_exists() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let target = s.dir.path().join("report.jsonl");
    let args = json!({"file_id": FILE_ID, "save_to": path_arg(&target)});
    fake.push(
        DOWNLOAD,
        slow_download(&[b"first ", b"download"], Duration::from_millis(200)),
    );
    fake.push(
        DOWNLOAD,
        Reply::raw(200, "text/plain", vec![b"second download"]),
    );

    let first = s.call("files_download", args.clone());
    let second = async {
        until_requests(&fake, 1).await;
        s.call("files_download", args.clone()).await
    };
    let (first, second) = tokio::join!(first, second);

    let outcomes = [first.is_error, second.is_error];
    assert_eq!(
        outcomes.iter().filter(|e| **e == Some(false)).count(),
        1,
        "exactly one download may win: {} / {}",
        text(&first),
        text(&second)
    );
    assert_eq!(first.is_error, Some(false), "{}", text(&first));
    assert!(
        text(&second).contains("already exists"),
        "{}",
        text(&second)
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"first download");
    assert_eq!(
        fake.requests().len(),
        1,
        "the loser is refused before it downloads"
    );
}

#[tokio::test]
async fn invalid_save_paths_fail_before_any_upstream_request() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let dir = s.dir.path();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.join("existing_dir")).unwrap();
    std::fs::write(dir.join("existing.bin"), b"keep").unwrap();
    let bad_paths = [
        (format!("{}/speech\0.mp3", dir.display()), "NUL"),
        (format!("{}/a\0b/out.bin", dir.display()), "NUL"),
        (String::new(), "empty"),
        (format!("{}/", dir.display()), "directory"),
        (format!("{}/existing_dir/.", dir.display()), "directory"),
        (path_arg(&dir.join("existing_dir")), "already exists"),
        (path_arg(&dir.join("existing.bin")), "already exists"),
        (path_arg(&dir.join("missing/out.bin")), "does not exist"),
        (path_arg(&outside.path().join("out.bin")), "outside"),
    ];
    let tools: [(&str, Value); 4] = [
        ("files_download", json!({"file_id": FILE_ID})),
        ("audio_speech", json!({"input": "Hello there."})),
        ("audio_voices_sample", json!({"voice_id": "voice_478"})),
        (
            "libraries_documents_text_content",
            json!({"library_id": "lib-1", "document_id": "doc-1"}),
        ),
    ];
    for (tool, args) in &tools {
        for (path, says) in &bad_paths {
            let mut args = args.clone();
            args["save_to"] = json!(path);
            let r = s.call(tool, args).await;
            assert_eq!(r.is_error, Some(true), "{tool} {path:?}: {}", text(&r));
            assert!(text(&r).contains(says), "{tool} {path:?}: {}", text(&r));
            let reached: Vec<String> = fake.requests().iter().map(|r| r.route()).collect();
            assert!(
                reached.is_empty(),
                "{tool} with save_to {path:?} reached Mistral before failing: {reached:?}"
            );
        }
    }
    assert_eq!(std::fs::read(dir.join("existing.bin")).unwrap(), b"keep");
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
}

#[tokio::test]
async fn a_broken_download_leaves_no_partial_file_and_the_path_stays_usable() {
    let fake = FakeMistral::start().await;
    let s = harness::start(&fake, |_| {}).await;
    let target = s.dir.path().join("out.bin");
    let args = json!({"file_id": FILE_ID, "save_to": path_arg(&target)});
    fake.push(
        DOWNLOAD,
        // Paced, so the headers are out before the connection breaks (else it is retried).
        slow_download(&[b"half of ", b"the file"], Duration::from_millis(50)).then_abort(),
    );
    let r = s.call("files_download", args.clone()).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(!target.exists(), "the partial download was removed");

    let r = s.call("files_download", args).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"{\"custom_id\":\"1\"}\n",
        "the default content"
    );
}

#[tokio::test]
async fn a_download_stopped_by_the_call_budget_leaves_no_partial_file() {
    let fake = FakeMistral::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = harness::test_config(&fake, dir.path(), |_| {});
    config.tools.call_budget = Duration::from_millis(400);
    let s = harness::start_with_config(config, dir).await;
    let target = s.dir.path().join("out.bin");
    fake.push(
        DOWNLOAD,
        slow_download(
            &[b"never ", b"finished ", b"in time"],
            Duration::from_millis(300),
        ),
    );
    let r = s
        .call(
            "files_download",
            json!({"file_id": FILE_ID, "save_to": path_arg(&target)}),
        )
        .await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("time budget"), "{}", text(&r));
    assert!(!target.exists(), "the reserved file was removed");
}

#[tokio::test]
async fn a_200_mib_download_streams_to_disk_in_bounded_memory() {
    const SIZE: u64 = 200 * 1024 * 1024;
    let fake = FakeMistral::start().await;
    fake.push(
        DOWNLOAD,
        Reply::Huge {
            status: 200,
            content_type: "application/octet-stream".into(),
            prefix: Vec::new(),
            fill: b'z',
            size: SIZE,
            suffix: Vec::new(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let env = common::server_env(&fake);
    let (transport, stderr) =
        TokioChildProcess::builder(tokio::process::Command::new(BIN).configure(|c| {
            c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            c.env("RUST_LOG", "info");
            c.env("MISTRAL_MCP_ALLOWED_DIRS", dir.path());
        }))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = stderr.unwrap();
    let logs = tokio::spawn(async move {
        let mut logs = String::new();
        let _ = stderr.read_to_string(&mut logs).await;
        logs
    });
    let pid = transport.id().unwrap();
    let client = RecordingClient::default().serve(transport).await.unwrap();
    let before = common::peak_rss(pid);

    let target = dir.path().join("big.bin");
    let args = json!({"file_id": FILE_ID, "save_to": path_arg(&target)});
    let r = client
        .call_tool(
            CallToolRequestParams::new("files_download")
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    let peak = common::peak_rss(pid);
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(std::fs::metadata(&target).unwrap().len(), SIZE);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    eprintln!(
        "files_download of {:.0} MiB with save_to: peak RSS {:.1} MiB (before the call {:.1} MiB)",
        mib(SIZE),
        mib(peak),
        mib(before)
    );
    assert!(
        peak < 2 * SIZE,
        "peak RSS {:.1} MiB is not under twice the {:.0} MiB body",
        mib(peak),
        mib(SIZE)
    );
    client.cancel().await.unwrap();
    let _ = logs.await;
}
