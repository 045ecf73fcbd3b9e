//! Agent tokens → wire types. The secret appears only in [`created`]; the hash never.

use chrono::Utc;
use mcpproxy_api::types;

use crate::app::{CreatedToken, NewToken, Tier, TokenRecord, permissions_of};

/// The request as the application takes it.
pub fn new_token(body: types::TokenCreateRequest) -> NewToken {
    NewToken {
        name: body.name,
        allowed_servers: body.allowed_servers,
        permissions: body
            .permissions
            .map(|p| p.iter().map(|t| t.to_string()).collect()),
        expires_in: body.expires_in,
    }
}

fn permissions(tier: Tier) -> Vec<types::TokenPermission> {
    permissions_of(tier)
        .into_iter()
        .map(|t| match t {
            Tier::Read => types::TokenPermission::Read,
            Tier::Write => types::TokenPermission::Write,
            Tier::Destructive => types::TokenPermission::Destructive,
        })
        .collect()
}

/// `POST /api/v1/tokens`.
pub fn created(token: CreatedToken) -> types::TokenCreateResponse {
    let r = token.record;
    types::TokenCreateResponse {
        success: true,
        data: types::TokenCreated {
            name: r.name,
            token: token.secret,
            token_prefix: r.prefix,
            allowed_servers: r.allowed_servers,
            permissions: permissions(r.tier),
            expires_at: r.expires_at,
            created_at: r.created_at,
        },
    }
}

/// A token's metadata.
pub fn info(r: TokenRecord) -> types::TokenInfo {
    types::TokenInfo {
        expired: r.expires_at <= Utc::now(),
        name: r.name,
        token_prefix: r.prefix,
        allowed_servers: r.allowed_servers,
        permissions: permissions(r.tier),
        expires_at: r.expires_at,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
    }
}

/// `GET /api/v1/tokens`.
pub fn list(tokens: Vec<TokenRecord>) -> types::TokenListResponse {
    types::TokenListResponse {
        success: true,
        data: types::TokenList {
            tokens: tokens.into_iter().map(info).collect(),
        },
    }
}
