"""Generating the published artefacts (schemas, doc sections) from the code, and checking them.

``python3 tasks.py schemas`` / ``python3 tasks.py docs`` write them; the test
suite asserts the committed files equal what this module generates, so the
schemas and the docs' diagrams can never drift from the models and tables.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ccproto.core.model import Model, TypeKind, TypeSpec, model_spec, pointer
from ccproto.core.schema import schema_for

__all__ = ["member_list", "mermaid_block", "render_schema", "replace_section", "schema_filename", "to_yaml"]


def schema_filename(cls: type[Model]) -> str:
    """The file a model's schema is published as."""
    return f"{cls.__name__}.schema.json"


def render_schema(cls: type[Model]) -> str:
    """A model's schema as published: stable key order, two-space indent, trailing newline."""
    return json.dumps(schema_for(cls), indent=2, ensure_ascii=False) + "\n"


def schema_files(classes: Iterable[type[Model]]) -> dict[str, str]:
    """File name -> content for a protocol's message classes."""
    return {schema_filename(cls): render_schema(cls) for cls in classes}


def replace_section(document: str, name: str, content: str) -> str:
    """Replace the text between ``<!-- generated:NAME -->`` and ``<!-- end:NAME -->``."""
    pattern = re.compile(
        rf"(<!-- generated:{re.escape(name)} -->\n).*?(<!-- end:{re.escape(name)} -->)", re.DOTALL
    )
    if not pattern.search(document):
        raise ValueError(f"no section {name!r} in the document")
    return pattern.sub(lambda m: m.group(1) + content.rstrip("\n") + "\n" + m.group(2), document)


def mermaid_block(diagram: str) -> str:
    """A Mermaid diagram as a fenced Markdown block."""
    return "```mermaid\n" + diagram + "\n```"


def member_list(cls: type[Model], skip: Iterable[tuple[str, ...]] = ()) -> str:
    """A model's declared members as Markdown: nested models expanded (``*`` for array items).

    ``?`` marks an optional member, ``(secret)`` one that is never shown.
    """
    skipped = set(skip)
    out: list[str] = []

    def walk(model_cls: type[Model], prefix: tuple[str, ...], optional: bool) -> None:
        for field in model_spec(model_cls).fields:
            path = (*prefix, *field.path)
            if path in skipped:
                continue
            tspec: TypeSpec = field.type
            item = tspec.items if tspec.kind is TypeKind.ARRAY and tspec.items is not None else None
            if tspec.kind is TypeKind.MODEL:
                walk(tspec.python_type, path, optional or not field.required)
            elif item is not None and item.kind is TypeKind.MODEL:
                walk(item.python_type, (*path, "*"), optional or not field.required)
            else:
                mark = "?" if optional or not field.required else ""
                secret = " (secret)" if field.wire.secret else ""
                out.append(f"`{pointer(path)}`{mark}{secret}")

    walk(cls, (), False)
    return ", ".join(out)


# Why a YAML writer of our own (issue 21 asked): JSON text is YAML 1.2, but YAML 1.1 readers (PyYAML, and tools
# built on it) read some JSON differently: "1e-05" as a string, "\ud83d\ude00" as two lone surrogates, a raw DEL
# as an error. Writing JSON would need the same escapes as below, and PyYAML would be a dependency of the package
# (this module is in it) whose output changes with its version. What is left is block layout and key quoting.
def _yaml_scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    # A JSON scalar is a valid YAML (flow) scalar: strings double-quoted with JSON's escapes, plus an escape
    # for the characters YAML refuses or folds even inside quotes (DEL, C1 controls incl. NEL, U+2028/9, U+FFFE/F).
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and "e" in text and "." not in text:
        text = text.replace("e", ".0e")  # YAML 1.1 readers need the dot to see a float ("1e-05" is a string)
    return _YAML_UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if isinstance(value, str) else text


_YAML_UNPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _yaml_key(key: str) -> str:
    # Plain where YAML 1.1 and 1.2 both read it as this very string; quoted otherwise.
    return key if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS else _yaml_scalar(key)


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in items:
        head = f"{pad}{_yaml_key(key)}:" if key is not None else f"{pad}-"
        if isinstance(item, (dict, list)) and item:
            lines.append(head)
            lines.extend(_yaml_lines(item, indent + 2))
        else:
            lines.append(f"{head} {_yaml_scalar(item)}")
    return lines


def to_yaml(value: dict[str, Any]) -> str:
    """A JSON value as block-style YAML (every scalar written as JSON, which YAML reads the same)."""
    return "\n".join(_yaml_lines(value, 0)) + "\n"
