"""Local stand-ins for the chat services notifications go to, each checking every request against the
service's published format and answering as the service does:

- Slack incoming webhooks (api.slack.com/messaging/webhooks; attachment fields from "Reference:
  secondary message attachments"): POST JSON to /services/T/B/X; 200 "ok", or 400 "invalid_payload".
- Microsoft Teams through a Power Automate workflow ("Post to a channel when a webhook request is
  received"): POST to /workflows/ID/triggers/manual/paths/invoke with api-version, sp, sv and sig; a
  message whose attachment is an Adaptive Card (adaptivecards.io schema, version 1.0-1.6); 202, or 400.
- A generic webhook receiving apprise's JSON notification: {version "1.0", title, message, attachments,
  type in info|success|warning|failure}.

Served over HTTP, or HTTPS with a certificate made for 127.0.0.1 (Power Automate URLs are https only).
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SLACK_TOP = {"text", "blocks", "attachments", "thread_ts", "mrkdwn", "username", "icon_url", "icon_emoji",
             "channel", "unfurl_links", "unfurl_media"}
SLACK_ATTACHMENT = {"fallback", "color", "pretext", "author_name", "author_link", "author_icon", "title",
                    "title_link", "text", "fields", "image_url", "thumb_url", "footer", "footer_icon", "ts",
                    "mrkdwn_in", "blocks"}
CARD_ELEMENTS = {"TextBlock", "Image", "Container", "ColumnSet", "FactSet", "ImageSet", "ActionSet",
                 "RichTextBlock", "Table", "Media"}
JSON_TYPES = {"info", "success", "warning", "failure"}


def slack_problems(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["payload is not a JSON object"]
    problems = [f"unknown top-level field {key!r}" for key in body if key not in SLACK_TOP]
    if not (body.get("text") or body.get("blocks") or body.get("attachments")):
        problems.append("no text, blocks or attachments")
    for index, item in enumerate(body.get("attachments") or []):
        if not isinstance(item, dict):
            problems.append(f"attachments[{index}] is not an object")
            continue
        unknown = [key for key in item if key not in SLACK_ATTACHMENT]
        problems += [f"attachments[{index}]: unknown field {key!r}" for key in unknown]
        color = item.get("color")
        if color is not None and not re.fullmatch(r"#[0-9A-Fa-f]{6}|good|warning|danger", str(color)):
            problems.append(f"attachments[{index}].color {color!r} is not #RRGGBB, good, warning or danger")
        for key in ("title", "text", "footer", "fallback"):
            if key in item and not isinstance(item[key], str):
                problems.append(f"attachments[{index}].{key} is not a string")
        if "ts" in item and not isinstance(item["ts"], int | float | str):
            problems.append(f"attachments[{index}].ts is not a number")
    return problems


def teams_problems(body: Any, query: dict[str, list[str]]) -> list[str]:
    required = ("api-version", "sp", "sv", "sig")
    problems = [f"query parameter {name} missing" for name in required if name not in query]
    if not isinstance(body, dict) or body.get("type") != "message":
        return [*problems, "payload is not a message"]
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return [*problems, "a message needs attachments"]
    for index, item in enumerate(attachments):
        if item.get("contentType") != "application/vnd.microsoft.card.adaptive":
            problems.append(f"attachments[{index}].contentType is not an Adaptive Card")
            continue
        card = item.get("content") or {}
        if card.get("type") != "AdaptiveCard":
            problems.append(f"attachments[{index}].content.type is not AdaptiveCard")
        if not re.fullmatch(r"1\.[0-6]", str(card.get("version"))):
            problems.append(f"attachments[{index}].content.version {card.get('version')!r} is not 1.0-1.6")
        for number, element in enumerate(card.get("body") or []):
            kind = element.get("type") if isinstance(element, dict) else None
            if kind not in CARD_ELEMENTS:
                problems.append(f"card body[{number}] has unknown element type {kind!r}")
            elif kind == "TextBlock" and not isinstance(element.get("text"), str):
                problems.append(f"card body[{number}] TextBlock without text")
    return problems


def json_problems(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["payload is not a JSON object"]
    expected = {"version", "title", "message", "attachments", "type"}
    problems = [f"field {key!r}: not in apprise's JSON format" for key in body if key not in expected]
    problems += [f"field {key!r} missing" for key in expected if key not in body]
    if body.get("version") != "1.0":
        problems.append(f"version {body.get('version')!r} is not 1.0")
    if body.get("type") not in JSON_TYPES:
        problems.append(f"type {body.get('type')!r} is not one of {sorted(JSON_TYPES)}")
    return problems


class ChatStandIns:
    """Records what each service accepted (`slack`, `teams`, `webhook`) and every rejected request."""

    def __init__(self, certificate_dir: Path | None = None) -> None:
        self.slack: list[dict] = []
        self.teams: list[dict] = []
        self.webhook: list[dict] = []
        self.violations: list[str] = []
        self.fail_slack = False  # answer 500, as Slack does when it is down
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self.http = self._serve(None)
        self.certificate: Path | None = None
        if certificate_dir is not None:
            self.certificate = make_certificate(certificate_dir)
            self.https = self._serve(self.certificate)

    def _serve(self, certificate: Path | None) -> str:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, text = stand_in.receive(self.path, self.headers.get("Content-Type", ""), raw)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate, certificate.with_suffix(".key"))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)
        scheme = "https" if certificate else "http"
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    def receive(self, target: str, content_type: str, raw: bytes) -> tuple[int, str]:
        url = urlsplit(target)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not content_type.startswith("application/json"):
            return self._reject(target, [f"Content-Type {content_type!r} is not application/json"])
        if re.fullmatch(r"/services/[^/]+/[^/]+/[^/]+", url.path):
            if self.fail_slack:
                return 500, "internal_error"
            return self._accept(self.slack, body, target, slack_problems(body), 200, "ok")
        if re.fullmatch(r"/workflows/[^/]+/triggers/manual/paths/invoke", url.path):
            return self._accept(self.teams, body, target, teams_problems(body, parse_qs(url.query)), 202, "")
        if url.path == "/hook":
            return self._accept(self.webhook, body, target, json_problems(body), 200, "")
        return self._reject(target, ["no such endpoint"], 404)

    def _accept(self, inbox: list, body: Any, target: str, problems: list[str], status: int, text: str
                ) -> tuple[int, str]:
        if problems:
            return self._reject(target, problems)
        with self._lock:
            inbox.append(body)
        return status, text

    def _reject(self, target: str, problems: list[str], status: int = 400) -> tuple[int, str]:
        with self._lock:
            self.violations.append(f"{urlsplit(target).path}: {'; '.join(problems)}")
        return status, "invalid_payload"

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


def make_certificate(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (clients trust it through REQUESTS_CA_BUNDLE)."""
    certificate, key = directory / "standin.pem", directory / "standin.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )
    return certificate
