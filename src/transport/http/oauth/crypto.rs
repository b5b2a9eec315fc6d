//! Signature checks for `jsonwebtoken`, done by `ring`, the crypto library rustls already
//! links: RSA (PKCS#1 v1.5 and PSS), ECDSA P-256/P-384 and Ed25519, the algorithms
//! [`super::jwks`] accepts keys for. jsonwebtoken's own RustCrypto backend would add a second
//! implementation of all of them (about 250 KB of binary) for the same work. This server
//! only verifies, so there is no signer.

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{self as sig, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};

static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: no_signer,
    verifier_factory: verifier,
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes [`RING_PROVIDER`] jsonwebtoken's process-wide provider. Called before any token is
/// decoded; true when it is (now or already) the one in use.
pub(super) fn install() -> bool {
    match RING_PROVIDER.install_default() {
        Ok(()) => true,
        Err(installed) => std::ptr::eq(installed, &RING_PROVIDER),
    }
}

fn no_signer(_: &Algorithm, _: &EncodingKey) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    Err(Error::from(ErrorKind::InvalidAlgorithm))
}

fn verifier(
    alg: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    let rsa = |params: &'static RsaParameters| (params as _, Some(params));
    let (scheme, rsa): (&'static dyn sig::VerificationAlgorithm, _) = match alg {
        Algorithm::RS256 => rsa(&sig::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => rsa(&sig::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => rsa(&sig::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => rsa(&sig::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => rsa(&sig::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => rsa(&sig::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => (&sig::ECDSA_P256_SHA256_FIXED, None),
        Algorithm::ES384 => (&sig::ECDSA_P384_SHA384_FIXED, None),
        Algorithm::EdDSA => (&sig::ED25519, None),
        // Shared secrets are never accepted (`jwks` keeps asymmetric keys only).
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return Err(Error::from(ErrorKind::InvalidAlgorithm));
        }
    };
    Ok(Box::new(RingVerifier {
        alg: *alg,
        scheme,
        rsa,
        key: key.kind().clone(),
    }))
}

struct RingVerifier {
    alg: Algorithm,
    scheme: &'static dyn sig::VerificationAlgorithm,
    /// The same scheme for RSA keys given as modulus and exponent.
    rsa: Option<&'static RsaParameters>,
    key: DecodingKeyKind,
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match &self.key {
            // A JWK's RSA modulus and exponent.
            DecodingKeyKind::RsaModulusExponent { n, e } => match self.rsa {
                Some(params) => RsaPublicKeyComponents { n, e }.verify(params, message, signature),
                None => return Err(signature::Error::new()),
            },
            // An uncompressed EC point, a raw Ed25519 key, or an RSA public key's DER.
            DecodingKeyKind::SecretOrDer(bytes) => {
                UnparsedPublicKey::new(self.scheme, bytes).verify(message, signature)
            }
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}
