//! Who is calling and what they may do: the [`Grant`] an HTTP authentication layer
//! attaches to each request (from a static token or an OAuth access token), and the one
//! check every tool call passes through.
//!
//! It also resolves the inbound tokens the configuration lists (raw entries, see
//! [`crate::config::TokenEntry`]) into [`StaticToken`]s: hash parsed, names checked,
//! vaulted Mistral keys read.
//!
//! stdio has no grant: the person who launched the binary owns it, so everything the
//! server exposes is allowed and the server's own Mistral key is used.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::catalog::ToolDef;
use crate::config::{HttpConfig, read_key_file};
use crate::state::Budget;

/// What one authenticated caller may do. Cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The static token's name or the JWT subject: for logs and metrics, never a secret.
    pub principal: String,
    /// Toolsets this caller may use; `None` means every toolset the server exposes.
    pub toolsets: Option<BTreeSet<String>>,
    /// Only tools that change nothing upstream.
    pub read_only: bool,
    /// This caller's own Mistral key (the server-side vault); `None` uses the server's key.
    pub mistral_api_key: Option<SecretString>,
    /// Requests per minute this caller may make to `/mcp`; `None` means unlimited.
    pub rate_limit_per_minute: Option<u32>,
    /// Tokens and tool calls per UTC day; checked before each operation runs.
    pub budget: Budget,
}

impl Grant {
    /// A grant that allows everything, for callers that authenticated with a
    /// full-access credential.
    pub fn full(principal: impl Into<String>) -> Self {
        Self {
            principal: principal.into(),
            toolsets: None,
            read_only: false,
            mistral_api_key: None,
            rate_limit_per_minute: None,
            budget: Budget::default(),
        }
    }

    /// Whether this caller may run `tool`.
    pub fn allows(&self, tool: &ToolDef) -> bool {
        self.toolsets
            .as_ref()
            .is_none_or(|sets| sets.contains(&tool.toolset))
            && (!self.read_only || tool.spec().read_only())
    }

    /// Why this caller may not run `tool`, or `None` when it may.
    pub fn refusal(&self, tool: &ToolDef) -> Option<String> {
        if let Some(sets) = &self.toolsets
            && !sets.contains(&tool.toolset)
        {
            let allowed: Vec<&str> = sets.iter().map(String::as_str).collect();
            return Some(format!(
                "`{}` is in toolset `{}`, which the credential `{}` may not use (allowed: {}). \
                 Ask the server operator to widen the credential, or use a tool from an allowed toolset.",
                tool.name,
                tool.toolset,
                self.principal,
                allowed.join(", ")
            ));
        }
        if self.read_only && !tool.spec().read_only() {
            return Some(format!(
                "`{}` changes data on Mistral, and the credential `{}` is read-only. \
                 Use a read-only tool, or ask the server operator for a credential that may write.",
                tool.name, self.principal
            ));
        }
        None
    }
}

/// The id of one HTTP request (the caller's `X-Request-Id` or a generated one), carried
/// into tool-call log lines so a call can be traced through a proxy.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The SHA-256 of an inbound bearer token: what config files store instead of the token.
///
/// Tokens are long random strings (see `mistral-mcp token new`), so a plain SHA-256 is
/// enough: there is no dictionary to attack, unlike with passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl TokenHash {
    pub fn of(token: &str) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(token.as_bytes()).into())
    }

    /// Parses the `sha256:<64 hex digits>` form written in config files.
    pub fn parse(text: &str) -> Result<Self, String> {
        let hex = text.trim().strip_prefix("sha256:").ok_or_else(|| {
            "a token hash must look like `sha256:<64 hex digits>`; `mistral-mcp token new` prints one"
                .to_string()
        })?;
        if hex.len() != 64 {
            return Err(format!(
                "a token hash has 64 hex digits after `sha256:`, this one has {}",
                hex.len()
            ));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = hex
                .get(2 * i..2 * i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| {
                    "a token hash may contain only hex digits after `sha256:`".to_string()
                })?;
        }
        Ok(Self(out))
    }

    pub fn to_config_string(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// Compares without an early exit, so timing does not reveal how much matched.
    pub fn matches(&self, other: &TokenHash) -> bool {
        let diff = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0
    }
}

/// A resolved inbound token: its hash and what it grants.
#[derive(Debug, Clone)]
pub struct StaticToken {
    pub hash: TokenHash,
    pub grant: Arc<Grant>,
}

/// The plain `MISTRAL_MCP_HTTP_TOKEN` (full access, named `default`) plus hashed entries
/// from the config and the tokens file. Names must be unique: they label logs, metrics
/// and rate limits.
pub fn static_tokens(http: &HttpConfig) -> anyhow::Result<Vec<StaticToken>> {
    let mut tokens = Vec::new();
    if let Some(token) = &http.bearer_token {
        tokens.push(StaticToken {
            hash: TokenHash::of(token.expose_secret()),
            grant: Arc::new(Grant::full("default")),
        });
    }
    for e in &http.tokens {
        let name = e.name.trim().to_string();
        if name.is_empty() {
            bail!("every [[tokens]] entry needs a non-empty `name`");
        }
        if tokens.iter().any(|t| t.grant.principal == name) {
            bail!(
                "two tokens are named {name:?}; names label logs and rate limits, so they must be unique"
            );
        }
        let hash =
            TokenHash::parse(&e.hash).map_err(|why| anyhow::anyhow!("token {name:?}: {why}"))?;
        let mistral_api_key = match (&e.mistral_api_key_file, &e.mistral_api_key) {
            (Some(_), Some(_)) => {
                bail!("token {name:?}: set mistral_api_key_file or mistral_api_key, not both")
            }
            (Some(path), None) => {
                Some(read_key_file(path).with_context(|| format!("token {name:?}"))?)
            }
            (None, key) => key
                .as_ref()
                .filter(|k| !k.expose_secret().trim().is_empty())
                .cloned(),
        };
        if e.rate_limit_per_minute == Some(0) {
            bail!(
                "token {name:?}: rate_limit_per_minute must be at least 1 (leave it out for no limit)"
            );
        }
        if e.max_tokens_per_day == Some(0) || e.max_requests_per_day == Some(0) {
            bail!(
                "token {name:?}: max_tokens_per_day and max_requests_per_day must be at least 1 \
                 (leave them out for no budget)"
            );
        }
        tokens.push(StaticToken {
            hash,
            grant: Arc::new(Grant {
                principal: name,
                toolsets: e
                    .toolsets
                    .as_ref()
                    .map(|sets| sets.iter().map(|s| s.trim().to_string()).collect()),
                read_only: e.read_only,
                mistral_api_key,
                rate_limit_per_minute: e.rate_limit_per_minute,
                budget: Budget {
                    max_tokens_per_day: e.max_tokens_per_day,
                    max_requests_per_day: e.max_requests_per_day,
                },
            }),
        });
    }
    Ok(tokens)
}

/// A fresh random inbound token: 32 random bytes, hex, behind a recognisable prefix so
/// secret scanners can spot a leaked one.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("mmcp_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides, env};

    /// The tokens a config file and environment resolve to.
    fn tokens(vars: &[(&str, &str)], file: Option<&str>) -> anyhow::Result<Vec<StaticToken>> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = tempfile::tempdir()?;
        let mut o = Overrides::default();
        if let Some(text) = file {
            let path = dir.path().join("config.toml");
            std::fs::write(&path, text)?;
            o.config_file = Some(path);
        }
        let c = Config::load_with(&o, &|k| vars.get(k).cloned())?;
        static_tokens(&c.http)
    }

    #[test]
    fn tokens_from_config_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("team-key");
        std::fs::write(&key, "team-mistral-key\n").unwrap();
        let file = dir.path().join("tokens.toml");
        let hash_b = TokenHash::of("token-b").to_config_string();
        std::fs::write(
            &file,
            format!(
                "[[tokens]]\nname = \"ci\"\nhash = \"{hash_b}\"\nread_only = true\nmistral_api_key_file = \"{}\"\n",
                key.display()
            ),
        )
        .unwrap();
        let hash_a = TokenHash::of("token-a").to_config_string();
        let path = file.display().to_string();
        let t = tokens(
            &[(env::TOKENS_FILE, path.as_str()), (env::HTTP_TOKEN, "plain")],
            Some(&format!(
                "[[http.tokens]]\nname = \"ops\"\nhash = \"{hash_a}\"\ntoolsets = [\"models\"]\nrate_limit_per_minute = 5\nmax_tokens_per_day = 100000\nmax_requests_per_day = 500\n"
            )),
        )
        .unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.grant.principal.as_str()).collect();
        assert_eq!(names, ["default", "ops", "ci"]);
        assert!(t[0].hash.matches(&TokenHash::of("plain")));
        let ci = &t[2];
        assert!(ci.hash.matches(&TokenHash::of("token-b")));
        assert!(ci.grant.read_only);
        assert_eq!(
            ci.grant.mistral_api_key.as_ref().unwrap().expose_secret(),
            "team-mistral-key"
        );
        assert_eq!(t[1].grant.rate_limit_per_minute, Some(5));
        assert_eq!(
            t[1].grant.budget,
            Budget {
                max_tokens_per_day: Some(100_000),
                max_requests_per_day: Some(500)
            }
        );
        assert_eq!(t[2].grant.budget, Budget::default());
        assert!(!format!("{t:?}").contains("team-mistral-key"));
    }

    #[test]
    fn bad_tokens_are_errors() {
        let h = TokenHash::of("x").to_config_string();
        let dup = format!(
            "[[http.tokens]]\nname = \"a\"\nhash = \"{h}\"\n[[http.tokens]]\nname = \"a\"\nhash = \"{h}\"\n"
        );
        assert!(format!("{:#}", tokens(&[], Some(&dup)).unwrap_err()).contains("unique"));
        let typo = format!("[[http.tokens]]\nname = \"a\"\nhash = \"{h}\"\nread_onyl = true\n");
        assert!(format!("{:#}", tokens(&[], Some(&typo)).unwrap_err()).contains("read_onyl"));
        let plain = "[[http.tokens]]\nname = \"a\"\nhash = \"secret\"\n";
        assert!(format!("{:#}", tokens(&[], Some(plain)).unwrap_err()).contains("sha256:"));
        let zero =
            format!("[[http.tokens]]\nname = \"a\"\nhash = \"{h}\"\nrate_limit_per_minute = 0\n");
        assert!(format!("{:#}", tokens(&[], Some(&zero)).unwrap_err()).contains("at least 1"));
        let zero =
            format!("[[http.tokens]]\nname = \"a\"\nhash = \"{h}\"\nmax_tokens_per_day = 0\n");
        assert!(format!("{:#}", tokens(&[], Some(&zero)).unwrap_err()).contains("at least 1"));
    }

    #[test]
    fn hashes_round_trip_and_compare() {
        let token = new_token();
        assert!(token.starts_with("mmcp_") && token.len() == 69);
        let h = TokenHash::of(&token);
        let parsed = TokenHash::parse(&h.to_config_string()).unwrap();
        assert!(parsed.matches(&h));
        assert!(!parsed.matches(&TokenHash::of("other")));
        assert_eq!(
            TokenHash::of("abc").to_config_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bad_hashes_say_what_is_wrong() {
        assert!(TokenHash::parse("abc").unwrap_err().contains("sha256:"));
        assert!(TokenHash::parse("sha256:abc").unwrap_err().contains("64"));
        let bad = format!("sha256:{}", "zz".repeat(32));
        assert!(TokenHash::parse(&bad).unwrap_err().contains("hex"));
    }
}
