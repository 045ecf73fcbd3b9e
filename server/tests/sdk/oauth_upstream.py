"""An OAuth-protected MCP upstream written with the official Python SDK's auth support
(`MCPServer` with `AuthSettings` and a `TokenVerifier`: it serves the protected resource
metadata and answers 401 with `WWW-Authenticate: Bearer resource_metadata=…`), plus a small
in-test authorization server on the same port, for the upstream OAuth tests.

The authorization server (issuer `http://127.0.0.1:PORT`): RFC 8414 metadata, dynamic client
registration, an authorization endpoint that approves at once (302 to the redirect URI with
`code`, `state` and `iss`), a token endpoint (authorization code with PKCE S256 checked, and
refresh tokens) and RFC 7009 revocation. Access tokens live `--ttl` seconds.

Every event goes to the marker file, one line each, so a test can see what happened and
which token values must never show up anywhere: `register CLIENT_ID`, `authorize SCOPE`,
`token authorization_code ACCESS REFRESH`, `token refresh_token ACCESS REFRESH`,
`revoke HINT`, `refused EXPIRED|UNKNOWN`.

Usage: oauth_upstream.py --marker FILE [--ttl SECONDS]
  (binds 127.0.0.1:0, prints `READY http://127.0.0.1:PORT/mcp` once it accepts connections)
"""

import argparse
import base64
import hashlib
import secrets
import sys
import time
import warnings
from urllib.parse import urlencode

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from upstream import loopback_socket, serve_http  # the SDK matrix's upstream, same folder

warnings.simplefilter("ignore")


class State:
    def __init__(self, marker: str, ttl: int):
        self.marker = marker
        self.ttl = ttl
        self.codes = {}  # code -> (client_id, challenge, scope, resource)
        self.access = {}  # token -> (expires_at, scope, resource)
        self.refresh = {}  # token -> (scope, resource)

    def note(self, line: str) -> None:
        with open(self.marker, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def issue(self, grant: str, scope: str, resource: str) -> dict:
        access = "at-" + secrets.token_urlsafe(24)
        refresh = "rt-" + secrets.token_urlsafe(24)
        self.access[access] = (time.time() + self.ttl, scope, resource)
        self.refresh[refresh] = (scope, resource)
        self.note(f"token {grant} {access} {refresh}")
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": self.ttl,
                  "refresh_token": refresh}
        if scope:
            answer["scope"] = scope
        return answer


class Verifier:
    def __init__(self, state: State):
        self.state = state

    async def verify_token(self, token: str) -> AccessToken | None:
        entry = self.state.access.get(token)
        if entry is None:
            self.state.note("refused UNKNOWN")
            return None
        expires_at, scope, resource = entry
        if expires_at < time.time():
            self.state.note("refused EXPIRED")
            return None
        return AccessToken(token=token, client_id="c", scopes=scope.split(), expires_at=int(expires_at),
                           resource=resource)


def build(state: State, base: str) -> MCPServer:
    server = MCPServer(
        "oauth-upstream",
        token_verifier=Verifier(state),
        auth=AuthSettings(issuer_url=base, resource_server_url=f"{base}/mcp",
                          required_scopes=["mcp:tools"], validate_token_resource=False),
    )

    @server.tool()
    async def whoami() -> str:
        """Say that the caller got through."""
        return "signed in"

    @server.custom_route("/.well-known/oauth-authorization-server", methods=["GET"])
    async def metadata(_request: Request) -> Response:
        return JSONResponse({
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "registration_endpoint": f"{base}/register",
            "revocation_endpoint": f"{base}/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["mcp:tools"],
            "authorization_response_iss_parameter_supported": True,
        })

    @server.custom_route("/register", methods=["POST"])
    async def register(request: Request) -> Response:
        body = await request.json()
        client_id = "client-" + secrets.token_hex(4)
        state.note(f"register {client_id}")
        return JSONResponse({"client_id": client_id, "redirect_uris": body.get("redirect_uris", []),
                             "token_endpoint_auth_method": "none"}, status_code=201)

    @server.custom_route("/authorize", methods=["GET"])
    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        state.codes[code] = (q.get("client_id"), q["code_challenge"], q.get("scope", ""), q.get("resource", ""))
        state.note(f"authorize {q.get('scope', '')}")
        target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", ""), "iss": base})
        return RedirectResponse(target, status_code=302)

    @server.custom_route("/token", methods=["POST"])
    async def token(request: Request) -> Response:
        form = await request.form()
        grant = form.get("grant_type")
        if grant == "authorization_code":
            entry = state.codes.pop(form.get("code"), None)
            if entry is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            _client, challenge, scope, resource = entry
            verifier = form.get("code_verifier", "")
            computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if computed != challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            return JSONResponse(state.issue("authorization_code", scope, resource))
        if grant == "refresh_token":
            entry = state.refresh.pop(form.get("refresh_token"), None)
            if entry is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            scope, resource = entry
            return JSONResponse(state.issue("refresh_token", scope, resource))
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    @server.custom_route("/revoke", methods=["POST"])
    async def revoke(request: Request) -> Response:
        form = await request.form()
        value = form.get("token")
        state.access.pop(value, None)
        state.refresh.pop(value, None)
        state.note(f"revoke {form.get('token_type_hint', '')}")
        return Response(status_code=200)

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--marker", required=True)
    parser.add_argument("--ttl", type=int, default=3600)
    args = parser.parse_args()
    sock = loopback_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    anyio.run(serve_http, build(State(args.marker, args.ttl), base), sock)


if __name__ == "__main__":
    sys.exit(main())
