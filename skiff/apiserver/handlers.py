"""The verbs: get, list, create, update, patch, delete, deletecollection (watch is in watch.py).

Each handler takes the parsed request (Route) and answers a starlette Response or raises APIError.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from skiff.apiserver import admission, errors, namespaces, negotiate, query, serviceaccounts
from skiff.apiserver.cache import WatchCache, decode
from skiff.apiserver.negotiate import Output
from skiff.apiserver.patch import apply as managed
from skiff.apiserver.patch.errors import PatchError
from skiff.apiserver.resources import Obj, ResourceInfo
from skiff.apiserver.storage import (
    Storage,
    carry_metadata,
    encode_for_store,
    fill_new_metadata,
    generate_name,
    prefix_for,
)
from skiff.apiserver.timeutil import rfc3339
from skiff.store import CompactedError, ConflictError, FutureRevisionError, KeyNotFoundError, Store

# How long a consistent read waits for the watch cache to reach the store's revision before it reads
# the store itself (the cache never reaches it when another program wrote keys outside /registry/).
CONSISTENT_WAIT = 0.25


class Route:
    """A parsed resource URL."""

    __slots__ = ("info", "name", "namespace", "sub")

    def __init__(self, info: ResourceInfo, namespace: str | None, name: str | None, sub: str | None) -> None:
        self.info = info
        self.namespace = namespace
        self.name = name
        self.sub = sub


def list_kind(info: ResourceInfo) -> str:
    return info.kind + "List"


class Handlers:
    def __init__(self, store: Store, cache: WatchCache, resources: list[ResourceInfo]) -> None:
        self.store = store
        self.cache = cache
        self.storage = Storage(store, cache)
        self.resources = resources
        # Consistent reads may come from the watch cache once it has caught up with the store's
        # revision; only where that revision is known without a round trip and every key is the
        # API server's (the embedded SQLite store). On etcd, reads go to etcd.
        self.cache_reads = type(store).__name__ == "SQLiteStore"
        self.by_store_plural: dict[str, ResourceInfo] = {}
        # Admission by who writes (NodeRestriction, RBAC escalation): set by the API, given the
        # request's scope, the resource, the object to be written and the stored one (None: a create).
        self.admit_write: Callable[[Any, ResourceInfo, Obj, Obj | None], Awaitable[None]] | None = None
        for r in resources:
            if r.to_stored is None:
                self.by_store_plural.setdefault(r.store_plural, r)

    # ------------------------------------------------------------------------------ reading

    async def lookup(self, store_plural: str, namespace: str, name: str) -> Obj | None:
        """The stored object (the watch cache's copy, else the store's), or None; for authentication."""
        c = self.cache.resource(store_plural).objects.get(f"{namespace}/{name}")
        if c is not None:
            return c.obj
        info = self.by_store_plural.get(store_plural)
        if info is None:
            return None
        try:
            obj, _ = await self.storage.get(info, namespace, name)
        except errors.APIError:
            return None
        return obj

    async def get(self, r: Route, request: Request, out: Output) -> Response:
        info = r.info
        assert r.name is not None
        rv = query.resource_version(request.query_params)
        fresh = rv == "0"
        if not fresh and self.cache_reads:
            fresh = await self.cache.wait_for(await self.store.current_revision(), CONSISTENT_WAIT)
        if fresh:
            c = self.cache.resource(info.store_plural).objects.get(f"{r.namespace or ''}/{r.name}")
            if c is None:
                raise errors.not_found(info.group, info.plural, r.name)
            if out.kind == "json" and not out.yaml and info.from_stored is None:
                return negotiate.respond_raw(c.raw)
            obj = c.obj
        else:
            obj, _ = await self.storage.get(info, r.namespace or "", r.name)
        return self.render_one(info, obj, out)

    def render_one(self, info: ResourceInfo, obj: Obj, out: Output, code: int = 200) -> Response:
        obj = self.storage.view(info, obj)
        if out.kind == "table":
            meta = {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")}
            return negotiate.respond(negotiate.table(info, [obj], meta, out), code)
        if out.kind == "partial":
            return negotiate.respond(negotiate.partial(obj), code)
        return negotiate.respond(obj, code, out)

    async def list_(self, r: Route, request: Request, out: Output) -> Response:
        info = r.info
        q = request.query_params
        rv = query.resource_version(q)
        limit = query.integer(q, "limit", 0) or 0
        cont = q.get("continue", "")
        rv_match = q.get("resourceVersionMatch", "")
        if rv_match not in ("", "Exact", "NotOlderThan"):
            raise errors.bad_request(f'invalid resourceVersionMatch "{rv_match}"')
        if rv_match and not rv:
            raise errors.bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
        if cont and rv:
            raise errors.bad_request("specifying resource version is not allowed when using continue")
        match = query.matcher(q, info.group, info.plural, info.strategy.fields)
        ns = r.namespace if info.namespaced else None
        if cont:
            start_rv, start_key = decode_continue(cont)
            objs, more_key, at = await self._list_store(info, ns, match, limit, start_rv, start_key)
        elif limit > 0 and rv != "0" and rv_match != "NotOlderThan":
            at_rev = int(rv) if rv and rv_match == "Exact" else None
            objs, more_key, at = await self._list_store(info, ns, match, limit, at_rev, None)
        elif rv == "":
            rev = await self.store.current_revision()
            if await self.cache.wait_for(rev, CONSISTENT_WAIT):
                return self._list_cache(info, ns, match, out)
            objs, more_key, at = await self._list_store(info, ns, match, 0, None, None)
        elif rv_match == "Exact":
            objs, more_key, at = await self._list_store(info, ns, match, 0, int(rv), None)
        else:
            if not await self.cache.wait_for(int(rv), 3.0):
                raise errors.timeout(f"Too large resource version: {rv}, current: {self.cache.revision}")
            return self._list_cache(info, ns, match, out)
        meta: Obj = {"resourceVersion": str(at)}
        if more_key is not None:
            meta["continue"] = encode_continue(at, more_key)
        return self.render_list(info, objs, meta, out)

    def render_list(self, info: ResourceInfo, objs: list[Obj], meta: Obj, out: Output) -> Response:
        if info.from_stored is not None:
            objs = [info.from_stored(o) for o in objs]
        if out.kind == "table":
            return negotiate.respond(negotiate.table(info, objs, meta, out))
        if out.kind == "partial":
            return negotiate.respond(
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                    "items": [negotiate.partial(o) for o in objs],
                }
            )
        body = {"kind": list_kind(info), "apiVersion": info.api_version, "metadata": meta, "items": objs}
        return negotiate.respond(body, 200, out)

    def _list_cache(self, info: ResourceInfo, ns: str | None, match: Any, out: Output) -> Response:
        rc = self.cache.resource(info.store_plural)
        at = self.cache.revision
        items = [
            c
            for c in rc.objects.values()
            if (ns is None or c.namespace == ns) and (match is None or match(c.obj))
        ]
        items.sort(key=lambda c: c.key)
        meta = {"resourceVersion": str(at)}
        if out.kind != "json" or out.yaml or info.from_stored is not None:
            return self.render_list(info, [c.obj for c in items], meta, out)
        head = orjson.dumps({"kind": list_kind(info), "apiVersion": info.api_version, "metadata": meta})
        body = head[:-1] + b',"items":[' + b",".join(c.raw for c in items) + b"]}"
        return negotiate.respond_raw(body)

    async def _list_store(
        self,
        info: ResourceInfo,
        ns: str | None,
        match: Any,
        limit: int,
        at_rev: int | None,
        start_key: str | None,
    ) -> tuple[list[Obj], str | None, int]:
        prefix = prefix_for(info, ns)
        out: list[Obj] = []
        rev = at_rev
        after = start_key
        while True:
            want = 0 if limit == 0 else max(limit - len(out), 1)
            if match is not None and limit:
                want = max(want, 500)
            try:
                res = await self.store.range(prefix, start_after=after, limit=want, revision=rev)
            except CompactedError:
                if start_key is not None:
                    raise errors.expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "You can start a new list without the continue parameter."
                    ) from None
                raise errors.expired(f"too old resource version: {at_rev}") from None
            except FutureRevisionError:
                raise errors.timeout(f"Too large resource version: {at_rev}") from None
            rev = res.revision
            for kv in res.kvs:
                obj = decode(kv.value, kv.mod_revision)
                if obj is None:
                    continue
                if match is None or match(obj):
                    out.append(obj)
                    if limit and len(out) >= limit:
                        # More remain when this page was cut or when the page has keys after this one.
                        if kv is not res.kvs[-1] or res.more:
                            return out, kv.key, rev
                        return out, None, rev
            if not res.more or not res.kvs:
                return out, None, rev
            after = res.kvs[-1].key

    # ------------------------------------------------------------------------------ writing

    def decode_body(self, info: ResourceInfo, body: Any, r: Route) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON or YAML object")
        kind = body.get("kind")
        api_version = body.get("apiVersion")
        if api_version is not None and api_version != info.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({info.api_version})"
            )
        if kind is not None and kind != info.kind:
            raise errors.bad_request(
                f'{kind} in version "{info.version}" cannot be handled as a {info.kind}: no kind "{kind}" '
                f'is registered for version "{info.api_version}"'
            )
        body["kind"] = info.kind
        body["apiVersion"] = info.api_version
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if info.namespaced:
            if meta.get("namespace") and r.namespace and meta["namespace"] != r.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            if r.namespace:
                meta["namespace"] = r.namespace
        else:
            meta.pop("namespace", None)
        return body

    def to_stored(self, info: ResourceInfo, obj: Obj) -> Obj:
        if info.to_stored is not None:
            out: Obj = info.to_stored(obj)
            return out
        return obj

    async def create(
        self, r: Route, request: Request, out: Output, body: Any, warnings: list[str]
    ) -> Response:
        info = r.info
        obj = self.decode_body(info, body, r)
        obj = await self.create_object(info, obj, request, warnings)
        if info.plural == "namespaces" and not info.group and request.query_params.get("dryRun") != "All":
            await serviceaccounts.ensure_default(self.store, obj["metadata"]["name"])
        raw = self.encoded_by_cache(info, obj, out)
        if raw is not None:
            return negotiate.respond_raw(raw, 201)
        return self.render_one(info, obj, out, 201)

    def encoded_by_cache(self, info: ResourceInfo, obj: Obj, out: Output) -> bytes | None:
        """The JSON of an object just written, when the watch cache already holds it encoded (its
        watch event usually arrives before the writer resumes) and the client wants it as stored."""
        if out.kind != "json" or out.yaml or info.from_stored is not None:
            return None
        meta = obj["metadata"]
        c = self.cache.current(info.store_plural, meta.get("namespace") or "", meta["name"])
        return c.raw if c is not None and c.obj is obj else None

    async def create_object(
        self, info: ResourceInfo, obj: Obj, request: Request, warnings: list[str], track: bool = True
    ) -> Obj:
        """Create ``obj``; ``track``: record the writer in managedFields (an apply has done so)."""
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generate_name(str(meta["generateName"]))
        if self.admit_write is not None:
            await self.admit_write(request.scope, info, obj, None)
        if info.namespaced:
            ns = await self.require_namespace(meta.get("namespace") or "")
            namespaces.admit_create(info, ns, str(meta.get("name") or ""))
        fill_new_metadata(obj)
        obj = self.to_stored(info, obj)
        # Admission (pod priority) first: its fields are validated with the rest.
        await admission.admit_create(self, info, obj, warnings)
        obj = admission.create_defaults_and_validate(info, obj)
        info.strategy.prepare_create(obj)
        causes = info.strategy.validate(obj, None)
        if causes:
            raise errors.invalid(info.group, info.kind, obj["metadata"].get("name", ""), causes)
        # managedFields start with a create that names its fieldManager (kubectl does): computing
        # them is half the cost of a create, and clients that name no manager (the official client,
        # bulk creators) never read them. Such objects stay untracked until an apply, as objects
        # older than server-side apply are in Kubernetes ("before-first-apply").
        if track and request.query_params.get("fieldManager"):
            obj = managed_fields(None, obj, field_manager(request), None)
        dry = request.query_params.get("dryRun") == "All"
        return await self.storage.create(info, obj, dry)

    async def require_namespace(self, ns: str) -> Obj:
        """The namespace (the watch cache's copy, else the store's); 404 when there is none."""
        if not ns:
            raise errors.bad_request("a namespace is required for this resource")
        c = self.cache.resource("namespaces").objects.get("/" + ns)
        if c is not None:
            return c.obj
        kv = await self.store.get(f"/registry/namespaces/{ns}")
        obj = decode(kv.value, kv.mod_revision) if kv is not None else None
        if obj is None:
            raise errors.not_found("", "namespaces", ns)
        return obj

    async def update(
        self, r: Route, request: Request, out: Output, body: Any, warnings: list[str]
    ) -> Response:
        info = r.info
        assert r.name is not None
        obj = self.decode_body(info, body, r)
        if obj["metadata"].get("name") and obj["metadata"]["name"] != r.name:
            raise errors.bad_request(
                f"the name of the object ({obj['metadata']['name']}) does not match "
                f"the name on the URL ({r.name})"
            )
        obj["metadata"]["name"] = r.name
        new_stored = self.to_stored(info, obj)
        sub = r.sub
        manager = field_manager(request)

        async def mutate(old: Obj) -> Obj | None:
            new = dict(new_stored)
            new["metadata"] = dict(new_stored["metadata"])
            return self.prepare_update(info, new, old, sub, manager)

        res, _ = await self.update_with(r, request, mutate)
        return self.render_one(info, res, out)

    async def update_with(self, r: Route, request: Request, mutate: Any) -> tuple[Obj, bool]:
        info = r.info
        assert r.name is not None
        admit = self.admit_write
        if admit is not None:
            inner = mutate

            async def mutate(old: Obj) -> Obj | None:
                new: Obj | None = await inner(old)
                if new is not None:
                    await admit(request.scope, info, new, old)
                return new

        dry = request.query_params.get("dryRun") == "All"
        res, written = await self.storage.update(info, r.namespace or "", r.name, mutate, dry_run=dry)
        if written and self.finalized(res):
            # The last finalizer of an object being deleted is gone: now it goes.
            try:
                await self.storage.delete(
                    info, r.namespace or "", r.name, int(res["metadata"]["resourceVersion"])
                )
            except (ConflictError, errors.APIError):
                pass
        return res, written

    @staticmethod
    def finalized(obj: Obj) -> bool:
        if obj.get("kind") == "Namespace":
            return namespaces.finalized(obj)
        meta = obj.get("metadata") or {}
        return (
            bool(meta.get("deletionTimestamp"))
            and not meta.get("finalizers")
            and not (
                obj.get("kind") == "Pod"
                and (obj.get("spec") or {}).get("nodeName")
                and meta.get("deletionGracePeriodSeconds")
            )
        )

    def prepare_update(
        self, info: ResourceInfo, new: Obj, old: Obj, sub: str | None, manager: str | None = None
    ) -> Obj | None:
        """The object an update writes; ``manager`` (not for applies) is recorded in managedFields."""
        want_rv = (new.get("metadata") or {}).get("resourceVersion")
        carry_metadata(new, old)
        if want_rv:
            new["metadata"]["resourceVersion"] = want_rv
        else:
            new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
        new["kind"] = old.get("kind", info.kind)
        new["apiVersion"] = old.get("apiVersion", info.api_version)
        strat = info.strategy
        if sub == "status":
            strat.prepare_status_update(new, old)
            if want_rv:
                new["metadata"]["resourceVersion"] = want_rv
            new = admission.defaults_for_update(new)
        elif sub == "finalize":
            strat.prepare_finalize_update(new, old)
            new = admission.defaults_for_update(new)
        else:
            strat.prepare_update(new, old)
            new = admission.defaults_for_update(new)
            if strat.spec_changed(new, old):
                new["metadata"]["generation"] = int(old["metadata"].get("generation") or 1) + 1
        admission.validate(info, new, old, sub)
        if manager is not None:
            new = managed_fields(old, new, manager, sub)
        return new

    # ------------------------------------------------------------------------------ deleting

    async def delete(self, r: Route, request: Request, out: Output, body: Any) -> Response:
        info = r.info
        assert r.name is not None
        opts = delete_options(body, request)
        if namespaces.is_namespace(info):
            return self.render_one(info, await self.delete_namespace(info, r.name, opts, request), out)
        code, obj = await self.delete_object(info, r.namespace or "", r.name, opts, request)
        if info.kind == "Pod" or code == 202:
            return self.render_one(info, obj, out, code)
        meta = obj.get("metadata") or {}
        return negotiate.respond(errors.success_status(r.name, info.group, info.plural, meta.get("uid")), 200)

    async def delete_object(
        self, info: ResourceInfo, ns: str, name: str, opts: Obj, request: Request
    ) -> tuple[int, Obj]:
        dry = request.query_params.get("dryRun") == "All" or opts.get("dryRun") == ["All"]
        pre = opts.get("preconditions") or {}
        for _ in range(50):
            obj, kv = await self.storage.get(info, ns, name)
            meta = obj["metadata"]
            check_preconditions(info, name, meta, pre)
            grace = self.grace_period(info, obj, opts)
            finalizers = meta.get("finalizers") or []
            if grace > 0 or finalizers:
                new = dict(obj)
                new["metadata"] = nm = dict(meta)
                changed = False
                now = time.time()
                if not nm.get("deletionTimestamp") or grace < int(nm.get("deletionGracePeriodSeconds") or 0):
                    nm["deletionTimestamp"] = rfc3339(now + grace)
                    nm["deletionGracePeriodSeconds"] = grace
                    changed = True
                if grace > 0 or (finalizers and changed):
                    if not changed or dry:
                        return 202, obj
                    try:
                        nkv = await self.store.update(kv.key, encode_for_store(new), kv.mod_revision)
                    except ConflictError:
                        continue
                    except KeyNotFoundError:
                        raise errors.not_found(info.group, info.plural, name) from None
                    nm["resourceVersion"] = str(nkv.mod_revision)
                    return 202, new
                if finalizers:
                    return 202, obj
            if dry:
                return 200, obj
            try:
                await self.storage.delete(info, ns, name, kv.mod_revision)
            except ConflictError:
                continue
            return 200, obj
        raise errors.conflict(info.group, info.plural, name, "too many concurrent updates")

    @staticmethod
    def grace_period(info: ResourceInfo, obj: Obj, opts: Obj) -> int:
        if info.kind != "Pod" or info.group:
            return 0
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        g = opts.get("gracePeriodSeconds")
        if g is None:
            g = spec.get("terminationGracePeriodSeconds")
            if g is None:
                g = 30
        try:
            gi = int(g)
        except (TypeError, ValueError):
            raise errors.bad_request("gracePeriodSeconds must be an integer") from None
        # Kubernetes turns a negative grace period into 1 second; 0 means "now".
        return max(gi, 1) if gi != 0 else 0

    async def delete_namespace(self, info: ResourceInfo, name: str, opts: Obj, request: Request) -> Obj:
        """DELETE of a namespace: the first marks it Terminating (its content is the namespace
        controller's to delete); one while finalizers remain is 409; without finalizers it goes."""
        namespaces.refuse_protected(name)
        dry = request.query_params.get("dryRun") == "All" or opts.get("dryRun") == ["All"]
        pre = opts.get("preconditions") or {}

        async def mutate(ns: Obj) -> Obj | None:
            check_preconditions(info, name, ns["metadata"], pre)
            return namespaces.mark_terminating(ns)

        obj, written = await self.storage.update(info, "", name, mutate, dry_run=dry)
        if written:
            # This server's own creates see Terminating from now on (NamespaceLifecycle reads the cache).
            await self.cache.wait_for(int(obj["metadata"]["resourceVersion"]), CONSISTENT_WAIT)
        elif not dry and namespaces.spec_finalizers(obj):
            raise errors.conflict("", "namespaces", name, namespaces.STILL_FINALIZING)
        if namespaces.finalized(obj) and not dry:
            try:
                await self.storage.delete(info, "", name, int(obj["metadata"]["resourceVersion"]))
            except ConflictError:
                raise errors.conflict("", "namespaces", name) from None
        return obj

    async def delete_collection(self, r: Route, request: Request, out: Output, body: Any) -> Response:
        info = r.info
        opts = delete_options(body, request)
        match = query.matcher(request.query_params, info.group, info.plural, info.strategy.fields)
        ns = r.namespace if info.namespaced else None
        objs, _, at = await self._list_store(info, ns, match, 0, None, None)
        deleted = []
        for o in objs:
            meta = o["metadata"]
            try:
                _, obj = await self.delete_object(
                    info, meta.get("namespace", ""), meta["name"], opts, request
                )
            except errors.APIError as e:
                if e.code == 404:
                    continue
                raise
            deleted.append(obj)
        return self.render_list(info, deleted, {"resourceVersion": str(at)}, out)


def field_manager(request: Request) -> str:
    """The fieldManager parameter, else the client's user agent up to its first "/" (as Kubernetes)."""
    m = request.query_params.get("fieldManager")
    if m:
        if len(m) > 128:
            raise errors.bad_request("fieldManager: Too long: may not be more than 128 bytes")
        return m
    ua = request.headers.get("user-agent", "")
    return ua.split("/", 1)[0][:128] or "unknown"


def managed_fields(old: Obj | None, new: Obj, manager: str, sub: str | None) -> Obj:
    try:
        out: Obj = managed.update_managed_fields(old, new, manager, subresource=sub or "")
    except PatchError as e:
        raise errors.APIError(e.code, e.reason, e.message) from None
    return out


def check_preconditions(info: ResourceInfo, name: str, meta: Obj, pre: Obj) -> None:
    """DeleteOptions.preconditions (uid, resourceVersion) against the stored object: 409 if stale."""
    if pre.get("uid") and pre["uid"] != meta.get("uid"):
        raise errors.conflict(
            info.group,
            info.plural,
            name,
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}",
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
        raise errors.conflict(
            info.group,
            info.plural,
            name,
            f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
            f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
        )


def delete_options(body: Any, request: Request) -> Obj:
    opts: Obj = {}
    if isinstance(body, dict):
        opts.update(body)
    elif body is not None:
        raise errors.bad_request("DeleteOptions must be an object")
    q = request.query_params
    g = query.integer(q, "gracePeriodSeconds", None, minimum=-(2**31))
    if g is not None:
        opts["gracePeriodSeconds"] = g
    if q.get("propagationPolicy"):
        opts["propagationPolicy"] = q["propagationPolicy"]
    pp = opts.get("propagationPolicy")
    if pp is not None and pp not in ("Orphan", "Background", "Foreground"):
        raise errors.bad_request(f'propagationPolicy: Unsupported value: "{pp}"')
    return opts


def encode_continue(rv: int, key: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key})).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        rv = int(raw["rv"])
        key = str(raw["start"])
        if raw.get("v") != "meta.k8s.io/v1" or rv <= 0:
            raise ValueError("bad version")
    except Exception:
        raise errors.bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion"
        ) from None
    return rv, key
