"""Prepare Mistral's openapi.yaml for FastMCP.from_openapi (a derived copy in .bench/; the spec is untouched).

Two quirks of the spec (see ../shared/mistral/SOURCE.md) are fixed:
- path keys with a URL-fragment suffix (`/v1/conversations#stream`, `/v1/connectors/{id}#id`): the
  suffix is stripped; where the stripped path already has the same method (the `#stream` twins of
  a non-streaming operation), the suffixed variant is dropped, since one path+method can be only
  one operation;
- `#/$defs/X` refs inside inline schemas that carry their own `$defs`: rewritten to absolute
  document pointers (the same rewrite as ../shared/tools/prism_spec_patch.py).

Parses with ruamel.yaml (YAML 1.2, so `1e+09` stays a number) and writes JSON, which the FastMCP
peer loads with json.load (parsing the YAML at every start would charge FastMCP's cold start for
a step a deployment does once).

usage: python patch_spec.py openapi.yaml out.json
"""
import json
import sys

from ruamel.yaml import YAML

src, dst = sys.argv[1], sys.argv[2]
doc = YAML(typ="safe", pure=True).load(open(src))

paths = doc["paths"]
merged, dropped = {}, []
for key, item in paths.items():
    base = key.split("#", 1)[0]
    if base not in merged:
        merged[base] = dict(item)
        continue
    for method, op in item.items():
        if method in merged[base]:
            dropped.append(f"{method.upper()} {key}")
        else:
            merged[base][method] = op
doc["paths"] = merged

fixed = 0


def esc(s: str) -> str:
    return s.replace("~", "~0").replace("/", "~1")


def walk(o, ptr, defs_base):
    global fixed
    if isinstance(o, dict):
        if isinstance(o.get("$defs"), dict):
            defs_base = ptr + "/$defs"
        for k, v in list(o.items()):
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/") and defs_base:
                o[k] = defs_base + "/" + v[len("#/$defs/"):]
                fixed += 1
            else:
                walk(v, ptr + "/" + esc(str(k)), defs_base)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            walk(v, f"{ptr}/{i}", defs_base)


walk(doc, "#", None)
ops = sum(1 for item in merged.values() for m in item if m in ("get", "post", "put", "patch", "delete"))
json.dump(doc, open(dst, "w"), ensure_ascii=False)
print(
    f"patched spec: {ops} operations, {fixed} '#/$defs' refs rewritten, "
    f"{len(dropped)} '#' variants dropped ({', '.join(dropped)}) -> {dst}",
    file=sys.stderr,
)
