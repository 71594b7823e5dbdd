"""The served OpenAPI through the machine's real kubectl: `kubectl explain` reads the field schemas,
and every command that reads OpenAPI (client-side apply and diff, create/replace validation, edit,
server-side apply) behaves as it did before the schemas existed: kubectl still patches with its
compiled-in types and leaves validation to the server."""

from __future__ import annotations

import json

from tests.apiserver.helpers import Kubectl


def test_explain_pods(kubectl: Kubectl) -> None:
    out = kubectl("explain", "pods")
    assert out.startswith("KIND:       Pod\nVERSION:    v1\n")
    assert "GROUP:" not in out
    for line in ("  metadata\t<ObjectMeta>", "  spec\t<PodSpec>", "  status\t<PodStatus>"):
        assert line in out.splitlines()
    image = kubectl("explain", "pods.spec.containers.image")
    assert "FIELD: image <string>" in image and "container image" in image
    containers = kubectl("explain", "pods.spec.containers").splitlines()
    assert "FIELD: containers <[]Container>" in containers
    for line in ("  name\t<string> -required-", "  env\t<[]EnvVar>", "  ports\t<[]ContainerPort>"):
        assert line in containers
    assert "FIELD: limits <map[string]Quantity>" in kubectl(
        "explain", "pods.spec.containers.resources.limits"
    )
    assert "FIELD: port <IntOrString>" in kubectl(
        "explain", "pods.spec.containers.livenessProbe.httpGet.port"
    )
    assert "FIELD: namespace <string>" in kubectl("explain", "pod.metadata.namespace")
    res = kubectl.run("explain", "pods.spec.nope", check=False)
    assert res.returncode != 0 and 'field "nope" does not exist' in res.stderr


def test_explain_nodes_status_recursive(kubectl: Kubectl) -> None:
    lines = kubectl("explain", "nodes.status", "--recursive").splitlines()
    assert "FIELD: status <NodeStatus>" in lines
    for line in (
        "  capacity\t<map[string]Quantity>",
        "  conditions\t<[]NodeCondition>",
        "    type\t<string> -required-",
        "  nodeInfo\t<NodeSystemInfo>",
        "    kubeletVersion\t<string>",
        "  addresses\t<[]NodeAddress>",
    ):
        assert line in lines


def test_explain_kinds_of_other_groups(kubectl: Kubectl) -> None:
    lease = kubectl("explain", "leases.spec")
    assert lease.startswith("GROUP:      coordination.k8s.io\nKIND:       Lease\nVERSION:    v1\n")
    assert "  holderIdentity\t<string>" in lease.splitlines()
    pc = kubectl("explain", "priorityclasses").splitlines()
    assert "GROUP:      scheduling.k8s.io" in pc and "  value\t<integer> -required-" in pc
    rules = kubectl("explain", "roles.rules").splitlines()
    assert "GROUP:      rbac.authorization.k8s.io" in rules and "FIELD: rules <[]PolicyRule>" in rules
    assert "  verbs\t<[]string> -required-" in rules
    events = kubectl("explain", "events", "--api-version=events.k8s.io/v1").splitlines()
    assert "GROUP:      events.k8s.io" in events
    assert "  regarding\t<ObjectReference>" in events and "  note\t<string>" in events
    core_events = kubectl("explain", "events").splitlines()
    assert (
        "GROUP:      events.k8s.io" not in core_events
        and "  involvedObject\t<ObjectReference>" in core_events
    )


POD = """
apiVersion: v1
kind: Pod
metadata: {{name: web, labels: {{app: web}}}}
spec:
  containers:
  - name: main
    image: {image}
    ports: [{ports}]
    env: [{env}]
  - name: side
    image: busybox:1
{extra}"""
PORTS = "{containerPort: 80}, {containerPort: 443}"
ENV = '{name: A, value: "1"}, {name: B, value: "2"}'
TOLERATION = "  tolerations: [{key: k, operator: Exists, effect: NoSchedule}]\n"


def pod(image: str = "busybox:1", ports: str = PORTS, env: str = ENV, extra: str = "") -> str:
    return POD.format(image=image, ports=ports, env=env, extra=extra)


def test_client_side_apply_and_diff_patch_with_compiled_in_types(kubectl: Kubectl, ns: str) -> None:
    def apply(manifest: str, *flags: str) -> tuple[int, str, str]:
        res = kubectl.run("apply", *flags, "-n", ns, "-f", "-", input=manifest, check=False)
        return res.returncode, res.stdout, res.stderr

    def live() -> dict[str, object]:
        return dict(json.loads(kubectl("get", "pod", "web", "-n", ns, "-o", "json"))["spec"])

    assert "pod/web created" in apply(pod())[1]
    rc, out, err = apply(pod(image="busybox:2"), "-v=8")
    assert rc == 0 and "pod/web configured" in out
    # the patch kubectl computed: a strategic merge patch keyed by container name
    assert '\\"$setElementOrder/containers\\":[{\\"name\\":\\"main\\"},{\\"name\\":\\"side\\"}]' in err
    assert "application/strategic-merge-patch+json" in err
    assert "pod/web unchanged" in apply(pod(image="busybox:2"))[1]
    # Removing a port or an env var: kubectl sends a $patch delete for that item alone, and the
    # server refuses the change of a running pod's spec, as Kubernetes does.
    for manifest, deleted in (
        (
            pod(image="busybox:2", ports="{containerPort: 80}"),
            '{\\"$patch\\":\\"delete\\",\\"containerPort\\":443}',
        ),
        (
            pod(image="busybox:2", env='{name: A, value: "1"}'),
            '{\\"$patch\\":\\"delete\\",\\"name\\":\\"B\\"}',
        ),
    ):
        rc, _, err = apply(manifest, "-v=8")
        assert rc != 0 and deleted in err
        assert "pod updates may not change fields other than" in err
    # Tolerations have no merge key: the applied list replaces the defaulted one, which the
    # server refuses (only additions to existing tolerations are allowed).
    rc, _, err = apply(pod(image="busybox:2", extra=TOLERATION))
    assert rc != 0 and "existing toleration can not be modified" in err
    spec = live()
    assert [c["image"] for c in spec["containers"]] == ["busybox:2", "busybox:1"]  # type: ignore[index]
    assert len(spec["containers"][0]["ports"]) == 2  # type: ignore[index]
    assert {t["key"] for t in spec["tolerations"]} == {  # type: ignore[attr-defined]
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    }

    diff = kubectl.run("diff", "-n", ns, "-f", "-", input=pod(image="busybox:3"), check=False)
    assert diff.returncode == 1, diff.stderr
    assert "-    image: busybox:2" in diff.stdout and "+    image: busybox:3" in diff.stdout
    same = kubectl.run("diff", "-n", ns, "-f", "-", input=pod(image="busybox:2"), check=False)
    assert same.returncode == 0 and same.stdout == ""
    assert live()["containers"][0]["image"] == "busybox:2"  # type: ignore[index]

    res = kubectl.run(
        "apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-", input=pod(image="busybox:3")
    )
    assert "pod/web serverside-applied" in res.stdout
    assert live()["containers"][0]["image"] == "busybox:3"  # type: ignore[index]


BAD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: c, image: x, bogus: 1}]\n"
)


def test_validation_is_left_to_the_server(kubectl: Kubectl, ns: str) -> None:
    res = kubectl.run("create", "--validate=strict", "-n", ns, "-f", "-", input=BAD % "strict", check=False)
    assert res.returncode != 0
    assert 'strict decoding error: unknown field "spec.containers[0].bogus"' in res.stderr
    res = kubectl.run("create", "--validate=warn", "-n", ns, "-f", "-", input=BAD % "warn")
    assert 'unknown field "spec.containers[0].bogus"' in res.stderr and "pod/warn created" in res.stdout
    kubectl("create", "--validate=false", "-n", ns, "-f", "-", input=BAD % "ignored")
    # replace (what `kubectl edit` does after a failed patch): strict too
    current = kubectl("get", "pod", "warn", "-n", ns, "-o", "yaml")
    res = kubectl.run(
        "replace",
        "--validate=strict",
        "-f",
        "-",
        input=current.replace("\nspec:\n", "\nspec:\n  bogus: 1\n"),
        check=False,
    )
    assert res.returncode != 0 and 'strict decoding error: unknown field "spec.bogus"' in res.stderr
    edited = current.replace("  name: warn\n", "  name: warn\n  labels: {edited: yes-really}\n", 1)
    assert "pod/warn replaced" in kubectl("replace", "--validate=strict", "-f", "-", input=edited)


def test_edit(kubectl: Kubectl, ns: str) -> None:
    kubectl("apply", "-n", ns, "-f", "-", input=pod())
    editor = {"KUBE_EDITOR": "sed -i -e s/busybox:1$/busybox:9/"}
    res = kubectl.run("edit", "pod", "web", "-n", ns, env=editor)
    assert "pod/web edited" in res.stdout
    spec = json.loads(kubectl("get", "pod", "web", "-n", ns, "-o", "json"))["spec"]
    assert [c["image"] for c in spec["containers"]] == ["busybox:9", "busybox:9"]
