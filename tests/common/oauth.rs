//! A stand-in OAuth authorization server for tests: it serves RFC 8414 / OpenID Connect
//! metadata and a JWKS on 127.0.0.1, and signs access tokens with the committed test-only keys
//! in `tests/data/oauth/`. Nothing here is fit for anything but tests.
//!
//! ```ignore
//! let key = TestKey::rsa("k1");
//! let idp = TestAuthServer::start(&[&key]).await;
//! let token = key.sign(&idp.claims("http://127.0.0.1:8080/mcp", "alice", "mcp:read"));
//! ```
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER as RUST_CRYPTO;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const RSA_A: &str = include_str!("../data/oauth/test-only-rsa2048-a.key.pem");
const RSA_B: &str = include_str!("../data/oauth/test-only-rsa2048-b.key.pem");
const P256: &str = include_str!("../data/oauth/test-only-p256.key.pem");
const ED25519: &str = include_str!("../data/oauth/test-only-ed25519.key.pem");
const ED25519_PUB: &str = include_str!("../data/oauth/test-only-ed25519.pub.pem");

fn pem_to_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).expect("test key PEM")
}

/// Seconds since the epoch, as JWT time claims count them.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// A signing key and its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    jwk: Value,
}

impl TestKey {
    /// RSA 2048 key "a", RS256.
    pub fn rsa(kid: &str) -> Self {
        Self::rsa_from(RSA_A, kid)
    }

    /// A second, unrelated RSA 2048 key: the rotated-in key, or a forger's.
    pub fn rsa_other(kid: &str) -> Self {
        Self::rsa_from(RSA_B, kid)
    }

    fn rsa_from(pem: &str, kid: &str) -> Self {
        let der = pem_to_der(pem);
        let (n, e) = (RUST_CRYPTO.jwk_utils.extract_rsa_public_key_components)(&der).expect("RSA");
        let jwk = json!({
            "kty": "RSA", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
        });
        Self::new(kid, Algorithm::RS256, EncodingKey::from_rsa_der(&der), jwk)
    }

    /// EC P-256 key, ES256.
    pub fn ec(kid: &str) -> Self {
        let der = pem_to_der(P256);
        let (_, x, y) =
            (RUST_CRYPTO.jwk_utils.extract_ec_public_key_coordinates)(&der, Algorithm::ES256)
                .expect("EC");
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        });
        Self::new(kid, Algorithm::ES256, EncodingKey::from_ec_der(&der), jwk)
    }

    /// Ed25519 key, EdDSA. jsonwebtoken cannot derive an OKP JWK, so the public half is read
    /// from its SPKI file (the raw key is its last 32 bytes).
    pub fn ed25519(kid: &str) -> Self {
        let key = EncodingKey::from_ed_der(&pem_to_der(ED25519));
        let spki = pem_to_der(ED25519_PUB);
        let x = URL_SAFE_NO_PAD.encode(&spki[spki.len() - 32..]);
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA"});
        Self::new(kid, Algorithm::EdDSA, key, jwk)
    }

    fn new(kid: &str, alg: Algorithm, key: EncodingKey, mut jwk: Value) -> Self {
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Self {
            kid: kid.to_owned(),
            alg,
            key,
            jwk,
        }
    }

    /// The same key used with another algorithm of its family (RS384, PS256, ...); the JWK's
    /// `alg` follows.
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self.jwk["alg"] = json!(format!("{alg:?}"));
        self
    }

    /// The JWK without `alg`, as some IdPs publish keys.
    pub fn without_jwk_alg(mut self) -> Self {
        if let Some(o) = self.jwk.as_object_mut() {
            o.remove("alg");
        }
        self
    }

    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// A JWT with `alg` and `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".to_owned());
        encode(&header, claims, &self.key)
    }

    /// A JWT whose header names no key.
    pub fn sign_without_kid(&self, claims: &Value) -> String {
        encode(&Header::new(self.alg), claims, &self.key)
    }

    /// A JWT signed by this key but claiming to be signed by key `kid` (a forgery).
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        encode(&header, claims, &self.key)
    }
}

/// A signed JWT. Signed with RustCrypto named explicitly, not through jsonwebtoken's process
/// default: that is the server's ring verifier, which does not sign.
fn encode(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    let signer = (RUST_CRYPTO.signer_factory)(&header.alg, key).expect("test signer");
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).expect("header json"));
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = signer
        .try_sign(message.as_bytes())
        .expect("sign test token");
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A JWK Set of `keys`.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

/// An `alg: none` token: no signature at all.
pub fn unsigned_token(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

/// An HS256 token under `secret`, with `kid` in the header.
pub fn hs256_token(claims: &Value, secret: &[u8], kid: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &EncodingKey::from_secret(secret))
}

struct State {
    issuer: String,
    /// Issuer path ("" or "/tenant"), for the RFC 8414 path-insertion rule.
    issuer_path: String,
    jwks: Value,
    jwks_fetches: usize,
    metadata_fetches: usize,
    jwks_fails: bool,
    oauth_metadata: bool,
    openid_metadata: bool,
    metadata_issuer: Option<String>,
}

/// The stand-in authorization server. Stops when dropped.
pub struct TestAuthServer {
    /// The `iss` its tokens carry, e.g. `http://127.0.0.1:41234`.
    pub issuer: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestAuthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestAuthServer {
    /// Serves `keys` at `/jwks.json` and both metadata documents.
    pub async fn start(keys: &[&TestKey]) -> Self {
        Self::start_at_path(keys, "").await
    }

    /// As [`Self::start`], with an issuer that has a path (`/realms/test`), so metadata sits at
    /// `/.well-known/oauth-authorization-server/realms/test` (RFC 8414 §3.1).
    pub async fn start_at_path(keys: &[&TestKey], issuer_path: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}{issuer_path}");
        let state = Arc::new(Mutex::new(State {
            issuer: issuer.clone(),
            issuer_path: issuer_path.to_owned(),
            jwks: jwks(keys),
            jwks_fetches: 0,
            metadata_fetches: 0,
            jwks_fails: false,
            oauth_metadata: true,
            openid_metadata: true,
            metadata_issuer: None,
        }));
        let st = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let st = st.clone();
            async move { handle(&st, &uri) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            issuer,
            state,
            task,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.origin())
    }

    fn origin(&self) -> String {
        let path = self.with(|s| s.issuer_path.clone());
        self.issuer
            .strip_suffix(&path)
            .unwrap_or(&self.issuer)
            .to_owned()
    }

    /// Publishes a new key set (rotation).
    pub fn set_keys(&self, keys: &[&TestKey]) {
        self.with(|s| s.jwks = jwks(keys));
    }

    /// Publishes an arbitrary JWKS document.
    pub fn set_jwks(&self, doc: Value) {
        self.with(|s| s.jwks = doc);
    }

    /// Makes `/jwks.json` answer 500 (or recover).
    pub fn set_jwks_failing(&self, fails: bool) {
        self.with(|s| s.jwks_fails = fails);
    }

    /// Which metadata documents are served.
    pub fn set_metadata(&self, oauth: bool, openid: bool) {
        self.with(|s| {
            s.oauth_metadata = oauth;
            s.openid_metadata = openid;
        });
    }

    /// Makes the metadata claim another issuer (a mix-up the validator must refuse).
    pub fn set_metadata_issuer(&self, issuer: &str) {
        self.with(|s| s.metadata_issuer = Some(issuer.to_owned()));
    }

    pub fn jwks_fetches(&self) -> usize {
        self.with(|s| s.jwks_fetches)
    }

    pub fn metadata_fetches(&self) -> usize {
        self.with(|s| s.metadata_fetches)
    }

    /// Access-token claims valid for five minutes: this issuer, `audience`, `sub` and a
    /// space-separated `scope`.
    pub fn claims(&self, audience: &str, sub: &str, scope: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "aud": audience,
            "sub": sub,
            "scope": scope,
            "iat": now,
            "exp": now + 300,
            "client_id": "test-client",
        })
    }

    /// The start of an `[http.oauth]` section pointing at this server; append scope tables.
    pub fn oauth_toml(&self, audience: &str) -> String {
        format!(
            "[http.oauth]\nissuer = \"{}\"\naudience = \"{audience}\"\njwks_url = \"{}\"\n",
            self.issuer,
            self.jwks_url()
        )
    }
}

fn handle(state: &Mutex<State>, uri: &Uri) -> Response {
    let mut s = state.lock().unwrap();
    let path = uri.path();
    if path == "/jwks.json" {
        s.jwks_fetches += 1;
        if s.jwks_fails {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        return Json(s.jwks.clone()).into_response();
    }
    let p = s.issuer_path.clone();
    let oauth = s.oauth_metadata && path == format!("/.well-known/oauth-authorization-server{p}");
    let openid = s.openid_metadata
        && (path == format!("/.well-known/openid-configuration{p}")
            || path == format!("{p}/.well-known/openid-configuration"));
    if !(oauth || openid) {
        return StatusCode::NOT_FOUND.into_response();
    }
    s.metadata_fetches += 1;
    let issuer = s
        .metadata_issuer
        .clone()
        .unwrap_or_else(|| s.issuer.clone());
    let origin = s.issuer.strip_suffix(&p).unwrap_or(&s.issuer).to_owned();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{origin}/jwks.json"),
        "authorization_endpoint": format!("{origin}/authorize"),
        "token_endpoint": format!("{origin}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}
