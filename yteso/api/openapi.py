"""An OpenAPI 3.0 description of the FHIR API, generated from the CapabilityStatement.

https://spec.openapis.org/oas/v3.0.3 — every path, method and search parameter comes from what
``GET [base]/metadata`` says this server supports (resource types, interactions, search
parameters, operations), so the description cannot promise more than the server does; it
feeds API tooling and the schemathesis fuzzing run of the test suite. Bodies are described
loosely (an object with a ``resourceType``): the FHIR definitions, not this file, are the
schema of each resource, and the server validates against them.
"""

from __future__ import annotations

from collections.abc import Mapping

from yteso.api.operations import Operation
from yteso.fhir.types import Json

FHIR_JSON = "application/fhir+json"
ID_PATTERN = r"^[A-Za-z0-9\-\.]{1,64}$"
# Result parameters (https://hl7.org/fhir/R4/search.html#return) every search takes.
RESULT_PARAMETERS: dict[str, Json] = {
    "_count": {"type": "integer", "minimum": 0, "maximum": 1000},
    "_sort": {"type": "string"},
    "_include": {"type": "string"},
    "_revinclude": {"type": "string"},
    "_summary": {"type": "string", "enum": ["true", "false", "count", "text", "data"]},
    "_elements": {"type": "string"},
    "_total": {"type": "string", "enum": ["none", "estimate", "accurate"]},
}
HISTORY_PARAMETERS: dict[str, Json] = {
    "_count": {"type": "integer", "minimum": 0, "maximum": 1000},
    "_since": {"type": "string", "format": "date-time"},
}


def _ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def _content(schema: str) -> Json:
    return {FHIR_JSON: {"schema": _ref("schemas", schema)}}


def _responses(success: dict[str, str]) -> Json:
    """The success answers, then any error as an OperationOutcome (with its own status)."""
    answers: Json = {
        code: {"description": "Success", **({"content": _content(schema)} if schema else {})}
        for code, schema in success.items()
    }
    answers["default"] = {"description": "An error", "content": _content("OperationOutcome")}
    return answers


def _query(name: str, schema: Json, description: str = "") -> Json:
    parameter: Json = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _search_parameters(entries: list[Json]) -> list[Json]:
    found = [
        _query(str(p["name"]), {"type": "string"}, f"{p.get('type', 'special')} parameter")
        for p in entries
    ]
    return found + [_ref("parameters", name) for name in RESULT_PARAMETERS]


def _body(schema: str) -> Json:
    return {"required": True, "content": _content(schema)}


def _type_paths(resource: Json, operations: Mapping[str, Operation]) -> dict[str, Json]:
    name = str(resource["type"])
    codes = {str(i["code"]) for i in resource.get("interaction", [])}
    tag = [name]
    search = _search_parameters(resource.get("searchParam", []))
    paths: dict[str, Json] = {}
    type_path: Json = {}
    if "search-type" in codes:
        type_path["get"] = {
            "operationId": f"search-{name}",
            "tags": tag,
            "parameters": search,
            "responses": _responses({"200": "Bundle"}),
        }
        paths[f"/{name}/_search"] = {
            "post": {
                "operationId": f"search-post-{name}",
                "tags": tag,
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {"type": "object", "additionalProperties": {"type": "string"}}
                        }
                    }
                },
                "responses": _responses({"200": "Bundle"}),
            }
        }
    if "create" in codes:
        type_path["post"] = {
            "operationId": f"create-{name}",
            "tags": tag,
            "requestBody": _body("Resource"),
            "responses": _responses({"200": "Resource", "201": "Resource"}),
        }
    if type_path:
        paths[f"/{name}"] = type_path
    instance: Json = {"parameters": [_ref("parameters", "id")]}
    if "read" in codes:
        instance["get"] = {
            "operationId": f"read-{name}",
            "tags": tag,
            "responses": _responses({"200": "Resource", "304": ""}),
        }
    if "update" in codes:
        instance["put"] = {
            "operationId": f"update-{name}",
            "tags": tag,
            "requestBody": _body("Resource"),
            "responses": _responses({"200": "Resource", "201": "Resource"}),
        }
    if "patch" in codes:
        instance["patch"] = {
            "operationId": f"patch-{name}",
            "tags": tag,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json-patch+json": {
                        "schema": {"type": "array", "items": {"type": "object"}}
                    }
                },
            },
            "responses": _responses({"200": "Resource"}),
        }
    if "delete" in codes:
        instance["delete"] = {
            "operationId": f"delete-{name}",
            "tags": tag,
            "responses": _responses({"200": "", "204": ""}),
        }
    if len(instance) > 1:
        paths[f"/{name}/{{id}}"] = instance
    history = [_query(k, v) for k, v in HISTORY_PARAMETERS.items()]
    if "history-type" in codes:
        paths[f"/{name}/_history"] = {
            "get": {
                "operationId": f"history-type-{name}",
                "tags": tag,
                "parameters": history,
                "responses": _responses({"200": "Bundle"}),
            }
        }
    if "history-instance" in codes:
        paths[f"/{name}/{{id}}/_history"] = {
            "get": {
                "operationId": f"history-instance-{name}",
                "tags": tag,
                "parameters": [_ref("parameters", "id"), *history],
                "responses": _responses({"200": "Bundle"}),
            }
        }
    if "vread" in codes:
        paths[f"/{name}/{{id}}/_history/{{vid}}"] = {
            "get": {
                "operationId": f"vread-{name}",
                "tags": tag,
                "parameters": [_ref("parameters", "id"), _ref("parameters", "vid")],
                "responses": _responses({"200": "Resource"}),
            }
        }
    for entry in resource.get("operation", []):
        paths.update(_operation_paths(operations.get("$" + str(entry["name"])), name))
    return paths


def _operation_paths(operation: Operation | None, resource_type: str | None) -> dict[str, Json]:
    if operation is None:
        return {}
    found: dict[str, Json] = {}
    where = [(f"/{resource_type}", False), (f"/{resource_type}/{{id}}", True)]
    if resource_type is None:
        where = [("", False)]
    for prefix, instance in where:
        if not operation.allowed_at(resource_type, "id" if instance else None):
            continue
        methods: Json = {}
        for method in sorted(operation.methods):
            described: Json = {
                "operationId": f"{operation.name}-{resource_type or 'system'}"
                + ("-instance" if instance else "")
                + f"-{method.lower()}",
                "tags": [resource_type or "system"],
                "description": f"Operation ${operation.name} ({operation.definition})",
                "responses": _responses({"200": "", "202": ""}),
            }
            if instance:
                described["parameters"] = [_ref("parameters", "id")]
            if method == "POST":
                described["requestBody"] = {"required": False, "content": _content("Resource")}
            methods[method.lower()] = described
        found[f"{prefix}/${operation.name}"] = methods
    return found


def _components(token_url: str, authorize_url: str) -> Json:
    resource = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {
            "resourceType": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"},
            "id": {"type": "string", "pattern": ID_PATTERN},
        },
    }
    bundle = {
        "type": "object",
        "required": ["resourceType", "type"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["Bundle"]},
            "type": {"type": "string"},
            "total": {"type": "integer", "minimum": 0},
            "entry": {"type": "array", "items": {"type": "object"}},
        },
    }
    outcome = {
        "type": "object",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
            "issue": {"type": "array", "minItems": 1, "items": {"type": "object"}},
        },
    }
    return {
        "schemas": {"Resource": resource, "Bundle": bundle, "OperationOutcome": outcome},
        "parameters": {
            "id": {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": ID_PATTERN},
            },
            "vid": {
                "name": "vid",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": ID_PATTERN},
            },
            **{name: _query(name, schema) for name, schema in RESULT_PARAMETERS.items()},
        },
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "smart": {
                "type": "oauth2",
                "description": "SMART App Launch 2.x (scopes patient|user|system/Type.cruds)",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": authorize_url,
                        "tokenUrl": token_url,
                        "scopes": {},
                    },
                    "clientCredentials": {"tokenUrl": token_url, "scopes": {}},
                },
            },
        },
    }


def openapi_description(
    capability: Json, operations: Mapping[str, Operation], auth_base: str
) -> Json:
    """The OpenAPI document of the server whose CapabilityStatement is ``capability``;
    ``operations`` is its operation table, ``auth_base`` its authorization server URL."""
    rest = capability["rest"][0]
    base = str(capability.get("implementation", {}).get("url", "/fhir"))
    system = {str(i["code"]) for i in rest.get("interaction", [])}
    paths: dict[str, Json] = {
        "/metadata": {
            "get": {
                "operationId": "capabilities",
                "tags": ["system"],
                "security": [],
                "responses": _responses({"200": "Resource"}),
            }
        }
    }
    root: Json = {}
    if system & {"batch", "transaction"}:
        root["post"] = {
            "operationId": "batch-transaction",
            "tags": ["system"],
            "requestBody": _body("Resource"),
            "responses": _responses({"200": "Bundle"}),
        }
    if "search-system" in system:
        root["get"] = {
            "operationId": "search-system",
            "tags": ["system"],
            "parameters": [
                _query("_type", {"type": "string"}),
                *_search_parameters(rest.get("searchParam", [])),
            ],
            "responses": _responses({"200": "Bundle"}),
        }
    if root:
        paths["/"] = root
    if "history-system" in system:
        paths["/_history"] = {
            "get": {
                "operationId": "history-system",
                "tags": ["system"],
                "parameters": [_query(k, v) for k, v in HISTORY_PARAMETERS.items()],
                "responses": _responses({"200": "Bundle"}),
            }
        }
    for entry in rest.get("operation", []):
        paths.update(_operation_paths(operations.get("$" + str(entry["name"])), None))
    for resource in rest.get("resource", []):
        paths.update(_type_paths(resource, operations))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Yteso FHIR R4 API",
            "version": str(capability.get("software", {}).get("version", "")),
            "description": "Generated from the CapabilityStatement at [base]/metadata.",
        },
        "servers": [{"url": base}],
        "security": [{"bearer": []}, {"smart": []}],
        "paths": paths,
        "components": _components(f"{auth_base}/token", f"{auth_base}/authorize"),
    }


__all__ = ["openapi_description"]
