"""Field selectors: parsing (cases from Kubernetes' fields/selector_test.go) and per-kind fields."""

from __future__ import annotations

import pytest

from skiff.api import core, events, fields
from skiff.api.meta import ObjectMeta


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x=a,y=b,z=c",
        "x!=a,y=b",
        "x=",
        "x= ",
        "x=,z= ",
        "x= ,z= ",
        "x==a",
        r"x=a\,b",
        r"x=a\=b",
        r"x=a\\b",
    ],
)
def test_parse_good(text: str) -> None:
    fields.parse(text)


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "x=a,b", "x", r"x=a\b", "x=a\\", "!x"])
def test_parse_bad(text: str) -> None:
    with pytest.raises(fields.FieldSelectorError):
        fields.parse(text)


def test_escaping_round_trip() -> None:
    sel = fields.parse(r"x=a\,b\=c\\d")
    assert sel.requirements[0].value == "a,b=c\\d"
    assert str(sel) == r"x=a\,b\=c\\d"
    assert fields.escape_value("a,b=c\\") == r"a\,b\=c\\"


def test_matching() -> None:
    sel = fields.parse("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed")
    pod = core.Pod(
        metadata=ObjectMeta(name="p", namespace="default"),
        spec=core.PodSpec(node_name="n1"),
        status=core.PodStatus(phase="Running"),
    )
    assert fields.matches(fields.for_storage(sel, "", "pods"), "", "pods", pod)
    pod.status = core.PodStatus(phase="Failed")
    assert not fields.matches(sel, "", "pods", pod)
    assert fields.parse("spec.nodeName=").matches(fields.pod_fields(core.Pod()))
    assert sel.requires_exact("spec.nodeName") == "n1"


def test_unsupported_field() -> None:
    with pytest.raises(fields.FieldSelectorError, match=r"field label not supported: spec\.foo"):
        fields.for_storage(fields.parse("spec.foo=x"), "", "pods")
    with pytest.raises(fields.FieldSelectorError, match=r"field label not supported: spec\.nodeName"):
        fields.for_storage(fields.parse("spec.nodeName=x"), "", "nodes")


def test_event_fields_both_apis() -> None:
    ev = core.Event(
        metadata=ObjectMeta(name="e", namespace="default"),
        involved_object=core.ObjectReference(kind="Pod", name="web", namespace="default", uid="u1"),
        reason="Scheduled",
        source=core.EventSource(component="default-scheduler"),
    )
    sel = fields.parse("involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u1")
    assert fields.matches(fields.for_storage(sel, "", "events"), "", "events", ev)
    assert fields.matches(fields.parse("source=default-scheduler"), "", "events", ev)
    v1 = fields.for_storage(fields.parse("regarding.name=web,reason=Scheduled"), "events.k8s.io", "events")
    assert sorted(v1.fields()) == ["involvedObject.name", "reason"]
    assert fields.matches(v1, "events.k8s.io", "events", events.from_core(ev))


def test_other_kinds() -> None:
    node = core.Node(metadata=ObjectMeta(name="n1"), spec=core.NodeSpec(unschedulable=True))
    assert fields.matches(fields.parse("spec.unschedulable=true"), "", "nodes", node)
    assert fields.matches(fields.parse("metadata.name=n1"), "", "nodes", node)
    ns = core.Namespace(metadata=ObjectMeta(name="x"), status=core.NamespaceStatus(phase="Active"))
    assert fields.matches(fields.parse("status.phase=Active"), "", "namespaces", ns)
    assert "metadata.namespace" in fields.supported_fields("coordination.k8s.io", "leases")
    assert "metadata.namespace" not in fields.supported_fields("scheduling.k8s.io", "priorityclasses")
