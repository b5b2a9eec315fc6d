//! OAuth 2.1 resource-server side of the MCP authorization spec: the `[http.oauth]` config,
//! validation of JWT access tokens against the authorization server's JWKS (issuer, audience
//! per RFC 8707, expiry, asymmetric signatures only), the mapping of token scopes to a
//! [`Grant`], the RFC 9728 protected-resource metadata document, and the RFC 6750
//! `WWW-Authenticate` challenge. It owns the signing-key cache and its refresh policy; the
//! axum middleware that calls it and the routes that serve the metadata live elsewhere.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use url::Url;

use crate::access::Grant;
pub use crate::config::{OAuthConfig, ScopeGrant};

const DEFAULT_REFRESH_SECS: u64 = 300;
const DEFAULT_LEEWAY_SECS: u64 = 30;
/// More skew than this hides a broken clock rather than tolerating drift.
const MAX_LEEWAY_SECS: u64 = 300;
/// Unknown `kid`s are attacker-controlled, so they may not make us hammer the IdP.
const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);
/// With no keys at all every request fails, so retry sooner than with a working set.
const EMPTY_CACHE_RETRY: Duration = Duration::from_secs(5);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Metadata and JWKS documents are a few KiB; anything far larger is not one.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;
/// Real access tokens are a few KiB; refuse to base64-decode megabytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
const RESOURCE_NAME: &str = "mistral-mcp";
const METADATA_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Why a bearer token was refused. The message is safe to send to the client: it never
/// contains the token or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthRejection {
    #[error("the request carries no bearer token")]
    Missing,
    #[error("the access token is not a well-formed signed JWT")]
    Malformed,
    #[error("the access token uses a signature algorithm this server does not accept")]
    UnsupportedAlgorithm,
    #[error("the access token signature does not verify")]
    BadSignature,
    #[error("the access token is signed with a key the authorization server does not publish")]
    UnknownKey,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
    #[error("the access token was issued by another authorization server")]
    WrongIssuer,
    #[error("the access token was issued for another resource")]
    WrongAudience,
    #[error("the access token grants none of the scopes this server accepts")]
    InsufficientScope {
        /// Scopes any one of which would be enough.
        accepted: Vec<String>,
    },
    #[error("the authorization server's signing keys are unavailable")]
    KeysUnavailable,
}

impl OAuthRejection {
    /// 401 for a bad or missing token, 403 for a good token without a usable scope, 503 when
    /// the keys cannot be fetched (the token may be fine; re-authenticating will not help).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `error` code, if the challenge should carry one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            // RFC 6750 §3.1: no error code when the request had no credentials at all.
            Self::Missing | Self::KeysUnavailable => None,
            Self::InsufficientScope { .. } => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }
}

/// Validates bearer tokens and turns them into grants. Cheap to clone; clones share the key
/// cache.
#[derive(Clone)]
pub struct OAuthValidator {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: OAuthConfig,
    http: reqwest::Client,
    refresh_every: Duration,
    leeway: u64,
    min_refetch_ms: AtomicU64,
    /// The current key set, swapped whole; never held across an await.
    keys: RwLock<Arc<KeySet>>,
    /// Single flight for fetches: whoever holds it fetches, everyone else reuses the result.
    fetch: Arc<tokio::sync::Mutex<FetchState>>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    /// `jwks_uri` found through discovery; forgotten when a fetch from it fails.
    discovered_jwks_url: Option<String>,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<VerifyKey>,
    fetched_at: Option<Instant>,
}

struct VerifyKey {
    kid: Option<String>,
    /// The JWK's own `alg`, which pins the key to one algorithm when present.
    alg: Option<Algorithm>,
    kind: KeyKind,
    key: DecodingKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl VerifyKey {
    /// Whether a token signed with `alg` may be checked against this key; a key is never used
    /// with an algorithm its type or its `alg` does not allow (no algorithm confusion).
    fn accepts(&self, alg: Algorithm) -> bool {
        if self.alg.is_some_and(|a| a != alg) {
            return false;
        }
        match self.kind {
            KeyKind::Rsa => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
            KeyKind::P256 => alg == Algorithm::ES256,
            KeyKind::P384 => alg == Algorithm::ES384,
            KeyKind::Ed25519 => alg == Algorithm::EdDSA,
        }
    }

    /// The usable verification key in one JWK, or why it is skipped.
    fn from_jwk(jwk: &Jwk) -> Result<Self, &'static str> {
        match &jwk.common.public_key_use {
            None | Some(PublicKeyUse::Signature) => {}
            Some(_) => return Err("not a signing key"),
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => Some(
                accepted_algorithm(&a.to_string())
                    .ok_or("`alg` is not an accepted signature algorithm")?,
            ),
        };
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => KeyKind::P256,
                EllipticCurve::P384 => KeyKind::P384,
                _ => return Err("unsupported curve"),
            },
            AlgorithmParameters::OctetKeyPair(p) => match p.curve {
                EllipticCurve::Ed25519 => KeyKind::Ed25519,
                _ => return Err("unsupported curve"),
            },
            // A resource server must not hold a secret that can also mint tokens.
            AlgorithmParameters::OctetKey(_) => return Err("symmetric key"),
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|_| "unreadable key material")?;
        let key = Self {
            kid: jwk.common.key_id.clone(),
            alg,
            kind,
            key,
        };
        if let Some(a) = alg
            && !key.accepts(a)
        {
            return Err("`alg` does not match the key type");
        }
        Ok(key)
    }
}

impl KeySet {
    fn from_document(doc: &[u8]) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        struct RawJwks {
            keys: Vec<serde_json::Value>,
        }
        let raw: RawJwks = serde_json::from_slice(doc).context("not a JWK Set")?;
        let mut keys = Vec::new();
        // One key we cannot use (encryption key, new key type) must not sink the whole set.
        for value in raw.keys {
            let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            let parsed = serde_json::from_value::<Jwk>(value)
                .map_err(|_| "unrecognised JWK")
                .and_then(|jwk| VerifyKey::from_jwk(&jwk));
            match parsed {
                Ok(k) => keys.push(k),
                Err(why) => tracing::debug!(kid = ?kid, why, "skipping JWK"),
            }
        }
        Ok(Self {
            keys,
            fetched_at: Some(Instant::now()),
        })
    }

    fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Vec<&VerifyKey> {
        self.keys
            .iter()
            .filter(|k| k.accepts(alg))
            // Without a `kid` the token may match any key of the right type.
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .collect()
    }

    fn is_stale(&self, max_age: Duration) -> bool {
        self.fetched_at.is_none_or(|t| t.elapsed() >= max_age)
    }
}

/// The header fields we act on, read before any key is chosen.
struct TokenHeader {
    alg: Algorithm,
    kid: Option<String>,
}

fn parse_header(token: &str) -> Result<TokenHeader, OAuthRejection> {
    #[derive(Deserialize)]
    struct Raw {
        alg: String,
        kid: Option<String>,
        crit: Option<serde_json::Value>,
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(OAuthRejection::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OAuthRejection::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| OAuthRejection::Malformed)?;
    let raw: Raw = serde_json::from_slice(&bytes).map_err(|_| OAuthRejection::Malformed)?;
    // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
    if raw.crit.is_some() {
        return Err(OAuthRejection::Malformed);
    }
    let alg = accepted_algorithm(&raw.alg).ok_or(OAuthRejection::UnsupportedAlgorithm)?;
    Ok(TokenHeader { alg, kid: raw.kid })
}

/// Asymmetric algorithms only: `none` proves nothing and HS* would need the IdP's secret.
fn accepted_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The claims that feed the grant; `exp`, `nbf`, `iss` and `aud` are checked by jsonwebtoken.
#[derive(Deserialize)]
struct AccessClaims {
    sub: Option<String>,
    client_id: Option<String>,
    scope: Option<StringOrList>,
    scp: Option<StringOrList>,
}

/// `scope` is a space-separated string (RFC 9068), `scp` usually an array; IdPs mix them up.
#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    fn scopes(&self) -> Vec<&str> {
        match self {
            Self::One(s) => s.split_whitespace().collect(),
            Self::Many(v) => v.iter().flat_map(|s| s.split_whitespace()).collect(),
        }
    }
}

fn map_decode_error(e: &jsonwebtoken::errors::Error) -> OAuthRejection {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => OAuthRejection::BadSignature,
        K::ExpiredSignature => OAuthRejection::Expired,
        K::ImmatureSignature => OAuthRejection::NotYetValid,
        K::InvalidIssuer => OAuthRejection::WrongIssuer,
        K::InvalidAudience => OAuthRejection::WrongAudience,
        K::MissingRequiredClaim(c) if c == "iss" => OAuthRejection::WrongIssuer,
        K::MissingRequiredClaim(c) if c == "aud" => OAuthRejection::WrongAudience,
        K::InvalidAlgorithm | K::MissingAlgorithm | K::InvalidAlgorithmName => {
            OAuthRejection::UnsupportedAlgorithm
        }
        _ => OAuthRejection::Malformed,
    }
}

impl std::fmt::Debug for OAuthValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthValidator")
            .field("issuer", &self.inner.cfg.issuer)
            .field("audience", &self.inner.cfg.audience)
            .field("keys", &self.snapshot().keys.len())
            .finish_non_exhaustive()
    }
}

impl OAuthValidator {
    /// Checks the configuration; fetches nothing (call [`Self::refresh_keys`] to warm up).
    pub fn new(cfg: OAuthConfig, http: reqwest::Client) -> anyhow::Result<Self> {
        check_config(&cfg)?;
        let refresh_every =
            Duration::from_secs(cfg.jwks_refresh_secs.unwrap_or(DEFAULT_REFRESH_SECS));
        let leeway = cfg.leeway_secs.unwrap_or(DEFAULT_LEEWAY_SECS);
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                http,
                refresh_every,
                leeway,
                min_refetch_ms: AtomicU64::new(millis(DEFAULT_MIN_REFETCH)),
                keys: RwLock::new(Arc::new(KeySet::default())),
                fetch: Arc::new(tokio::sync::Mutex::new(FetchState::default())),
            }),
        })
    }

    /// The shortest gap between two fetches triggered by requests (unknown `kid`, stale or
    /// failed key set); 30 s by default. Tests shorten it to exercise key rotation.
    pub fn set_min_refetch_interval(&self, interval: Duration) {
        self.inner
            .min_refetch_ms
            .store(millis(interval), Ordering::Relaxed);
    }

    /// The validated configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.inner.cfg
    }

    /// Checks `bearer_token` (the value after `Bearer `) and maps its scopes to a grant.
    pub async fn validate(&self, bearer_token: &str) -> Result<Grant, OAuthRejection> {
        if bearer_token.is_empty() {
            return Err(OAuthRejection::Missing);
        }
        let header = parse_header(bearer_token)?;
        let mut keys = self.usable_keys().await?;
        if keys
            .candidates(header.kid.as_deref(), header.alg)
            .is_empty()
        {
            // Probably a rotation we have not seen yet; the rate limit keeps made-up kids
            // from turning into a fetch per request. Re-read either way: a fetch may have
            // finished while we waited for the lock.
            self.fetch_if_due(&keys, self.min_refetch()).await;
            keys = self.snapshot();
        }
        let candidates = keys.candidates(header.kid.as_deref(), header.alg);
        if candidates.is_empty() {
            return Err(OAuthRejection::UnknownKey);
        }
        let validation = self.validation(header.alg);
        let mut rejection = OAuthRejection::BadSignature;
        for key in candidates {
            match jsonwebtoken::decode::<AccessClaims>(bearer_token, &key.key, &validation) {
                Ok(data) => return self.grant(&data.claims),
                Err(e) => {
                    rejection = map_decode_error(&e);
                    // Claims are checked only after the signature verified, so anything
                    // but a signature failure is the answer; try the next key otherwise.
                    if rejection != OAuthRejection::BadSignature {
                        break;
                    }
                }
            }
        }
        Err(rejection)
    }

    /// Fetches the key set now, whatever its age (startup warm-up). Keeps the previous set
    /// when the fetch fails or yields no usable key.
    pub async fn refresh_keys(&self) -> anyhow::Result<()> {
        let mut state = self.inner.fetch.lock().await;
        self.fetch_locked(&mut state).await
    }

    /// Whether at least one usable signing key is cached (for readiness checks; it does not
    /// fetch).
    pub fn keys_loaded(&self) -> bool {
        !self.snapshot().keys.is_empty()
    }

    /// The RFC 9728 protected-resource metadata document.
    pub fn resource_metadata(&self) -> serde_json::Value {
        let cfg = &self.inner.cfg;
        serde_json::json!({
            "resource": cfg.audience,
            "authorization_servers": [cfg.issuer],
            "scopes_supported": cfg.scopes.keys().collect::<Vec<_>>(),
            "bearer_methods_supported": ["header"],
            "resource_name": RESOURCE_NAME,
        })
    }

    /// Where [`Self::resource_metadata`] is served, as a path on this server (RFC 9728 §3.1:
    /// the well-known prefix goes before the resource's path), e.g.
    /// `/.well-known/oauth-protected-resource/mcp`.
    pub fn resource_metadata_path(&self) -> String {
        let path = Url::parse(&self.inner.cfg.audience)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{METADATA_WELL_KNOWN}{path}")
    }

    /// The absolute URL of the metadata document, derived from the public audience URL so it
    /// is right behind a reverse proxy.
    pub fn resource_metadata_url(&self) -> String {
        let origin = Url::parse(&self.inner.cfg.audience)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        format!("{origin}{}", self.resource_metadata_path())
    }

    /// The `WWW-Authenticate` value for a 401/403: `None` (or [`OAuthRejection::Missing`])
    /// for a request without a token, which gets no error code (RFC 6750 §3.1).
    pub fn www_authenticate(
        &self,
        rejection: Option<&OAuthRejection>,
        metadata_url: &str,
    ) -> String {
        let mut params = vec![format!("resource_metadata=\"{}\"", quoted(metadata_url))];
        if let Some(r) = rejection
            && let Some(code) = r.error_code()
        {
            params.push(format!("error=\"{code}\""));
            params.push(format!("error_description=\"{}\"", quoted(&r.to_string())));
        }
        // The MCP spec asks for the scopes to request on the first challenge and when the
        // token lacks them; after any other error the client re-authenticates as before.
        let wants_scope = matches!(
            rejection,
            None | Some(OAuthRejection::Missing | OAuthRejection::InsufficientScope { .. })
        );
        if wants_scope {
            let scopes: Vec<&str> = self.inner.cfg.scopes.keys().map(String::as_str).collect();
            params.push(format!("scope=\"{}\"", quoted(&scopes.join(" "))));
        }
        format!("Bearer {}", params.join(", "))
    }

    fn snapshot(&self) -> Arc<KeySet> {
        match self.inner.keys.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn store(&self, set: KeySet) {
        let set = Arc::new(set);
        match self.inner.keys.write() {
            Ok(mut g) => *g = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    fn min_refetch(&self) -> Duration {
        Duration::from_millis(self.inner.min_refetch_ms.load(Ordering::Relaxed))
    }

    /// The cached keys, fetching inline only when there are none; a stale set is still used
    /// while a background task refreshes it.
    async fn usable_keys(&self) -> Result<Arc<KeySet>, OAuthRejection> {
        let keys = self.snapshot();
        if keys.keys.is_empty() {
            self.fetch_if_due(&keys, self.min_refetch().min(EMPTY_CACHE_RETRY))
                .await;
            let keys = self.snapshot();
            if keys.keys.is_empty() {
                return Err(OAuthRejection::KeysUnavailable);
            }
            return Ok(keys);
        }
        if keys.is_stale(self.inner.refresh_every) {
            self.spawn_refresh();
        }
        Ok(keys)
    }

    fn spawn_refresh(&self) {
        // A held lock means a fetch is already running.
        let Ok(mut state) = self.inner.fetch.clone().try_lock_owned() else {
            return;
        };
        if !due(&state, self.min_refetch()) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _ = this.fetch_locked(&mut state).await;
        });
    }

    /// Fetches unless the key set changed since the caller read `seen` (a fetch finished
    /// while it waited for the lock) or another attempt happened within `min_gap`. Failures
    /// are logged by `fetch_locked`; callers re-read the cache.
    async fn fetch_if_due(&self, seen: &Arc<KeySet>, min_gap: Duration) {
        let mut state = self.inner.fetch.lock().await;
        if Arc::ptr_eq(seen, &self.snapshot()) && due(&state, min_gap) {
            let _ = self.fetch_locked(&mut state).await;
        }
    }

    async fn fetch_locked(&self, state: &mut FetchState) -> anyhow::Result<()> {
        state.last_attempt = Some(Instant::now());
        let result = self.fetch_keys(state).await;
        if let Err(e) = &result {
            tracing::warn!(issuer = %self.inner.cfg.issuer, error = format!("{e:#}"), "could not refresh OAuth signing keys");
        }
        result
    }

    async fn fetch_keys(&self, state: &mut FetchState) -> anyhow::Result<()> {
        let url = match (&self.inner.cfg.jwks_url, &state.discovered_jwks_url) {
            (Some(url), _) | (None, Some(url)) => url.clone(),
            (None, None) => {
                let url = self.discover_jwks_url().await?;
                state.discovered_jwks_url = Some(url.clone());
                url
            }
        };
        let doc = match get_document(&self.inner.http, &url).await {
            Ok(doc) => doc,
            Err(e) => {
                // The issuer may have moved its JWKS; look it up again next time.
                state.discovered_jwks_url = None;
                return Err(e);
            }
        };
        let set = KeySet::from_document(&doc).with_context(|| format!("JWKS at {url}"))?;
        if set.keys.is_empty() {
            bail!("JWKS at {url} has no usable signing key (RSA, P-256, P-384 or Ed25519)");
        }
        tracing::debug!(keys = set.keys.len(), %url, "OAuth signing keys loaded");
        self.store(set);
        Ok(())
    }

    /// Finds `jwks_uri` in the issuer's metadata, in the order the MCP spec gives (RFC 8414
    /// first, then OpenID Connect discovery), and checks the document names our issuer.
    async fn discover_jwks_url(&self) -> anyhow::Result<String> {
        #[derive(Deserialize)]
        struct Metadata {
            issuer: String,
            jwks_uri: Option<String>,
        }
        let issuer = &self.inner.cfg.issuer;
        let mut errors = Vec::new();
        for url in discovery_urls(issuer)? {
            let meta = match get_document(&self.inner.http, &url).await.and_then(|doc| {
                serde_json::from_slice::<Metadata>(&doc)
                    .context("not authorization server metadata")
            }) {
                Ok(m) => m,
                Err(e) => {
                    errors.push(format!("{url}: {e:#}"));
                    continue;
                }
            };
            // RFC 8414 §3.3: metadata for another issuer must not be used.
            if meta.issuer != *issuer {
                errors.push(format!("{url}: names issuer `{}`", meta.issuer));
                continue;
            }
            let Some(jwks) = meta.jwks_uri else {
                errors.push(format!("{url}: has no jwks_uri"));
                continue;
            };
            check_fetch_url("jwks_uri", &jwks)?;
            return Ok(jwks);
        }
        bail!(
            "could not discover the JWKS of issuer {issuer}; set jwks_url. Tried: {}",
            errors.join("; ")
        )
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let cfg = &self.inner.cfg;
        let mut v = Validation::new(alg);
        v.leeway = self.inner.leeway;
        v.validate_nbf = true;
        v.set_issuer(&[&cfg.issuer]);
        v.set_audience(&[&cfg.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v
    }

    /// Scopes -> grant: the union of what the recognised scopes allow. The grant has one
    /// read-only flag, so one writable scope makes every granted toolset writable.
    fn grant(&self, claims: &AccessClaims) -> Result<Grant, OAuthRejection> {
        let cfg = &self.inner.cfg;
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for claim in [&claims.scope, &claims.scp].into_iter().flatten() {
            names.extend(claim.scopes());
        }
        let granted: Vec<&ScopeGrant> = names.iter().filter_map(|n| cfg.scopes.get(*n)).collect();
        if granted.is_empty() {
            return Err(OAuthRejection::InsufficientScope {
                accepted: cfg.scopes.keys().cloned().collect(),
            });
        }
        let toolsets = if granted.iter().any(|g| g.all_toolsets()) {
            None
        } else {
            Some(
                granted
                    .iter()
                    .flat_map(|g| g.toolsets.iter().flatten().cloned())
                    .collect(),
            )
        };
        let principal = [&claims.sub, &claims.client_id]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| "oauth".to_owned());
        Ok(Grant {
            principal,
            toolsets,
            read_only: granted.iter().all(|g| g.read_only),
            mistral_api_key: None,
            rate_limit_per_minute: cfg.rate_limit_per_minute,
        })
    }
}

fn due(state: &FetchState, min_gap: Duration) -> bool {
    state.last_attempt.is_none_or(|t| t.elapsed() >= min_gap)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// RFC 6750 quoted-string content: drop what cannot appear rather than escape it.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

/// Metadata locations for `issuer`, in MCP spec order: with a path, the well-known suffix is
/// inserted before it (RFC 8414 §3.1) and OIDC's appended form is tried last.
fn discovery_urls(issuer: &str) -> anyhow::Result<Vec<String>> {
    let url = Url::parse(issuer).context("issuer is not a URL")?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    Ok(if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    })
}

/// GETs a small JSON document with a timeout and a size cap.
async fn get_document(http: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let mut resp = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()
        .with_context(|| format!("GET {url}"))?;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.with_context(|| format!("GET {url}"))? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            bail!("GET {url}: response larger than {MAX_DOCUMENT_BYTES} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Keys and metadata decide who gets in, so they come over TLS unless from this machine.
fn check_fetch_url(what: &str, s: &str) -> anyhow::Result<Url> {
    let url = Url::parse(s).with_context(|| format!("{what} `{s}` is not a URL"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => bail!("{what} `{s}` must use https (plain http is accepted only for loopback hosts)"),
    }
}

fn check_config(cfg: &OAuthConfig) -> anyhow::Result<()> {
    let issuer = check_fetch_url("[http.oauth] issuer", &cfg.issuer)?;
    if issuer.query().is_some() || issuer.fragment().is_some() {
        bail!("[http.oauth] issuer must not have a query or fragment (RFC 8414)");
    }
    let audience = Url::parse(&cfg.audience).with_context(|| {
        format!(
            "[http.oauth] audience `{}` must be this server's absolute URL, e.g. https://mcp.example.com/mcp",
            cfg.audience
        )
    })?;
    if !matches!(audience.scheme(), "https" | "http")
        || audience.query().is_some()
        || audience.fragment().is_some()
    {
        bail!(
            "[http.oauth] audience `{}` must be an http(s) URL without query or fragment (RFC 8707)",
            cfg.audience
        );
    }
    if let Some(jwks) = &cfg.jwks_url {
        check_fetch_url("[http.oauth] jwks_url", jwks)?;
    }
    if cfg.jwks_refresh_secs == Some(0) {
        bail!("[http.oauth] jwks_refresh_secs must be at least 1");
    }
    if cfg.leeway_secs.is_some_and(|l| l > MAX_LEEWAY_SECS) {
        bail!("[http.oauth] leeway_secs must be at most {MAX_LEEWAY_SECS}");
    }
    if cfg.rate_limit_per_minute == Some(0) {
        bail!("[http.oauth] rate_limit_per_minute must be at least 1; omit it for no limit");
    }
    if cfg.scopes.is_empty() {
        bail!(
            "[http.oauth] needs at least one [http.oauth.scopes.<name>] entry: tokens are mapped to \
             toolsets through their scopes"
        );
    }
    for (name, grant) in &cfg.scopes {
        // RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
        if name.is_empty()
            || !name
                .chars()
                .all(|c| ('!'..='~').contains(&c) && c != '"' && c != '\\')
        {
            bail!("[http.oauth.scopes] `{name}` is not a valid OAuth scope name");
        }
        if let Some(sets) = &grant.toolsets {
            if sets.is_empty() {
                bail!(
                    "[http.oauth.scopes.{name}] toolsets is empty; list toolsets, use [\"*\"] for all, \
                     or remove the scope"
                );
            }
            if sets.iter().any(|s| s == "*") && sets.len() > 1 {
                bail!(
                    "[http.oauth.scopes.{name}] toolsets: `*` already means all toolsets; list it alone"
                );
            }
            if sets.iter().any(|s| s.trim().is_empty()) {
                bail!("[http.oauth.scopes.{name}] toolsets has an empty name");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config() -> OAuthConfig {
        let mut scopes = BTreeMap::new();
        scopes.insert(
            "mcp:read".to_owned(),
            ScopeGrant {
                toolsets: Some(vec!["files".to_owned(), "models".to_owned()]),
                read_only: true,
            },
        );
        scopes.insert(
            "mcp:chat".to_owned(),
            ScopeGrant {
                toolsets: Some(vec!["chat".to_owned()]),
                read_only: false,
            },
        );
        scopes.insert(
            "mcp:admin".to_owned(),
            ScopeGrant {
                toolsets: Some(vec!["*".to_owned()]),
                read_only: false,
            },
        );
        OAuthConfig {
            issuer: "https://auth.example.com".to_owned(),
            audience: "https://mcp.example.com/mcp".to_owned(),
            jwks_url: None,
            jwks_refresh_secs: None,
            leeway_secs: None,
            rate_limit_per_minute: Some(60),
            scopes,
        }
    }

    fn validator(cfg: OAuthConfig) -> OAuthValidator {
        OAuthValidator::new(cfg, reqwest::Client::new()).unwrap()
    }

    fn claims(v: serde_json::Value) -> AccessClaims {
        serde_json::from_value(v).unwrap()
    }

    fn token_with_header(header: serde_json::Value) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode("sig")
        )
    }

    #[test]
    fn config_checks() {
        let bad = |f: &dyn Fn(&mut OAuthConfig), needle: &str| {
            let mut cfg = config();
            f(&mut cfg);
            let err = OAuthValidator::new(cfg, reqwest::Client::new()).unwrap_err();
            assert!(
                format!("{err:#}").contains(needle),
                "{err:#} lacks {needle}"
            );
        };
        bad(&|c| c.issuer = "http://auth.example.com".into(), "https");
        bad(&|c| c.issuer = "not a url".into(), "not a URL");
        bad(
            &|c| c.issuer = "https://auth.example.com/?x=1".into(),
            "query",
        );
        bad(&|c| c.audience = "mcp".into(), "absolute URL");
        bad(
            &|c| c.audience = "https://mcp.example.com/mcp#x".into(),
            "fragment",
        );
        bad(
            &|c| c.jwks_url = Some("http://keys.example.com/jwks".into()),
            "https",
        );
        bad(&|c| c.jwks_refresh_secs = Some(0), "jwks_refresh_secs");
        bad(&|c| c.leeway_secs = Some(3600), "leeway_secs");
        bad(
            &|c| c.rate_limit_per_minute = Some(0),
            "rate_limit_per_minute",
        );
        bad(&|c| c.scopes.clear(), "at least one");
        bad(
            &|c| {
                c.scopes.insert(
                    "two words".into(),
                    ScopeGrant {
                        toolsets: None,
                        read_only: true,
                    },
                );
            },
            "not a valid OAuth scope",
        );
        bad(
            &|c| {
                c.scopes.insert(
                    "s".into(),
                    ScopeGrant {
                        toolsets: Some(vec![]),
                        read_only: true,
                    },
                );
            },
            "empty",
        );
        bad(
            &|c| {
                c.scopes.insert(
                    "s".into(),
                    ScopeGrant {
                        toolsets: Some(vec!["*".into(), "files".into()]),
                        read_only: true,
                    },
                );
            },
            "list it alone",
        );

        for loopback in [
            "http://127.0.0.1:8080",
            "http://localhost:9000/realms/x",
            "http://[::1]:1",
        ] {
            let mut cfg = config();
            cfg.issuer = loopback.into();
            OAuthValidator::new(cfg, reqwest::Client::new()).unwrap();
        }
    }

    #[test]
    fn header_parsing_refuses_none_hs_and_crit() {
        let rs = token_with_header(serde_json::json!({"alg": "RS256", "kid": "k1"}));
        let h = parse_header(&rs).unwrap();
        assert_eq!(h.alg, Algorithm::RS256);
        assert_eq!(h.kid.as_deref(), Some("k1"));
        for alg in ["none", "HS256", "HS512", "RSA-OAEP", "ES512"] {
            let t = token_with_header(serde_json::json!({"alg": alg}));
            assert_eq!(
                parse_header(&t).err(),
                Some(OAuthRejection::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        let crit =
            token_with_header(serde_json::json!({"alg": "RS256", "crit": ["b64"], "b64": false}));
        assert_eq!(parse_header(&crit).err(), Some(OAuthRejection::Malformed));
        for t in ["", "abc", "a.b", "a.b.c.d.e", "!!.e30.c"] {
            assert_eq!(
                parse_header(t).err(),
                Some(OAuthRejection::Malformed),
                "{t}"
            );
        }
        let huge = format!("{}.e30.c", "A".repeat(MAX_TOKEN_BYTES));
        assert_eq!(parse_header(&huge).err(), Some(OAuthRejection::Malformed));
    }

    #[test]
    fn jwks_parsing_keeps_only_usable_signing_keys() {
        // A real P-256 public point, so DecodingKey accepts it.
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "oaep", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "mismatch", "alg": "ES256", "n": "AQAB", "e": "AQAB"},
            {"kty": "AKP", "kid": "future", "alg": "ML-DSA-44", "pub": "AAAA"},
            {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": "AAAA"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]});
        let set = KeySet::from_document(doc.to_string().as_bytes()).unwrap();
        let kids: Vec<_> = set.keys.iter().map(|k| k.kid.clone().unwrap()).collect();
        assert_eq!(kids, ["rsa", "ps", "ec", "ed"]);
        assert_eq!(set.candidates(Some("rsa"), Algorithm::RS256).len(), 1);
        assert_eq!(set.candidates(Some("rsa"), Algorithm::ES256).len(), 0);
        // A JWK `alg` pins its key.
        assert_eq!(set.candidates(Some("ps"), Algorithm::RS256).len(), 0);
        assert_eq!(set.candidates(Some("ps"), Algorithm::PS256).len(), 1);
        assert_eq!(set.candidates(None, Algorithm::RS512).len(), 1);
        assert_eq!(set.candidates(None, Algorithm::EdDSA).len(), 1);
        assert_eq!(set.candidates(Some("nope"), Algorithm::ES256).len(), 0);
        assert!(KeySet::from_document(b"[]").is_err());
    }

    #[test]
    fn grant_mapping() {
        let v = validator(config());
        let g = v
            .grant(&claims(
                serde_json::json!({"sub": "alice", "scope": "openid mcp:read"}),
            ))
            .unwrap();
        assert_eq!(g.principal, "alice");
        assert_eq!(
            g.toolsets.unwrap().into_iter().collect::<Vec<_>>(),
            ["files", "models"]
        );
        assert!(g.read_only);
        assert_eq!(g.rate_limit_per_minute, Some(60));
        assert!(g.mistral_api_key.is_none());

        // Union of toolsets; one writable scope makes the grant writable.
        let g = v
            .grant(&claims(
                serde_json::json!({"client_id": "bot", "scp": ["mcp:read", "mcp:chat"]}),
            ))
            .unwrap();
        assert_eq!(g.principal, "bot");
        assert_eq!(
            g.toolsets.unwrap().into_iter().collect::<Vec<_>>(),
            ["chat", "files", "models"]
        );
        assert!(!g.read_only);

        // `*` wins; empty `sub` falls back; `scp` as a string works too.
        let g = v
            .grant(&claims(
                serde_json::json!({"sub": "", "scp": "mcp:admin mcp:read"}),
            ))
            .unwrap();
        assert_eq!(g.principal, "oauth");
        assert!(g.toolsets.is_none());
        assert!(!g.read_only);

        let mut cfg = config();
        cfg.scopes.insert(
            "all-ro".into(),
            ScopeGrant {
                toolsets: None,
                read_only: true,
            },
        );
        let g = validator(cfg)
            .grant(&claims(serde_json::json!({"sub": "x", "scope": "all-ro"})))
            .unwrap();
        assert!(g.toolsets.is_none());
        assert!(g.read_only);

        for no_scope in [
            serde_json::json!({"sub": "x"}),
            serde_json::json!({"sub": "x", "scope": "openid profile"}),
            serde_json::json!({"sub": "x", "scope": ""}),
        ] {
            let err = v.grant(&claims(no_scope)).unwrap_err();
            assert_eq!(err.status(), StatusCode::FORBIDDEN);
            assert_eq!(
                err,
                OAuthRejection::InsufficientScope {
                    accepted: vec!["mcp:admin".into(), "mcp:chat".into(), "mcp:read".into()]
                }
            );
        }
    }

    #[test]
    fn challenges_and_metadata() {
        let v = validator(config());
        let url = v.resource_metadata_url();
        assert_eq!(
            url,
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            v.resource_metadata_path(),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            v.www_authenticate(None, &url),
            format!("Bearer resource_metadata=\"{url}\", scope=\"mcp:admin mcp:chat mcp:read\"")
        );
        assert_eq!(
            v.www_authenticate(Some(&OAuthRejection::Expired), &url),
            format!(
                "Bearer resource_metadata=\"{url}\", error=\"invalid_token\", \
                 error_description=\"the access token has expired\""
            )
        );
        let scope = OAuthRejection::InsufficientScope {
            accepted: vec!["mcp:read".into()],
        };
        assert_eq!(
            v.www_authenticate(Some(&scope), &url),
            format!(
                "Bearer resource_metadata=\"{url}\", error=\"insufficient_scope\", \
                 error_description=\"the access token grants none of the scopes this server accepts\", \
                 scope=\"mcp:admin mcp:chat mcp:read\""
            )
        );
        assert_eq!(
            v.www_authenticate(Some(&OAuthRejection::KeysUnavailable), "https://x/\"y\""),
            "Bearer resource_metadata=\"https://x/y\""
        );
        assert_eq!(
            OAuthRejection::KeysUnavailable.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(OAuthRejection::Malformed.status(), StatusCode::UNAUTHORIZED);

        assert_eq!(
            v.resource_metadata(),
            serde_json::json!({
                "resource": "https://mcp.example.com/mcp",
                "authorization_servers": ["https://auth.example.com"],
                "scopes_supported": ["mcp:admin", "mcp:chat", "mcp:read"],
                "bearer_methods_supported": ["header"],
                "resource_name": "mistral-mcp",
            })
        );

        let mut cfg = config();
        cfg.audience = "https://mcp.example.com".into();
        let v = validator(cfg);
        assert_eq!(
            v.resource_metadata_path(),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(v.resource_metadata()["resource"], "https://mcp.example.com");
    }

    #[test]
    fn discovery_url_order() {
        assert_eq!(
            discovery_urls("https://auth.example.com").unwrap(),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            discovery_urls("https://kc.example.com/realms/main/").unwrap(),
            [
                "https://kc.example.com/.well-known/oauth-authorization-server/realms/main",
                "https://kc.example.com/.well-known/openid-configuration/realms/main",
                "https://kc.example.com/realms/main/.well-known/openid-configuration",
            ]
        );
    }

    #[tokio::test]
    async fn no_keys_means_unavailable_not_invalid() {
        let mut cfg = config();
        // Nothing listens on port 9 of loopback; the fetch fails fast.
        cfg.issuer = "http://127.0.0.1:9".into();
        let v = validator(cfg);
        let t = token_with_header(serde_json::json!({"alg": "RS256", "kid": "k"}));
        assert_eq!(
            v.validate(&t).await.unwrap_err(),
            OAuthRejection::KeysUnavailable
        );
        assert!(!v.keys_loaded());
        assert!(v.refresh_keys().await.is_err());
        assert_eq!(v.validate("").await.unwrap_err(), OAuthRejection::Missing);
    }
}
