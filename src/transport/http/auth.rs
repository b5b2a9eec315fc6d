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

use super::ratelimit::RateLimiter;
use crate::access::{Grant, TokenHash};
use crate::config::StaticToken;
use crate::metrics;

pub struct Authenticator {
    tokens: Vec<StaticToken>,
    limiter: RateLimiter,
}

impl Authenticator {
    pub fn new(tokens: Vec<StaticToken>) -> Self {
        Self {
            tokens,
            limiter: RateLimiter::default(),
        }
    }

    /// Whether any credential is configured; without one `/mcp` is open (loopback only).
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
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

    fn authenticate(&self, req: &Request) -> Result<Arc<Grant>, Rejection> {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        let Some(presented) = presented else {
            return Err(Rejection::unauthorized(
                "invalid_request",
                "send `Authorization: Bearer <token>`; the server operator issues tokens",
            ));
        };
        match self.static_token(presented) {
            Some(grant) => Ok(grant),
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

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        metrics::http_rejected(if self.status == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "unauthorized"
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

/// The middleware in front of `/mcp`.
pub async fn require_auth(
    State(auth): State<Arc<Authenticator>>,
    mut req: Request,
    next: Next,
) -> Response {
    let grant = match auth.authenticate(&req) {
        Ok(grant) => grant,
        Err(rejection) => return rejection.into_response(),
    };
    if let Some(per_minute) = grant.rate_limit_per_minute
        && let Err(wait) = auth.limiter.check(&grant.principal, per_minute)
    {
        return rate_limited(&grant, wait, per_minute);
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
