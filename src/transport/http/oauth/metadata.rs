//! What the server tells OAuth clients: the RFC 9728 protected-resource metadata document,
//! where it is served, and the RFC 6750 `WWW-Authenticate` challenge that points to it.

use url::Url;

use super::{OAuthRejection, OAuthValidator};

const RESOURCE_NAME: &str = "mistral-mcp";
const METADATA_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

impl OAuthValidator {
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
}

/// RFC 6750 quoted-string content: drop what cannot appear rather than escape it.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{config, validator};
    use super::*;
    use axum::http::StatusCode;

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
}
