"""Load an OpenAPI 3.x document and turn its operations into self-contained JSON schemas.

The bundled document is reach-dq's reconstruction of the Reach API. A user may pass Reach's
official document instead. Everything that checks formatting reads operations and schemas from
the ``Spec`` this module returns, so swapping the document needs no code change.

Local ``$ref`` pointers (``#/components/...``) are inlined. A schema that refers back to itself
cannot be inlined, so each such cycle becomes one entry under ``$defs`` of the resolved schema,
referenced as ``#/$defs/<name>``. OpenAPI 3.0 schemas are translated to JSON Schema 2020-12
(``nullable``, boolean ``exclusiveMinimum`` and ``exclusiveMaximum``); 3.1 schemas already are.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from reach_dq.exceptions import ContractError

log = logging.getLogger(__name__)

DEFAULT_SPEC_PATH: Path = Path(str(resources.files("reach_dq.contract").joinpath("reach-api.yaml")))

_META_VALIDATOR = jsonschema.Draft202012Validator(
    jsonschema.Draft202012Validator.META_SCHEMA,
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
)

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Keywords that only annotate a schema. A $ref whose siblings are all annotations is replaced by
# its target plus the annotations. Other siblings constrain the value, so they stay beside the
# target in an allOf.
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "summary",
        "example",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "default",
        "$comment",
        "externalDocs",
        "xml",
    }
)

# Keywords whose value is one schema, a list of schemas, or a mapping of names to schemas.
_SCHEMA_KEYWORDS = ("items", "additionalProperties", "not", "contains", "propertyNames",
                    "unevaluatedItems", "unevaluatedProperties", "if", "then", "else")
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "dependentSchemas")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter of an operation; ``location`` is the OpenAPI ``in`` field."""

    name: str
    location: str
    required: bool
    schema: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Operation:
    """One operation of the document, with every schema resolved."""

    operation_id: str
    method: str  # upper case
    path: str  # the path template, e.g. /companies/{CompanyId}
    parameters: tuple[Parameter, ...]
    request_body_schema: dict[str, Any] | None
    response_schemas: dict[str, dict[str, Any]]  # status code or range ("2XX", "default") -> schema


@dataclasses.dataclass(frozen=True)
class Spec:
    """An OpenAPI document and its operations, keyed by operationId."""

    title: str
    version: str
    source: Path
    document: dict[str, Any]
    operations: dict[str, Operation]

    def operation(self, operation_id: str) -> Operation:
        """Return the operation with this operationId, or raise ContractError naming the file."""
        try:
            return self.operations[operation_id]
        except KeyError:
            raise ContractError(
                f"the OpenAPI document {str(self.source)!r} has no operation {operation_id!r}"
            ) from None

    def response_schema(self, operation_id: str, status: int = 200) -> dict[str, Any]:
        """Return the JSON schema of the ``status`` response body of an operation.

        The exact status code wins over its range (``2XX``), which wins over ``default``.
        """
        operation = self.operation(operation_id)
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in operation.response_schemas:
                return operation.response_schemas[key]
        raise ContractError(
            f"operation {operation_id!r} in {str(self.source)!r} declares no JSON response "
            f"body for status {status!r}; declared: {sorted(operation.response_schemas)}"
        )

    def match(self, method: str, path: str) -> Operation | None:
        """Return the operation whose method and path template match a request path.

        The query string is ignored. A template may match the end of the path, so a partner
        base URL with its own path prefix still matches. The template with the most literal
        characters wins when several match.
        """
        request_path = urllib.parse.urlsplit(path).path
        best: tuple[int, Operation] | None = None
        for operation in self.operations.values():
            if operation.method != method.upper():
                continue
            if not _template_regex(operation.path).search(request_path):
                continue
            literal = len(re.sub(r"\{[^}]*\}", "", operation.path))
            if best is None or literal > best[0]:
                best = (literal, operation)
        return None if best is None else best[1]


def load_spec(path: Path | str | None = None) -> Spec:
    """Load an OpenAPI 3.x document (YAML or JSON); ``None`` loads the bundled one.

    Raises ContractError naming the path and the reason: a missing or unreadable file, invalid
    YAML or JSON, a document that is not OpenAPI 3.x, or a ``$ref`` that cannot be resolved.
    """
    source = DEFAULT_SPEC_PATH if path is None else Path(path)
    document = _read_document(source)
    title, version = _check_header(document, source)
    openapi_30 = str(document["openapi"]).startswith("3.0")

    resolver = _Resolver(document, source, openapi_30=openapi_30)
    operations = _build_operations(document, source, resolver)

    log.info("loaded OpenAPI document %s (%s %s, %d operations)", source, title, version,
             len(operations))
    return Spec(title=title, version=version, source=source, document=document,
                operations=operations)


def _read_document(source: Path) -> dict[str, Any]:
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"OpenAPI document {str(source)!r} not found") from None
    except IsADirectoryError:
        raise ContractError(f"OpenAPI document {str(source)!r} is a directory") from None
    except UnicodeDecodeError as exc:
        raise ContractError(f"OpenAPI document {str(source)!r} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise ContractError(
            f"OpenAPI document {str(source)!r} cannot be read: {exc.strerror}"
        ) from exc

    if source.suffix.lower() == ".json":
        document = _parse_json(text, source)
    else:
        document = _parse_yaml(text, source)

    if not isinstance(document, dict):
        raise ContractError(
            f"OpenAPI document {str(source)!r} must be a mapping at the top level, "
            f"got {type(document).__name__}"
        )
    return document


def _parse_json(text: str, source: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"OpenAPI document {str(source)!r} is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})"
        ) from exc


# libyaml's parser when PyYAML was built with it: ten times faster on a large document.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SpecLoader(_SafeLoader):  # type: ignore[misc,valid-type]  # chosen at import time
    """A safe YAML loader that keeps dates as strings, as JSON Schema expects."""


# PyYAML turns an unquoted 2025-01-31 into a datetime.date. In an OpenAPI document such a value
# (an example, a default or an enum member) is the JSON string.
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_yaml(text: str, source: Path) -> Any:
    try:
        return yaml.load(text, Loader=_SpecLoader)  # noqa: S506  # _SpecLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = exc.problem or exc.context or "invalid syntax"
        raise ContractError(
            f"OpenAPI document {str(source)!r} is not valid YAML: {reason}{where}"
        ) from exc
    except yaml.YAMLError as exc:
        raise ContractError(f"OpenAPI document {str(source)!r} is not valid YAML: {exc}") from exc


def _check_header(document: dict[str, Any], source: Path) -> tuple[str, str]:
    name = repr(str(source))
    if "openapi" not in document:
        if "swagger" in document:
            raise ContractError(
                f"OpenAPI document {name} is Swagger {document['swagger']}; "
                "expected OpenAPI 3.x (convert it first)"
            )
        raise ContractError(
            f"OpenAPI document {name} has no 'openapi' field; expected an OpenAPI 3.x "
            "document starting with a line such as 'openapi: 3.1.0'"
        )

    version = document["openapi"]
    if not isinstance(version, str) or not re.fullmatch(r"3\.\d+(\.\d+)?(-.+)?", version):
        raise ContractError(
            f"OpenAPI document {name} has openapi {version!r}; expected a 3.x version such as "
            "'3.1.0' (quote it in YAML)"
        )

    info = document.get("info")
    if not isinstance(info, dict):
        raise ContractError(f"OpenAPI document {name} has no 'info' object")
    title, spec_version = info.get("title"), info.get("version")
    if not isinstance(title, str) or not title:
        raise ContractError(f"OpenAPI document {name} has no info.title string")
    if not isinstance(spec_version, str) or not spec_version:
        raise ContractError(
            f"OpenAPI document {name} has info.version {spec_version!r}; expected a string "
            "(quote it in YAML)"
        )

    if not isinstance(document.get("paths"), dict):
        raise ContractError(f"OpenAPI document {name} has no 'paths' object, so no operations")
    return title, spec_version


def _build_operations(
    document: dict[str, Any], source: Path, resolver: _Resolver
) -> dict[str, Operation]:
    operations: dict[str, Operation] = {}
    for path, item in document["paths"].items():
        item = resolver.follow(item, where=f"paths.{path}")
        if not isinstance(item, dict):
            raise ContractError(
                f"OpenAPI document {str(source)!r}: path item {path!r} must be a mapping"
            )
        shared_parameters = item.get("parameters") or []
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = _build_operation(path, method, item[method], shared_parameters, resolver)
            if operation.operation_id in operations:
                raise ContractError(
                    f"OpenAPI document {str(source)!r} uses operationId "
                    f"{operation.operation_id!r} twice"
                )
            operations[operation.operation_id] = operation
    if not operations:
        raise ContractError(f"OpenAPI document {str(source)!r} describes no operations")
    return operations


def _build_operation(
    path: str,
    method: str,
    raw: Any,
    shared_parameters: list[Any],
    resolver: _Resolver,
) -> Operation:
    where = f"{method.upper()} {path}"
    if not isinstance(raw, dict):
        raise ContractError(
            f"OpenAPI document {str(resolver.source)!r}: operation {where} must be a mapping"
        )
    operation_id = raw.get("operationId") or where

    parameters: dict[tuple[str, str], Parameter] = {}
    for raw_parameter in [*shared_parameters, *(raw.get("parameters") or [])]:
        parameter = _build_parameter(raw_parameter, resolver, where=where)
        parameters[(parameter.name, parameter.location)] = parameter  # the operation's wins

    request_body_schema = None
    if "requestBody" in raw:
        body = resolver.follow(raw["requestBody"], where=f"{where} requestBody")
        request_body_schema = _media_schema(body, resolver, where=f"{where} requestBody")

    response_schemas: dict[str, dict[str, Any]] = {}
    for code, raw_response in (raw.get("responses") or {}).items():
        response = resolver.follow(raw_response, where=f"{where} response {code}")
        schema = _media_schema(response, resolver, where=f"{where} response {code}")
        if schema is not None:
            key = str(code)
            response_schemas[key.upper() if re.fullmatch(r"[1-5][xX]{2}", key) else key] = schema

    return Operation(
        operation_id=str(operation_id),
        method=method.upper(),
        path=path,
        parameters=tuple(parameters.values()),
        request_body_schema=request_body_schema,
        response_schemas=response_schemas,
    )


def _build_parameter(raw: Any, resolver: _Resolver, *, where: str) -> Parameter:
    parameter = resolver.follow(raw, where=f"{where} parameter")
    if not isinstance(parameter, dict) or "name" not in parameter or "in" not in parameter:
        raise ContractError(
            f"OpenAPI document {str(resolver.source)!r}: a parameter of {where} lacks "
            f"'name' or 'in': {parameter!r}"
        )
    schema = parameter.get("schema")
    if schema is None:
        schema = _media_schema(parameter, resolver, where=f"{where} parameter") or {}
    else:
        schema = resolver.schema(schema, where=f"{where} parameter {parameter['name']!r}")
    required = bool(parameter.get("required", parameter["in"] == "path"))
    return Parameter(str(parameter["name"]), str(parameter["in"]), required, schema)


def _media_schema(holder: Any, resolver: _Resolver, *, where: str) -> dict[str, Any] | None:
    """Return the resolved schema of the JSON media type of a response, body or parameter."""
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return None
    for media_type in _json_media_types(content):
        media = resolver.follow(content[media_type], where=where)
        if isinstance(media, dict) and "schema" in media:
            return resolver.schema(media["schema"], where=f"{where} {media_type}")
    if "application/x-www-form-urlencoded" in content:
        media = resolver.follow(content["application/x-www-form-urlencoded"], where=where)
        if isinstance(media, dict) and "schema" in media:
            return resolver.schema(media["schema"], where=f"{where} form")
    return None


def _json_media_types(content: Mapping[str, Any]) -> Iterator[str]:
    """Yield the JSON media types of a content map, application/json first."""
    if "application/json" in content:
        yield "application/json"
    for media_type in content:
        essence = media_type.split(";")[0].strip().lower()
        if media_type != "application/json" and (
            essence == "application/json" or essence.endswith("+json")
        ):
            yield media_type


@functools.lru_cache(maxsize=512)
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]*\})", template)
    body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"{body}$")


class _Resolver:
    """Resolve local ``$ref`` pointers of one document."""

    def __init__(self, document: dict[str, Any], source: Path, *, openapi_30: bool) -> None:
        self.document = document
        self.source = source
        self.openapi_30 = openapi_30
        self._cycle_names: dict[str, str] = {}  # $ref -> its entry under $defs
        self._inlined: dict[str, Any] = {}  # $ref -> its inlined target, per resolved schema
        # Raw schema objects already meta-validated, by id; holding them keeps each id unique.
        self._checked: dict[int, Any] = {}

    def follow(self, node: Any, *, where: str) -> Any:
        """Follow a chain of ``$ref`` to a non-schema object (parameter, response, ...)."""
        seen: list[str] = []
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                chain = " -> ".join([*seen, ref])
                raise ContractError(
                    f"OpenAPI document {str(self.source)!r}: circular $ref at {where}: {chain}"
                )
            seen.append(ref)
            node = self.target(ref, where=where)
        return node

    def target(self, ref: Any, *, where: str) -> Any:
        """Return the node a local ``$ref`` points to."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ContractError(
                f"OpenAPI document {str(self.source)!r}: $ref {ref!r} at {where} is not a "
                "local reference (#/...); bundle the document into one file first"
            )
        pointer = urllib.parse.unquote(ref[1:])
        node: Any = self.document
        for token in pointer.split("/")[1:] if pointer else []:
            key = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise ContractError(
                    f"OpenAPI document {str(self.source)!r}: $ref {ref!r} at {where} points "
                    "to nothing"
                )
        return node

    def schema(self, node: Any, *, where: str) -> dict[str, Any]:
        """Return a self-contained JSON Schema 2020-12 for a schema of the document."""
        self._cycle_names, self._inlined = {}, {}
        resolved = self._inline(node, (), where=where)
        if isinstance(resolved, bool):
            resolved = {} if resolved else {"not": {}}

        names = self._cycle_names
        definitions: dict[str, Any] = {}
        while pending := [ref for ref, name in names.items() if name not in definitions]:
            for ref in pending:
                target = self.target(ref, where=where)
                definitions[names[ref]] = self._inline(target, (ref,), where=where)
        if definitions:
            resolved = {**resolved, "$defs": {**resolved.get("$defs", {}), **definitions}}
        return resolved

    def _inline(self, node: Any, stack: tuple[str, ...], *, where: str) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            raise ContractError(
                f"OpenAPI document {str(self.source)!r}: a schema at {where} is "
                f"{type(node).__name__}, expected a mapping"
            )
        if "$ref" in node:
            return self._inline_ref(node, stack, where=where)

        schema = dict(node)
        for keyword in _SCHEMA_KEYWORDS:
            if isinstance(schema.get(keyword), (dict, bool)):
                schema[keyword] = self._inline(schema[keyword], stack, where=where)
        for keyword in _SCHEMA_LIST_KEYWORDS:
            if isinstance(schema.get(keyword), list):
                schema[keyword] = [
                    self._inline(item, stack, where=where) for item in schema[keyword]
                ]
        for keyword in _SCHEMA_MAP_KEYWORDS:
            if isinstance(schema.get(keyword), dict):
                schema[keyword] = {
                    name: self._inline(item, stack, where=where)
                    for name, item in schema[keyword].items()
                }
        if self.openapi_30:
            schema = _from_openapi_30(schema)
        self._check_node(node, schema, where=where)
        return schema

    def _check_node(self, raw: dict[str, Any], schema: dict[str, Any], *, where: str) -> None:
        """Meta-validate one schema object, its subschemas stood in for by ``true``.

        Checking node by node keeps the cost linear in the document: the resolved schema may
        repeat a shared component many times, and each raw node is checked once.
        """
        if id(raw) in self._checked:
            return
        self._checked[id(raw)] = raw
        error = jsonschema.exceptions.best_match(_META_VALIDATOR.iter_errors(_shallow(schema)))
        if error is not None:
            raise ContractError(
                f"OpenAPI document {str(self.source)!r}: the schema at {where} is not a valid "
                f"JSON Schema: {error.message}"
            )

    def _inline_ref(self, node: dict[str, Any], stack: tuple[str, ...], *, where: str) -> Any:
        ref = node["$ref"]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if self.openapi_30:
            siblings = {}  # OpenAPI 3.0 ignores the siblings of a $ref

        # A target already inlined in this schema is reused: where its cycles were cut does not
        # matter, because every cut points at the same $defs entry. Reuse also keeps a document
        # that refers to one component from many places from growing exponentially.
        if ref in stack:
            if ref not in self._cycle_names:
                self._cycle_names[ref] = _definition_name(ref, self._cycle_names)
            target: Any = {"$ref": f"#/$defs/{self._cycle_names[ref]}"}
        elif ref in self._inlined:
            target = self._inlined[ref]
        else:
            target = self._inline(self.target(ref, where=where), (*stack, ref), where=where)
            self._inlined[ref] = target

        if not siblings:
            return target
        siblings = self._inline(siblings, stack, where=where)
        if isinstance(target, dict) and "$ref" not in target and set(siblings) <= _ANNOTATIONS:
            return {**target, **siblings}
        return {"allOf": [target], **siblings}


def _shallow(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a schema object whose subschemas are all ``true``."""
    shallow = dict(schema)
    for keyword in _SCHEMA_KEYWORDS:
        if isinstance(shallow.get(keyword), dict):
            shallow[keyword] = True
    for keyword in _SCHEMA_LIST_KEYWORDS:
        if isinstance(shallow.get(keyword), list):
            shallow[keyword] = [True] * len(shallow[keyword])
    for keyword in _SCHEMA_MAP_KEYWORDS:
        if isinstance(shallow.get(keyword), dict):
            shallow[keyword] = dict.fromkeys(shallow[keyword], True)
    return shallow


def _definition_name(ref: str, names_in_use: Mapping[str, str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", ref.lstrip("#/")) or "root"
    name, counter = base, 1
    while name in names_in_use.values():
        counter += 1
        name = f"{base}_{counter}"
    return name


def _from_openapi_30(schema: dict[str, Any]) -> dict[str, Any]:
    """Translate the OpenAPI 3.0 keywords of one schema object to JSON Schema 2020-12."""
    schema = dict(schema)
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(bound), bool):
            if schema.pop(bound) and limit in schema:
                schema[bound] = schema.pop(limit)

    if not schema.pop("nullable", False):
        return schema
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
        return schema
    if "type" in schema or "enum" in schema:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}
