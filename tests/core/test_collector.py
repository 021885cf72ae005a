"""The serving process's collector: start-up frozen, full collections rare, every pause timed
into the metrics. Run in a process of its own: freezing would keep the suite's objects alive."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ihospital.core.collector import FULL_AFTER_YOUNG

PROGRAM = """
import gc, json
from prometheus_client import generate_latest
from ihospital.core.collector import settle_collector
from ihospital.core.observability import Metrics

metrics = Metrics()
settle_collector(metrics)
frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
gc.collect(0)
gc.collect(2)
text = generate_latest(metrics.registry).decode()
counts = {
    line.split('"')[1]: float(line.split()[-1])
    for line in text.splitlines()
    if line.startswith("ihospital_gc_pause_seconds_count")
}
print(json.dumps({"frozen": frozen, "thresholds": thresholds, "counts": counts}))
"""


def test_settling_freezes_start_up_slows_full_collections_and_times_every_pause():
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
    assert result["counts"]["0"] >= 1 and result["counts"]["2"] >= 1
