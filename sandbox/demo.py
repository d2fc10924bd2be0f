"""The main job on the sandbox: deploy -> unplanned outage -> recovery -> planned failover -> failback, with a report.

Run from the checkout as ``python -m sandbox.demo`` (``make demo`` does). Every step runs the collection's real
playbooks through ``ansible-playbook`` against a sandbox started for the demo; the report says which site served
after each step and how long each step took, and the demo fails when a site other than the expected one serves.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.client import Sandbox
from sandbox.inventory import read_inventory
from sandbox.writers import Application, create_table, kubernetes_client, never_two_writers, table_rows

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INVENTORIES = ["inventories/outpost-lz", "inventories/dr-multi-region", "inventories/multi-region-ga",
                       "inventories/lz-region"]
# The table the played application writes to in an architecture with a data tier.
APP_TABLE = "wp_posts"


@dataclass
class StepResult:
    """One line of the drill report."""

    architecture: str
    step: str
    expected_site: str
    serving_site: str | None
    seconds: float
    note: str = ""
    changed: int | None = None
    expect_unchanged: bool = False

    lost_writes: int = 0

    @property
    def ok(self) -> bool:
        return (self.serving_site == self.expected_site and not (self.expect_unchanged and self.changed)
                and not self.lost_writes)


@dataclass
class Drill:
    """Runs playbooks for one inventory against the sandbox and records what served after each step."""

    inventory: str
    sandbox: Sandbox
    reports: Path
    results: list[StepResult] = field(default_factory=list)

    @property
    def architecture(self) -> str:
        return Path(self.inventory).name

    @property
    def timeline_file(self) -> Path:
        return self.reports / "timeline.jsonl"

    def last_timeline(self) -> dict:
        """The timeline record the last playbook run appended (steps, seconds, changed count)."""
        return json.loads(self.timeline_file.read_text().splitlines()[-1])

    def playbook(self, name: str, *extra: str) -> float:
        """Run one playbook with the sandbox's vars file; return its wall time, raise when it fails."""
        command = [str(Path(sys.executable).with_name("ansible-playbook")), f"playbooks/{name}",
                   "-i", self.inventory, "-e", f"@{self.sandbox.vars_file}", *extra]
        env = dict(os.environ, EKS_HA_TIMELINE_FILE=str(self.timeline_file))
        started = time.monotonic()
        completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        (self.reports / f"{self.architecture}-{len(self.results):02d}-{name}.log").write_text(completed.stdout + completed.stderr)
        if completed.returncode != 0:
            tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-25:])
            raise RuntimeError(f"{name} failed on {self.inventory} (exit {completed.returncode}):\n{tail}")
        return seconds

    def serving_site(self, expect: str | None = None) -> tuple[str | None, float]:
        """Ask Route 53 (through status.yml) which site serves, waiting for ``expect`` when given."""
        status_file = self.reports / f"{self.architecture}-status.json"
        extra = ["-e", f"traffic_status_file={status_file}"]
        if expect:
            extra += ["-e", f"expect_site={expect}"]
        seconds = self.playbook("status.yml", *extra)
        return json.loads(status_file.read_text())["serving_site"], seconds

    def playbook_step(self, step: str, playbook: str, expected: str, expect_unchanged: bool = False,
                      writer_database: dict | None = None) -> None:
        """Run a playbook as one step of the drill and record what it changed and which site serves after it.

        With ``writer_database`` (a site_database), the application is played throughout: the note says how many
        writes the databases acknowledged, how many of them are missing from that database afterwards (the new
        writer), and how many times the writes switched database.
        """
        writer = None
        if writer_database:
            writer = Application(self.sandbox, kubernetes_client(self.sandbox, writer_database["cluster"]),
                                 writer_database["namespace"], APP_TABLE, str(writer_database["password"]))
            writer.start()
            time.sleep(2)
        try:
            seconds = self.playbook(playbook)
            if writer:
                time.sleep(2)  # the application writes to its new database
        finally:
            if writer:
                writer.stop()
        note, lost = "", 0
        if writer:
            acknowledged = {row for _host, row, *_ in writer.acknowledged}
            lost = len(acknowledged - table_rows(self.sandbox, APP_TABLE, str(writer_database["password"]),
                                                 writer_database["name"]))
            note = (f"{len(acknowledged)} writes acknowledged, {lost} lost, "
                    f"writer switched {never_two_writers(writer.acknowledged)} time(s)")
        self.record(step, expected, seconds, note, changed=self.last_timeline()["changed"],
                    expect_unchanged=expect_unchanged, lost_writes=lost)

    def record(self, step: str, expected: str, seconds: float, note: str = "", changed: int | None = None,
               expect_unchanged: bool = False, lost_writes: int = 0) -> None:
        """Note which site serves after a step."""
        serving, _ = self.serving_site()
        result = StepResult(self.architecture, step, expected, serving, seconds, note, changed, expect_unchanged,
                            lost_writes)
        self.results.append(result)
        print(f"  {self.architecture:16} {step:40} serving={serving:12} {seconds:6.1f} s "
              f"{'' if changed is None else f'changed={changed} '}{note}", flush=True)

    def run(self) -> None:
        """The drill: every step checks which site serves afterwards."""
        hosts = read_inventory(self.inventory)
        sites = hosts["sites"]
        anyone = next(iter(sites.values()))
        home = anyone.get("traffic_home_site") or next(
            name for name, site in sites.items() if site.get("site_role") == "primary")
        target = anyone.get("failover_target") or next(name for name in sites if name != home)
        interval = sites[home]["traffic_health_check"]["request_interval"]
        threshold = sites[home]["traffic_health_check"]["failure_threshold"]

        # Sites with a database: what the played application needs to write through their apps.
        databases = {name: {**site["site_database"], "cluster": site["site_cluster"]["name"],
                            "namespace": site.get("data_tier_namespace", "default")}
                     for name, site in sites.items() if site.get("site_database") and site.get("site_cluster")}
        if home in databases:
            # The home site's application already has data: DMS needs a table to replicate.
            create_table(self.sandbox, databases[home]["name"], APP_TABLE, str(databases[home]["password"]), rows=100)

        self.playbook_step("deploy.yml", "deploy.yml", home)
        self.playbook_step("deploy.yml again (changes nothing)", "deploy.yml", home, expect_unchanged=True)

        started = time.monotonic()
        self.sandbox.fail(home)
        self.serving_site(expect=target)
        self.record(f"outage of {home}, no playbook run", target, time.monotonic() - started,
                    f"health checks {interval} s x {threshold} (time-scaled)")

        started = time.monotonic()
        self.sandbox.recover(home)
        self.serving_site(expect=home)
        self.record(f"{home} recovers, no playbook run", home, time.monotonic() - started)

        if home in databases:
            # The outage cut DMS off from the home database, so its task failed (as in AWS). Deploy converges again:
            # the task resumes (resume-processing) and catches up; failover.yml would refuse until it has.
            self.playbook_step("deploy.yml after the recovery (replication resumed)", "deploy.yml", home)

        self.playbook_step("failover.yml (planned)", "failover.yml", target, writer_database=databases.get(target))
        self.playbook_step("failback.yml", "failback.yml", home, writer_database=databases.get(home))


def render_report(results: list[StepResult], timelines: list[dict]) -> str:
    """The drill report as Markdown: what served after each step, then each playbook's timeline."""
    lines = ["# Drill report", "", "| architecture | step | expected | serving | seconds | changed | |",
             "|---|---|---|---|---:|---:|---|"]
    for result in results:
        verdict = "ok" if result.ok else ("WRONG SITE" if result.serving_site != result.expected_site
                                          else "LOST WRITES" if result.lost_writes else "CHANGED")
        changed = "" if result.changed is None else result.changed
        lines.append(f"| {result.architecture} | {result.step} | {result.expected_site} | {result.serving_site} "
                     f"| {result.seconds:.1f} | {changed} | {verdict} {result.note} |")
    lines += ["", "## Playbook timelines", ""]
    for timeline in timelines:
        if timeline["playbook"] == "status.yml":
            continue
        lines += [f"`{timeline['playbook']}`: {timeline['total_seconds']:.1f} s", "",
                  "| step | at (s) | took (s) |", "|---|---:|---:|"]
        lines += [f"| {step['name']} | {step['at']:.1f} | {step['seconds']:.1f} |" for step in timeline["steps"]]
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", action="append", help="inventory to drill (repeatable)")
    parser.add_argument("--state-dir", default=os.environ.get("EKS_HA_SANDBOX_DIR", ".sandbox-demo"))
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running afterwards")
    args = parser.parse_args(argv)

    inventories = args.inventory or DEFAULT_INVENTORIES
    reports = REPO / args.reports
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "timeline.jsonl").unlink(missing_ok=True)
    sandbox = Sandbox(REPO / args.state_dir)
    results: list[StepResult] = []
    failure = None
    print(f"Starting the sandbox for {', '.join(inventories)}", flush=True)
    try:
        sandbox.up(inventories)
        for inventory in inventories:
            drill = Drill(inventory, sandbox, reports)
            try:
                drill.run()
            finally:
                results += drill.results
    except (RuntimeError, subprocess.SubprocessError) as error:
        failure = str(error)
    finally:
        if not args.keep:
            sandbox.down()

    timeline_file = reports / "timeline.jsonl"
    timelines = [json.loads(line) for line in timeline_file.read_text().splitlines()] if timeline_file.exists() else []
    report = render_report(results, timelines)
    (reports / "demo.md").write_text(report)
    print()
    print(report)
    if failure:
        print(f"DEMO FAILED: {failure}", file=sys.stderr)
        return 1
    if not all(result.ok for result in results):
        print("DEMO FAILED: a step left the wrong site serving or changed what it should not", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
