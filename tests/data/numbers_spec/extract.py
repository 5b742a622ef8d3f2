"""Make ``excerpts.json`` from Bandwidth's published Numbers specification (run by hand).

    git clone https://github.com/Bandwidth/api-docs && git -C api-docs checkout 2fcdf57e
    python3 tests/data/numbers_spec/extract.py api-docs/site/specs/numbers.yml

Needs PyYAML (not a dependency of bwnumbers: the tests read only the JSON). For each operation
the emulator implements it keeps the request examples, the response examples and the response
schema flattened to the element names it allows (``"*"``: an element of any name, where the
specification gives an array's items no XML name); and the method and path of every operation
in the specification, so that the test can tell which ones the emulator answers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

SOURCE = {
    "repository": "https://github.com/Bandwidth/api-docs",
    "commit": "2fcdf57ea73fcd205641a46a10ae402bd6a9cd91",
    "path": "site/specs/numbers.yml",
    "note": "Bandwidth's last public OpenAPI specification of the Numbers API (the repository "
    "was deprecated by that commit); excerpts only, for bwnumbers' emulator conformance test.",
}
METHODS = ("get", "post", "put", "delete", "patch")
OPERATIONS = [
    ("get", "/accounts/{accountId}/availableNumbers"),
    ("get", "/accounts/{accountId}/orders"),
    ("post", "/accounts/{accountId}/orders"),
    ("get", "/accounts/{accountId}/orders/{orderId}"),
    ("put", "/accounts/{accountId}/orders/{orderId}"),
    ("get", "/accounts/{accountId}/orders/{orderId}/history"),
    ("get", "/accounts/{accountId}/orders/{orderId}/tns"),
    ("get", "/accounts/{accountId}/subscriptions"),
    ("post", "/accounts/{accountId}/subscriptions"),
    ("get", "/accounts/{accountId}/subscriptions/{subscriptionid}"),
    ("put", "/accounts/{accountId}/subscriptions/{subscriptionid}"),
    ("delete", "/accounts/{accountId}/subscriptions/{subscriptionid}"),
    ("post", "/accounts/{accountId}/tnreservation"),
    ("get", "/accounts/{accountId}/tnreservation/{reservationid}"),
    ("delete", "/accounts/{accountId}/tnreservation/{reservationid}"),
    ("get", "/accounts/{accountId}/disconnects"),
    ("post", "/accounts/{accountId}/disconnects"),
    ("get", "/accounts/{accountId}/disconnects/{disconnectId}"),
    ("get", "/accounts/{accountId}/inserviceNumbers"),
    ("get", "/accounts/{accountId}/inserviceNumbers/totals"),
    ("get", "/accounts/{accountId}/inserviceNumbers/{tn}"),
    ("get", "/tns/{tn}"),
]


def main(spec_path: str) -> None:
    text = Path(spec_path).read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    lines = text.splitlines()

    def deref(node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            target: Any = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
            seen += 1
            if seen > 20:
                raise ValueError("a $ref loop")
        return node

    def children(schema: Any, depth: int = 0) -> dict[str, Any]:
        """The elements a schema's object may hold, by name, each with its own children."""
        schema = deref(schema)
        if not isinstance(schema, dict) or depth > 12:
            return {}
        found: dict[str, Any] = {}
        for key in ("allOf", "oneOf", "anyOf"):
            for part in schema.get(key, []):
                merge(found, children(part, depth + 1))
        if schema.get("type") == "array" or "items" in schema:
            items = deref(schema.get("items", {}))
            inner = children(items, depth + 1)
            name = (items.get("xml") or {}).get("name") if isinstance(items, dict) else None
            # Unnamed items: the specification's arrays are written both as repeated elements
            # and as a wrapper of named items, so either is allowed.
            merge(found, inner)
            merge(found, {name or "*": inner})
        for prop_name, prop in (schema.get("properties") or {}).items():
            if prop_name in ("allOf", "oneOf", "anyOf") and isinstance(prop, list):
                # The specification's order responses write `properties: allOf: [...]`, a
                # composition misplaced among the properties: read as the composition meant.
                for part in prop:
                    merge(found, children(part, depth + 1))
                continue
            resolved = deref(prop)
            if not isinstance(resolved, dict):  # a malformed property: a bare name
                merge(found, {prop_name: {}})
                continue
            name = (resolved.get("xml") or {}).get("name") or (prop.get("xml") or {}).get("name")
            merge(found, {name or prop_name: children(resolved, depth + 1)})
        return found

    def merge(into: dict[str, Any], other: dict[str, Any]) -> None:
        for name, sub in other.items():
            merge(into.setdefault(name, {}), sub)

    def roots(schema: Any) -> dict[str, Any]:
        schema = deref(schema)
        name = (schema.get("xml") or {}).get("name") if isinstance(schema, dict) else None
        inner = children(schema)
        return {name: inner} if name else inner

    def line_of(operation_path: str, method: str) -> int:
        start = lines.index(f"  {operation_path}:")
        for number in range(start + 1, len(lines)):
            if lines[number] == f"    {method}:":
                return number + 1
        raise ValueError(operation_path)

    operations = []
    for method, path in OPERATIONS:
        op = spec["paths"][path][method]
        body = deref(op.get("requestBody") or {})
        requests = {}
        for content in (body.get("content") or {}).values():
            for name, example in (content.get("examples") or {}).items():
                requests[name] = deref(example)["value"]
        parameters = {}
        for parameter in op.get("parameters", []):
            parameter = deref(parameter)
            if parameter.get("in") == "query":
                parameters[parameter["name"]] = {
                    "required": bool(parameter.get("required")),
                    "example": parameter.get("example"),
                }
        responses = {}
        for status, response in op.get("responses", {}).items():
            response = deref(response)
            examples: dict[str, str] = {}
            schema_roots: dict[str, Any] = {}
            for content in (response.get("content") or {}).values():
                for name, example in (content.get("examples") or {}).items():
                    examples[name] = deref(example)["value"]
                if content.get("schema"):
                    merge(schema_roots, roots(content["schema"]))
            responses[status] = {
                "description": (response.get("description") or "").strip(),
                "examples": examples,
                "schema": schema_roots,
            }
        operations.append(
            {
                "operation_id": op.get("operationId"),
                "method": method.upper(),
                "path": path,
                "line": line_of(path, method),
                "query": parameters,
                "requests": requests,
                "responses": responses,
            }
        )
    every = sorted(
        [method.upper(), path]
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    )
    servers = [server["url"] for server in spec.get("servers", [])]
    out = Path(__file__).with_name("excerpts.json")
    document = {
        "source": SOURCE,
        "servers": servers,
        "operations": operations,
        "every_operation": every,
    }
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{out}: {len(operations)} operations, {len(every)} in the specification")


if __name__ == "__main__":
    main(sys.argv[1])
