"""Helpers shared by the sandbox tests: a full login over HTTP and OpenAPI validation."""

from __future__ import annotations

import base64
import copy
import hashlib
import html.parser
import json
import secrets
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import yaml

from spotkit.sandbox import Sandbox

DATA = Path(__file__).parent / "data"
ALL_SCOPES = ("user-read-private user-read-email user-read-currently-playing "
              "user-read-playback-state user-modify-playback-state user-read-recently-played")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class FormParser(html.parser.HTMLParser):
    """The consent page's form: action, hidden fields, buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}  # label -> (name, value)
        self._button: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            self._button = (a.get("name", ""), a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.buttons[data.strip()] = self._button
            self._button = None


def parse_form(page: str) -> FormParser:
    parser = FormParser()
    parser.feed(page)
    return parser


def authorize_params(sb: Sandbox, challenge: str | None, scope: str = ALL_SCOPES,
                     redirect_uri: str | None = None, **extra: str) -> dict[str, str]:
    params = {"client_id": sb.client_id, "response_type": "code",
              "redirect_uri": redirect_uri or sb.redirect_uri, "state": "st-" + secrets.token_hex(4),
              "scope": scope}
    if challenge is not None:
        params.update(code_challenge_method="S256", code_challenge=challenge)
    params.update(extra)
    return params


def get_code(sb: Sandbox, session: requests.Session, params: dict[str, str],
             decision: str = "Agree") -> dict[str, str]:
    """GET /authorize, press `decision` on the consent page; the redirect's query parameters."""
    r = session.get(sb.accounts_url + "/authorize", params=params, allow_redirects=False)
    if r.status_code == 200:
        form = parse_form(r.text)
        assert form.action == "/authorize/decision"
        name, value = form.buttons[decision]
        r = session.post(sb.accounts_url + form.action, data={**form.fields, name: value},
                         allow_redirects=False)
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.startswith(params["redirect_uri"])
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def login(sb: Sandbox, session: requests.Session | None = None,
          scope: str = ALL_SCOPES) -> dict[str, Any]:
    """A full PKCE login over HTTP; the token answer."""
    session = session or requests.Session()
    verifier, challenge = pkce_pair()
    params = authorize_params(sb, challenge, scope)
    code = get_code(sb, session, params)["code"]
    r = session.post(sb.accounts_url + "/api/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": params["redirect_uri"],
        "client_id": sb.client_id, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    return dict(r.json())


def bearer(token: dict[str, Any] | str) -> dict[str, str]:
    value = token if isinstance(token, str) else token["access_token"]
    return {"Authorization": f"Bearer {value}"}


@cache
def openapi() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(DATA / "openapi.yml", encoding="utf-8") as fh:
        return dict(yaml.load(fh, Loader=loader))


def _without_discriminators(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_discriminators(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_without_discriminators(v) for v in node]
    return node


@cache
def _components() -> dict[str, Any]:
    # Spec quirk: `item` is oneOf TrackObject | EpisodeObject with `discriminator: {propertyName:
    # type}` but no mapping, so the validator looks for schemas named "track" / "episode" that do
    # not exist. The discriminator is dropped; `type`'s enum in each schema still tells them apart.
    return dict(_without_discriminators(openapi()["components"]))


def _deprecated_names(schema: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    names = {k for k, v in schema.get("properties", {}).items() if v.get("deprecated")}
    for part in schema.get("allOf", ()):
        ref = part.get("$ref")
        names |= _deprecated_names(schemas[ref.rsplit("/", 1)[-1]] if ref else part, schemas)
    return names


@cache
def _dev_mode_components() -> dict[str, Any]:
    # A development-mode app gets objects without the fields marked deprecated in 2026
    # (popularity, available_markets, followers...), even where the spec still lists them as
    # required: those names are dropped from `required`, everything else is checked as written.
    components = copy.deepcopy(_components())
    schemas = components["schemas"]

    def relax(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("required"), list):
                gone = _deprecated_names(node, schemas)
                node["required"] = [n for n in node["required"] if n not in gone]
                if not node["required"]:
                    del node["required"]
            for value in node.values():
                relax(value)
        elif isinstance(node, list):
            for value in node:
                relax(value)

    relax(schemas)
    return components


def validate(body: Any, schema_name: str, *, dev_mode: bool = False) -> None:
    """Validate `body` against components/schemas/<schema_name> of tests/data/openapi.yml;
    `dev_mode`: as a development-mode app gets it (deprecated fields may be absent)."""
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    components = _dev_mode_components() if dev_mode else _components()
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    OAS30Validator(root, format_checker=oas30_format_checker).validate(body)


def response_schema(path: str, method: str = "get", status: str = "200") -> str:
    """The schema name an operation's response refers to (through components/responses)."""
    op = openapi()["paths"][path][method]
    ref = op["responses"][status]["$ref"].rsplit("/", 1)[-1]
    schema = openapi()["components"]["responses"][ref]["content"]["application/json"]["schema"]
    return str(schema["$ref"].rsplit("/", 1)[-1])


def error_body(r: requests.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def load_example(name: str) -> Any:
    return json.loads((DATA / "examples" / name).read_text(encoding="utf-8"))
