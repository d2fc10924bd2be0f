"""Just enough of the AWS wire protocols for the extensions: parse a call, answer or patch one.

Requests are SigV4-signed by the SDK; the credential scope of the ``Authorization`` header
(``Credential=AKID/DATE/REGION/SERVICE/aws4_request``) names the region and the service.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs, parse_qsl, urlencode

from werkzeug.wrappers import Response

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_FILTER_NAME = re.compile(r"Filter\.(\d+)\.Name")


def signing_scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(service, region) from the request's SigV4 credential scope, or None if unsigned."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (match["service"], match["region"]) if match else None


@dataclass(frozen=True)
class AwsRequest:
    """One buffered AWS API call; ``environ`` is never consumed, so it can still be forwarded."""

    environ: dict[str, Any]
    service: str
    region: str
    body: bytes

    @classmethod
    def from_environ(cls, environ: dict[str, Any], service: str, region: str) -> AwsRequest:
        """Buffer the body of ``environ`` (and put it back) so the call can be read and replayed."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return cls(environ, service, region, body)

    @property
    def method(self) -> str:
        return self.environ["REQUEST_METHOD"]

    @property
    def path(self) -> str:
        return self.environ.get("PATH_INFO", "")

    @property
    def query(self) -> dict[str, str]:
        """The URL query string, decoded (last value wins)."""
        return dict(parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True))

    def query_values(self, name: str) -> list[str]:
        """Every value of a repeated query-string parameter (rest protocols' lists)."""
        return parse_qs(self.environ.get("QUERY_STRING", "")).get(name, [])

    @property
    def params(self) -> dict[str, str]:
        """Query-protocol parameters (EC2): the form-encoded body merged over the query string."""
        return {**self.query, **dict(parse_qsl(self.body.decode(), keep_blank_values=True))}

    @property
    def action(self) -> str | None:
        return self.params.get("Action")

    def param_list(self, prefix: str) -> list[str]:
        """Values of a flattened list parameter ``Prefix.1``, ``Prefix.2``, ... in order."""
        params = self.params
        values: list[str] = []
        while f"{prefix}.{len(values) + 1}" in params:
            values.append(params[f"{prefix}.{len(values) + 1}"])
        return values

    def filters(self) -> dict[str, list[str]]:
        """EC2 ``Filter.N.Name``/``Filter.N.Value.M`` parameters as {name: [values]}."""
        params = self.params
        filters: dict[str, list[str]] = {}
        for key, name in params.items():
            match = _FILTER_NAME.fullmatch(key)
            if match:
                filters.setdefault(name, []).extend(self.param_list(f"Filter.{match[1]}.Value"))
        return filters

    def without_filter(self, name: str) -> AwsRequest:
        """The same call with EC2 filter ``name`` removed (the other filters renumbered)."""
        kept = [(n, v) for n, v in self.filters().items() if n != name]
        params = {k: v for k, v in self.params.items() if not k.startswith("Filter.")}
        for index, (filter_name, values) in enumerate(kept, start=1):
            params[f"Filter.{index}.Name"] = filter_name
            params.update({f"Filter.{index}.Value.{j}": v for j, v in enumerate(values, start=1)})
        return self.with_body(urlencode(params).encode())

    def with_body(self, body: bytes) -> AwsRequest:
        """A copy of this call carrying ``body`` instead of the original one."""
        environ = {**self.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        return AwsRequest(environ, self.service, self.region, body)

    def fresh_environ(self) -> dict[str, Any]:
        """A WSGI environ for forwarding this call, with an unread body stream."""
        return {**self.environ, "wsgi.input": io.BytesIO(self.body)}


# What an extension gets to call moto with: the (possibly rewritten) request in, moto's answer out.
Forward = Callable[[AwsRequest], Response]


class XmlDocument:
    """A namespaced XML answer (EC2, Route 53) that can be read and edited with plain tag paths."""

    def __init__(self, root: ET.Element):
        self.root = root
        self.namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""

    @classmethod
    def parse(cls, body: bytes) -> XmlDocument:
        return cls(ET.fromstring(body))

    @classmethod
    def new(cls, root_tag: str, namespace: str) -> XmlDocument:
        return cls(ET.Element(f"{{{namespace}}}{root_tag}" if namespace else root_tag))

    def qualify(self, path: str) -> str:
        """``a/b`` -> ``{ns}a/{ns}b``, so callers never spell the namespace."""
        if not self.namespace:
            return path
        return "/".join(p if p in (".", "..") else f"{{{self.namespace}}}{p}" for p in path.split("/"))

    def find(self, path: str, element: ET.Element | None = None) -> ET.Element | None:
        return (self.root if element is None else element).find(self.qualify(path))

    def findall(self, path: str, element: ET.Element | None = None) -> list[ET.Element]:
        return (self.root if element is None else element).findall(self.qualify(path))

    def text(self, path: str, element: ET.Element | None = None) -> str | None:
        found = self.find(path, element)
        return None if found is None else found.text

    def add(self, parent: ET.Element | None, tag: str, value: Any = None) -> ET.Element:
        """Append ``<tag>value</tag>`` under ``parent`` (the root when None); booleans as true/false."""
        element = ET.SubElement(self.root if parent is None else parent, self.qualify(tag))
        if value is not None:
            element.text = str(value).lower() if isinstance(value, bool) else str(value)
        return element

    def add_fields(self, parent: ET.Element, fields: dict[str, Any]) -> None:
        """Append one child per non-None entry of ``fields``."""
        for tag, value in fields.items():
            if value is not None:
                self.add(parent, tag, value)

    def to_bytes(self) -> bytes:
        return ET.tostring(self.root, encoding="utf-8", xml_declaration=True,
                           default_namespace=self.namespace or None)

    def response(self, status: int = 200) -> Response:
        return Response(self.to_bytes(), status=status, content_type="text/xml")


def replace_body(response: Response, document: XmlDocument) -> Response:
    """``response`` with its body replaced by ``document`` (status and headers kept)."""
    response.set_data(document.to_bytes())
    return response


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload, indent=1, default=str), status=status,
                    content_type="application/json", headers=headers)


def rest_json_error(code: str, message: str, status: int) -> Response:
    """A rest-json service error as botocore parses it (code in ``x-amzn-ErrorType``)."""
    return json_response({"message": message}, status, {"x-amzn-ErrorType": code})


def json11_error(code: str, message: str, status: int = 400) -> Response:
    """An AWS JSON 1.1 service error as botocore parses it (code in ``__type``)."""
    return Response(json.dumps({"__type": code, "message": message}), status=status,
                    content_type="application/x-amz-json-1.1")


def request_id() -> str:
    return str(uuid.uuid4())
