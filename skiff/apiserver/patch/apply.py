"""Server-side apply (application/apply-patch+yaml) and managedFields bookkeeping.

Ownership is recorded per manager in metadata.managedFields (operation Apply or Update,
apiVersion, time, fieldsType FieldsV1, fieldsV1). An apply:

1. merges the applied configuration into the live object (objects key by key, associative lists
   by their keys, sets by value, other lists replaced);
2. removes the fields the manager applied last time, omits now, and nobody else owns;
3. refuses (409) when a field another manager owns would change, unless `force`, which moves
   the field to the applier;
4. records the applied configuration's fields as the applier's.

Writes that are not applies (create, update, patch) go through `update_managed_fields`: the
writer takes every field it changed (as Update), others lose them; at most 10 Update entries
are kept (older ones merge into "ancient-changes"); `[]` or `[{}]` sent as managedFields reset
them. As in Kubernetes: an object without managedFields that is applied to is first attributed
to "before-first-apply"; `kubectl apply --server-side` (manager "kubectl") may take over the
fields client-side apply set (those of the last-applied annotation still matching the object)
and keeps that annotation in step; a uid in the configuration is a precondition.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import yaml

from skiff.apiserver.patch.errors import PatchError, guard_depth
from skiff.apiserver.patch.fieldpath import (
    ABSENT,
    Element,
    Path,
    decode_fields,
    diff_fields,
    encode_fields,
    field_values,
    fields_v1_of,
    item_key,
    list_kind,
    path_string,
)
from skiff.apiserver.patch.jsonvalue import deep_copy, json_equal
from skiff.apiserver.patch.schema import Field, schema_for

CONTENT_TYPE = "application/apply-patch+yaml"

BEFORE_FIRST_APPLY = "before-first-apply"

# Never owned by anyone (Kubernetes strips these exact paths from every manager's set).
_STRIPPED: set[Path] = {
    (("f", "apiVersion"),),
    (("f", "kind"),),
    (("f", "metadata"),),
    *((("f", "metadata"), ("f", name)) for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
        "generation", "managedFields", "resourceVersion",
    )),
}  # fmt: skip

_STRIPPED_SET = frozenset(_STRIPPED)

# Fields a write through an endpoint cannot change (Kubernetes' reset fields): not owned there.
_IGNORED: dict[str, tuple[Path, ...]] = {
    "": ((("f", "status"),),),
    "status": (
        (("f", "spec"),),
        (("f", "metadata"), ("f", "deletionTimestamp")),
        (("f", "metadata"), ("f", "ownerReferences")),
    ),
}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- decoding the body ----------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML without the timestamp type: dates stay strings, as in Kubernetes' YAML decoding."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@guard_depth
def parse_apply_body(body: bytes | str) -> dict[str, Any]:
    """Decode an apply body (JSON or YAML) into an object; 400 when it is not one."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise PatchError(f"error decoding YAML: {_one_line(str(exc))}", 400) from None
    if not isinstance(value, dict):
        raise PatchError("error decoding YAML: the apply configuration must be an object", 400)
    _check_json(value, "")
    return value


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _check_json(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if not isinstance(key, str):
                raise PatchError(f"error decoding YAML: non-string key {key!r} at {where or '.'}", 400)
            _check_json(child, f"{where}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _check_json(child, f"{where}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise PatchError(f"error decoding YAML: {value} is not a JSON number at {where}", 400)
    elif not (value is None or isinstance(value, str | int | float | bool)):
        raise PatchError(f"error decoding YAML: unsupported value at {where}", 400)


# ---- managers -------------------------------------------------------------------------------


class Manager:
    """One managedFields entry, with its field set decoded."""

    def __init__(
        self,
        manager: str,
        operation: str,
        api_version: str,
        time: str | None,
        fields: set[Path],
        subresource: str = "",
    ) -> None:
        self.manager = manager
        self.operation = operation
        self.api_version = api_version
        self.time = time
        self.fields = fields
        self.subresource = subresource

    def same(self, manager: str, operation: str, api_version: str, subresource: str) -> bool:
        # Appliers are one entry whatever the apiVersion; updaters one per apiVersion.
        return (
            self.manager == manager
            and self.operation == operation
            and self.subresource == subresource
            and (operation == "Apply" or self.api_version == api_version)
        )

    def describe(self) -> str:
        """How Kubernetes names a manager in conflict messages."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def encode(self, fields_v1: dict[str, Any] | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = encode_fields(self.fields) if fields_v1 is None else fields_v1
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def decode_managers(obj: dict[str, Any] | None) -> list[Manager]:
    """The managedFields entries of an object (malformed entries are dropped; of two entries
    for the same manager, operation, apiVersion (updates) and subresource the later wins, as
    in Kubernetes)."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    entries = meta.get("managedFields") if isinstance(meta, dict) else None
    out: dict[tuple[str, str, str, str], Manager] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("operation") not in ("Apply", "Update"):
            continue
        m = Manager(
            str(entry.get("manager") or ""),
            entry["operation"],
            str(entry.get("apiVersion") or ""),
            entry.get("time") if isinstance(entry.get("time"), str) else None,
            decode_fields(entry.get("fieldsV1")),
            str(entry.get("subresource") or ""),
        )
        version = m.api_version if m.operation == "Update" else ""
        out[(m.manager, m.operation, version, m.subresource)] = m
    return list(out.values())


MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"


def _cap_updaters(managers: list[Manager]) -> list[Manager]:
    """Kubernetes keeps at most 10 Update entries: the oldest merge into "ancient-changes"
    (one per apiVersion) until that holds."""
    updaters = sorted((m for m in managers if m.operation == "Update"), key=lambda m: m.time or "")
    count = len(updaters)
    if count <= MAX_UPDATE_MANAGERS:
        return managers
    first: dict[str, Manager] = {}
    buckets: dict[str, Manager] = {}
    gone: set[int] = set()
    for m in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        version = m.api_version
        if version not in first:
            first[version] = m
            continue
        bucket = buckets.get(version)
        if bucket is None:
            bucket = first[version]  # the first one of this version becomes the bucket
            bucket.manager, bucket.subresource = ANCIENT_CHANGES, ""
            buckets[version] = bucket
        bucket.fields = bucket.fields | m.fields
        bucket.time = m.time
        gone.add(id(m))
        count -= 1
    return [m for m in managers if id(m) not in gone]


def _store(obj: dict[str, Any], managers: list[Manager]) -> dict[str, Any]:
    live = _cap_updaters([m for m in managers if m.fields])
    live.sort(key=lambda m: (m.operation, m.time or "", m.manager, m.api_version, m.subresource))
    meta = obj.setdefault("metadata", {})
    if live:
        meta["managedFields"] = [m.encode() for m in live]
    else:
        meta.pop("managedFields", None)
    return obj


def _ignored(subresource: str, ignored: tuple[Path, ...] | None) -> tuple[Path, ...]:
    return _IGNORED.get(subresource, ()) if ignored is None else ignored


def _owned_values(obj: Any, schema: Field, ignored: tuple[Path, ...], **kw: bool) -> dict[Path, Any]:
    values = field_values(obj, schema, skip=frozenset(ignored), **kw)
    for path in _STRIPPED:
        values.pop(path, None)
    return values


def _diff_owned(
    old: Any, new: Any, schema: Field, ignored: tuple[Path, ...], map_members: bool = False
) -> tuple[set[Path], set[Path]]:
    changed, removed = diff_fields(old, new, schema, map_members=map_members, skip=frozenset(ignored))
    return changed - _STRIPPED, removed - _STRIPPED


def _find(
    managers: list[Manager], manager: str, operation: str, api_version: str, sub: str
) -> Manager | None:
    for m in managers:
        if m.same(manager, operation, api_version, sub):
            return m
    return None


# ---- Update ---------------------------------------------------------------------------------


@guard_depth
def update_managed_fields(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    *,
    now: str | None = None,
    subresource: str = "",
    ignored: tuple[Path, ...] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Record a non-apply write (create when `old` is None, update, patch) by `manager`.

    Returns `new` with a new metadata (the rest is shared, not copied) whose managedFields give
    `manager` (operation Update) every field the write added or changed; other managers lose
    those fields, and removed fields leave every set. Ownership comes from `old`, unless the
    write itself sets managedFields (not through a subresource): then those are the base, and
    `[]` or `[{}]` strip managedFields. As in Kubernetes, an existing object (with a uid) that
    has no managedFields stays untracked by updates; creates (`old` None) are tracked. Call it
    after defaulting, as Kubernetes records the defaulted fields for the writer.
    """
    if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
        raise PatchError("metadata must be an object", 400)
    schema = schema_for(kind or str(new.get("kind") or (old or {}).get("kind") or ""))
    skip = _ignored(subresource, ignored)
    managers = decode_managers(old)
    sent = (new.get("metadata") or {}).get("managedFields")
    if not subresource and isinstance(sent, list):
        # managedFields the writer set explicitly replace the stored ones (unreadable entries
        # keep them); [] or [{}] is Kubernetes' reset.
        managers = [] if sent in ([], [{}]) else decode_managers(new) or managers
    uid = ((old or {}).get("metadata") or {}).get("uid")
    out = dict(new)  # shares everything but metadata with `new`
    out["metadata"] = {k: v for k, v in (new.get("metadata") or {}).items() if k != "managedFields"}
    if not managers and old is not None and uid:
        # An existing object without managedFields is not tracked by updates (Kubernetes
        # starts tracking on create, or on the next apply).
        return out
    api_version = str(new.get("apiVersion") or "")
    if not managers and old is None:
        # A create: the creator owns every field; one walk straight to FieldsV1.
        fields_v1 = fields_v1_of(new, schema, map_members=True, skip=frozenset(skip), stripped=_STRIPPED_SET)
        if fields_v1:
            creator = Manager(manager, "Update", api_version, now or now_rfc3339(), set(), subresource)
            out["metadata"]["managedFields"] = [creator.encode(fields_v1)]
        return out
    changed, removed = _diff_owned(ABSENT if old is None else old, new, schema, skip, map_members=True)
    me = _find(managers, manager, "Update", api_version, subresource)
    for m in managers:
        if m is not me:
            m.fields -= changed | removed
    if me is None:
        me = Manager(manager, "Update", api_version, None, set(), subresource)
        managers.append(me)
    # Kubernetes stamps the time when this write took any field.
    if changed or me.time is None:
        me.time = now or now_rfc3339()
    me.fields = (me.fields - removed) | changed
    return _store(out, managers)


# ---- Apply ----------------------------------------------------------------------------------


def _check_applied(applied: Any) -> dict[str, Any]:
    if not isinstance(applied, dict):
        raise PatchError("error decoding YAML: the apply configuration must be an object", 400)
    for name in ("apiVersion", "kind"):
        if not isinstance(applied.get(name), str) or not applied[name]:
            raise PatchError(
                f"Object '{name[0].upper() + name[1:]}' is missing in the apply configuration", 400
            )
    meta = applied.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise PatchError("metadata must be an object in the apply configuration", 400)
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise PatchError("metadata.managedFields must be nil", 400)
    return applied


def _check_uid(applied: dict[str, Any], live: dict[str, Any] | None) -> None:
    """A uid in the configuration is a precondition, as in Kubernetes (409 when it fails)."""
    want = (applied.get("metadata") or {}).get("uid")
    if not want:
        return
    have = ((live or {}).get("metadata") or {}).get("uid")
    if not have:
        raise PatchError(
            f"uid mismatch: the provided object specified uid {want}, and no existing object was found", 409
        )
    if want != have:
        raise PatchError(f"Precondition failed: UID in precondition: {want}, UID in object meta: {have}", 409)


@guard_depth
def apply_to_new(
    applied: dict[str, Any],
    manager: str,
    *,
    now: str | None = None,
    subresource: str = "",
    ignored: tuple[Path, ...] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """The object an apply creates when none exists: the configuration, owned by `manager`.

    `kind` picks the patch schema (default: the configuration's kind).
    """
    applied = _check_applied(applied)
    _check_uid(applied, None)
    schema = schema_for(kind or applied["kind"])
    skip = _ignored(subresource, ignored)
    fields = set(_owned_values(applied, schema, skip, strict=True))
    obj = _merge(None, applied, schema)
    me = Manager(manager, "Apply", applied["apiVersion"], now or now_rfc3339(), fields, subresource)
    return _store(obj, [me])


@guard_depth
def server_side_apply(
    live: dict[str, Any],
    applied: dict[str, Any],
    manager: str,
    *,
    force: bool = False,
    now: str | None = None,
    subresource: str = "",
    ignored: tuple[Path, ...] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Apply a configuration to an existing object for `manager` (see the module docstring).

    `live` may be {} (absent object: the result is what `apply_to_new` gives). `kind` picks the
    patch schema (default: the configuration's kind); `ignored` overrides the paths nobody owns
    through this endpoint (default: status for the main resource, spec for status).

    Raises PatchError 409 listing the conflicts as Kubernetes does
    (`Apply failed with 1 conflict: conflict with "other": .spec.containers[name="web"].image`).
    Neither input is modified; the result may share unchanged parts with `live`.
    """
    applied = _check_applied(applied)
    if live.get("kind") and live["kind"] != applied["kind"]:
        raise PatchError(
            f"the apply configuration's kind {applied['kind']} "
            f"does not match the object's kind {live['kind']}",
            400,
        )
    _check_uid(applied, live)
    schema = schema_for(kind or applied["kind"])
    skip = _ignored(subresource, ignored)
    applied_fields = set(_owned_values(applied, schema, skip, strict=True))
    managers = decode_managers(live)
    if not managers:
        # Kubernetes records what was there as an update from nothing by "before-first-apply".
        attributed, _ = _diff_owned(ABSENT, live, schema, skip, map_members=True)
        if attributed:
            version = str(live.get("apiVersion") or applied["apiVersion"])
            stamp = now or now_rfc3339()
            managers.append(Manager(BEFORE_FIRST_APPLY, "Update", version, stamp, attributed))
    me = _find(managers, manager, "Apply", "", subresource)
    previous = me.fields if me is not None else set()
    others = [m for m in managers if m is not me]

    owned = applied_fields.union(*(m.fields for m in others))
    gone = previous - owned
    # _merge copies what it changes and shares the rest with `live`; pruning edits in place,
    # so it gets a private copy.
    merged = _merge(deep_copy(live) if gone else live, applied, schema)
    if gone:
        _prune(merged, gone, owned, schema)

    changed, removed = _diff_owned(live, merged, schema, skip)
    conflicts = [(m, sorted(m.fields & changed)) for m in others]
    conflicts = [(m, paths) for m, paths in conflicts if paths]
    if conflicts and not force and manager == "kubectl":
        # Kubernetes lets `kubectl apply --server-side` take over what client-side apply set:
        # fields in the last-applied annotation whose live value still matches it.
        allowed = _last_applied_fields(live, schema, skip)
        conflicts = [(m, [p for p in paths if p not in allowed]) for m, paths in conflicts]
        conflicts = [(m, paths) for m, paths in conflicts if paths]
        if not conflicts:
            conflicts = [(m, sorted(m.fields & changed)) for m in others]
            force = True
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for m, paths in conflicts:
        m.fields -= set(paths)
    for m in others:
        m.fields -= removed
    if me is None:
        me = Manager(manager, "Apply", applied["apiVersion"], None, set(), subresource)
        managers.append(me)
    # Kubernetes stamps the time when the apply changed the object (or the applier's set).
    if changed or removed or applied_fields != me.fields or me.time is None:
        me.time = now or now_rfc3339()
    me.fields = applied_fields
    me.api_version = applied["apiVersion"]
    if manager == "kubectl":
        _sync_last_applied(merged, applied)
    return _store(merged, managers)


def _sync_last_applied(merged: dict[str, Any], applied: dict[str, Any]) -> None:
    """Kubernetes keeps client-side apply's annotation current when `kubectl apply
    --server-side` applies to an object that has it, so both kinds of apply keep working."""
    annotations = (merged.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict) or LAST_APPLIED not in annotations:
        return
    config = dict(applied)
    meta = dict(config.get("metadata") or {})
    notes = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if notes:
        meta["annotations"] = notes
    else:
        meta.pop("annotations", None)
    config["metadata"] = meta
    merged["metadata"] = dict(merged["metadata"])
    merged["metadata"]["annotations"] = {
        **annotations,
        LAST_APPLIED: json.dumps(config, sort_keys=True, separators=(",", ":")) + "\n",
    }


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _last_applied_fields(live: dict[str, Any], schema: Field, skip: tuple[Path, ...]) -> set[Path]:
    """Paths of the client-side apply annotation whose live value is still the one it applied."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    if not isinstance(text, str) or not text:
        return set()
    try:
        last = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(last, dict):
        return set()
    wanted = _owned_values(last, schema, skip)
    current = _owned_values(live, schema, skip)
    return {p for p, v in wanted.items() if p in current and json_equal(current[p], v)}


def _conflict_error(conflicts: list[tuple[Manager, list[Path]]]) -> PatchError:
    conflicts.sort(key=lambda c: c[0].describe())
    total = sum(len(paths) for _, paths in conflicts)
    causes = [
        {"type": "FieldManagerConflict", "message": f"conflict with {m.describe()}", "field": path_string(p)}
        for m, paths in conflicts
        for p in paths
    ]
    if total == 1:
        m, paths = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {m.describe()}: {path_string(paths[0])}"
    else:
        lines = []
        for m, paths in conflicts:
            lines.append(f"conflicts with {m.describe()}:")
            lines.extend(f"- {path_string(p)}" for p in paths)
        message = f"Apply failed with {total} conflicts: " + "\n".join(lines)
    return PatchError(message, 409, causes)


# ---- merging and pruning --------------------------------------------------------------------


def _merge(live: Any, applied: Any, field: Field) -> Any:
    """The applied value merged into the live one; nulls in the configuration remove a field."""
    if isinstance(applied, dict):
        out = dict(live) if isinstance(live, dict) else {}
        for name, value in applied.items():
            if value is None:
                out.pop(name, None)
            else:
                out[name] = _merge(out.get(name), value, field.child(name))
        return out
    if isinstance(applied, list) and isinstance(live, list):
        kind = list_kind(field)
        if kind == "map":
            return _merge_items(
                live, applied, lambda i, x: item_key(x, field, (), False) or ("i", str(i)), field
            )
        if kind == "set":
            return _merge_items(live, applied, lambda i, x: ("v", json.dumps(x, sort_keys=True)), field)
    return deep_copy(applied)


def _merge_items(live: list[Any], applied: list[Any], key: Any, field: Field) -> list[Any]:
    """Merge two keyed lists in Kubernetes' order: the configuration's items in its order, items
    only the live list has stay where they were relative to the shared ones."""
    lkeys: list[Element] = [key(i, x) for i, x in enumerate(live)]
    rkeys: list[Element] = [key(i, x) for i, x in enumerate(applied)]
    rindex = {k: i for i, k in reversed(list(enumerate(rkeys)))}
    lindex = {k: i for i, k in reversed(list(enumerate(lkeys)))}
    shared = [k for k in rkeys if k in lindex]
    out: list[Any] = []
    done: set[Element] = set()
    li = ri = ns = 0

    def take_applied(k: Element, value: Any) -> None:
        nonlocal ns
        done.add(k)
        out.append(_merge(live[lindex[k]] if k in lindex else None, value, field))
        if ns < len(shared) and shared[ns] == k:
            ns += 1

    while li < len(live) or ri < len(applied):
        if li < len(live) and ri < len(applied):
            k = lkeys[li]
            if k == rkeys[ri]:
                take_applied(k, applied[ri])
                li += 1
                ri += 1
                continue
            if k in rindex and ns < len(shared) and shared[ns] != k:
                li += 1
                continue
        if li < len(live):
            k = lkeys[li]
            if k not in rindex:
                out.append(deep_copy(live[li]))
                li += 1
                continue
            if k in done:
                li += 1
                continue
        if ri < len(applied):
            k = rkeys[ri]
            if k not in done:
                take_applied(k, applied[ri])
            ri += 1
    return out


def _prune(obj: dict[str, Any], gone: set[Path], owned: set[Path], schema: Field) -> None:
    """Remove fields in `gone` (no longer applied, owned by nobody), keeping what others own,
    then drop the objects and lists left empty by that."""
    prefixes = {p[:n] for p in owned for n in range(1, len(p))}
    for path in sorted(gone, key=len):
        parents = _locate(obj, path, schema)
        if parents is None:
            continue
        # A named field with something owned inside stays (Kubernetes counts it as owned); a
        # list item or map entry goes with all it holds, unless the entry itself is owned.
        if path in prefixes and path[-1][0] == "f" and not parents[-1][1].free_map:
            continue
        _remove_last(parents, path[-1])
        for depth in range(len(path) - 1, 0, -1):
            container = parents[depth][0]
            if container or path[:depth] in owned or path[:depth] in prefixes:
                break
            _remove_last(parents[:depth], path[depth - 1])


def _locate(obj: Any, path: Path, schema: Field) -> list[tuple[Any, Field]] | None:
    """The containers along `path` (root first) with their fields, or None when it is absent."""
    chain: list[tuple[Any, Field]] = [(obj, schema)]
    node: Any = obj
    field = schema
    for elem in path[:-1]:
        found = _step(node, elem, field)
        if found is None:
            return None
        node, field = found
        chain.append((node, field))
    if _step(node, path[-1], field) is None:
        return None
    return chain


def _step(node: Any, elem: Element, field: Field) -> tuple[Any, Field] | None:
    kind, text = elem
    if kind == "f":
        if isinstance(node, dict) and text in node:
            return node[text], field.child(text)
        return None
    if not isinstance(node, list):
        return None
    index = _index_of(node, elem, field)
    return (node[index], field) if index is not None else None


def _index_of(items: list[Any], elem: Element, field: Field) -> int | None:
    kind, text = elem
    for i, item in enumerate(items):
        if kind == "k" and item_key(item, field, (), False) == elem:
            return i
        if kind == "v" and json.dumps(item, sort_keys=True) == json.dumps(json.loads(text), sort_keys=True):
            return i
        if kind == "i" and str(i) == text:
            return i
    return None


def _remove_last(chain: list[tuple[Any, Field]], elem: Element) -> None:
    container, field = chain[-1]
    if elem[0] == "f":
        if isinstance(container, dict):
            container.pop(elem[1], None)
        return
    if isinstance(container, list):
        index = _index_of(container, elem, field)
        if index is not None:
            del container[index]
