"""Annotation keys skiff's components write so that a pod's journey can be traced afterwards.

They sit on the Events the components already post (never on the user's objects), so `skiff trace`
and the dashboard rebuild every step from what the cluster records, for any pod.
"""

# On the scheduler's Scheduled / FailedScheduling event.
SCHEDULER_NOTICED_AT = "trace.skiff.io/noticed-at"  # MicroTime the pod entered the scheduling queue
SCHEDULER_POD_REVISION = "trace.skiff.io/pod-revision"  # resourceVersion of the pod the scheduler saw
SCHEDULER_FEASIBLE_NODES = "trace.skiff.io/feasible-nodes"  # "3/5": feasible out of all nodes
SCHEDULER_TOP_SCORES = "trace.skiff.io/top-scores"  # "node-1=87,node-2=80,node-3=41"
SCHEDULER_DECIDED_AT = "trace.skiff.io/decided-at"  # MicroTime the node was chosen

# On the kubelet's first event for a pod (Pulled, Pulling or Created).
KUBELET_NOTICED_AT = "trace.skiff.io/kubelet-noticed-at"  # MicroTime the kubelet saw the binding
KUBELET_SANDBOX_READY_AT = "trace.skiff.io/sandbox-ready-at"  # MicroTime the sandbox was running
