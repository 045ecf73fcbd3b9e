//! JWTs this client signs: the `private_key_jwt` client assertion (RFC 7523 §2.2) with an
//! ES256 key from PKCS#8 PEM, and DPoP proofs (RFC 9449 §4.2) with the client's own P-256
//! key. Signing uses `ring` (already in the build through rustls).

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

/// A new P-256 key for DPoP, as base64 PKCS#8.
pub fn new_dpop_key() -> Result<String, OAuthError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| OAuthError::Token("cannot make a DPoP key".into()))?;
    Ok(STANDARD.encode(pkcs8.as_ref()))
}

/// A DPoP proof for `htm` `htu` with the key `key` (base64 PKCS#8): for a resource request
/// `token` is the access token (its hash goes in `ath`); `nonce` when a server asked.
pub fn dpop_proof(
    key: &str,
    htm: &str,
    htu: &str,
    token: Option<&str>,
    nonce: Option<&str>,
) -> Result<String, OAuthError> {
    use sha2::Digest;
    let der = STANDARD
        .decode(key)
        .map_err(|_| OAuthError::Token("the DPoP key is unreadable".into()))?;
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
        .map_err(|_| OAuthError::Token("the DPoP key is unreadable".into()))?;
    // The public key is 0x04 || X || Y (uncompressed point).
    let point = ring::signature::KeyPair::public_key(&pair).as_ref();
    let (x, y) = point
        .get(1..)
        .unwrap_or_default()
        .split_at(32.min(point.len().saturating_sub(1)));
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {
        "kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)}});
    // htu without query or fragment (RFC 9449 §4.2).
    let htu = htu.split(['?', '#']).next().unwrap_or(htu);
    let mut claims = json!({
        "jti": super::flow::random_token(16),
        "htm": htm,
        "htu": htu,
        "iat": chrono::Utc::now().timestamp(),
    });
    if let Some(token) = token {
        claims["ath"] = json!(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes())));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    sign_der(&pair, &rng, &header, &claims)
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
    sign_der(&key, &rng, header, claims)
}

fn sign_der(
    key: &EcdsaKeyPair,
    rng: &SystemRandom,
    header: &serde_json::Value,
    claims: &serde_json::Value,
) -> Result<String, OAuthError> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .sign(rng, input.as_bytes())
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
