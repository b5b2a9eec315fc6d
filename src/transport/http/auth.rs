//! Inbound authentication for `/mcp`: turns the `Authorization` header into a [`Grant`]
//! (static tokens by hash, or an OAuth access token), applies the credential's rate
//! limit, and hands the grant to the MCP server through the request's extensions.
//!
//! The header is removed once checked, so no tool can read it and nothing forwards it
//! upstream; Mistral only ever sees the server's (or the credential's vaulted) key.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::oauth::{OAuthRejection, OAuthValidator};
use super::ratelimit::RateLimiter;
use crate::access::{Grant, StaticToken, TokenHash};
use crate::metrics;
use crate::state::{StateError, StateStore};

pub struct Authenticator {
    tokens: Vec<StaticToken>,
    oauth: Option<OAuthValidator>,
    limiter: RateLimiter,
}

impl Authenticator {
    pub fn new(tokens: Vec<StaticToken>, oauth: Option<OAuthValidator>, state: StateStore) -> Self {
        Self {
            tokens,
            oauth,
            limiter: RateLimiter::new(state),
        }
    }

    /// Whether any credential is configured; without one `/mcp` is open (loopback only).
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty() || self.oauth.is_some()
    }

    fn static_token(&self, presented: &str) -> Option<Arc<Grant>> {
        let hash = TokenHash::of(presented);
        // Check every entry, so the time taken does not say which one matched.
        let mut found = None;
        for t in &self.tokens {
            if t.hash.matches(&hash) && found.is_none() {
                found = Some(t.grant.clone());
            }
        }
        found
    }

    async fn authenticate(&self, authorization: Option<&str>) -> Result<Arc<Grant>, Rejection> {
        let Some(presented) = authorization.and_then(bearer_token) else {
            return Err(match &self.oauth {
                Some(oauth) => Rejection::oauth(oauth, &OAuthRejection::Missing),
                None => Rejection::unauthorized(
                    "invalid_request",
                    "send `Authorization: Bearer <token>`; the server operator issues tokens",
                ),
            });
        };
        if let Some(grant) = self.static_token(presented) {
            return Ok(grant);
        }
        match &self.oauth {
            Some(oauth) => match oauth.validate(presented).await {
                Ok(grant) => Ok(Arc::new(grant)),
                Err(rejection) => Err(Rejection::oauth(oauth, &rejection)),
            },
            None => Err(Rejection::unauthorized(
                "invalid_token",
                "the bearer token is not valid for this server",
            )),
        }
    }
}

/// `Bearer <token>`, scheme case-insensitive per RFC 7235.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A refused credential: 401 (or 403 for a valid token without the needed scope) with
/// an RFC 6750 challenge that says what to change.
pub struct Rejection {
    status: StatusCode,
    error: &'static str,
    description: String,
    challenge: String,
}

impl Rejection {
    fn unauthorized(error: &'static str, description: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error,
            description: description.to_string(),
            challenge: format!(
                "Bearer realm=\"mistral-mcp\", error=\"{error}\", error_description=\"{description}\""
            ),
        }
    }
}

impl Rejection {
    /// The MCP authorization spec's challenge: it points at the protected-resource
    /// metadata, from which a client finds the authorization server.
    fn oauth(oauth: &OAuthValidator, rejection: &OAuthRejection) -> Self {
        Self {
            status: rejection.status(),
            error: rejection.error_code().unwrap_or("invalid_request"),
            description: rejection.to_string(),
            challenge: oauth.www_authenticate(Some(rejection), &oauth.resource_metadata_url()),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        metrics::http_rejected(match self.status {
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "auth_unavailable",
            _ => "unauthorized",
        });
        let mut response = (
            self.status,
            axum::Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&self.challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}

fn rate_limited(grant: &Grant, wait: std::time::Duration, per_minute: u32) -> Response {
    metrics::http_rejected("rate_limited");
    metrics::rate_limited(&grant.principal);
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, secs.to_string())],
        axum::Json(json!({
            "error": "rate_limited",
            "error_description": format!(
                "credential `{}` may make {per_minute} requests per minute; retry after {secs} s",
                grant.principal
            ),
            "retry_after_secs": secs,
        })),
    )
        .into_response()
}

/// The rate limit could not be checked because the shared state store is unreachable: the
/// request is refused (fail closed) with a short `Retry-After`, since the connection is
/// remade on its own.
fn state_unavailable(grant: &Grant, error: &StateError) -> Response {
    metrics::http_rejected("state_unavailable");
    tracing::warn!(principal = %grant.principal, error = %error, "rate limit not checked: refusing the request");
    let secs = 2;
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, secs.to_string())],
        axum::Json(json!({
            "error": "state_unavailable",
            "error_description": format!(
                "the rate limit of credential `{}` could not be checked because the shared state store is unreachable; \
                 the request was not run. Retry after {secs} s",
                grant.principal
            ),
            "retry_after_secs": secs,
        })),
    )
        .into_response()
}

/// The middleware in front of `/mcp`.
pub async fn require_auth(
    State(auth): State<Arc<Authenticator>>,
    mut req: Request,
    next: Next,
) -> Response {
    // Owned, so the request (not `Sync`) is not borrowed across the await.
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let grant = match auth.authenticate(authorization.as_deref()).await {
        Ok(grant) => grant,
        Err(rejection) => return rejection.into_response(),
    };
    if let Some(per_minute) = grant.rate_limit_per_minute {
        match auth.limiter.check(&grant.principal, per_minute).await {
            Ok(Ok(())) => {}
            Ok(Err(wait)) => return rate_limited(&grant, wait, per_minute),
            Err(e) => return state_unavailable(&grant, &e),
        }
    }
    req.headers_mut().remove(header::AUTHORIZATION);
    req.extensions_mut().insert(grant);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
