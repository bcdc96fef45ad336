"""The project's routes, for the generated tests that walk every page and API route (isolation, roles).

Pages come from the URL resolver, API operations from the OpenAPI schema, so a route added later is
walked the day it is added.
"""

import json
import re
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern


@dataclass
class Route:
    route: str  # e.g. "cases/<int:case_id>/"
    name: str | None  # "namespace:url_name"
    kwargs: list[str]


def walk(patterns, prefix: str = "", namespace: str | None = None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace if entry.namespace else None
            full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), full)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if isinstance(entry.pattern, RoutePattern):
                kwargs = re.findall(r"<(?:\w+:)?(\w+)>", route)  # with the kwargs of an include() prefix
            else:
                kwargs = list(entry.pattern.regex.groupindex)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(route=route, name=name, kwargs=kwargs)


def project_routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


def fill(route: str, values: dict) -> str:
    path = route
    for name, value in values.items():
        path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
    path = path.lstrip("^").rstrip("$")
    assert "<" not in path and "(" not in path, f"could not build a URL from {route!r}"
    return "/" + path


def content_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def schema_value(schema: dict, components: dict):
    """A minimal valid value for a JSON schema: required properties only, first enum value."""
    if "$ref" in schema:
        return schema_value(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "allOf" in schema:
        return schema_value(schema["allOf"][0], components)
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        return schema_value(options[0], components) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: schema_value(schema["properties"][name], components) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer" or kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-01-01"
    if schema.get("format") == "date-time":
        return "2026-01-01T10:00:00+09:00"
    if schema.get("format") == "binary":
        return SimpleUploadedFile("empty.csv", b"a\r\n1\r\n", content_type="text/csv")
    return "x"


def api_operations():
    from estatecrm.config.api import api

    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body, content_type = None, None
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = json.dumps(schema_value(content["application/json"]["schema"], components))
                content_type = "application/json"
            elif "multipart/form-data" in content:
                body = schema_value(content["multipart/form-data"]["schema"], components)
            yield path, method, body, content_type


def api_call(client: Client, method: str, url: str, body, content_type, headers: dict):
    call = getattr(client, method)
    if method == "get":
        return call(url, **headers)
    if content_type:
        return call(url, body, content_type=content_type, **headers)
    return call(url, body or {}, **headers)


@dataclass
class Roles:
    """The users of each role (test_roles.py) and the company's objects their routes name (a test_isolation.CompanyA)."""

    users: dict
    objects: object
