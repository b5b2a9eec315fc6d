//! OAuth 2.1 resource-server mode end to end: the real binary accepts JWT access tokens
//! from a local authorization server, serves RFC 9728 metadata, challenges per the MCP
//! authorization spec, and maps scopes to toolsets and read-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "common/oauth.rs"]
mod oauth_support;

use std::time::Duration;

use common::http::{post, spawn_with_config, tools_call};
use common::{FakeMistral, TEST_KEY};
use oauth_support::{TestAuthServer, TestKey, now};
use serde_json::{Value, json};

const AUDIENCE: &str = "https://mcp.example.com/mcp";
const METADATA_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

#[tokio::test]
async fn jwt_access_tokens_are_validated_and_mapped_to_grants() {
    let fake = FakeMistral::start().await;
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let config = format!(
        "{}\n[http.oauth.scopes.\"mcp:read\"]\ntoolsets = [\"models\", \"files\"]\nread_only = true\n\n[http.oauth.scopes.\"mcp:all\"]\ntoolsets = [\"*\"]\n",
        idp.oauth_toml(AUDIENCE)
    );
    let server = spawn_with_config(&fake, &[("RUST_LOG", "debug")], &config)
        .await
        .unwrap();
    let url = server.mcp_url();
    let bearer = |t: &str| format!("Bearer {t}");

    // Ready once the issuer's keys are in the cache.
    let mut ready = false;
    for _ in 0..50 {
        let r = reqwest::get(format!("{}/readyz", server.base))
            .await
            .unwrap();
        if r.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "readyz never turned 200");

    // The protected-resource metadata names the issuer.
    let doc: Value = reqwest::get(format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        server.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(doc["resource"], AUDIENCE);
    assert_eq!(doc["authorization_servers"][0], idp.issuer.as_str());

    // No token: 401 pointing at the metadata.
    let r = post(&url, &[], &tools_call("models_list", json!({}))).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains(&format!("resource_metadata=\"{METADATA_URL}\"")),
        "{challenge}"
    );

    // Expired (beyond the leeway), wrong audience, another key: 401 invalid_token.
    let mut expired = idp.claims(AUDIENCE, "alice", "mcp:all");
    expired["exp"] = json!(now() - 120);
    let wrong_aud = idp.claims("https://other.example.com/mcp", "alice", "mcp:all");
    let forged = TestKey::rsa_other("k1").sign(&idp.claims(AUDIENCE, "alice", "mcp:all"));
    for (what, token) in [
        ("expired", key.sign(&expired)),
        ("wrong audience", key.sign(&wrong_aud)),
        ("forged", forged),
    ] {
        let r = post(
            &url,
            &[("authorization", &bearer(&token))],
            &tools_call("models_list", json!({})),
        )
        .await;
        assert_eq!(r.status(), 401, "{what}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
        assert!(!challenge.contains(&token));
    }
    assert!(fake.requests().is_empty());

    // A token without any accepted scope: 403 insufficient_scope.
    let token = key.sign(&idp.claims(AUDIENCE, "alice", "profile email"));
    let r = post(
        &url,
        &[("authorization", &bearer(&token))],
        &tools_call("models_list", json!({})),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    // mcp:read: reads work, destructive tools are refused before reaching Mistral.
    let reader = key.sign(&idp.claims(AUDIENCE, "alice", "openid mcp:read"));
    let body: Value = post(
        &url,
        &[("authorization", &bearer(&reader))],
        &tools_call("models_delete", json!({"model_id": "ft:x"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["result"]["isError"], true, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["error"]["kind"],
        "not_allowed"
    );
    assert!(fake.requests().is_empty());
    let body: Value = post(
        &url,
        &[("authorization", &bearer(&reader))],
        &tools_call("models_list", json!({})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["result"]["isError"], false, "{body}");

    // mcp:all: writes allowed; Mistral sees the server's key, never the JWT.
    let admin = key.sign(&idp.claims(AUDIENCE, "bob", "mcp:all"));
    let body: Value = post(
        &url,
        &[("authorization", &bearer(&admin))],
        &tools_call("models_delete", json!({"model_id": "ft:x"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["result"]["isError"], false, "{body}");
    for rec in fake.requests() {
        assert_eq!(
            rec.header("authorization"),
            Some(format!("Bearer {TEST_KEY}").as_str())
        );
    }

    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = server.logs();
    assert!(
        logs.contains("principal=\"bob\"") || logs.contains("\"principal\":\"bob\""),
        "{logs}"
    );
    for secret in [reader.as_str(), admin.as_str(), TEST_KEY] {
        assert!(!logs.contains(secret), "a token reached the logs");
    }
}

#[tokio::test]
async fn bad_oauth_config_stops_start_up_with_the_reason() {
    let fake = FakeMistral::start().await;
    let err = spawn_with_config(
        &fake,
        &[],
        "[http.oauth]\nissuer = \"https://idp.example.com\"\naudience = \"https://mcp.example.com/mcp\"\n\n[http.oauth.scopes.\"mcp:x\"]\ntoolsets = [\"no_such_toolset\"]\n",
    )
    .await
    .err()
    .expect("must refuse to start");
    assert!(err.contains("no_such_toolset"), "{err}");
}
