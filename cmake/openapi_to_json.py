"""Writes docs/openapi.yaml as compact JSON (served at /openapi.json, read by the
console's API reference). Usage: openapi_to_json.py <in.yaml> <out.json>"""
import json
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    document = yaml.safe_load(f)
# Unquoted dates in examples load as date objects; JSON has only their text.
text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(text)
