#!/usr/bin/env python3
"""Write the generated artefacts: `generate.py schemas` (schemas/) or `generate.py docs` (docs/ sections)."""

from __future__ import annotations

import sys
from pathlib import Path

from ccproto.bridge.docs import SECTIONS as BRIDGE_SECTIONS
from ccproto.bridge.models import ALL_MESSAGE_CLASSES as BRIDGE_CLASSES
from ccproto.cceb.asyncapi import asyncapi_document
from ccproto.cceb.docs import SECTIONS as CCEB_SECTIONS
from ccproto.cceb.models import ALL_MESSAGE_CLASSES as CCEB_CLASSES
from ccproto.cct.docs import SECTIONS as CCT_SECTIONS
from ccproto.core.docgen import replace_section, schema_files, to_yaml
from ccproto.processor.docs import SECTIONS as PROCESSOR_SECTIONS
from ccproto.processor.models import SCHEMA_CLASSES as PROCESSOR_CLASSES

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {"bridge": BRIDGE_CLASSES, "processor": PROCESSOR_CLASSES, "cceb": CCEB_CLASSES}
DOCS = {"docs/bridge.md": BRIDGE_SECTIONS, "docs/processor.md": PROCESSOR_SECTIONS, "docs/cceb.md": CCEB_SECTIONS,
        "docs/cct.md": CCT_SECTIONS}
#: Other generated files under schemas/: name -> content.
DOCUMENTS = {"cceb.asyncapi.yaml": lambda: to_yaml(asyncapi_document())}


def write_schemas() -> None:
    for protocol, classes in SCHEMAS.items():
        folder = ROOT / "schemas" / protocol
        folder.mkdir(parents=True, exist_ok=True)
        wanted = schema_files(classes)
        for stale in folder.glob("*.schema.json"):
            if stale.name not in wanted:
                stale.unlink()
        for name, content in wanted.items():
            (folder / name).write_text(content, encoding="utf-8")
        print(f"wrote {len(wanted)} schemas to {folder.relative_to(ROOT)}")
    for name, make in DOCUMENTS.items():
        (ROOT / "schemas" / name).write_text(make(), encoding="utf-8")
        print(f"wrote schemas/{name}")


def write_docs() -> None:
    for doc, sections in DOCS.items():
        path = ROOT / doc
        text = path.read_text(encoding="utf-8")
        for name, generate in sections.items():
            text = replace_section(text, name, generate())
        path.write_text(text, encoding="utf-8")
        print(f"updated {doc}")


if __name__ == "__main__":
    actions = {"schemas": write_schemas, "docs": write_docs}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        print(__doc__)
        sys.exit(2)
    actions[sys.argv[1]]()
