//! The authorization server's signing keys: JWK parsing (usable asymmetric signing keys
//! only, each pinned to the algorithms its type and `alg` allow), the shared key cache with
//! its single-flight, rate-limited refresh, and discovery of `jwks_uri` from the issuer's
//! RFC 8414 / OpenID Connect metadata.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use url::Url;

use super::config::check_fetch_url;
use super::token::accepted_algorithm;
use super::{OAuthRejection, OAuthValidator};

/// Unknown `kid`s are attacker-controlled, so they may not make us hammer the IdP.
pub(super) const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);
/// With no keys at all every request fails, so retry sooner than with a working set.
const EMPTY_CACHE_RETRY: Duration = Duration::from_secs(5);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Metadata and JWKS documents are a few KiB; anything far larger is not one.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

#[derive(Default)]
pub(super) struct FetchState {
    last_attempt: Option<Instant>,
    /// `jwks_uri` found through discovery; forgotten when a fetch from it fails.
    discovered_jwks_url: Option<String>,
}

#[derive(Default)]
pub(super) struct KeySet {
    pub(super) keys: Vec<VerifyKey>,
    fetched_at: Option<Instant>,
}

pub(super) struct VerifyKey {
    kid: Option<String>,
    /// The JWK's own `alg`, which pins the key to one algorithm when present.
    alg: Option<Algorithm>,
    kind: KeyKind,
    pub(super) key: DecodingKey,
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

    pub(super) fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Vec<&VerifyKey> {
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

impl OAuthValidator {
    /// The shortest gap between two fetches triggered by requests (unknown `kid`, stale or
    /// failed key set); 30 s by default. Tests shorten it to exercise key rotation.
    pub fn set_min_refetch_interval(&self, interval: Duration) {
        self.inner
            .min_refetch_ms
            .store(millis(interval), Ordering::Relaxed);
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

    pub(super) fn snapshot(&self) -> Arc<KeySet> {
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

    pub(super) fn min_refetch(&self) -> Duration {
        Duration::from_millis(self.inner.min_refetch_ms.load(Ordering::Relaxed))
    }

    /// The cached keys, fetching inline only when there are none; a stale set is still used
    /// while a background task refreshes it.
    pub(super) async fn usable_keys(&self) -> Result<Arc<KeySet>, OAuthRejection> {
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
    pub(super) async fn fetch_if_due(&self, seen: &Arc<KeySet>, min_gap: Duration) {
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
}

fn due(state: &FetchState, min_gap: Duration) -> bool {
    state.last_attempt.is_none_or(|t| t.elapsed() >= min_gap)
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
