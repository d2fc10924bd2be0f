# -*- coding: utf-8 -*-
# Copyright: Contributors to the eks_ha.resilience collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: timeline
type: aggregate
short_description: Records how long each step of a drill takes and prints the timeline
description:
  - Measures the wall time of every task across all hosts (from the first host starting it to the last host
    finishing it), so that parallel per-site work counts once.
  - At the end of the playbook prints a table of steps and seconds, the total, and the plays' names.
  - When O(output_file) is set, appends one JSON document per playbook run to that file (JSON lines), which the
    drill report reads.
  - Only tasks whose name contains a C(|) separator (for example C(Traffic | move to the DR site)) are listed,
    so helper tasks do not clutter the timeline; set O(all_tasks=true) to list every task. Includes are never
    listed; the tasks they bring in are.
requirements:
  - Enabled in C(callbacks_enabled) (the collection's C(ansible.cfg) enables it).
options:
  output_file:
    description: File that receives one JSON line per playbook run.
    type: path
    env:
      - name: EKS_HA_TIMELINE_FILE
    ini:
      - section: callback_timeline
        key: output_file
  all_tasks:
    description: List every task, not only the named steps.
    type: bool
    default: false
    env:
      - name: EKS_HA_TIMELINE_ALL_TASKS
    ini:
      - section: callback_timeline
        key: all_tasks
"""

import json
import os
import time

# Includes finish at once; the tasks they bring in carry the time.
INCLUDE_ACTIONS = frozenset(("include_role", "include_tasks", "import_role", "import_tasks"))

from ansible.plugins.callback import CallbackBase


def merge_step(steps, name, started, ended, failed=False):
    """Fold one host's run of a task into the ordered step list, widening the step's window when it exists."""
    for step in steps:
        if step["name"] == name:
            step["started"] = min(step["started"], started)
            step["ended"] = max(step["ended"], ended)
            step["failed"] = step["failed"] or failed
            return steps
    steps.append({"name": name, "started": started, "ended": ended, "failed": failed})
    return steps


def render_timeline(title, steps, total):
    """Return the timeline as aligned text lines: step, seconds since start, duration."""
    if not steps:
        return [f"TIMELINE {title}: no steps ({total:.1f} s)"]
    origin = min(step["started"] for step in steps)
    width = max(len(step["name"]) for step in steps)
    lines = ["TIMELINE " + title, "  " + "step".ljust(width) + "   at (s) took (s)"]
    for step in steps:
        mark = "  FAILED" if step["failed"] else ""
        at, took = step["started"] - origin, step["ended"] - step["started"]
        lines.append(f"  {step['name'].ljust(width)} {at:8.1f} {took:8.1f}{mark}")
    lines.append(f"  {'total'.ljust(width)} {'':8} {total:8.1f}")
    return lines


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "eks_ha.resilience.timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._playbook = None
        self._play_started = None
        self._task_started = {}
        self._steps = []

    def _wanted(self, task):
        if task.action.rsplit(".", 1)[-1] in INCLUDE_ACTIONS:
            return False
        return "|" in (task.name or "") or self.get_option("all_tasks")

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(playbook._file_name)
        self._play_started = time.time()

    def v2_runner_on_start(self, host, task):
        # Keyed by task and host: per-site tasks run side by side on forks.
        self._task_started[(task._uuid, host.get_name())] = time.time()

    def _finish(self, result, failed=False):
        task = result._task
        started = self._task_started.pop((task._uuid, result._host.get_name()), None)
        if started is None or not self._wanted(task):
            return
        # The task's own name, without the role prefix that get_name() adds.
        merge_step(self._steps, task.name or task.action, started, time.time(), failed)

    def v2_runner_on_ok(self, result):
        self._finish(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._finish(result, failed=not ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._task_started.pop((result._task._uuid, result._host.get_name()), None)

    def v2_runner_on_unreachable(self, result):
        self._finish(result, failed=True)

    def v2_playbook_on_stats(self, stats):
        total = time.time() - (self._play_started or time.time())
        for line in render_timeline(self._playbook, self._steps, total):
            self._display.display(line)
        output_file = self.get_option("output_file")
        if output_file:
            origin = min([s["started"] for s in self._steps] or [self._play_started or 0])
            record = {
                "playbook": self._playbook,
                "total_seconds": round(total, 3),
                "failed": any(stats.failures.values()) or any(stats.dark.values()),
                "changed": sum(stats.changed.values()),
                "steps": [{"name": s["name"], "at": round(s["started"] - origin, 3),
                           "seconds": round(s["ended"] - s["started"], 3), "failed": s["failed"]}
                          for s in self._steps],
            }
            with open(output_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
