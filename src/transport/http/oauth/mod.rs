//! OAuth 2.1 resource-server side of the MCP authorization spec: [`OAuthValidator`], which
//! checks a bearer JWT against the authorization server's keys and turns it into a
//! [`Grant`], and [`OAuthRejection`], why it refused one. The pieces live in the submodules:
//! the `[http.oauth]` checks (`config`), the signing-key cache and discovery (`jwks`), JWT
//! header and claims validation (`token`), scope-to-grant mapping (`grant`) and the RFC 9728
//! metadata and `WWW-Authenticate` challenges (`metadata`). The axum middleware that calls
//! it and the routes that serve the metadata are in [`crate::transport::http`].

mod config;
mod crypto;
mod grant;
mod jwks;
mod metadata;
mod token;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::StatusCode;

use crate::access::Grant;
use config::{DEFAULT_LEEWAY_SECS, DEFAULT_REFRESH_SECS, check_config};
pub use config::{OAuthConfig, ScopeGrant};
use jwks::{DEFAULT_MIN_REFETCH, FetchState, KeySet, millis};
use token::{AccessClaims, map_decode_error, parse_header};

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
        if !crypto::install() {
            anyhow::bail!("another JWT crypto provider was installed before the OAuth validator");
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::collections::BTreeMap;

    pub(super) fn config() -> OAuthConfig {
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
            max_tokens_per_day: None,
            max_requests_per_day: None,
            scopes,
        }
    }

    pub(super) fn validator(cfg: OAuthConfig) -> OAuthValidator {
        OAuthValidator::new(cfg, reqwest::Client::new()).unwrap()
    }

    pub(super) fn claims(v: serde_json::Value) -> AccessClaims {
        serde_json::from_value(v).unwrap()
    }

    pub(super) fn token_with_header(header: serde_json::Value) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode("sig")
        )
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
