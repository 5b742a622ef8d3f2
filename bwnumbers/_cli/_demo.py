"""``bwnumbers demo``: the ordering guide as numbered steps, in 80 columns or JSON Lines."""

from __future__ import annotations

import argparse
import json
import textwrap

from bwnumbers._demo import DemoStep, Phase, run_demo

#: The widest line the text output prints: an 80-column terminal never wraps it.
WIDTH = 80
_INDENT = "    "


class _Text:
    """Prints each phase as a numbered heading and each step under it, wrapped to WIDTH."""

    def __init__(self) -> None:
        self._first = True

    def phase(self, phase: Phase) -> None:
        if not self._first:
            print()
        self._first = False
        guide = f" (ordering guide step {phase.guide_step})" if phase.guide_step else ""
        print(f"{phase.number}. {phase.title}{guide}", flush=True)

    def __call__(self, step: DemoStep) -> None:
        stamp = f"[{step.elapsed_ms:6.0f} ms] "
        lines = textwrap.wrap(
            step.message,
            width=WIDTH,
            initial_indent=_INDENT + stamp,
            subsequent_indent=_INDENT + " " * len(stamp),
            # URLs and ids stay whole, so that they can be copied.
            break_long_words=False,
            break_on_hyphens=False,
        )
        print("\n".join(lines), flush=True)


def _json_line(step: DemoStep) -> None:
    record = {
        "step": step.step,
        "phase": step.phase.number,
        "title": step.phase.title,
        "guide_step": step.phase.guide_step,
        "elapsed_ms": round(step.elapsed_ms, 1),
        **step.data,
        "message": step.message,
    }
    print(json.dumps(record), flush=True)


async def demo(args: argparse.Namespace) -> int:
    """Run the guide on the embedded emulator and print each step."""
    text = _Text()
    await run_demo(
        _json_line if args.json else text,
        on_phase=None if args.json else text.phase,
        seed=args.seed,
        rate_limits={"ORDER": args.order_limit} if args.order_limit else None,
    )
    return 0
