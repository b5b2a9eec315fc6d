//! OAuth scopes to a [`Grant`]: the union of what the token's recognised scopes allow, with
//! the subject (or client id) as principal and the configured rate limit.

use std::collections::BTreeSet;

use super::token::AccessClaims;
use super::{OAuthRejection, OAuthValidator, ScopeGrant};
use crate::access::Grant;

impl OAuthValidator {
    /// Scopes -> grant: the union of what the recognised scopes allow. The grant has one
    /// read-only flag, so one writable scope makes every granted toolset writable.
    pub(super) fn grant(&self, claims: &AccessClaims) -> Result<Grant, OAuthRejection> {
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
            budget: crate::state::Budget {
                max_tokens_per_day: cfg.max_tokens_per_day,
                max_requests_per_day: cfg.max_requests_per_day,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{claims, config, validator};
    use super::*;
    use axum::http::StatusCode;

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
}
