"""Command line: ``python -m sandbox {up,down,status,fail,recover,dms-delay,serve}`` (see --help)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sandbox.client import Sandbox, SandboxError
from sandbox.config import DEFAULT_TIME_SCALE, default_state_dir
from sandbox.inventory import InventoryError
from sandbox.state import UnknownSite


GA_DEPLOY_HELP = ("seconds a Global Accelerator change takes to deploy, before the time scale "
                  "(default 30; applies when a server starts)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=None,
                        help="state directory (default: $EKS_HA_SANDBOX_DIR or ./.sandbox)")
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", parents=[common], help="start (or reuse) the sandbox and seed inventories")
    up.add_argument("-i", "--inventory", action="append", required=True, help="inventory to seed (repeatable)")
    up.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    up.add_argument("--time-scale", type=float, default=None,
                    help=f"health-check detection delay factor (default {DEFAULT_TIME_SCALE})")
    up.add_argument("--ga-deploy-seconds", type=float, default=None, help=GA_DEPLOY_HELP)
    commands.add_parser("down", parents=[common], help="stop the sandbox (its state is lost)")
    status = commands.add_parser("status", parents=[common], help="show sites and health checks")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    for name, verb in (("fail", "mark a site failed"), ("recover", "mark a site healthy")):
        commands.add_parser(name, parents=[common], help=verb).add_argument("site")
    delay = commands.add_parser("dms-delay", parents=[common], help="slow DMS down: wait before applying each change")
    delay.add_argument("seconds", type=float, help="seconds DMS waits before applying each captured change (0: none)")
    serve_ = commands.add_parser("serve", parents=[common], help="run the server in the foreground")
    serve_.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    serve_.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE)
    serve_.add_argument("--ga-deploy-seconds", type=float, default=None, help=GA_DEPLOY_HELP)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    if args.command == "serve":
        from sandbox.server import serve  # imports moto: only the server process pays for that

        serve(args.port, state_dir.resolve(), args.time_scale, args.ga_deploy_seconds)
        return 0
    sandbox = Sandbox(state_dir)
    try:
        return COMMANDS[args.command](sandbox, args)
    except UnknownSite as error:
        print(error, file=sys.stderr)
        return 2
    except (SandboxError, InventoryError) as error:
        print(error, file=sys.stderr)
        return 1


def cmd_up(sandbox: Sandbox, args: argparse.Namespace) -> int:
    summary = sandbox.up(args.inventory, port=args.port, time_scale=args.time_scale,
                         ga_deploy_seconds=args.ga_deploy_seconds)
    verb = "started" if summary["started"] else "already running, reused"
    print(f"Sandbox {verb}: {summary['endpoint_url']} (pid {summary['pid']})")
    for inventory in summary["inventories"]:
        created = inventory["created"]
        print(f"Seeded {inventory['path']}: sites {', '.join(inventory['sites'])}; "
              f"{len(created)} resource(s) created" + (":" if created else " (all found)"))
        for line in created:
            print(f"  + {line}")
        for database in inventory["databases"]:
            print(f"  database {database['name']} ({database['kind']}) {database['aws_host']}:{database['aws_port']} "
                  f"-> MariaDB on {database['local_host']}:{database['local_port']}")
    print(f"Playbook vars: {summary['vars_file']} (use -e @{summary['vars_file']})")
    return 0


def cmd_down(sandbox: Sandbox, args: argparse.Namespace) -> int:
    print("Sandbox stopped." if sandbox.down() else "Sandbox was not running.")
    return 0


def cmd_status(sandbox: Sandbox, args: argparse.Namespace) -> int:
    report = sandbox.status()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_status(report))
    return 0


def cmd_fail(sandbox: Sandbox, args: argparse.Namespace) -> int:
    site = sandbox.fail(args.site)
    print(f"Site {site['name']} is now failed; its health checks fail after the detection delay.")
    return 0


def cmd_recover(sandbox: Sandbox, args: argparse.Namespace) -> int:
    site = sandbox.recover(args.site)
    print(f"Site {site['name']} is now healthy; its health checks recover after the detection delay.")
    return 0


def cmd_dms_delay(sandbox: Sandbox, args: argparse.Namespace) -> int:
    seconds = sandbox.dms_delay(args.seconds)
    print(f"DMS now waits {seconds:g} s before applying each captured change.")
    return 0


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "fail": cmd_fail, "recover": cmd_recover,
            "dms-delay": cmd_dms_delay}


def format_status(report: dict[str, Any]) -> str:
    """The status report as aligned text for people."""
    if not report["running"]:
        return f"Sandbox: not running (state dir {report['state_dir']})"
    lines = [f"Sandbox: running at {report['endpoint_url']} (pid {report['pid']}, "
             f"time scale {report['time_scale']}, state dir {report['state_dir']})", "Sites:"]
    for site in report["sites"]:
        balancer = site.get("load_balancer") or {}
        lines.append(f"  {site['name']:<16} {site['kind']:<11} {site['region']:<12} {site['state']:<8} "
                     f"{balancer.get('dns_name', '-')}")
    lines.append("Route 53 health checks:" if report["health_checks"] else "Route 53 health checks: none")
    for check in report["health_checks"]:
        flags = [flag for flag in ("inverted", "disabled") if check[flag]]
        lines.append(f"  {check['id']}  {check['status']:<9} {check['type']} {check['target']}:{check['port']} "
                     f"site={check['site'] or '-'}" + (f" ({', '.join(flags)})" if flags else ""))
    clusters = report.get("clusters") or []
    lines.append("EKS clusters (Kubernetes API):" if clusters else "EKS clusters: none")
    for cluster in clusters:
        lines.append(f"  {cluster['name']:<20} {cluster['region']:<12} v{cluster['version']:<6} "
                     f"{cluster['endpoint']}  nodes={cluster['nodes']}")
    accelerators = report.get("global_accelerators") or []
    lines.append("Global Accelerator:" if accelerators else "Global Accelerator: none")
    for accelerator in accelerators:
        lines.append(f"  {accelerator['name']:<20} {accelerator['status']:<11} {accelerator['dns_name']} "
                     f"({', '.join(accelerator['ip_addresses'])})" + ("" if accelerator["enabled"] else " disabled"))
        for listener in accelerator["listeners"]:
            ports = ",".join(f"{r['FromPort']}-{r['ToPort']}" for r in listener["port_ranges"])
            shares = ", ".join(f"{region} {share:.0%}" for region, share in listener["serving_shares"].items())
            lines.append(f"    {listener['protocol']} {ports}: serving {listener['serving_region'] or '-'}"
                         + (f" ({shares})" if shares else ""))
    lines += format_databases(report)
    return "\n".join(lines)


def format_databases(report: dict[str, Any]) -> list[str]:
    """The databases (AWS-side address -> local MariaDB) and the DMS tasks between them, with their lag."""
    databases = report.get("databases") or []
    lines = ["Databases (AWS-side address -> local MariaDB):" if databases else "Databases: none"]
    for database in databases:
        lines.append(f"  {database['name']:<20} {database['kind']:<4} site={database['site']:<12} "
                     f"{database['aws_host']}:{database['aws_port']} -> {database['local_host']}:{database['local_port']} "
                     f"schema={database['schema']} user={database['username']}")
    tasks = report.get("dms_tasks") or []
    delay = report.get("dms_apply_delay") or 0
    lines.append("DMS tasks" + (f" (apply delay {delay:g} s):" if delay else ":") if tasks else "DMS tasks: none")
    for task in tasks:
        lines.append(f"  {task['identifier']:<20} {task['status']:<9} {task['migration_type']:<17} "
                     f"{task['source'] or '-'} -> {task['target'] or '-'}  latency source {task['cdc_latency_source']:g} s, "
                     f"target {task['cdc_latency_target']:g} s; applied {task['applied_events']}, "
                     f"pending {task['pending_events']}, checkpoint {task['checkpoint'] or '-'}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
