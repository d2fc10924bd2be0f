"""Planned failover and failback: our playbooks against the same move built from amazon.aws modules.

Both run on one sandbox seeded from inventories/outpost-lz, after one deploy.yml, in interleaved rounds (the
order alternates each round) so that a noisy machine slows both alike. Each timed run is followed by an untimed
check that the expected site serves. Prints the median wall time of each and the ratio ours / peer.

    .venv/bin/python benchmarks/failover_vs_peer.py [--rounds 5] [--time-scale 0.05]

The peer drains a site the way the seed runbook does (its health check is pointed at a dead port) because
amazon.aws.route53_health_check cannot invert a check, so the peer also waits for the health checkers to agree;
that wait is part of what a user of those modules pays, scaled by the sandbox's time scale.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.client import Sandbox  # noqa: E402  (the checkout is the import root)

INVENTORY = "inventories/outpost-lz"
HOME, TARGET = "outposts", "localzone"


def playbook(sandbox: Sandbox, path: str, *extra: str) -> float:
    """Run one playbook against the sandbox and return its wall time; raise when it fails."""
    command = [str(Path(sys.executable).with_name("ansible-playbook")), path, "-i", INVENTORY,
               "-e", f"@{sandbox.vars_file}", *extra]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{path} {' '.join(extra)} failed:\n{completed.stdout[-3000:]}{completed.stderr[-2000:]}")
    return elapsed


def expect_serving(sandbox: Sandbox, site: str) -> None:
    """Untimed: wait until Route 53 answers with ``site`` (fails after the verify timeout)."""
    playbook(sandbox, "playbooks/status.yml", "-e", f"expect_site={site}")


RUNNERS = {
    "ours": {
        "failover": lambda sb: playbook(sb, "playbooks/failover.yml", "-e", f"failover_target={TARGET}"),
        "failback": lambda sb: playbook(sb, "playbooks/failback.yml"),
    },
    "peer": {
        "failover": lambda sb: playbook(sb, "benchmarks/peer/move.yml", "-e", f"peer_to={TARGET}", "-e", f"peer_drain={HOME}"),
        "failback": lambda sb: playbook(sb, "benchmarks/peer/move.yml", "-e", f"peer_to={HOME}"),
    },
}


def run_rounds(sandbox: Sandbox, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Interleave the two implementations; each does a failover then a failback per round."""
    times: dict[str, dict[str, list[float]]] = {name: {"failover": [], "failback": []} for name in RUNNERS}
    for round_number in range(rounds):
        order = list(RUNNERS) if round_number % 2 == 0 else list(reversed(RUNNERS))
        for name in order:
            times[name]["failover"].append(RUNNERS[name]["failover"](sandbox))
            expect_serving(sandbox, TARGET)
            times[name]["failback"].append(RUNNERS[name]["failback"](sandbox))
            expect_serving(sandbox, HOME)
            print(f"round {round_number + 1}: {name:4} failover {times[name]['failover'][-1]:5.2f} s, "
                  f"failback {times[name]['failback'][-1]:5.2f} s", flush=True)
    return times


def summarize(times: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    """Medians per implementation and step, and the ratio ours / peer."""
    summary = {}
    for step in ("failover", "failback"):
        ours, peer = statistics.median(times["ours"][step]), statistics.median(times["peer"][step])
        summary.update({f"ours_{step}_median_s": round(ours, 3), f"peer_{step}_median_s": round(peer, 3),
                        f"{step}_ratio_ours_over_peer": round(ours / peer, 3)})
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="sandbox health-check time scale (0.05: a 30 s x 3 check fails over in 4.5 s)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="eks-ha-bench-") as state_dir:
        sandbox = Sandbox(state_dir)
        sandbox.up([INVENTORY], time_scale=args.time_scale)
        try:
            playbook(sandbox, "playbooks/deploy.yml")
            times = run_rounds(sandbox, args.rounds)
        finally:
            sandbox.down()

    summary = summarize(times)
    if args.json:
        print(json.dumps({"rounds": args.rounds, "time_scale": args.time_scale, **summary}, indent=2))
        return 0
    print(f"\n{args.rounds} rounds, sandbox time scale {args.time_scale}")
    print(f"{'':10} {'ours (s)':>9} {'peer (s)':>9} {'ours/peer':>10}")
    for step in ("failover", "failback"):
        print(f"{step:10} {summary[f'ours_{step}_median_s']:9.2f} {summary[f'peer_{step}_median_s']:9.2f} "
              f"{summary[f'{step}_ratio_ours_over_peer']:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
