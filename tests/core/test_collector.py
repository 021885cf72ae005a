"""The serving process's collector: start-up frozen, young collections paced by time, full
collections rare, every pause timed into the metrics. Run in a process of its own: freezing
would keep the suite's objects alive."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ihospital.core.collector import FULL_AFTER_YOUNG

PROGRAM = """
import asyncio, gc, json
from prometheus_client import generate_latest
from ihospital.core.collector import PACE_SECONDS, settle_collector
from ihospital.core.observability import Metrics


async def main():
    metrics = Metrics()
    pacing = settle_collector(metrics)
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    gc.disable()  # from here on only the pacing and the explicit full collection collect
    await asyncio.sleep(20 * PACE_SECONDS)
    gc.collect(2)
    pacing.cancel()
    text = generate_latest(metrics.registry).decode()
    counts = {
        line.split('"')[1]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("ihospital_gc_pause_seconds_count")
    }
    return {"frozen": frozen, "thresholds": thresholds, "counts": counts}

print(json.dumps(asyncio.run(main())))
"""


def test_settling_freezes_start_up_paces_young_collections_and_times_every_pause():
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    finished = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=120,
    )
    result = json.loads(finished.stdout.splitlines()[-1])
    assert result["frozen"] > 1000  # the modules start-up imported
    assert result["thresholds"] == [700, 10, FULL_AFTER_YOUNG]
    counts = result["counts"]
    assert counts["0"] >= 5 and counts["1"] >= 1  # paced by time, allocations or not
    assert counts["2"] == 1
