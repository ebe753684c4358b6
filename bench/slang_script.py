#!/usr/bin/env python3
"""Prints the definition of the benchmark's script integration: the slang lookup
of docs/integrations.md on a table of 10,000 places (the form's regions among
them), for a form of bench/form.json.

    bench/slang_script.py FORM_ID sync|async
"""
import json
import sys

form_id, mode = sys.argv[1], sys.argv[2]
places = {f"place{i}": {"Ada Lovelace": f"ada-{i}", "hello": f"hi-{i}"} for i in range(9996)}
for region in ("north", "south", "east", "west"):
    places[region] = {"Ada Lovelace": f"the countess of the {region}", "hello": "howdy"}
code = """function run(record, ctx)
  local words = ctx.data[record.answers.region] or {}
  return {slang = words[record.answers.name] or record.answers.name}
end"""
print(json.dumps({
    "name": f"bench-slang-{mode}",
    "source": {"form_id": form_id},
    "type": "script",
    "mode": mode,
    "config": {"code": code, "data": places},
}))
