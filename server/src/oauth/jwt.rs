//! JWTs this client signs: the `private_key_jwt` client assertion (RFC 7523 §2.2) with an
//! ES256 key from PKCS#8 PEM. Signing uses `ring` (already in the build through rustls).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

use super::OAuthError;

/// How long an assertion is valid.
const ASSERTION_LIFETIME_SECS: i64 = 300;

/// A signed client assertion: `iss` = `sub` = the client id, `aud` = the issuer.
pub fn client_assertion(pem: &str, client_id: &str, audience: &str) -> Result<String, OAuthError> {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
        "jti": super::flow::random_token(16),
    });
    sign_es256(pem, &json!({"alg": "ES256", "typ": "JWT"}), &claims)
}

/// `header.claims.signature` signed with the P-256 key in `pem`.
pub fn sign_es256(
    pem: &str,
    header: &serde_json::Value,
    claims: &serde_json::Value,
) -> Result<String, OAuthError> {
    let der = pem_to_der(pem)?;
    let rng = SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
        .map_err(|_| OAuthError::Token("the private key is not a PKCS#8 P-256 key".into()))?;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(&rng, input.as_bytes())
        .map_err(|_| OAuthError::Token("signing the client assertion failed".into()))?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

/// The DER bytes of a PEM block.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, OAuthError> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.trim().chars())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| OAuthError::Token("the private key is not PEM".into()))
}
