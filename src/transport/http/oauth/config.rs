//! The `[http.oauth]` settings as the validator sees them: the raw structs (which
//! [`crate::config`] owns and parses), their defaults and bounds, and the checks that refuse
//! a configuration the server cannot run with (non-TLS key URLs, bad audience, empty or
//! malformed scopes) before anything is fetched.

use std::net::IpAddr;

use anyhow::{Context, bail};
use url::Url;

pub use crate::config::{OAuthConfig, ScopeGrant};

pub(super) const DEFAULT_REFRESH_SECS: u64 = 300;
pub(super) const DEFAULT_LEEWAY_SECS: u64 = 30;
/// More skew than this hides a broken clock rather than tolerating drift.
const MAX_LEEWAY_SECS: u64 = 300;

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Keys and metadata decide who gets in, so they come over TLS unless from this machine.
pub(super) fn check_fetch_url(what: &str, s: &str) -> anyhow::Result<Url> {
    let url = Url::parse(s).with_context(|| format!("{what} `{s}` is not a URL"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => bail!("{what} `{s}` must use https (plain http is accepted only for loopback hosts)"),
    }
}

pub(super) fn check_config(cfg: &OAuthConfig) -> anyhow::Result<()> {
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
    if cfg.max_tokens_per_day == Some(0) || cfg.max_requests_per_day == Some(0) {
        bail!(
            "[http.oauth] max_tokens_per_day and max_requests_per_day must be at least 1; omit them for no budget"
        );
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
    use super::super::OAuthValidator;
    use super::super::tests::config;
    use super::*;

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
}
