//! What a bearer JWT must look like before and after its signature is checked: the header
//! (size cap, compact form, no `crit`, asymmetric `alg` only), the claims that feed the
//! grant, the `jsonwebtoken` validation rules (issuer, audience, expiry, leeway), and the
//! mapping of its errors to an [`OAuthRejection`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::{OAuthRejection, OAuthValidator};

/// Real access tokens are a few KiB; refuse to base64-decode megabytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The header fields we act on, read before any key is chosen.
pub(super) struct TokenHeader {
    pub(super) alg: Algorithm,
    pub(super) kid: Option<String>,
}

pub(super) fn parse_header(token: &str) -> Result<TokenHeader, OAuthRejection> {
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
pub(super) fn accepted_algorithm(name: &str) -> Option<Algorithm> {
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
pub(super) struct AccessClaims {
    pub(super) sub: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) scope: Option<StringOrList>,
    pub(super) scp: Option<StringOrList>,
}

/// `scope` is a space-separated string (RFC 9068), `scp` usually an array; IdPs mix them up.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    pub(super) fn scopes(&self) -> Vec<&str> {
        match self {
            Self::One(s) => s.split_whitespace().collect(),
            Self::Many(v) => v.iter().flat_map(|s| s.split_whitespace()).collect(),
        }
    }
}

pub(super) fn map_decode_error(e: &jsonwebtoken::errors::Error) -> OAuthRejection {
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

impl OAuthValidator {
    pub(super) fn validation(&self, alg: Algorithm) -> Validation {
        let cfg = &self.inner.cfg;
        let mut v = Validation::new(alg);
        v.leeway = self.inner.leeway;
        v.validate_nbf = true;
        v.set_issuer(&[&cfg.issuer]);
        v.set_audience(&[&cfg.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::token_with_header;
    use super::*;

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
}
