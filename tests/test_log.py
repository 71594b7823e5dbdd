import logging

from skiff.log import LineFormatter


def test_log_line_has_component_level_message_and_fields() -> None:
    record = logging.LogRecord(
        "skiff.scheduler", logging.INFO, __file__, 1, "assigned %s", ("default/web",), None
    )
    record.kv = {"node": "node-1", "reason": "two words"}
    line = LineFormatter("scheduler").format(record)
    stamp, component, level, rest = line.split(" ", 3)
    assert stamp.endswith("Z") and "T" in stamp
    assert (component, level) == ("scheduler", "INFO")
    assert rest == 'assigned default/web node=node-1 reason="two words"'
