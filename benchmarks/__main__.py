"""``python -m benchmarks [--quick] [--json PATH] [--only NAME ...]``: run, print, save."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

import bwnumbers

from .auth import bench_auth
from .burst import bench_burst
from .codec import bench_codec
from .instances import bench_instances
from .journal import bench_journal
from .latency import bench_latency
from .ratelimit import bench_ratelimit
from .receiver import bench_receiver
from .waiting import bench_waiting

BENCHMARKS = (
    "receiver", "burst", "waiting", "latency", "auth", "codec", "ratelimit", "journal",
    "instances",
)  # fmt: skip


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "bwnumbers": bwnumbers.__version__,
        "aiohttp": aiohttp.__version__,
    }


async def _run(names: list[str], quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        started = time.perf_counter()
        if name == "receiver":
            results[name] = await bench_receiver(quick=quick)
        elif name == "burst":
            results[name] = await bench_burst(quick=quick)
        elif name == "waiting":
            results[name] = await bench_waiting(quick=quick)
        elif name == "latency":
            results[name] = await bench_latency(quick=quick)
        elif name == "ratelimit":
            results[name] = await bench_ratelimit(quick=quick)
        elif name == "auth":
            results[name] = await bench_auth(quick=quick)
        elif name == "journal":
            results[name] = await bench_journal(quick=quick)
        elif name == "instances":
            results[name] = await bench_instances(quick=quick)
        else:
            results[name] = bench_codec(quick=quick)
        print(f"  {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return results


def _rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, bwnumbers, reference, ratio / goal) rows for the table."""
    rows = []
    if "receiver" in results:
        r = results["receiver"]
        rows.append(("receiver, requests/s", f"{r['bwnumbers_rps']:,}", f"{r['reference_rps']:,}",
                     f"{r['ratio']} (goal >= {r['goal']})"))  # fmt: skip
    if "burst" in results:
        b = results["burst"]
        ref = b["reference"]
        for key, label in (
            ("bwnumbers_confirm_false", "confirm=False"),
            ("bwnumbers_default", "default"),
        ):
            ours = b[key]
            ratio = b["ratio_confirm_false" if key.endswith("false") else "ratio_default"]
            goal = f" (goal >= {b['goal_confirm_false']})" if key.endswith("false") else ""
            rows.append((f"burst of {b['n']}, orders/s ({label})", f"{ours['orders_per_s']:,}",
                         f"{ref['orders_per_s']:,}", f"{ratio}{goal}"))  # fmt: skip
            rows.append((f"burst p50 / p99 ms ({label})", f"{ours['p50_ms']} / {ours['p99_ms']}",
                         f"{ref['p50_ms']} / {ref['p99_ms']}", ""))  # fmt: skip
        rows.append(("burst: orders lost / emulator CPU share", f"{b['lost']} / "
                     f"{b['bwnumbers_confirm_false']['emulator_cpu_share']}",
                     f"- / {ref['emulator_cpu_share']}", ""))  # fmt: skip
    if "waiting" in results:
        w = results["waiting"]
        rows.append((f"{w['pending_waiters']:,} pending waiters, bytes each",
                     str(w["bytes_per_waiter"]), f"{w['bytes_per_bare_future']} (bare future)",
                     f"goal <= {w['goal_bytes_per_waiter']}"))  # fmt: skip
        rows.append((f"resolve {w['pending_waiters']:,} waiters, s", str(w["resolve_all_s"]),
                     str(w["reference_resolve_all_s"]), str(w["resolve_ratio"])))  # fmt: skip
        rows.append((f"{w['pending_order_and_wait']:,} pending order_and_wait, bytes each",
                     str(w["bytes_per_pending_order_and_wait"]), "", ""))  # fmt: skip
    if "latency" in results:
        lat = results["latency"]
        for key, label in (("callback_confirmed", "callback, confirmed"),
                           ("callback_confirm_false", "callback, confirm=False"),
                           ("polling", "polling (callback lost)")):  # fmt: skip
            rows.append((f"finish -> return p50 / p99 ms, {label}",
                         f"{lat[key]['p50_ms']} / {lat[key]['p99_ms']}", "", ""))  # fmt: skip
    if "auth" in results:
        rows += _auth_rows(results["auth"])
    if "codec" in results:
        for name, c in results["codec"].items():
            rows.append((f"decode {name}, us", str(c["bwnumbers_us"]),
                         f"{c['xmltodict_parse_us']} (bare parse)", str(c["ratio"])))  # fmt: skip
    if "ratelimit" in results:
        rows += _ratelimit_rows(results["ratelimit"])
    if "journal" in results:
        rows += _journal_rows(results["journal"])
    if "instances" in results:
        rows += _instances_rows(results["instances"])
    return rows


def _instances_rows(i: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    if "skipped" in i:
        return [("several instances on Redis", f"skipped: {i['skipped']}", "", "")]
    lat, t = i["latency"], i["throughput"]
    polled = lat["memory_polling"]
    reference = f"{polled['p50_ms']:,.0f} / {polled['p99_ms']:,.0f} (MemoryStore, polling)"

    def ms(run: dict[str, Any]) -> str:
        return f"{run['p50_ms']} / {run['p99_ms']}"

    return [
        ("callback on the wrong instance -> return, p50 / p99 ms, default",
         ms(lat["redis_confirmed"]), reference, f"goal p50 <= {i['goal_p50_ms']}"),
        ("same, confirm=False", ms(lat["redis_confirm_false"]), reference,
         f"goal p50 <= {i['goal_p50_ms']}"),
        ("same, default, 10 callbacks at once", ms(lat["redis_confirmed_waves_of_10"]), "", ""),
        (f"{t['n']:,} orders over 3 instances (RedisStore), orders/s",
         f"{t['redis']['orders_per_s']:,}", f"{t['memory']['orders_per_s']:,} (1, MemoryStore)",
         f"{t['ratio']} (goal >= {t['goal_ratio']})"),
    ]  # fmt: skip


def _journal_rows(j: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    sqlite, memory, store = j["sqlite"], j["memory"], j["store_only"]
    return [
        (f"burst of {j['n']:,} `order_and_wait`, orders/s, SQLiteStore",
         f"{sqlite['orders_per_s']:,}", f"{memory['orders_per_s']:,} (MemoryStore)",
         f"{j['burst_ratio']} (goal >= {j['goal_burst_ratio']})"),
        ("same: p50 / p99 ms, SQLiteStore", f"{sqlite['p50_ms']} / {sqlite['p99_ms']}",
         f"{memory['p50_ms']} / {memory['p99_ms']} (MemoryStore)", ""),
        (f"recover() of {j['n']:,} pending orders until every wait is armed, s",
         str(j["recover_sqlite_s"]), f"{j['recover_memory_s']} (MemoryStore)",
         f"goal <= {j['goal_recover_s']}"),
        (f"journal alone: {j['n']:,} x begin + placed + finish, orders/s (commits)",
         f"{store['sqlite']['orders_per_s']:,} ({store['sqlite']['commits']})",
         f"{store['memory']['orders_per_s']:,} (MemoryStore)", ""),
    ]  # fmt: skip


def _ratelimit_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    ours, ref, goals = r["bwnumbers"], r["reference"], r["goals"]
    limit = f"rate limit R={r['limit']['rate']:g}/s, burst {r['limit']['burst']}, N={r['n']:,}"

    def share(run: dict[str, Any]) -> str:
        return f"{run['refused_429']:,} ({run['share_429'] * 100:.1f} %)"

    def wall(run: dict[str, Any]) -> str:
        gave_up = f" ({run['failed']:,} given up)" if run["failed"] else ""
        return f"{run['wall_s']:.2f}{gave_up}"

    return [
        (f"{limit}: completed / failed", f"{ours['completed']:,} / {ours['failed']:,}",
         f"{ref['completed']:,} / {ref['failed']:,}",
         f"goal {r['n']:,} / {goals['failed']}"),
        ("rate limit: throughput, fraction of R", f"{ours['throughput_of_r']:.2f}",
         f"{ref['throughput_of_r']:.2f}", f"goal >= {goals['throughput_of_r']}"),
        (f"rate limit: wall s to last completion (ideal {r['ideal_wall_s']:g})", wall(ours),
         wall(ref), ""),
        ("rate limit: 429s (share of POSTs)", share(ours), share(ref),
         f"goal <= {goals['share_429'] * 100:g} %"),
        ("rate limit: POSTs sent", f"{ours['posts']:,}", f"{ref['posts']:,}", ""),
    ]  # fmt: skip


def _auth_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    c = results["cold_burst"]
    cold, warm = c["cold"], c["warm_reference"]
    b = results["bearer_vs_basic"]
    low, high = b["ratio_range"]
    client, emulator = b["client_cpu_us_per_request"], b["emulator_cpu_us_per_request"]
    share = b["emulator_cpu_share"]
    return [
        (f"cold burst of {c['n']:,} first requests: token requests",
         ", ".join(str(n) for n in c["token_requests"]), "",
         f"goal == {c['goal_token_requests']}"),
        (f"cold burst of {c['n']:,}: completed / wall s",
         f"{cold['completed']:,} / {cold['wall_s']}",
         f"{warm['completed']:,} / {warm['wall_s']} (same client, warm)", ""),
        ("cold burst p50 / p99 ms", f"{cold['p50_ms']} / {cold['p99_ms']}",
         f"{warm['p50_ms']} / {warm['p99_ms']} (warm)", ""),
        (f"Bearer vs Basic, requests/s (median of {b['rounds']} rounds)",
         f"{b['bearer_rps']:,}", f"{b['basic_rps']:,} (Basic)",
         f"{b['ratio']} (goal >= {b['goal']}; rounds {low}\N{EN DASH}{high})"),
        ("Bearer vs Basic: CPU us per request, client / emulator",
         f"{client['bearer']} / {emulator['bearer']}",
         f"{client['basic']} / {emulator['basic']} (Basic)", ""),
        ("Bearer vs Basic: emulator CPU share", str(share["bearer"]),
         f"{share['basic']} (Basic)", ""),
    ]  # fmt: skip


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("measure", "bwnumbers", "reference", "ratio")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/latest.json"))
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    args = parser.parse_args()
    results = asyncio.run(_run(args.only, args.quick))
    report = {"machine": _machine(), "quick": args.quick, "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(_table(_rows(results)))
    print(f"\nmachine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
          f"Python {report['machine']['python']}; JSON written to {args.json}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
