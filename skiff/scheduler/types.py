"""The scheduler's own view of pods and nodes, parsed once from the API's wire form.

Every scheduling decision reads these records, never the API objects: parsing (quantities, selectors,
tolerations, affinity terms) happens once per object change, not once per node per plugin. The API object
is accepted either as a wire-shaped dict or as a `skiff.api` Struct (converted with msgspec.to_builtins,
which keeps Kubernetes' JSON names).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL = "ephemeral-storage"
PODS = "pods"
# kube-scheduler counts a container without a request as this much for scoring (not for fitting).
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024

HOSTNAME_LABEL = "kubernetes.io/hostname"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


class InvalidSpec(ValueError):
    """Something in a pod or node that the scheduler cannot interpret (reported, never raised out)."""


# ---------------------------------------------------------------- quantities

_SUFFIX: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QCACHE: dict[tuple[str, bool], int] = {}


def parse_quantity(value: Any, milli: bool = False) -> int:
    """A Kubernetes quantity as an integer (rounded up), in thousandths when `milli` (for cpu)."""
    key = (str(value), milli)
    cached = _QCACHE.get(key)
    if cached is not None:
        return cached
    text = key[0].strip()
    num = text
    mult = Decimal(1)
    for suf in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"):
        if text.endswith(suf):
            num = text[: -len(suf)]
            mult = _SUFFIX[suf]
            break
    try:
        d = Decimal(num) * mult
    except InvalidOperation:
        raise InvalidSpec(f"quantities must match the regular expression: {text!r}") from None
    if not d.is_finite():
        raise InvalidSpec(f"invalid quantity {text!r}")
    if milli:
        d *= 1000
    result = int(d.to_integral_value(rounding="ROUND_CEILING"))
    if len(_QCACHE) < 100_000:
        _QCACHE[key] = result
    return result


def resource_amount(name: str, value: Any) -> int:
    return parse_quantity(value, milli=(name == CPU))


# ---------------------------------------------------------------- selectors


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # In NotIn Exists DoesNotExist Gt Lt
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        op = self.op
        if op == "In":
            v = labels.get(self.key)
            return v is not None and v in self.values
        if op == "NotIn":
            v = labels.get(self.key)
            return v is None or v not in self.values
        if op == "Exists":
            return self.key in labels
        if op == "DoesNotExist":
            return self.key not in labels
        v = labels.get(self.key)
        if v is None:
            return False
        try:
            have = int(v)
        except ValueError:
            return False
        want = int(next(iter(self.values)))
        return have > want if op == "Gt" else have < want


_LABEL_OPS = {"In", "NotIn", "Exists", "DoesNotExist"}
_NODE_OPS = _LABEL_OPS | {"Gt", "Lt"}


def _requirement(expr: dict[str, Any], ops: set[str], where: str) -> Requirement:
    key = expr.get("key") or ""
    op = expr.get("operator") or ""
    values = expr.get("values") or []
    if not key:
        raise InvalidSpec(f"{where}: key is required")
    if op not in ops:
        raise InvalidSpec(f"{where}: {op!r} is not a valid selector operator")
    if op in ("In", "NotIn") and not values:
        raise InvalidSpec(f"{where}: values must be non-empty for operator {op}")
    if op in ("Exists", "DoesNotExist") and values:
        raise InvalidSpec(f"{where}: values must be empty for operator {op}")
    if op in ("Gt", "Lt"):
        if len(values) != 1:
            raise InvalidSpec(f"{where}: operator {op} needs exactly one value")
        try:
            int(values[0])
        except ValueError:
            raise InvalidSpec(f"{where}: operator {op} needs an integer value, not {values[0]!r}") from None
    return Requirement(key, op, frozenset(str(v) for v in values))


@dataclass(frozen=True, slots=True)
class Selector:
    """A compiled label selector. `nothing` is the nil selector of affinity terms (matches no object)."""

    reqs: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: dict[str, str]) -> bool:
        if self.nothing:
            return False
        for r in self.reqs:  # noqa: SIM110 (a plain loop is faster here)
            if not r.matches(labels):
                return False
        return True

    def with_requirements(self, extra: list[Requirement]) -> Selector:
        if self.nothing or not extra:
            return self
        return Selector(tuple(sorted(set(self.reqs) | set(extra), key=_req_key)))


def _req_key(r: Requirement) -> tuple[str, str, tuple[str, ...]]:
    return (r.key, r.op, tuple(sorted(r.values)))


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def label_selector(sel: dict[str, Any] | None, where: str = "labelSelector") -> Selector:
    """metav1.LabelSelector: nil matches nothing, {} matches everything."""
    if sel is None:
        return NOTHING
    reqs: set[Requirement] = set()
    for k, v in (sel.get("matchLabels") or {}).items():
        reqs.add(Requirement(k, "In", frozenset([str(v)])))
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        reqs.add(_requirement(expr, _LABEL_OPS, f"{where}.matchExpressions[{i}]"))
    return Selector(tuple(sorted(reqs, key=_req_key)))


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """One term of a NodeSelector: expressions on labels ANDed with fields (metadata.name only)."""

    labels: tuple[Requirement, ...]
    fields: tuple[Requirement, ...]

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        if not self.labels and not self.fields:
            return False  # an empty term matches no objects
        for r in self.labels:
            if not r.matches(labels):
                return False
        if self.fields:
            fl = {"metadata.name": name}
            for r in self.fields:
                if not r.matches(fl):
                    return False
        return True


def node_selector_term(term: dict[str, Any] | None, where: str) -> NodeSelectorTerm:
    term = term or {}
    labels = tuple(
        _requirement(e, _NODE_OPS, f"{where}.matchExpressions[{i}]")
        for i, e in enumerate(term.get("matchExpressions") or [])
    )
    fields = []
    for i, e in enumerate(term.get("matchFields") or []):
        r = _requirement(e, _NODE_OPS, f"{where}.matchFields[{i}]")
        if r.key != "metadata.name":
            raise InvalidSpec(f"{where}.matchFields[{i}].key: {r.key!r} is not a supported field")
        fields.append(r)
    return NodeSelectorTerm(labels, tuple(fields))


# ---------------------------------------------------------------- taints and tolerations


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str
    value: str
    effect: str

    def tolerates(self, t: Taint) -> bool:
        if self.effect and self.effect != t.effect:
            return False
        if self.key and self.key != t.key:
            return False
        if self.operator == "Exists":
            return True
        # Equal (the default): an empty key needs Exists, so key is set here.
        return self.value == t.value


def tolerated(tolerations: tuple[Toleration, ...], taint: Taint) -> bool:
    return any(tol.tolerates(taint) for tol in tolerations)


def _tolerations(raw: list[dict[str, Any]] | None) -> tuple[Toleration, ...]:
    out = []
    for i, t in enumerate(raw or []):
        op = t.get("operator") or "Equal"
        if op not in ("Equal", "Exists"):
            raise InvalidSpec(f"spec.tolerations[{i}].operator: {op!r} is not Equal or Exists")
        key = t.get("key") or ""
        if not key and op != "Exists":
            # kube validation rejects this; treat it as tolerating nothing rather than everything.
            continue
        out.append(Toleration(key, op, str(t.get("value") or ""), t.get("effect") or ""))
    return tuple(out)


# ---------------------------------------------------------------- pod affinity terms and spread


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    selector: Selector
    namespaces: frozenset[str]
    namespace_selector: Selector | None  # None: only `namespaces` (or the pod's own when both empty)
    topology_key: str
    weight: int = 0

    def key(self) -> tuple[Any, ...]:
        return (self.selector, self.namespaces, self.namespace_selector, self.topology_key)


def _affinity_terms(
    raw: list[dict[str, Any]] | None, own_ns: str, where: str, weighted: bool
) -> tuple[AffinityTerm, ...]:
    out = []
    for i, item in enumerate(raw or []):
        term = (item.get("podAffinityTerm") or {}) if weighted else item
        w = f"{where}[{i}]"
        tk = term.get("topologyKey") or ""
        if not tk:
            raise InvalidSpec(f"{w}.topologyKey: Required value")
        ns = frozenset(term.get("namespaces") or [])
        nss_raw = term.get("namespaceSelector")
        nss = label_selector(nss_raw, f"{w}.namespaceSelector") if nss_raw is not None else None
        if not ns and nss is None:
            ns = frozenset([own_ns])
        weight = int(item.get("weight") or 0) if weighted else 0
        if weighted and not 1 <= weight <= 100:
            raise InvalidSpec(f"{w}.weight: must be in the range 1-100")
        out.append(
            AffinityTerm(label_selector(term.get("labelSelector"), f"{w}.labelSelector"), ns, nss, tk, weight)
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    hard: bool  # whenUnsatisfiable == DoNotSchedule
    selector: Selector
    min_domains: int
    honor_affinity: bool  # nodeAffinityPolicy (default Honor)
    honor_taints: bool  # nodeTaintsPolicy (default Ignore)


def _spread(raw: list[dict[str, Any]] | None, pod_labels: dict[str, str]) -> tuple[SpreadConstraint, ...]:
    out = []
    for i, c in enumerate(raw or []):
        w = f"spec.topologySpreadConstraints[{i}]"
        skew = int(c.get("maxSkew") or 0)
        if skew < 1:
            raise InvalidSpec(f"{w}.maxSkew: must be greater than zero")
        tk = c.get("topologyKey") or ""
        if not tk:
            raise InvalidSpec(f"{w}.topologyKey: Required value")
        when = c.get("whenUnsatisfiable") or ""
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            raise InvalidSpec(f"{w}.whenUnsatisfiable: {when!r} is not DoNotSchedule or ScheduleAnyway")
        sel = label_selector(c.get("labelSelector"), f"{w}.labelSelector")
        extra = [
            Requirement(k, "In", frozenset([pod_labels[k]]))
            for k in (c.get("matchLabelKeys") or [])
            if k in pod_labels
        ]
        sel = sel.with_requirements(extra)
        min_domains = c.get("minDomains")
        if min_domains is not None and (int(min_domains) < 1 or when != "DoNotSchedule"):
            raise InvalidSpec(f"{w}.minDomains: must be >= 1 and only with whenUnsatisfiable=DoNotSchedule")
        nap = c.get("nodeAffinityPolicy") or "Honor"
        ntp = c.get("nodeTaintsPolicy") or "Ignore"
        if nap not in ("Honor", "Ignore") or ntp not in ("Honor", "Ignore"):
            raise InvalidSpec(f"{w}: nodeAffinityPolicy and nodeTaintsPolicy must be Honor or Ignore")
        out.append(
            SpreadConstraint(
                skew, tk, when == "DoNotSchedule", sel, int(min_domains or 1), nap == "Honor", ntp == "Honor"
            )
        )
    return tuple(out)


# ---------------------------------------------------------------- images


def normalized_image_name(name: str) -> str:
    """As kube-scheduler's ImageLocality: a name without a tag gets `:latest` (digests are kept)."""
    if "@" in name:
        return name
    if name.rfind(":") <= name.rfind("/"):
        return name + ":latest"
    return name


def image_aliases(name: str) -> list[str]:
    """Names under which a node's image may be listed: Docker Hub images appear both short and long."""
    n = normalized_image_name(name)
    out = [n]
    if n.startswith("docker.io/library/"):
        out.append(n[len("docker.io/library/") :])
    elif n.startswith("docker.io/"):
        out.append(n[len("docker.io/") :])
    elif "/" not in n.split(":")[0]:
        out.append("docker.io/library/" + n)
    else:
        first = n.split("/")[0]
        if "." not in first and ":" not in first and first != "localhost":
            out.append("docker.io/" + n)
    return out


# ---------------------------------------------------------------- time


def parse_time(s: str | None) -> float | None:
    if not s:
        return None
    try:
        return _dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# ---------------------------------------------------------------- pods

DEADLINE_ANNOTATION = "skiff.io/deadline"
GANG_LABEL = "skiff.io/gang"
GANG_MIN_ANNOTATION = "skiff.io/gang-min-member"
GANG_TIMEOUT_ANNOTATION = "skiff.io/gang-timeout-seconds"
DATASETS_ANNOTATION = "skiff.io/datasets"


def to_wire(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    wire = msgspec.to_builtins(obj)
    if not isinstance(wire, dict):
        raise TypeError(f"not an object: {type(obj).__name__}")
    return wire


def _container_requests(c: dict[str, Any]) -> dict[str, int]:
    req = ((c.get("resources") or {}).get("requests")) or {}
    return {k: resource_amount(k, v) for k, v in req.items()}


def _add(a: dict[str, int], b: dict[str, int]) -> None:
    for k, v in b.items():
        a[k] = a.get(k, 0) + v


def _max(a: dict[str, int], b: dict[str, int]) -> None:
    for k, v in b.items():
        if v > a.get(k, 0):
            a[k] = v


def pod_requests(spec: dict[str, Any], non_zero: bool = False) -> dict[str, int]:
    """Effective requests: containers summed, sidecars added, regular init containers as a max, overhead.

    With `non_zero`, a container without a cpu or memory request counts as 100m / 200Mi (scoring only).
    """

    def creq(c: dict[str, Any]) -> dict[str, int]:
        r = _container_requests(c)
        if non_zero:
            r.setdefault(CPU, DEFAULT_MILLI_CPU)
            r.setdefault(MEMORY, DEFAULT_MEMORY)
        return r

    reqs: dict[str, int] = {}
    for c in spec.get("containers") or []:
        _add(reqs, creq(c))
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in spec.get("initContainers") or []:
        r = creq(c)
        if c.get("restartPolicy") == "Always":
            _add(reqs, r)
            _add(sidecars, r)
            eff = dict(sidecars)
        else:
            eff = dict(r)
            _add(eff, sidecars)
        _max(init_max, eff)
    _max(reqs, init_max)
    for k, v in (spec.get("overhead") or {}).items():
        reqs[k] = reqs.get(k, 0) + resource_amount(k, v)
    return reqs


@dataclass(slots=True, eq=False)
class PodInfo:
    """A pod as the scheduler needs it. `error` is set when the pod's spec cannot be interpreted."""

    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    annotations: dict[str, str]
    node_name: str
    scheduler_name: str
    priority: int
    preemption_policy: str
    nominated_node_name: str
    created: float
    start_time: float | None
    deleting: bool
    phase: str
    gates: tuple[str, ...]
    requests: dict[str, int] = field(default_factory=dict)
    nonzero_cpu: int = 0
    nonzero_mem: int = 0
    host_ports: tuple[tuple[str, str, int], ...] = ()
    node_selector: dict[str, str] = field(default_factory=dict)
    required_terms: tuple[NodeSelectorTerm, ...] | None = None
    preferred_terms: tuple[tuple[int, NodeSelectorTerm], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    affinity: tuple[AffinityTerm, ...] = ()
    anti_affinity: tuple[AffinityTerm, ...] = ()
    preferred_affinity: tuple[AffinityTerm, ...] = ()
    preferred_anti_affinity: tuple[AffinityTerm, ...] = ()
    spread: tuple[SpreadConstraint, ...] = ()
    images: tuple[str, ...] = ()
    deadline: float | None = None
    error: str = ""
    obj: Any = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def has_node_constraints(self) -> bool:
        return bool(self.node_selector) or self.required_terms is not None

    def node_matches(self, name: str, labels: dict[str, str]) -> bool:
        """The pod's nodeSelector and required node affinity (NodeAffinity's filter) for one node."""
        for k, v in self.node_selector.items():
            if labels.get(k) != v:
                return False
        if self.required_terms is not None:
            return any(t.matches(name, labels) for t in self.required_terms)
        return True


def pod_info(obj: Any) -> PodInfo:
    d = to_wire(obj)
    meta = d.get("metadata") or {}
    spec = d.get("spec") or {}
    status = d.get("status") or {}
    ns = meta.get("namespace") or "default"
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    created = parse_time(meta.get("creationTimestamp")) or 0.0
    p = PodInfo(
        namespace=ns,
        name=meta.get("name") or "",
        uid=meta.get("uid") or "",
        labels=labels,
        annotations=annotations,
        node_name=spec.get("nodeName") or "",
        scheduler_name=spec.get("schedulerName") or "default-scheduler",
        priority=int(spec.get("priority") or 0),
        preemption_policy=spec.get("preemptionPolicy") or "PreemptLowerPriority",
        nominated_node_name=status.get("nominatedNodeName") or "",
        created=created,
        start_time=parse_time(status.get("startTime")),
        deleting=bool(meta.get("deletionTimestamp")),
        phase=status.get("phase") or "",
        gates=tuple(g.get("name", "") for g in spec.get("schedulingGates") or []),
        obj=obj,
    )
    try:
        _fill_spec(p, spec, labels, annotations, created)
    except (InvalidSpec, ValueError, TypeError, AttributeError, KeyError) as e:
        p.error = str(e) or type(e).__name__
    return p


def _fill_spec(
    p: PodInfo, spec: dict[str, Any], labels: dict[str, str], ann: dict[str, str], created: float
) -> None:
    p.requests = pod_requests(spec)
    nz = pod_requests(spec, non_zero=True)
    p.nonzero_cpu = nz.get(CPU, 0)
    p.nonzero_mem = nz.get(MEMORY, 0)
    ports = []
    for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        for port in c.get("ports") or []:
            hp = int(port.get("hostPort") or 0)
            if hp > 0:
                ports.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP", hp))
    p.host_ports = tuple(ports)
    p.node_selector = {str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()}
    aff = spec.get("affinity") or {}
    na = aff.get("nodeAffinity") or {}
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if req is not None:
        where = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
        p.required_terms = tuple(
            node_selector_term(t, f"{where}[{i}]") for i, t in enumerate(req.get("nodeSelectorTerms") or [])
        )
    pref = []
    for i, t in enumerate(na.get("preferredDuringSchedulingIgnoredDuringExecution") or []):
        w = f"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        weight = int(t.get("weight") or 0)
        if not 1 <= weight <= 100:
            raise InvalidSpec(f"{w}.weight: must be in the range 1-100")
        pref.append((weight, node_selector_term(t.get("preference"), f"{w}.preference")))
    p.preferred_terms = tuple(pref)
    p.tolerations = _tolerations(spec.get("tolerations"))
    ns = p.namespace
    pa = aff.get("podAffinity") or {}
    paa = aff.get("podAntiAffinity") or {}
    req_key = "requiredDuringSchedulingIgnoredDuringExecution"
    pref_key = "preferredDuringSchedulingIgnoredDuringExecution"
    p.affinity = _affinity_terms(pa.get(req_key), ns, f"spec.affinity.podAffinity.{req_key}", False)
    p.anti_affinity = _affinity_terms(paa.get(req_key), ns, f"spec.affinity.podAntiAffinity.{req_key}", False)
    p.preferred_affinity = _affinity_terms(
        pa.get(pref_key), ns, f"spec.affinity.podAffinity.{pref_key}", True
    )
    p.preferred_anti_affinity = _affinity_terms(
        paa.get(pref_key), ns, f"spec.affinity.podAntiAffinity.{pref_key}", True
    )
    p.spread = _spread(spec.get("topologySpreadConstraints"), labels)
    images = [c.get("image") or "" for c in (spec.get("initContainers") or [])]
    images += [c.get("image") or "" for c in (spec.get("containers") or [])]
    p.images = tuple(normalized_image_name(i) for i in images if i)
    deadline = None
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None:
        deadline = (p.start_time or created) + float(ads)
    if DEADLINE_ANNOTATION in ann:
        t = parse_time(ann[DEADLINE_ANNOTATION])
        if t is None:
            raise InvalidSpec(
                f"annotation {DEADLINE_ANNOTATION}: {ann[DEADLINE_ANNOTATION]!r} is not an RFC 3339 time"
            )
        deadline = t if deadline is None else min(deadline, t)
    p.deadline = deadline


# ---------------------------------------------------------------- nodes


@dataclass(slots=True, eq=False)
class NodeInfo:
    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    allocatable: dict[str, int]
    taints: tuple[Taint, ...]
    unschedulable: bool
    images: dict[str, int]  # every listed name -> size in bytes
    obj: Any = None


def node_info(obj: Any) -> NodeInfo:
    d = to_wire(obj)
    meta = d.get("metadata") or {}
    spec = d.get("spec") or {}
    status = d.get("status") or {}
    alloc_raw = status.get("allocatable") or status.get("capacity") or {}
    alloc = {}
    for k, v in alloc_raw.items():
        try:
            alloc[k] = resource_amount(k, v)
        except InvalidSpec:
            alloc[k] = 0
    taints = tuple(
        Taint(t.get("key") or "", str(t.get("value") or ""), t.get("effect") or "")
        for t in spec.get("taints") or []
    )
    images: dict[str, int] = {}
    for img in status.get("images") or []:
        size = int(img.get("sizeBytes") or 0)
        for n in img.get("names") or []:
            for alias in image_aliases(n):
                images.setdefault(alias, size)
    return NodeInfo(
        name=meta.get("name") or "",
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        allocatable=alloc,
        taints=taints,
        unschedulable=bool(spec.get("unschedulable")),
        images=images,
        obj=obj,
    )
