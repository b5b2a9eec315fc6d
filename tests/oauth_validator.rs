//! The OAuth resource-server validator against a real (local) authorization server: JWKS
//! fetch and discovery, signatures and algorithms, time/issuer/audience checks, key rotation
//! and its rate limit, scope -> grant mapping, and the challenge strings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/oauth.rs"]
mod oauth_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::http::StatusCode;
use jsonwebtoken::Algorithm;
use mistral_mcp::transport::http::oauth::{
    OAuthConfig, OAuthRejection, OAuthValidator, ScopeGrant,
};
use oauth_support::{TestAuthServer, TestKey, hs256_token, now, unsigned_token};
use serde_json::json;

const AUD: &str = "https://mcp.example.com/mcp";

fn scopes() -> BTreeMap<String, ScopeGrant> {
    let mut m = BTreeMap::new();
    let set = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
    m.insert(
        "mcp:read".into(),
        ScopeGrant {
            toolsets: set(&["files", "models"]),
            read_only: true,
        },
    );
    m.insert(
        "mcp:chat".into(),
        ScopeGrant {
            toolsets: set(&["chat"]),
            read_only: false,
        },
    );
    m.insert(
        "mcp:all".into(),
        ScopeGrant {
            toolsets: None,
            read_only: false,
        },
    );
    m
}

fn config(idp: &TestAuthServer, explicit_jwks: bool) -> OAuthConfig {
    OAuthConfig {
        issuer: idp.issuer.clone(),
        audience: AUD.into(),
        jwks_url: explicit_jwks.then(|| idp.jwks_url()),
        jwks_refresh_secs: None,
        leeway_secs: None,
        rate_limit_per_minute: Some(120),
        max_tokens_per_day: None,
        max_requests_per_day: None,
        scopes: scopes(),
    }
}

fn validator(cfg: OAuthConfig) -> OAuthValidator {
    OAuthValidator::new(cfg, reqwest::Client::new()).unwrap()
}

fn toolsets(v: &[&str]) -> Option<BTreeSet<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

#[tokio::test]
async fn valid_token_becomes_a_grant() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let v = validator(config(&idp, true));
    assert!(!v.keys_loaded());

    let g = v
        .validate(&key.sign(&idp.claims(AUD, "alice", "openid mcp:read")))
        .await
        .unwrap();
    assert_eq!(g.principal, "alice");
    assert_eq!(g.toolsets, toolsets(&["files", "models"]));
    assert!(g.read_only);
    assert_eq!(g.rate_limit_per_minute, Some(120));
    assert!(g.mistral_api_key.is_none());
    assert!(v.keys_loaded());

    let g = v
        .validate(&key.sign(&idp.claims(AUD, "bob", "mcp:read mcp:chat")))
        .await
        .unwrap();
    assert_eq!(g.toolsets, toolsets(&["chat", "files", "models"]));
    assert!(!g.read_only);

    // `scp` as an array; no `sub` falls back to `client_id`.
    let mut c = idp.claims(AUD, "", "");
    c.as_object_mut().unwrap().remove("sub");
    c.as_object_mut().unwrap().remove("scope");
    c["scp"] = json!(["mcp:all"]);
    let g = v.validate(&key.sign(&c)).await.unwrap();
    assert_eq!(g.principal, "test-client");
    assert_eq!(g.toolsets, None);
    assert!(!g.read_only);

    // `aud` as an array that contains us.
    let mut c = idp.claims(AUD, "carol", "mcp:read");
    c["aud"] = json!(["https://other.example.com", AUD]);
    assert_eq!(v.validate(&key.sign(&c)).await.unwrap().principal, "carol");
    assert_eq!(idp.jwks_fetches(), 1, "keys are cached");
}

#[tokio::test]
async fn every_accepted_algorithm_verifies() {
    let keys = [
        TestKey::rsa("rs256"),
        TestKey::rsa("rs384").with_alg(Algorithm::RS384),
        TestKey::rsa("rs512").with_alg(Algorithm::RS512),
        TestKey::rsa("ps256").with_alg(Algorithm::PS256),
        TestKey::ec("es256"),
        TestKey::ed25519("eddsa"),
        TestKey::rsa_other("no-alg").without_jwk_alg(),
    ];
    let idp = TestAuthServer::start(&keys.iter().collect::<Vec<_>>()).await;
    let v = validator(config(&idp, true));
    for key in &keys {
        let token = key.sign(&idp.claims(AUD, &key.kid, "mcp:read"));
        let g = v
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", key.kid));
        assert_eq!(g.principal, key.kid);
    }
    // A JWK without `alg` accepts any algorithm of its key type...
    let ps = TestKey::rsa_other("no-alg").with_alg(Algorithm::PS384);
    v.validate(&ps.sign(&idp.claims(AUD, "x", "mcp:read")))
        .await
        .unwrap();
    // ...but a JWK `alg` pins its key: the rs256 key may not verify a PS256 token.
    let pinned = TestKey::rsa("rs256").with_alg(Algorithm::PS256);
    assert_eq!(
        v.validate(&pinned.sign(&idp.claims(AUD, "x", "mcp:read")))
            .await
            .unwrap_err(),
        OAuthRejection::UnknownKey
    );
    // No `kid`: every key of the right type is tried.
    let token = keys[5].sign_without_kid(&idp.claims(AUD, "ed", "mcp:read"));
    assert_eq!(v.validate(&token).await.unwrap().principal, "ed");
    let token = keys[0].sign_without_kid(&idp.claims(AUD, "rsa", "mcp:read"));
    assert_eq!(v.validate(&token).await.unwrap().principal, "rsa");
}

#[tokio::test]
async fn time_issuer_and_audience_checks() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let v = validator(config(&idp, true));
    let check = |claims: serde_json::Value| {
        let token = key.sign(&claims);
        let v = v.clone();
        async move { v.validate(&token).await.map(|g| g.principal) }
    };
    let t = now();

    let mut c = idp.claims(AUD, "late", "mcp:read");
    c["exp"] = json!(t - 120);
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::Expired);
    let mut c = idp.claims(AUD, "within-leeway", "mcp:read");
    c["exp"] = json!(t - 10);
    assert_eq!(check(c).await.unwrap(), "within-leeway");
    let mut c = idp.claims(AUD, "no-exp", "mcp:read");
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::Malformed);

    let mut c = idp.claims(AUD, "early", "mcp:read");
    c["nbf"] = json!(t + 120);
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::NotYetValid);
    let mut c = idp.claims(AUD, "nbf-ok", "mcp:read");
    c["nbf"] = json!(t + 10);
    assert_eq!(check(c).await.unwrap(), "nbf-ok");

    let mut c = idp.claims(AUD, "x", "mcp:read");
    c["iss"] = json!("https://evil.example.com");
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::WrongIssuer);
    let mut c = idp.claims(AUD, "x", "mcp:read");
    c["iss"] = json!(format!("{}/", idp.issuer));
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::WrongIssuer);
    let mut c = idp.claims(AUD, "x", "mcp:read");
    c.as_object_mut().unwrap().remove("iss");
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::WrongIssuer);

    assert_eq!(
        check(idp.claims("https://other.example.com/mcp", "x", "mcp:read"))
            .await
            .unwrap_err(),
        OAuthRejection::WrongAudience
    );
    let mut c = idp.claims(AUD, "x", "mcp:read");
    c["aud"] = json!(["https://a.example.com", "https://b.example.com"]);
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::WrongAudience);
    let mut c = idp.claims(AUD, "x", "mcp:read");
    c.as_object_mut().unwrap().remove("aud");
    assert_eq!(check(c).await.unwrap_err(), OAuthRejection::WrongAudience);
    for r in [
        OAuthRejection::Expired,
        OAuthRejection::WrongIssuer,
        OAuthRejection::WrongAudience,
    ] {
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn leeway_is_configurable() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let mut cfg = config(&idp, true);
    cfg.leeway_secs = Some(0);
    let v = validator(cfg);
    let mut c = idp.claims(AUD, "x", "mcp:read");
    c["exp"] = json!(now() - 10);
    assert_eq!(
        v.validate(&key.sign(&c)).await.unwrap_err(),
        OAuthRejection::Expired
    );
}

#[tokio::test]
async fn forged_and_tampered_tokens_fail_the_signature() {
    let key = TestKey::rsa("k1");
    let forger = TestKey::rsa_other("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let v = validator(config(&idp, true));
    let claims = idp.claims(AUD, "mallory", "mcp:all");

    let r = v.validate(&forger.sign(&claims)).await.unwrap_err();
    assert_eq!(r, OAuthRejection::BadSignature);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Swap the payload of a genuine token.
    let genuine = key.sign(&idp.claims(AUD, "alice", "mcp:read"));
    let forged_body = forger.sign(&claims);
    let mut parts: Vec<&str> = genuine.split('.').collect();
    parts[1] = forged_body.split('.').nth(1).unwrap();
    assert_eq!(
        v.validate(&parts.join(".")).await.unwrap_err(),
        OAuthRejection::BadSignature
    );

    // Without a kid, no published key verifies it either.
    assert_eq!(
        v.validate(&forger.sign_without_kid(&claims))
            .await
            .unwrap_err(),
        OAuthRejection::BadSignature
    );

    for junk in ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"] {
        assert_eq!(
            v.validate(junk).await.unwrap_err(),
            OAuthRejection::Malformed,
            "{junk}"
        );
    }
}

#[tokio::test]
async fn none_and_symmetric_algorithms_are_refused() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    // Even a JWKS that publishes a symmetric key must not make HS256 acceptable.
    let mut doc = oauth_support::jwks(&[&key]);
    doc["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0"}));
    idp.set_jwks(doc);
    let v = validator(config(&idp, true));
    let claims = idp.claims(AUD, "mallory", "mcp:all");

    for token in [
        unsigned_token(&claims),
        hs256_token(&claims, b"secret", "hmac"),
        // The classic confusion: HMAC keyed with the RSA public key's JWK text.
        hs256_token(&claims, key.jwk().to_string().as_bytes(), "k1"),
    ] {
        let r = v.validate(&token).await.unwrap_err();
        assert_eq!(r, OAuthRejection::UnsupportedAlgorithm);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // An RSA key cannot verify an ES256 token.
    let ec = TestKey::ec("k1");
    assert_eq!(
        v.validate(&ec.sign(&claims)).await.unwrap_err(),
        OAuthRejection::UnknownKey
    );
}

#[tokio::test]
async fn unknown_kid_refetches_at_most_once_per_interval_then_rotation_works() {
    let old = TestKey::rsa("2024");
    let new = TestKey::rsa_other("2025");
    let idp = TestAuthServer::start(&[&old]).await;
    let v = validator(config(&idp, true));
    let claims = idp.claims(AUD, "alice", "mcp:read");

    v.validate(&old.sign(&claims)).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);

    // The IdP rotates, but the last fetch was under 30 s ago: no refetch yet, and made-up
    // kids cannot force one either.
    idp.set_keys(&[&old, &new]);
    for _ in 0..5 {
        assert_eq!(
            v.validate(&new.sign(&claims)).await.unwrap_err(),
            OAuthRejection::UnknownKey
        );
    }
    assert_eq!(
        v.validate(&new.sign_as("made-up", &claims))
            .await
            .unwrap_err(),
        OAuthRejection::UnknownKey
    );
    assert_eq!(idp.jwks_fetches(), 1);

    // Once the interval has passed, the unknown kid triggers exactly one refetch.
    v.set_min_refetch_interval(Duration::ZERO);
    assert_eq!(
        v.validate(&new.sign(&claims)).await.unwrap().principal,
        "alice"
    );
    assert_eq!(idp.jwks_fetches(), 2);
    v.validate(&new.sign(&claims)).await.unwrap();
    v.validate(&old.sign(&claims)).await.unwrap();
    assert_eq!(idp.jwks_fetches(), 2, "known kids need no fetch");

    // The old key is retired: after the next refetch its tokens are refused.
    idp.set_keys(&[&new]);
    v.set_min_refetch_interval(Duration::from_millis(200));
    tokio::time::sleep(Duration::from_millis(250)).await;
    v.validate(&old.sign_as("gone", &claims)).await.unwrap_err();
    assert_eq!(idp.jwks_fetches(), 3);
    assert_eq!(
        v.validate(&old.sign(&claims)).await.unwrap_err(),
        OAuthRejection::UnknownKey
    );
    assert_eq!(idp.jwks_fetches(), 3, "rate limit holds");
}

#[tokio::test]
async fn stale_keys_refresh_in_the_background() {
    let old = TestKey::rsa("old");
    let new = TestKey::rsa_other("new");
    let idp = TestAuthServer::start(&[&old]).await;
    let mut cfg = config(&idp, true);
    cfg.jwks_refresh_secs = Some(1);
    let v = validator(cfg);
    v.set_min_refetch_interval(Duration::ZERO);
    let claims = idp.claims(AUD, "alice", "mcp:read");
    v.refresh_keys().await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);

    idp.set_keys(&[&old, &new]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Served from the stale set while a background fetch runs.
    v.validate(&old.sign(&claims)).await.unwrap();
    // From here on a request waits for that fetch instead of starting its own.
    v.set_min_refetch_interval(Duration::from_secs(30));
    for _ in 0..50 {
        if idp.jwks_fetches() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(idp.jwks_fetches(), 2);
    v.validate(&new.sign(&claims)).await.unwrap();
    assert_eq!(
        idp.jwks_fetches(),
        2,
        "the new key came with the background refresh"
    );
}

#[tokio::test]
async fn cold_cache_fetches_once_for_concurrent_requests() {
    let key = TestKey::ec("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let v = validator(config(&idp, true));
    let token = key.sign(&idp.claims(AUD, "alice", "mcp:read"));
    let results = futures::future::join_all((0..20).map(|_| {
        let v = v.clone();
        let token = token.clone();
        tokio::spawn(async move { v.validate(&token).await })
    }))
    .await;
    for r in results {
        r.unwrap().unwrap();
    }
    assert_eq!(idp.jwks_fetches(), 1);
}

#[tokio::test]
async fn unreachable_keys_are_a_server_problem_and_old_keys_survive() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    idp.set_jwks_failing(true);
    let v = validator(config(&idp, true));
    v.set_min_refetch_interval(Duration::ZERO);
    let token = key.sign(&idp.claims(AUD, "alice", "mcp:read"));

    assert!(v.refresh_keys().await.is_err());
    assert!(!v.keys_loaded());
    let r = v.validate(&token).await.unwrap_err();
    assert_eq!(r, OAuthRejection::KeysUnavailable);
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The IdP recovers; then fails again: the cached keys keep working.
    idp.set_jwks_failing(false);
    v.validate(&token).await.unwrap();
    idp.set_jwks_failing(true);
    assert!(v.refresh_keys().await.is_err());
    assert!(v.keys_loaded());
    v.validate(&token).await.unwrap();

    // A JWKS with no usable key does not replace a good one.
    idp.set_jwks_failing(false);
    idp.set_jwks(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}));
    let err = v.refresh_keys().await.unwrap_err();
    assert!(
        format!("{err:#}").contains("no usable signing key"),
        "{err:#}"
    );
    v.validate(&token).await.unwrap();
}

#[tokio::test]
async fn no_mapped_scope_is_insufficient_scope() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let v = validator(config(&idp, true));
    for scope in ["openid profile", "", "MCP:READ", "mcp:read:extra"] {
        let r = v
            .validate(&key.sign(&idp.claims(AUD, "alice", scope)))
            .await
            .unwrap_err();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{scope:?}");
        let OAuthRejection::InsufficientScope { accepted } = &r else {
            panic!("{r:?}");
        };
        assert_eq!(accepted, &["mcp:all", "mcp:chat", "mcp:read"]);
        let header = v.www_authenticate(Some(&r), &v.resource_metadata_url());
        assert!(header.contains("error=\"insufficient_scope\""), "{header}");
        assert!(
            header.contains("scope=\"mcp:all mcp:chat mcp:read\""),
            "{header}"
        );
    }
}

#[tokio::test]
async fn discovery_through_issuer_metadata() {
    let key = TestKey::ec("k1");

    // RFC 8414 metadata.
    let idp = TestAuthServer::start(&[&key]).await;
    idp.set_metadata(true, false);
    let v = validator(config(&idp, false));
    v.refresh_keys().await.unwrap();
    assert!(v.keys_loaded());
    v.validate(&key.sign(&idp.claims(AUD, "a", "mcp:read")))
        .await
        .unwrap();
    assert_eq!((idp.metadata_fetches(), idp.jwks_fetches()), (1, 1));

    // Only OpenID Connect discovery, lazily on the first token.
    let idp = TestAuthServer::start(&[&key]).await;
    idp.set_metadata(false, true);
    let v = validator(config(&idp, false));
    v.validate(&key.sign(&idp.claims(AUD, "b", "mcp:read")))
        .await
        .unwrap();
    assert_eq!((idp.metadata_fetches(), idp.jwks_fetches()), (1, 1));

    // An issuer with a path: the well-known suffix is inserted before it.
    for (oauth, openid) in [(true, false), (false, true)] {
        let idp = TestAuthServer::start_at_path(&[&key], "/realms/test").await;
        idp.set_metadata(oauth, openid);
        let v = validator(config(&idp, false));
        v.validate(&key.sign(&idp.claims(AUD, "c", "mcp:read")))
            .await
            .unwrap();
    }

    // Metadata that names another issuer is not trusted.
    let idp = TestAuthServer::start(&[&key]).await;
    idp.set_metadata_issuer("https://evil.example.com");
    let v = validator(config(&idp, false));
    let err = v.refresh_keys().await.unwrap_err();
    assert!(format!("{err:#}").contains("names issuer"), "{err:#}");
    assert_eq!(idp.jwks_fetches(), 0);

    // No metadata at all: a clear error pointing at jwks_url.
    let idp = TestAuthServer::start(&[&key]).await;
    idp.set_metadata(false, false);
    let v = validator(config(&idp, false));
    let err = v.refresh_keys().await.unwrap_err();
    assert!(format!("{err:#}").contains("set jwks_url"), "{err:#}");
    assert_eq!(
        v.validate(&key.sign(&idp.claims(AUD, "d", "mcp:read")))
            .await
            .unwrap_err(),
        OAuthRejection::KeysUnavailable
    );
}

#[tokio::test]
async fn challenges_and_metadata_document() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let v = validator(config(&idp, true));
    let url = v.resource_metadata_url();
    assert_eq!(
        url,
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    );

    assert_eq!(
        v.www_authenticate(None, &url),
        format!("Bearer resource_metadata=\"{url}\", scope=\"mcp:all mcp:chat mcp:read\"")
    );
    assert_eq!(
        v.www_authenticate(Some(&OAuthRejection::Missing), &url),
        v.www_authenticate(None, &url)
    );
    let expired = {
        let mut c = idp.claims(AUD, "x", "mcp:read");
        c["exp"] = json!(now() - 3600);
        v.validate(&key.sign(&c)).await.unwrap_err()
    };
    assert_eq!(
        v.www_authenticate(Some(&expired), &url),
        format!(
            "Bearer resource_metadata=\"{url}\", error=\"invalid_token\", \
             error_description=\"the access token has expired\""
        )
    );
    // Rejection messages never echo the token.
    let token = TestKey::rsa_other("k1").sign(&idp.claims(AUD, "x", "mcp:read"));
    let r = v.validate(&token).await.unwrap_err();
    let header = v.www_authenticate(Some(&r), &url);
    assert!(header.contains("error=\"invalid_token\""));
    for part in token.split('.') {
        assert!(!header.contains(part) && !r.to_string().contains(part));
    }

    assert_eq!(
        v.resource_metadata(),
        json!({
            "resource": AUD,
            "authorization_servers": [idp.issuer],
            "scopes_supported": ["mcp:all", "mcp:chat", "mcp:read"],
            "bearer_methods_supported": ["header"],
            "resource_name": "mistral-mcp",
        })
    );
}

#[tokio::test]
async fn helper_toml_parses_as_config() {
    let key = TestKey::rsa("k1");
    let idp = TestAuthServer::start(&[&key]).await;
    let text = format!(
        "{}[http.oauth.scopes.\"mcp:read\"]\ntoolsets = [\"files\"]\nread_only = true\n",
        idp.oauth_toml(AUD)
    );
    #[derive(serde::Deserialize)]
    struct File {
        http: Http,
    }
    #[derive(serde::Deserialize)]
    struct Http {
        oauth: OAuthConfig,
    }
    let file: File = toml::from_str(&text).unwrap();
    let v = validator(file.http.oauth);
    let g = v
        .validate(&key.sign(&idp.claims(AUD, "alice", "mcp:read")))
        .await
        .unwrap();
    assert_eq!(g.toolsets, toolsets(&["files"]));
}
