"""KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1), the parts skiff's scheduler reads.

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    percentageOfNodesToScore: 0          # 0 (default): score every feasible node
    leaderElection: {leaderElect: true, leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 2s,
                     resourceName: kube-scheduler, resourceNamespace: kube-system}
    profiles:
    - schedulerName: default-scheduler
      percentageOfNodesToScore: 50
      plugins:
        multiPoint: {enabled: [{name: X}], disabled: [{name: "*"}]}
        score: {enabled: [{name: NodeResourcesFit, weight: 2}], disabled: [{name: ImageLocality}]}
      pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}

Plugins of the default profile are enabled at every point they implement; `disabled` removes them per
point ("*" removes every default there); `enabled` adds plugins (after the defaults) or sets a weight.
A malformed configuration raises ConfigError naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .framework import POINTS, Framework, Handle, Plugin, implements
from .plugins import DEFAULT_POINTS, DEFAULT_WEIGHTS, REGISTRY
from .plugins.noderesourcesfit import validate_args
from .types import InvalidSpec


class ConfigError(ValueError):
    """A malformed scheduler configuration; the message names the field."""


@dataclass
class LeaderElection:
    leader_elect: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    resource_name: str = "kube-scheduler"
    resource_namespace: str = "kube-system"


@dataclass
class Profile:
    scheduler_name: str
    points: dict[str, list[str]]
    weights: dict[str, int]
    args: dict[str, dict[str, Any]]
    percentage: int


@dataclass
class SchedulerConfig:
    profiles: list[Profile] = field(default_factory=list)
    percentage: int = 0
    leader_election: LeaderElection = field(default_factory=LeaderElection)
    parallelism: int = 16


_TOP = {
    "apiVersion",
    "kind",
    "profiles",
    "percentageOfNodesToScore",
    "leaderElection",
    "parallelism",
    "clientConnection",
    "healthzBindAddress",
    "metricsBindAddress",
    "enableProfiling",
    "enableContentionProfiling",
    "podInitialBackoffSeconds",
    "podMaxBackoffSeconds",
    "extenders",
    "delayCacheUntilActive",
}
_PROFILE = {"schedulerName", "plugins", "pluginConfig", "percentageOfNodesToScore"}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms))+$")


def _duration(v: Any, where: str) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if not isinstance(v, str) or not _DURATION.match(v):
        raise ConfigError(f"{where}: invalid duration {v!r} (e.g. 15s)")
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", v):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def _percentage(v: Any, where: str) -> int:
    if v is None:
        return 0
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100:
        raise ConfigError(f"{where}: must be an integer between 0 and 100, not {v!r}")
    return v


def _mapping(v: Any, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ConfigError(f"{where}: must be an object")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise ConfigError(f"{where}: must be a list")
    return v


def parse_config(data: Any) -> SchedulerConfig:
    if data is None:
        data = {}
    d = _mapping(data, "config")
    api = d.get("apiVersion")
    if api is not None and not str(api).startswith("kubescheduler.config.k8s.io/"):
        raise ConfigError(f"apiVersion: expected kubescheduler.config.k8s.io/v1, not {api!r}")
    kind = d.get("kind")
    if kind is not None and kind != "KubeSchedulerConfiguration":
        raise ConfigError(f"kind: expected KubeSchedulerConfiguration, not {kind!r}")
    for k in d:
        if k not in _TOP:
            raise ConfigError(f"{k}: unknown field")
    cfg = SchedulerConfig(
        percentage=_percentage(d.get("percentageOfNodesToScore"), "percentageOfNodesToScore")
    )
    par = d.get("parallelism", 16)
    if not isinstance(par, int) or par < 1:
        raise ConfigError(f"parallelism: must be a positive integer, not {par!r}")
    cfg.parallelism = par
    le = _mapping(d.get("leaderElection"), "leaderElection")
    cfg.leader_election = LeaderElection(
        leader_elect=bool(le.get("leaderElect", True)),
        lease_duration=_duration(le.get("leaseDuration", "15s"), "leaderElection.leaseDuration"),
        renew_deadline=_duration(le.get("renewDeadline", "10s"), "leaderElection.renewDeadline"),
        retry_period=_duration(le.get("retryPeriod", "2s"), "leaderElection.retryPeriod"),
        resource_name=str(le.get("resourceName", "kube-scheduler")),
        resource_namespace=str(le.get("resourceNamespace", "kube-system")),
    )
    lec = cfg.leader_election
    if lec.leader_elect and not lec.lease_duration > lec.renew_deadline > lec.retry_period > 0:
        raise ConfigError("leaderElection: need leaseDuration > renewDeadline > retryPeriod > 0")
    profiles = _list(d.get("profiles"), "profiles") or [{"schedulerName": "default-scheduler"}]
    names: set[str] = set()
    for i, p in enumerate(profiles):
        prof = _profile(_mapping(p, f"profiles[{i}]"), f"profiles[{i}]", cfg.percentage)
        if prof.scheduler_name in names:
            raise ConfigError(f"profiles[{i}].schedulerName: Duplicate value: {prof.scheduler_name!r}")
        names.add(prof.scheduler_name)
        cfg.profiles.append(prof)
    sorts = {tuple(p.points["queueSort"]) for p in cfg.profiles}
    if len(sorts) > 1:
        raise ConfigError("profiles[1].plugins.queueSort: queueSort must be the same for all profiles")
    return cfg


def _plugin_set(v: Any, where: str) -> list[tuple[str, int | None]]:
    out = []
    for j, e in enumerate(_list(v, where)):
        e = _mapping(e, f"{where}[{j}]")
        name = e.get("name")
        if not name or not isinstance(name, str):
            raise ConfigError(f"{where}[{j}].name: Required value")
        if name != "*" and name not in REGISTRY:
            raise ConfigError(f"{where}[{j}].name: unknown plugin {name!r}")
        w = e.get("weight")
        if w is not None and (not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= 100):
            raise ConfigError(f"{where}[{j}].weight: must be an integer between 0 and 100")
        out.append((name, w))
    return out


def _profile(p: dict[str, Any], where: str, global_pct: int) -> Profile:
    for k in p:
        if k not in _PROFILE:
            raise ConfigError(f"{where}.{k}: unknown field")
    name = p.get("schedulerName")
    if not name or not isinstance(name, str):
        raise ConfigError(f"{where}.schedulerName: Required value")
    pct = p.get("percentageOfNodesToScore")
    percentage = _percentage(pct, f"{where}.percentageOfNodesToScore") if pct is not None else global_pct
    plugins = _mapping(p.get("plugins"), f"{where}.plugins")
    points = {pt: list(DEFAULT_POINTS.get(pt, [])) for pt in POINTS}
    weights = dict(DEFAULT_WEIGHTS)
    for k in plugins:
        if k not in POINTS and k != "multiPoint":
            raise ConfigError(f"{where}.plugins.{k}: unknown extension point")
    mp = _mapping(plugins.get("multiPoint"), f"{where}.plugins.multiPoint")
    for name_, _w in _plugin_set(mp.get("disabled"), f"{where}.plugins.multiPoint.disabled"):
        for pt in POINTS:
            points[pt] = [] if name_ == "*" else [x for x in points[pt] if x != name_]
    for name_, w in _plugin_set(mp.get("enabled"), f"{where}.plugins.multiPoint.enabled"):
        inst = REGISTRY[name_]
        for pt in POINTS:
            if pt in ("queueSort",) and points[pt] and name_ not in points[pt]:
                continue
            if implements(inst, pt) and name_ not in points[pt]:
                points[pt].append(name_)
        if w is not None:
            weights[name_] = w
    for pt in POINTS:
        ps = _mapping(plugins.get(pt), f"{where}.plugins.{pt}")
        for name_, _w in _plugin_set(ps.get("disabled"), f"{where}.plugins.{pt}.disabled"):
            points[pt] = [] if name_ == "*" else [x for x in points[pt] if x != name_]
        for j, (name_, w) in enumerate(_plugin_set(ps.get("enabled"), f"{where}.plugins.{pt}.enabled")):
            if name_ == "*":
                raise ConfigError(f"{where}.plugins.{pt}.enabled[{j}].name: '*' is only valid in disabled")
            if not implements(REGISTRY[name_], pt):
                raise ConfigError(
                    f"{where}.plugins.{pt}.enabled[{j}]: plugin {name_!r} does not implement {pt}"
                )
            if name_ not in points[pt]:
                points[pt].append(name_)
            if w is not None and pt == "score":
                weights[name_] = w
    if len(points["queueSort"]) != 1:
        raise ConfigError(f"{where}.plugins.queueSort: exactly one queue sort plugin must be enabled")
    if not points["bind"]:
        raise ConfigError(f"{where}.plugins.bind: at least one bind plugin must be enabled")
    args: dict[str, dict[str, Any]] = {}
    for j, pc in enumerate(_list(p.get("pluginConfig"), f"{where}.pluginConfig")):
        pc = _mapping(pc, f"{where}.pluginConfig[{j}]")
        pname = pc.get("name")
        if not pname or pname not in REGISTRY:
            raise ConfigError(f"{where}.pluginConfig[{j}].name: unknown plugin {pname!r}")
        if pname in args:
            raise ConfigError(f"{where}.pluginConfig[{j}].name: Duplicate value: {pname!r}")
        a = _mapping(pc.get("args"), f"{where}.pluginConfig[{j}].args")
        if pname == "NodeResourcesFit":
            try:
                validate_args(a, f"{where}.pluginConfig[{j}].args")
            except InvalidSpec as e:
                raise ConfigError(str(e)) from None
        args[pname] = a
    return Profile(name, points, weights, args, percentage)


def load_config(path: str | None) -> SchedulerConfig:
    if path is None:
        return parse_config({})
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    return parse_config(data)


def build_frameworks(cfg: SchedulerConfig, handle: Handle, seed: int | None = None) -> dict[str, Framework]:
    """One Framework per profile; plugins are instantiated once per profile."""
    out: dict[str, Framework] = {}
    for prof in cfg.profiles:
        instances: dict[str, Plugin] = {}
        points: dict[str, list[Plugin]] = {}
        for pt in POINTS:
            lst = []
            for name in prof.points[pt]:
                inst = instances.get(name)
                if inst is None:
                    inst = REGISTRY[name](handle, prof.args.get(name))
                    instances[name] = inst
                if implements(inst, pt):
                    lst.append(inst)
            points[pt] = lst
        out[prof.scheduler_name] = Framework(
            handle, prof.scheduler_name, points, prof.weights, prof.percentage, seed=seed
        )
        out[prof.scheduler_name].plugins = list(instances.values())
    return out
