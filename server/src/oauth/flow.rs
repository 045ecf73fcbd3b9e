//! The grants: authorization code with PKCE (S256) and the `resource` parameter (RFC
//! 8707), refresh, and client credentials; the token endpoint's client authentication
//! (none, `client_secret_basic`, `client_secret_post`, `private_key_jwt`); scope selection;
//! and the checks of the authorization response (`state`, RFC 9207 `iss`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::{
    OAuthError,
    client_id::{AUTH_BASIC, AUTH_POST, AUTH_PRIVATE_KEY_JWT, Registration},
    discovery::Discovered,
    tokens::{TokenAnswer, TokenSet},
};

/// The JWT bearer grant type (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The scope that asks for a refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// A random URL-safe string of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The S256 code challenge of `verifier`.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The scopes to ask for: the challenge's (joined with those asked before, for a step-up),
/// else the resource metadata's, else the configured ones; `offline_access` added when the
/// authorization server lists it. Empty means the parameter is omitted.
pub fn select_scopes(
    challenged: &[String],
    previous: &[String],
    discovered: &Discovered,
    configured: &[String],
) -> Vec<String> {
    let mut scopes: Vec<String> = if !challenged.is_empty() {
        let mut all = previous.to_vec();
        all.extend(challenged.iter().cloned());
        all
    } else if let Some(from_metadata) = discovered
        .resource_scopes
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        from_metadata.clone()
    } else {
        configured.to_vec()
    };
    if !scopes.is_empty()
        && discovered
            .server
            .scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|s| s == OFFLINE_ACCESS))
    {
        scopes.push(OFFLINE_ACCESS.into());
    }
    let mut seen = std::collections::HashSet::new();
    scopes.retain(|s| seen.insert(s.clone()));
    scopes
}

/// The browser URL of an authorization request.
pub fn authorization_url(
    endpoint: &str,
    client: &Registration,
    redirect_uri: &str,
    verifier: &str,
    state: &str,
    resource: &str,
    scopes: &[String],
) -> Result<String, OAuthError> {
    let mut url = reqwest::Url::parse(endpoint)
        .map_err(|e| OAuthError::Discovery(format!("authorization endpoint {endpoint}: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_challenge", &challenge_of(verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", state)
            .append_pair("resource", resource);
        if !scopes.is_empty() {
            query.append_pair("scope", &scopes.join(" "));
        }
    }
    Ok(url.into())
}

/// Check an authorization response against what was sent and the issuer recorded at
/// discovery (RFC 9207: a present `iss` must equal it exactly; an absent one is refused when
/// the server advertised it); the code.
pub fn check_response(
    params: &std::collections::HashMap<String, String>,
    state: &str,
    issuer: &str,
    iss_advertised: bool,
) -> Result<String, OAuthError> {
    if params.get("state").map(String::as_str) != Some(state) {
        return Err(OAuthError::Callback(
            "the state does not match this login".into(),
        ));
    }
    if let Some(error) = params.get("error") {
        let detail = params
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(OAuthError::Callback(format!(
            "the authorization server said {error}{detail}"
        )));
    }
    match params.get("iss") {
        Some(iss) if iss != issuer => {
            return Err(OAuthError::Callback(format!(
                "the response comes from issuer {iss}, not {issuer}"
            )));
        }
        None if iss_advertised => {
            return Err(OAuthError::Callback(
                "the authorization server promised an iss parameter and sent none".into(),
            ));
        }
        _ => {}
    }
    params
        .get("code")
        .cloned()
        .ok_or_else(|| OAuthError::Callback("no code in the response".into()))
}

/// A token request's grant.
pub enum GrantRequest<'a> {
    /// Exchange a code.
    Code {
        /// The code.
        code: &'a str,
        /// The redirect URI it was sent to.
        redirect_uri: &'a str,
        /// The PKCE verifier.
        verifier: &'a str,
    },
    /// Refresh.
    Refresh(&'a str),
    /// Client credentials.
    ClientCredentials,
    /// A JWT bearer assertion (RFC 7523 §2.1).
    JwtBearer(&'a str),
}

/// POST to the token endpoint; the token set.
#[expect(
    clippy::too_many_arguments,
    reason = "one token request: endpoint, issuer, client, key, grant, resource, scopes"
)]
pub async fn token_request(
    http: &reqwest::Client,
    endpoint: &str,
    issuer: &str,
    client: &Registration,
    private_key: Option<&str>,
    grant: GrantRequest<'_>,
    resource: &str,
    scopes: &[String],
) -> Result<TokenSet, OAuthError> {
    let mut form: Vec<(&str, String)> = Vec::new();
    let previous_refresh = match &grant {
        GrantRequest::Code {
            code,
            redirect_uri,
            verifier,
        } => {
            form.push(("grant_type", "authorization_code".into()));
            form.push(("code", code.to_string()));
            form.push(("redirect_uri", redirect_uri.to_string()));
            form.push(("code_verifier", verifier.to_string()));
            None
        }
        GrantRequest::Refresh(refresh) => {
            form.push(("grant_type", "refresh_token".into()));
            form.push(("refresh_token", refresh.to_string()));
            Some(refresh.to_string())
        }
        GrantRequest::ClientCredentials | GrantRequest::JwtBearer(_) => {
            if let GrantRequest::JwtBearer(assertion) = &grant {
                form.push(("grant_type", JWT_BEARER.into()));
                form.push(("assertion", assertion.to_string()));
            } else {
                form.push(("grant_type", "client_credentials".into()));
            }
            if !scopes.is_empty() {
                form.push(("scope", scopes.join(" ")));
            }
            None
        }
    };
    form.push(("resource", resource.to_string()));
    let response = post_form(http, endpoint, form, client, private_key, issuer)
        .await
        .map_err(OAuthError::Token)?;
    let status = response.status();
    if !status.is_success() {
        let detail: serde_json::Value = response.json().await.unwrap_or_default();
        let error = detail["error"].as_str().unwrap_or("no error code");
        return Err(OAuthError::Token(format!(
            "{endpoint}: HTTP {status} ({error})"
        )));
    }
    let answer: TokenAnswer = response
        .json()
        .await
        .map_err(|e| OAuthError::Token(format!("{endpoint}: {e}")))?;
    Ok(answer.into_set(scopes, previous_refresh))
}

/// Exchange the user's `id_token` at the enterprise IdP for an ID-JAG for `audience` (the
/// authorization server) and `resource` (RFC 8693, SEP-990).
pub async fn id_jag(
    http: &reqwest::Client,
    idp_token_endpoint: &str,
    idp_client_id: Option<&str>,
    id_token: &str,
    audience: &str,
    resource: &str,
    scopes: &[String],
) -> Result<String, OAuthError> {
    let mut form = vec![
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange".to_string(),
        ),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id-jag".into(),
        ),
        ("subject_token", id_token.to_string()),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token".into(),
        ),
        ("audience", audience.to_string()),
        ("resource", resource.to_string()),
    ];
    if let Some(id) = idp_client_id {
        form.push(("client_id", id.to_string()));
    }
    if !scopes.is_empty() {
        form.push(("scope", scopes.join(" ")));
    }
    let request = http
        .post(idp_token_endpoint)
        .header(reqwest::header::ACCEPT, "application/json");
    let response = with_form(request, &form)
        .send()
        .await
        .map_err(|e| OAuthError::Token(format!("{idp_token_endpoint}: {e}")))?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    match answer["access_token"].as_str() {
        Some(jag) if status.is_success() => Ok(jag.to_string()),
        _ => Err(OAuthError::Token(format!(
            "{idp_token_endpoint}: HTTP {status} ({})",
            answer["error"].as_str().unwrap_or("no ID-JAG")
        ))),
    }
}

/// Revoke `token` (RFC 7009); best effort.
pub async fn revoke(
    http: &reqwest::Client,
    endpoint: &str,
    issuer: &str,
    client: &Registration,
    private_key: Option<&str>,
    token: &str,
    hint: &str,
) -> Result<(), OAuthError> {
    let form = vec![
        ("token", token.to_string()),
        ("token_type_hint", hint.to_string()),
    ];
    let response = post_form(http, endpoint, form, client, private_key, issuer)
        .await
        .map_err(OAuthError::Token)?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(OAuthError::Token(format!(
            "{endpoint}: HTTP {}",
            response.status()
        )))
    }
}

/// POST `form` to `endpoint` with the client's authentication.
async fn post_form(
    http: &reqwest::Client,
    endpoint: &str,
    form: Vec<(&str, String)>,
    client: &Registration,
    private_key: Option<&str>,
    issuer: &str,
) -> Result<reqwest::Response, String> {
    let Some(key) = &client.dpop_key else {
        return post_form_once(http, endpoint, form, client, private_key, issuer, None).await;
    };
    let proof = |nonce: Option<&str>| {
        super::jwt::dpop_proof(key, "POST", endpoint, None, nonce).map_err(|e| e.to_string())
    };
    let first = post_form_once(
        http,
        endpoint,
        form.clone(),
        client,
        private_key,
        issuer,
        Some(proof(None)?),
    )
    .await?;
    // RFC 9449 §8: a server that wants a nonce answers 400 use_dpop_nonce with DPoP-Nonce.
    let nonce = first
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match nonce {
        Some(nonce) if first.status() == reqwest::StatusCode::BAD_REQUEST => {
            let proof = proof(Some(&nonce))?;
            post_form_once(
                http,
                endpoint,
                form,
                client,
                private_key,
                issuer,
                Some(proof),
            )
            .await
        }
        _ => Ok(first),
    }
}

/// One POST of `form` with the client's authentication (and a DPoP proof).
async fn post_form_once(
    http: &reqwest::Client,
    endpoint: &str,
    mut form: Vec<(&str, String)>,
    client: &Registration,
    private_key: Option<&str>,
    issuer: &str,
    dpop: Option<String>,
) -> Result<reqwest::Response, String> {
    let mut request = http
        .post(endpoint)
        .header(reqwest::header::ACCEPT, "application/json");
    match client.auth_method.as_str() {
        AUTH_BASIC => {
            let credentials = format!(
                "{}:{}",
                form_encode(&client.client_id),
                form_encode(client.client_secret.as_deref().unwrap_or_default())
            );
            request = request.header(
                reqwest::header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(credentials)),
            );
        }
        AUTH_POST => {
            form.push(("client_id", client.client_id.clone()));
            form.push((
                "client_secret",
                client.client_secret.clone().unwrap_or_default(),
            ));
        }
        AUTH_PRIVATE_KEY_JWT => {
            let key = private_key.ok_or("private_key_jwt needs oauth.private_key_pem")?;
            let assertion = super::jwt::client_assertion(key, &client.client_id, issuer)
                .map_err(|e| e.to_string())?;
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ));
            form.push(("client_assertion", assertion));
        }
        _ => form.push(("client_id", client.client_id.clone())),
    }
    if let Some(proof) = dpop {
        request = request.header("DPoP", proof);
    }
    with_form(request, &form)
        .send()
        .await
        .map_err(|e| format!("{endpoint}: {e}"))
}

/// `request` with `form` as its `application/x-www-form-urlencoded` body.
fn with_form(request: reqwest::RequestBuilder, form: &[(&str, String)]) -> reqwest::RequestBuilder {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    request
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_is_base64url_of_sha256() {
        // Python: base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()), unpadded.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mJ92K4xrqZZ9NqdQfgIXHPg2lBaE5s"),
            "iy3cL5SXKWsT8U4otQvmkIgJZ22Je9n6P-vj87hNjyw"
        );
        assert!(random_token(32).len() >= 43);
    }

    #[test]
    fn iss_is_compared_exactly() {
        let mut params = std::collections::HashMap::new();
        params.insert("state".to_string(), "s".to_string());
        params.insert("code".to_string(), "c".to_string());
        assert!(check_response(&params, "s", "http://as", false).is_ok());
        assert!(check_response(&params, "s", "http://as", true).is_err());
        params.insert("iss".to_string(), "http://as/".to_string());
        assert!(check_response(&params, "s", "http://as", false).is_err());
        params.insert("iss".to_string(), "http://as".to_string());
        assert!(check_response(&params, "s", "http://as", true).is_ok());
        assert!(check_response(&params, "other", "http://as", true).is_err());
    }
}
