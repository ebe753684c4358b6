"""Daisy's Python client: capture, the admin API and webhook verification.

One module, standard library only, Python 3.9+. Copy this file into a project
or `pip install clients/python`.

    from daisy_client import Daisy
    capture = Daisy("https://daisy.example.org", key="dpk_...")
    capture.track("page interaction", "pageview", {"host": "example.org", "path": "/"})

    admin = Daisy("https://daisy.example.org", token="dsy_admin_...")
    for response in admin.iter_responses(form_id):
        ...

Every route the client calls is listed in ROUTES (method, path template,
query parameters, headers and body fields); a test checks that table against
the server's /openapi.json.
"""

import base64
import datetime as _dt
import email.utils
import gzip
import hashlib
import hmac
import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Union

__all__ = [
    "Daisy", "verify_webhook", "ROUTES", "Route",
    "DaisyError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
    "ValidationFailed", "RateLimited", "ServerError", "ConnectionFailed",
]

__version__ = "0.1.0"

USER_AGENT = "daisy-python/" + __version__
MAX_BATCH = 10000          # the server's limit of events in one batch
GZIP_MIN_BYTES = 1024      # event bodies at least this large are sent gzipped
MAX_RETRY_WAIT = 60.0      # a Retry-After longer than this is not waited for


# --------------------------------------------------------------------------
# Errors


class DaisyError(Exception):
    """An error reply (an RFC 9457 problem document) or a failed request.

    `status` is the HTTP status (None when no reply came), `type` the problem
    type (`urn:daisy:problem:<slug>`), `title`, `detail`, `errors` the list of
    `{"field", "message"}` of a 422, and `problem` the whole document (a batch
    of events none of which was accepted also has `accepted`, `ids` and
    `rejected` there).
    """

    def __init__(self, status: Optional[int], type: str = "", title: str = "", detail: str = "",
                 errors: Optional[List[Dict[str, str]]] = None, problem: Optional[Dict[str, Any]] = None,
                 request_id: Optional[str] = None):
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors = list(errors or [])
        self.problem = dict(problem or {})
        self.request_id = request_id
        text = "%s %s" % (status if status is not None else "-", title or type)
        if detail:
            text += ": " + detail
        if self.errors:
            text += " (" + "; ".join("%s: %s" % (e.get("field", ""), e.get("message", "")) for e in self.errors) + ")"
        super().__init__(text)

    @property
    def fields(self) -> List[str]:
        """The names of the offending fields listed in `errors`."""
        return [e.get("field", "") for e in self.errors]


class BadRequest(DaisyError):
    """400: the request could not be read (malformed JSON, gzip, ...)."""


class Unauthorized(DaisyError):
    """401: no token, or one that is unknown, rotated or deleted."""


class Forbidden(DaisyError):
    """403: the token may not do this (e.g. a publishable key reading data)."""


class NotFound(DaisyError):
    """404: no such route or record."""


class Conflict(DaisyError):
    """409: the record's state forbids it (an archived form, an ended job, ...)."""


class ValidationFailed(DaisyError):
    """422: the body or query was refused; `errors` names each field."""


class RateLimited(DaisyError):
    """429: the key's rate limit; `retry_after` is the seconds to wait (or None)."""

    def __init__(self, *args, retry_after: Optional[float] = None, **kwargs):
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class ServerError(DaisyError):
    """5xx: the server failed or is overloaded; `retry_after` when it said so."""

    def __init__(self, *args, retry_after: Optional[float] = None, **kwargs):
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class ConnectionFailed(DaisyError):
    """No reply: the connection failed or timed out (`status` is None)."""


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
              422: ValidationFailed, 429: RateLimited}


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return max(0.0, (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())


def _error_from_reply(status: int, headers: Mapping[str, str], body: bytes) -> DaisyError:
    """The typed error for an error reply; tolerates a body that is not a problem document."""
    problem: Dict[str, Any] = {}
    try:
        parsed = json.loads(body.decode("utf-8")) if body else {}
        if isinstance(parsed, dict):
            problem = parsed
    except (UnicodeDecodeError, ValueError):
        problem = {"detail": body[:500].decode("utf-8", "replace")}
    kwargs = dict(type=str(problem.get("type", "")), title=str(problem.get("title", "")),
                  detail=str(problem.get("detail", "")), errors=problem.get("errors") or [],
                  problem=problem, request_id=headers.get("X-Request-Id"))
    if status == 429 or status >= 500:
        cls = RateLimited if status == 429 else ServerError
        return cls(status, retry_after=_retry_after(headers.get("Retry-After")), **kwargs)
    return _BY_STATUS.get(status, DaisyError)(status, **kwargs)


# --------------------------------------------------------------------------
# The routes the client calls


class Route(NamedTuple):
    """One operation of Daisy's API as the client calls it.

    `body` lists the request-body fields the client may send; `events[].id`
    is the `id` field of each item of the `events` array.
    """
    method: str
    path: str
    query: Sequence[str] = ()
    headers: Sequence[str] = ()
    body: Sequence[str] = ()


_PAGE = ("limit", "after")
_EVENT = ("id", "session_id", "category", "name", "timestamp", "data")
_FORM = ("title", "description", "metadata", "questions", "rules")
_INTEGRATION_PATCH = ("name", "on", "mode", "config", "retry", "enabled")

ROUTES: Dict[str, Route] = {
    # apps (admin token)
    "create_app": Route("POST", "/v1/apps", body=("name",)),
    "list_apps": Route("GET", "/v1/apps", query=_PAGE),
    "get_app": Route("GET", "/v1/apps/{id}"),
    "update_app": Route("PATCH", "/v1/apps/{id}",
                        body=("unknown_event_types", "allowed_origins", "forms", "rate_limit")),
    "delete_app": Route("DELETE", "/v1/apps/{id}"),
    "rotate_app_token": Route("POST", "/v1/apps/{id}/token"),
    "rotate_publishable_key": Route("POST", "/v1/apps/{id}/publishable-key"),
    # forms (admin token)
    "create_form": Route("POST", "/v1/forms", body=_FORM),
    "list_forms": Route("GET", "/v1/forms", query=_PAGE),
    "get_form": Route("GET", "/v1/forms/{id}"),
    "update_form": Route("PATCH", "/v1/forms/{id}", body=_FORM),
    "archive_form": Route("DELETE", "/v1/forms/{id}"),
    # responses
    "submit": Route("POST", "/v1/forms/{id}/responses", headers=("Idempotency-Key",),
                    body=("answers", "metadata", "submitted_at")),
    "list_responses": Route("GET", "/v1/forms/{id}/responses",
                            query=_PAGE + ("status", "since", "until")),
    "get_response": Route("GET", "/v1/forms/{id}/responses/{rid}"),
    "correct_response": Route("PUT", "/v1/forms/{id}/responses/{rid}", body=("answers",)),
    "response_revisions": Route("GET", "/v1/forms/{id}/responses/{rid}/revisions"),
    "export_responses": Route("GET", "/v1/forms/{id}/responses/export", query=("format", "formulas")),
    # events
    "send_events": Route("POST", "/v1/events", headers=("Content-Encoding",),
                         body=_EVENT + ("events",) + tuple("events[].%s" % f for f in _EVENT)),
    "list_events": Route("GET", "/v1/events",
                         query=("session_id", "category", "name", "app_id", "since", "until") + _PAGE),
    "get_session": Route("GET", "/v1/sessions/{session_id}", query=_PAGE),
    "list_event_types": Route("GET", "/v1/event-types", query=_PAGE),
    "get_event_type": Route("GET", "/v1/event-types/{category}/{name}"),
    "put_event_type": Route("PUT", "/v1/event-types/{category}/{name}", body=("schema",)),
    "delete_event_type": Route("DELETE", "/v1/event-types/{category}/{name}"),
    # integrations (admin token)
    "create_integration": Route("POST", "/v1/integrations",
                                body=("name", "source", "on", "type", "mode", "config", "retry", "enabled")),
    "list_integrations": Route("GET", "/v1/integrations", query=_PAGE),
    "get_integration": Route("GET", "/v1/integrations/{id}"),
    "update_integration": Route("PATCH", "/v1/integrations/{id}", body=_INTEGRATION_PATCH),
    "delete_integration": Route("DELETE", "/v1/integrations/{id}"),
    "rotate_integration_secret": Route("POST", "/v1/integrations/{id}/secret"),
    "replay_integration": Route("POST", "/v1/integrations/{id}/replay", body=("since", "until")),
    "test_integration": Route("POST", "/v1/integrations/{id}/test", body=("record",)),
    # jobs (admin token)
    "list_jobs": Route("GET", "/v1/jobs", query=("status", "integration_id", "source_id") + _PAGE),
    "get_job": Route("GET", "/v1/jobs/{id}"),
    "retry_job": Route("POST", "/v1/jobs/{id}/retry"),
    "cancel_job": Route("POST", "/v1/jobs/{id}/cancel"),
}


# --------------------------------------------------------------------------
# Helpers


def _iso(value: Union[None, str, _dt.datetime, _dt.date, int, float]) -> Optional[str]:
    """ISO 8601 text for a time: a string is sent as is, a naive datetime is taken as UTC,
    a number is seconds since the Unix epoch."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        value = value.astimezone(_dt.timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise TypeError("a time must be a str, datetime, date or number, not %s" % type(value).__name__)


def _now() -> str:
    return _iso(_dt.datetime.now(_dt.timezone.utc))


def _body_field_names(body: Mapping[str, Any]) -> List[str]:
    names = []
    for key, value in body.items():
        names.append(key)
        if key == "events" and isinstance(value, list):
            for item in value:
                names.extend("events[].%s" % k for k in item)
    return names


# --------------------------------------------------------------------------
# The client


class Daisy:
    """A client of one Daisy server.

    `token` is the admin token or an app's secret token (`dsy_app_...`);
    `key` is an app's publishable key (`dpk_...`). Capture calls (`track`,
    `track_batch`, `submit`) use `key` when given, else `token`; every other
    call uses `token` (or `key`, which the server answers with Forbidden).

    Only idempotent requests are retried, up to `retries` times with
    exponential back-off (`backoff` seconds doubled each time, with jitter,
    or the server's Retry-After): GETs, event posts (every event carries an
    id) and submissions (which carry an Idempotency-Key), on a connection
    failure or timeout, a 429 or a 503. Other errors raise at once.
    `session_id` is the session that `track` uses by default (a new UUID).
    """

    def __init__(self, host: str, token: Optional[str] = None, key: Optional[str] = None,
                 timeout: float = 10.0, retries: int = 3, *, backoff: float = 0.5,
                 session_id: Optional[str] = None):
        if "://" not in host:
            host = "http://" + host
        self.host = host.rstrip("/")
        self.token = token
        self.key = key
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.session_id = session_id or str(uuid.uuid4())

    def __repr__(self) -> str:
        return "Daisy(%r)" % self.host

    # ---- transport

    def _url(self, route: Route, params: Mapping[str, str], query: Optional[Mapping[str, Any]]) -> str:
        path = route.path
        for name, value in params.items():
            path = path.replace("{%s}" % name, urllib.parse.quote(str(value), safe=""))
        if "{" in path:
            raise ValueError("missing path parameter in %s" % route.path)
        url = self.host + path
        if query:
            pairs = []
            for name, value in query.items():
                if value is None:
                    continue
                if name not in route.query:
                    raise TypeError("%s %s takes no query parameter %r" % (route.method, route.path, name))
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif not isinstance(value, (str, int, float)):
                    value = _iso(value)
                pairs.append((name, str(value)))
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        return url

    def _call(self, name: str, params: Optional[Mapping[str, str]] = None, *,
              query: Optional[Mapping[str, Any]] = None, body: Any = None,
              headers: Optional[Mapping[str, str]] = None, credential: Optional[str] = None,
              retry: Optional[bool] = None, raw: bool = False, gzip_body: bool = False) -> Any:
        """Calls ROUTES[name]; answers the decoded JSON (None for 204, bytes when `raw`).

        Refuses (TypeError) a body field, query parameter or header that the
        route does not list, so ROUTES stays the whole truth of what is sent.
        """
        route = ROUTES[name]
        url = self._url(route, params or {}, query)
        send_headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*"}
        cred = credential if credential is not None else (self.token or self.key)
        if cred:
            send_headers["Authorization"] = "Bearer " + cred
        for hname, hvalue in (headers or {}).items():
            if hname not in route.headers:
                raise TypeError("%s %s takes no header %r" % (route.method, route.path, hname))
            send_headers[hname] = hvalue
        data = None
        if body is not None:
            if isinstance(body, Mapping):
                unknown = [f for f in _body_field_names(body) if f not in route.body]
                if unknown:
                    raise TypeError("%s %s takes no field %s" % (route.method, route.path, ", ".join(unknown)))
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            send_headers["Content-Type"] = "application/json"
            if gzip_body and len(data) >= GZIP_MIN_BYTES and "Content-Encoding" in route.headers:
                data = gzip.compress(data, mtime=0)
                send_headers["Content-Encoding"] = "gzip"
        if retry is None:
            retry = route.method == "GET"
        return self._send(route.method, url, data, send_headers, retry, raw)

    def _send(self, method: str, url: str, data: Optional[bytes], headers: Dict[str, str],
              retry: bool, raw: bool) -> Any:
        attempt = 0
        while True:
            wait: Optional[float] = None
            try:
                request = urllib.request.Request(url, data=data, headers=headers, method=method)
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    payload = reply.read()
                    if raw:
                        return payload
                    if reply.status == 204 or not payload:
                        return None
                    return json.loads(payload.decode("utf-8"))
            except urllib.error.HTTPError as exc:
                try:
                    payload = exc.read()
                except (OSError, http.client.HTTPException):
                    payload = b""
                error = _error_from_reply(exc.code, exc.headers or {}, payload)
                if not retry or attempt >= self.retries or exc.code not in (429, 503):
                    raise error from None
                wait = getattr(error, "retry_after", None)
                if wait is not None and wait > MAX_RETRY_WAIT:
                    raise error from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if not retry or attempt >= self.retries:
                    reason = getattr(exc, "reason", exc)
                    raise ConnectionFailed(None, type="connection-failed", title="Connection failed",
                                           detail="%s %s: %s" % (method, url, reason)) from exc
            if wait is None:
                wait = self.backoff * (2 ** attempt) * random.uniform(0.5, 1.5)
            attempt += 1
            time.sleep(wait)

    def _pages(self, name: str, params: Optional[Mapping[str, str]], query: Dict[str, Any],
               items_key: str = "items") -> Iterator[Dict[str, Any]]:
        """Yields every item of a paged listing, following `next_cursor` as `after`."""
        query = dict(query)
        while True:
            page = self._call(name, params, query=query)
            items = page.get(items_key) or []
            for item in items:
                yield item
            cursor = page.get("next_cursor")
            if not cursor or not items:
                return
            query["after"] = cursor

    # ---- capture

    def _event(self, event: Mapping[str, Any]) -> Dict[str, Any]:
        out = {
            "id": str(event.get("id") or uuid.uuid4()),
            "session_id": str(event.get("session_id") or self.session_id),
            "category": event["category"],
            "name": event["name"],
            "timestamp": _iso(event.get("timestamp")) or _now(),
            "data": event.get("data") if event.get("data") is not None else {},
        }
        extra = set(event) - set(out)
        if extra:
            raise TypeError("an event has no field %s" % ", ".join(sorted(extra)))
        return out

    def track(self, category: str, name: str, data: Optional[Mapping[str, Any]] = None,
              session_id: Optional[str] = None, id: Optional[str] = None,
              timestamp: Union[None, str, _dt.datetime, float] = None) -> Dict[str, Any]:
        """Sends one event; answers `{"id", "actions"}`.

        The event gets a UUID made here unless `id` is given, so a retry (made
        by this client or by the caller with the same id) is stored once.
        `timestamp` defaults to now, `session_id` to the client's.
        """
        event = self._event({"category": category, "name": name, "data": data,
                             "session_id": session_id, "id": id, "timestamp": timestamp})
        return self._call("send_events", body=event, credential=self.key or self.token, retry=True)

    def track_batch(self, events: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        """Sends up to 10,000 events in one request; answers `{"accepted", "ids", "rejected", "actions"}`.

        Each event is a dict with `category`, `name` and optionally `data`,
        `session_id`, `id` and `timestamp` (defaults as in `track`). Large
        bodies are gzipped. Raises ValidationFailed when no event was accepted
        (its `problem` holds `rejected`).
        """
        if not events:
            raise ValueError("track_batch needs at least one event")
        if len(events) > MAX_BATCH:
            raise ValueError("a batch holds at most %d events" % MAX_BATCH)
        body = {"events": [self._event(e) for e in events]}
        return self._call("send_events", body=body, credential=self.key or self.token,
                          retry=True, gzip_body=True)

    def submit(self, form_id: str, answers: Mapping[str, Any], idempotency_key: Optional[str] = None, *,
               metadata: Optional[Mapping[str, Any]] = None,
               submitted_at: Union[None, str, _dt.datetime] = None) -> Dict[str, Any]:
        """Submits a response to a form; answers the stored `FormResponse`.

        Sent with an `Idempotency-Key` (a new UUID unless given) that its
        retries reuse, so the response is stored once; calling again with the
        same key and answers answers the stored response.
        """
        body: Dict[str, Any] = {"answers": dict(answers)}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if submitted_at is not None:
            body["submitted_at"] = _iso(submitted_at)
        key = idempotency_key or str(uuid.uuid4())
        return self._call("submit", {"id": form_id}, body=body, headers={"Idempotency-Key": key},
                          credential=self.key or self.token, retry=True)

    # ---- apps

    def create_app(self, name: str) -> Dict[str, Any]:
        """Creates an app; the reply holds its secret `token` (shown only here) and `publishable_key`."""
        return self._call("create_app", body={"name": name})

    def get_app(self, app_id: str) -> Dict[str, Any]:
        return self._call("get_app", {"id": app_id})

    def list_apps(self, limit: Optional[int] = None, after: Optional[str] = None) -> Dict[str, Any]:
        """One page: `{"items", "next_cursor"}`."""
        return self._call("list_apps", query={"limit": limit, "after": after})

    def iter_apps(self, limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        return self._pages("list_apps", None, {"limit": limit})

    def update_app(self, app_id: str, **settings: Any) -> Dict[str, Any]:
        """PATCHes the app's settings: `unknown_event_types`, `allowed_origins`, `forms`, `rate_limit`."""
        return self._call("update_app", {"id": app_id}, body=settings)

    patch_app = update_app

    def delete_app(self, app_id: str) -> None:
        self._call("delete_app", {"id": app_id})

    def rotate_app_token(self, app_id: str) -> Dict[str, Any]:
        """Issues a new secret token (in `token`); the old one stops working at once."""
        return self._call("rotate_app_token", {"id": app_id})

    def rotate_publishable_key(self, app_id: str) -> Dict[str, Any]:
        """Issues a new publishable key (in `publishable_key`); the old one stops working at once."""
        return self._call("rotate_publishable_key", {"id": app_id})

    # ---- forms

    def create_form(self, title: str, questions: Sequence[Mapping[str, Any]], *,
                    description: Optional[str] = None, metadata: Optional[Mapping[str, Any]] = None,
                    rules: Optional[Sequence[Mapping[str, Any]]] = None) -> Dict[str, Any]:
        """Creates a form at version 1; answers the `Form`."""
        body: Dict[str, Any] = {"title": title, "questions": list(questions)}
        for field, value in (("description", description), ("metadata", metadata), ("rules", rules)):
            if value is not None:
                body[field] = value
        return self._call("create_form", body=body)

    def get_form(self, form_id: str) -> Dict[str, Any]:
        return self._call("get_form", {"id": form_id})

    def list_forms(self, limit: Optional[int] = None, after: Optional[str] = None) -> Dict[str, Any]:
        return self._call("list_forms", query={"limit": limit, "after": after})

    def iter_forms(self, limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        return self._pages("list_forms", None, {"limit": limit})

    def update_form(self, form_id: str, **changes: Any) -> Dict[str, Any]:
        """PATCHes the form: any of `title`, `description`, `metadata`, `questions`, `rules` (None clears)."""
        return self._call("update_form", {"id": form_id}, body=changes)

    def archive_form(self, form_id: str) -> Dict[str, Any]:
        """Archives the form (DELETE; nothing is deleted); answers it with `status: archived`."""
        return self._call("archive_form", {"id": form_id})

    # ---- responses

    def list_responses(self, form_id: str, *, status: Optional[str] = None, since: Any = None,
                       until: Any = None, limit: Optional[int] = None,
                       after: Optional[str] = None) -> Dict[str, Any]:
        return self._call("list_responses", {"id": form_id}, query={
            "status": status, "since": since, "until": until, "limit": limit, "after": after})

    def iter_responses(self, form_id: str, *, status: Optional[str] = None, since: Any = None,
                       until: Any = None, limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        """Every response of the form in arrival order, page after page (`limit` a page)."""
        return self._pages("list_responses", {"id": form_id}, {
            "status": status, "since": since, "until": until, "limit": limit})

    def get_response(self, form_id: str, response_id: str) -> Dict[str, Any]:
        return self._call("get_response", {"id": form_id, "rid": response_id})

    def correct_response(self, form_id: str, response_id: str, answers: Mapping[str, Any]) -> Dict[str, Any]:
        """Replaces the response's answers (PUT) as a new revision; answers the response."""
        return self._call("correct_response", {"id": form_id, "rid": response_id},
                          body={"answers": dict(answers)}, credential=self.token or self.key)

    def response_revisions(self, form_id: str, response_id: str) -> Dict[str, Any]:
        return self._call("response_revisions", {"id": form_id, "rid": response_id})

    def export_responses(self, form_id: str, format: str = "csv", formulas: Optional[str] = None) -> bytes:
        """The whole export as bytes: `format` is `csv`, `ndjson` or `xlsx`; `formulas` `escape` or `keep` (csv)."""
        return self._call("export_responses", {"id": form_id},
                          query={"format": format, "formulas": formulas}, raw=True)

    # ---- events

    def list_events(self, *, session_id: Optional[str] = None, category: Optional[str] = None,
                    name: Optional[str] = None, app_id: Optional[str] = None, since: Any = None,
                    until: Any = None, limit: Optional[int] = None, after: Optional[str] = None) -> Dict[str, Any]:
        return self._call("list_events", query={
            "session_id": session_id, "category": category, "name": name, "app_id": app_id,
            "since": since, "until": until, "limit": limit, "after": after})

    def iter_events(self, *, session_id: Optional[str] = None, category: Optional[str] = None,
                    name: Optional[str] = None, app_id: Optional[str] = None, since: Any = None,
                    until: Any = None, limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        """Every matching event in timestamp order, page after page (`limit` a page)."""
        return self._pages("list_events", None, {
            "session_id": session_id, "category": category, "name": name, "app_id": app_id,
            "since": since, "until": until, "limit": limit})

    def session(self, session_id: str, limit: Optional[int] = None) -> Dict[str, Any]:
        """The session (`count`, `first_timestamp`, `last_timestamp`) with all its events in `events`,
        read page after page; `next_cursor` is None."""
        query: Dict[str, Any] = {"limit": limit}
        first = self._call("get_session", {"session_id": session_id}, query=query)
        page = first
        while page.get("next_cursor") and page.get("events"):
            query["after"] = page["next_cursor"]
            page = self._call("get_session", {"session_id": session_id}, query=query)
            first["events"].extend(page.get("events") or [])
        first["next_cursor"] = None
        return first

    def list_event_types(self, limit: Optional[int] = None, after: Optional[str] = None) -> Dict[str, Any]:
        return self._call("list_event_types", query={"limit": limit, "after": after})

    def iter_event_types(self, limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        return self._pages("list_event_types", None, {"limit": limit})

    def get_event_type(self, category: str, name: str) -> Dict[str, Any]:
        return self._call("get_event_type", {"category": category, "name": name})

    def put_event_type(self, category: str, name: str, schema: Mapping[str, Any]) -> Dict[str, Any]:
        """Creates or replaces the JSON Schema that events of this type must satisfy."""
        return self._call("put_event_type", {"category": category, "name": name}, body={"schema": dict(schema)})

    def delete_event_type(self, category: str, name: str) -> None:
        self._call("delete_event_type", {"category": category, "name": name})

    # ---- integrations

    def create_integration(self, name: str, source: Mapping[str, str], type: str,
                           config: Mapping[str, Any], **options: Any) -> Dict[str, Any]:
        """Creates an integration; `source` is `{"form_id": ...}` or `{"app_id": ...}`, `options` any of
        `on`, `mode`, `retry`, `enabled`. A webhook's reply holds its signing `secret` (shown only here)."""
        body = {"name": name, "source": dict(source), "type": type, "config": dict(config)}
        body.update(options)
        return self._call("create_integration", body=body)

    def list_integrations(self, limit: Optional[int] = None, after: Optional[str] = None) -> Dict[str, Any]:
        return self._call("list_integrations", query={"limit": limit, "after": after})

    def iter_integrations(self, limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        return self._pages("list_integrations", None, {"limit": limit})

    def get_integration(self, integration_id: str) -> Dict[str, Any]:
        return self._call("get_integration", {"id": integration_id})

    def update_integration(self, integration_id: str, **changes: Any) -> Dict[str, Any]:
        """PATCHes any of `name`, `on`, `mode`, `config` (as a whole), `retry`, `enabled`."""
        return self._call("update_integration", {"id": integration_id}, body=changes)

    def delete_integration(self, integration_id: str) -> None:
        self._call("delete_integration", {"id": integration_id})

    def rotate_integration_secret(self, integration_id: str) -> Dict[str, Any]:
        """A webhook's new signing secret (in `secret`); the previous one signs beside it for 24 hours."""
        return self._call("rotate_integration_secret", {"id": integration_id})

    def replay_integration(self, integration_id: str, since: Any, until: Any) -> Dict[str, Any]:
        """Makes a job for every record of the source in [since, until); answers `{"integration_id", "jobs"}`."""
        return self._call("replay_integration", {"id": integration_id},
                          body={"since": _iso(since), "until": _iso(until)})

    def test_integration(self, integration_id: str, record: Mapping[str, Any]) -> Dict[str, Any]:
        """Runs the integration's script or transform on `record`; nothing is stored."""
        return self._call("test_integration", {"id": integration_id}, body={"record": dict(record)})

    # ---- jobs

    def list_jobs(self, *, status: Optional[str] = None, integration_id: Optional[str] = None,
                  source_id: Optional[str] = None, limit: Optional[int] = None,
                  after: Optional[str] = None) -> Dict[str, Any]:
        return self._call("list_jobs", query={"status": status, "integration_id": integration_id,
                                              "source_id": source_id, "limit": limit, "after": after})

    def iter_jobs(self, *, status: Optional[str] = None, integration_id: Optional[str] = None,
                  source_id: Optional[str] = None, limit: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        """Every matching job, oldest first, page after page."""
        return self._pages("list_jobs", None, {"status": status, "integration_id": integration_id,
                                               "source_id": source_id, "limit": limit})

    def get_job(self, job_id: str) -> Dict[str, Any]:
        """The job with its `attempts_log`."""
        return self._call("get_job", {"id": job_id})

    def retry_job(self, job_id: str) -> Dict[str, Any]:
        return self._call("retry_job", {"id": job_id})

    def cancel_job(self, job_id: str) -> Dict[str, Any]:
        return self._call("cancel_job", {"id": job_id})


# --------------------------------------------------------------------------
# Webhooks


def _header(headers: Any, name: str) -> Optional[str]:
    getter = getattr(headers, "get", None)
    if getter is not None:
        value = getter(name)
        if value is not None:
            return value
    items = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        if key.lower() == name:
            return value
    return None


def verify_webhook(secret: str, headers: Any, body: Union[bytes, str], tolerance: float = 300,
                   now: Optional[float] = None) -> bool:
    """True when a Daisy webhook request is authentic and fresh (Standard Webhooks).

    `secret` is the integration's `whsec_...` secret, `headers` the request's
    headers (any mapping or list of pairs; names compared case-insensitively),
    `body` the raw body exactly as received. The request is accepted when one
    of the space-separated `v1,<base64>` signatures in `webhook-signature` is
    the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`, keyed
    by the base64-decoded part of the secret after `whsec_`, and its timestamp
    is within `tolerance` seconds of `now` (default: the clock). Missing or
    malformed headers answer False; a secret that is not base64 raises ValueError.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id or not timestamp or not signatures:
        return False
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        return False
    encoded = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError) as exc:
        raise ValueError("the secret is not whsec_ and base64") from exc
    signed = ("%s.%s." % (msg_id, timestamp.strip())).encode("utf-8") + body
    expected = ("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")).encode()
    matched = False
    for candidate in signatures.split():
        # Compare every candidate (no early exit) in constant time.
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    return matched
