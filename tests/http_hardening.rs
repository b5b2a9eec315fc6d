//! The HTTP transport against misbehaving clients: slow or silent connections, crowds of
//! connections, oversized and broken bodies, malformed JSON-RPC, stale session ids. The
//! real binary over raw TCP where an HTTP client would be too polite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::FakeMistral;
use common::http::{HttpServer, initialize, post_raw, spawn_with_config};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(server: &HttpServer) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Reads what the server sends until it closes the connection or `wait` passes.
/// `None` if the connection is still open (and silent) after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads until a whole response head and `Content-Length` body have arrived.
async fn read_response(stream: &mut TcpStream, wait: Duration) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!("no complete response within {wait:?}; got {text:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return text,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

fn body_of(response: &str) -> Value {
    let body = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

const MCP_HEADERS: &str = "Host: 127.0.0.1\r\nContent-Type: application/json\r\n\
                           Accept: application/json, text/event-stream\r\n\
                           MCP-Protocol-Version: 2025-06-18\r\n";

async fn healthz_status(server: &HttpServer) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn slow_headers_are_cut_off_after_the_header_read_timeout() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(&fake, &[], "[http]\nheader_read_timeout_secs = 1\n")
        .await
        .unwrap();

    // Half a request, then a header line now and then: never the blank line.
    let mut dripping = TcpStream::connect(addr(&server)).await.unwrap();
    dripping
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // Connected, and silent from the start.
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    let started = Instant::now();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if dripping.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break;
        }
    }
    let dripping_closed = read_until_closed(&mut dripping, Duration::from_secs(3)).await;
    assert!(
        dripping_closed.is_some(),
        "a client dripping headers still holds its connection after {:?}",
        started.elapsed()
    );
    let silent_closed = read_until_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(silent_closed.is_some(), "a silent connection stays open");
    // Normal clients are unaffected, and the cut-offs are counted.
    assert_eq!(healthz_status(&server).await, Ok(200));
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"http_rejected_total{reason="header_timeout"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn connections_over_the_per_peer_cap_are_refused_until_some_close() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(
        &fake,
        &[],
        "[http]\nmax_connections_per_peer = 3\nheader_read_timeout_secs = 30\n",
    )
    .await
    .unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = TcpStream::connect(addr(&server)).await.unwrap();
    refused
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut refused, Duration::from_secs(3))
        .await
        .expect("refused at once, not left waiting");
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after"));

    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(healthz_status(&server).await, Ok(200));
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("too_many_connections_per_peer"),
        "{metrics}"
    );
}

#[tokio::test]
async fn at_the_connection_cap_idle_connections_make_room_for_new_clients() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(
        &fake,
        &[],
        "[http]\nmax_connections = 4\nheader_read_timeout_secs = 30\n",
    )
    .await
    .unwrap();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A legitimate client still gets in, promptly.
    assert_eq!(healthz_status(&server).await, Ok(200));
    // The oldest idle connection was closed to make room.
    let oldest_closed = read_until_closed(&mut idle[0], Duration::from_secs(2)).await;
    assert!(
        oldest_closed.is_some(),
        "the oldest idle connection stays open"
    );
}

#[tokio::test]
async fn a_huge_content_length_gets_413_without_waiting_for_the_body() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(&fake, &[], "").await.unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(
            format!("POST /mcp HTTP/1.1\r\n{MCP_HEADERS}Content-Length: 10000000000\r\n\r\n{{")
                .as_bytes(),
        )
        .await
        .unwrap();
    let response = read_response(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(status_of(&response), 413, "{response}");
    let body = body_of(&response);
    assert!(body.as_object().unwrap().contains_key("id"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_body_mb"),
        "says what to change: {body}"
    );
}

#[tokio::test]
async fn a_broken_chunked_body_gets_400() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(&fake, &[], "").await.unwrap();
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /mcp HTTP/1.1\r\n{MCP_HEADERS}Transfer-Encoding: chunked\r\n\r\n\
                 zz\r\n{{}}\r\n0\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let response = read_response(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(status_of(&response), 400, "{response}");
    let body = body_of(&response);
    assert!(
        body["id"].is_null() && body["error"]["code"].is_i64(),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_json_rpc_gets_an_error_with_the_id_or_null() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(&fake, &[], "").await.unwrap();
    let url = server.mcp_url();

    let r = post_raw(
        &url,
        &[],
        json!({"jsonrpc": "1.0", "id": 41, "method": "tools/list"}).to_string(),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], 41, "{body}");
    assert_eq!(body["error"]["code"], -32600, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("2.0"));

    for unreadable in [
        "{\"jsonrpc\": \"2.0\", \"id\": 1, ",
        "[1, 2]",
        "{\"jsonrpc\": \"1.0\", \"id\": [1], \"method\": \"tools/list\"}",
    ] {
        let r = post_raw(&url, &[], unreadable.to_string()).await;
        assert_eq!(r.status(), 400, "{unreadable}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body.as_object().unwrap().contains_key("id") && body["id"].is_null(),
            "{unreadable}: {body}"
        );
        assert!(body["error"]["code"].is_i64(), "{body}");
    }

    // Well-formed messages are untouched.
    let r = post_raw(&url, &[], initialize().to_string()).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn session_mode_delete_of_an_unknown_session_is_404() {
    let fake = FakeMistral::start().await;
    let server = spawn_with_config(&fake, &[], "[http]\nsession_mode = true\n")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let delete = |id: String| {
        client
            .delete(server.mcp_url())
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18")
            .send()
    };
    let r = delete("no-such-session".to_string()).await.unwrap();
    assert_eq!(r.status(), 404);

    // A real session still ends with 202, and is unknown afterwards.
    let r = post_raw(&server.mcp_url(), &[], initialize().to_string()).await;
    assert_eq!(r.status(), 200);
    let id = r.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let r = delete(id.clone()).await.unwrap();
    assert_eq!(r.status(), 202);
    let r = delete(id).await.unwrap();
    assert_eq!(r.status(), 404);
}
