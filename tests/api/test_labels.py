"""Label selectors: cases from Kubernetes' labels/selector_test.go."""

from __future__ import annotations

import pytest

from skiff.api import labels
from skiff.api.core import LabelSelector, LabelSelectorRequirement
from skiff.api.names import is_qualified_name, is_valid_label_value

GOOD = ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"]
BAD = ["x=a||y=b", "x==a==b", "!x=a", "x<a"]


@pytest.mark.parametrize("text", GOOD)
def test_parse_good_restrings(text: str) -> None:
    assert str(labels.parse(text)) == text.replace(" ", "")


@pytest.mark.parametrize(
    "text",
    [
        *BAD,
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)",
        "a notin(",
        "a (",
        "(",
        "x in (a",
        "a/b/c",
        "-a=b",
        "a=-b",
        "a=" + "b" * 64,
    ],
)
def test_parse_bad(text: str) -> None:
    with pytest.raises(labels.SelectorError):
        labels.parse(text)


def test_deterministic() -> None:
    assert str(labels.parse("x=a,a=x")) == str(labels.parse("a=x,x=a"))


@pytest.mark.parametrize(
    ("sel", "lbls", "match"),
    [
        ("", {"x": "y"}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("notin=in", {"notin": "in"}, True),
        ("x", {"x": "z"}, True),
        ("!x", {"y": "z"}, True),
        ("x>1", {"x": "2"}, True),
        ("x<1", {"x": "0"}, True),
        ("x=z", {}, False),
        ("x=y", {"x": "z"}, False),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("x", {"y": "z"}, False),
        ("!x", {"x": "z"}, False),
        ("x>1", {"x": "0"}, False),
        ("x<1", {"x": "2"}, False),
        ("z>1", {"z": "v2"}, False),
        ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
        ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
        ("x in (foo),y notin (alpha)", {"x": "foo", "y": "baz"}, True),
        ("x in (foo),y in (alpha)", {"x": "foo", "y": "baz"}, False),
        ("x notin (),y", {"y": ""}, True),
        ("!x,y", {"y": ""}, True),
        ("x notin (),!y", {"y": ""}, False),
        ("x in ()", {"y": "baz"}, False),
        ("x==y", {"x": "y"}, True),
        ("x!=y", {}, True),
    ],
)
def test_matches(sel: str, lbls: dict[str, str], match: bool) -> None:
    assert labels.parse(sel).matches(lbls) is match


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("\rx", "x"),
        ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
        ),
        ("foo  in\t (abc)", "foo in (abc)"),
        ("x notin\n (abc)", "x notin (abc)"),
        ("x in (abc,)", "x in (,abc)"),
        ("x in ()", "x in ()"),
        ("x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()"),
        ("x notin ( )", "x notin ()"),
        ("x notin (, a)", "x notin (,a)"),
        ("a ", "a"),
        ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
        ("x,y", "x,y"),
    ],
)
def test_set_parser(text: str, expect: str) -> None:
    assert str(labels.parse(text)) == expect


def test_from_set_and_label_selector() -> None:
    assert labels.from_set({"a": "b"}).matches({"a": "b", "c": "d"})
    assert labels.from_set(None).empty()
    ls = LabelSelector(
        match_labels={"app": "web"},
        match_expressions=[
            LabelSelectorRequirement(key="tier", operator="In", values=["fe", "be"]),
            LabelSelectorRequirement(key="canary", operator="DoesNotExist"),
        ],
    )
    sel = labels.from_label_selector(ls)
    for lbls, want in [
        ({"app": "web", "tier": "fe"}, True),
        ({"app": "web", "tier": "db"}, False),
        ({"app": "web", "tier": "fe", "canary": "1"}, False),
        ({"tier": "fe"}, False),
    ]:
        assert sel.matches(lbls) is want
        assert labels.matches_label_selector(ls, lbls) is want
    assert not labels.from_label_selector(None).matches({})
    assert labels.from_label_selector(LabelSelector()).matches({"x": "y"})
    assert labels.matches_label_selector(LabelSelector(), {"x": "y"})
    assert not labels.matches_label_selector(None, {"x": "y"})
    with pytest.raises(labels.SelectorError, match="not a valid label selector operator"):
        labels.from_label_selector(
            LabelSelector(match_expressions=[LabelSelectorRequirement(key="a", operator="Gt")])
        )
    with pytest.raises(labels.SelectorError, match="values set can't be empty"):
        labels.from_label_selector(
            LabelSelector(match_expressions=[LabelSelectorRequirement(key="a", operator="In")])
        )


def test_requirement_constructor() -> None:
    ok = [
        ("x", "in", ["foo"]),
        ("x", "notin", ["foo"]),
        ("x", "exists", []),
        ("x", "!", []),
        ("1foo", "in", ["bar"]),
        ("1234", "in", ["bar"]),
        ("y", "gt", ["1"]),
        ("z", "lt", ["6"]),
    ]
    for key, op, vals in ok:
        labels.new_requirement(key, op, vals)
    bad = [
        ("x", "in", []),
        ("x", "notin", []),
        ("foo", "gt", ["bar"]),
        ("barz", "lt", ["blah"]),
        ("a" * 254, "exists", []),
    ]
    for key, op, vals in bad:
        with pytest.raises(labels.SelectorError):
            labels.new_requirement(key, op, vals)


def test_names() -> None:
    for good in [
        "simple",
        "now-with-dashes",
        "1-starts-with-num",
        "1234",
        "simple/simple",
        "now-with-dashes/simple",
        "now-with-dashes/now-with-dashes",
        "now.with.dots/simple",
        "now-with.dashes-and.dots/simple",
        "1-num.2-num/3-num",
        "1234/5678",
        "1.2.3.4/5678",
        "Uppercase_Is_OK_123",
        "example.com/Uppercase_Is_OK_123",
        "requests.storage-foo",
        "a" * 63,
        "a" * 253 + "/" + "b" * 63,
    ]:
        assert is_qualified_name(good) == [], good
    for bad in [
        "nospecialchars%^=@",
        "cantendwithadash-",
        "-cantstartwithadash-",
        "only/one/slash",
        "Example.com/abc",
        "example_com/abc",
        "example.com/",
        "/simple",
        "a" * 64,
        "a" * 254 + "/abc",
    ]:
        assert is_qualified_name(bad) != [], bad
    assert is_valid_label_value("") == []
    assert is_valid_label_value("a" * 63) == []
    assert is_valid_label_value("a" * 64) == ["must be no more than 63 characters"]
    assert is_valid_label_value("-x") != []
    assert "name part must be non-empty" in is_qualified_name("example.com/")
