"""skiff's object model: msgspec Structs for the served kinds and the pure logic around them.

Imports nothing of skiff and does no I/O. See docs/CONVENTIONS.md. Where things are:

- Types: `meta` (ObjectMeta, ListMeta, Status, time helpers), `core` (Pod, Node, Namespace, Event,
  Binding), `coordination` (Lease), `scheduling` (PriorityClass), `events` (events.k8s.io Event and
  conversion to/from the core Event), `policy` (Eviction). Top-level kinds always encode `kind` and
  `apiVersion`; lists always encode `items` and `metadata`.
- `kinds`: every served kind (group, version, plural, short names, verbs, subresources, Struct types).
- `codec`: `decode_fast(T, bytes)`, `decode(T, bytes, strict)` (unknown field paths), `encode`,
  `from_builtins` / `to_builtins` / `convert` for dicts, `DecodeError` with a field path.
- `quantity`: resource.Quantity parse / canonical form / milli-value; `resources`: a pod's effective
  requests and QoS class.
- `labels` / `fields`: selector parsing and matching (`fields.for_storage` checks a kind's fields);
  `names`: DNS-1123 / qualified-name / label-value checks with Kubernetes' messages.
- `defaults`: Kubernetes' defaulting (`apply`, `prepare_pod_for_create`, `add_default_tolerations`,
  `apply_priority`, and dict-level `default_dict` / `prepare_create_dict`).
- `validation`: Kubernetes' validation (`validate`, `validate_update`, `validate_pod_status_update`,
  `invalid_status` for the 422 Status, dict-level `validate_dict`).
"""
