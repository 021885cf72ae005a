"""The pure parts of bench/chat_fanout.py (sequence check, percentiles, message numbering, the
placement of pairs on the two processes), so that the benchmark cannot rot unnoticed."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:  # the bench imports its sibling booking_flash, as when run
    sys.path.insert(0, str(BENCH))
chat_fanout = importlib.import_module("chat_fanout")
SequenceReport = chat_fanout.SequenceReport


@pytest.mark.parametrize(
    ("sent", "received", "expected"),
    [
        pytest.param(3, [1, 2, 3], SequenceReport(), id="all-in-order"),
        pytest.param(0, [], SequenceReport(), id="nothing-sent"),
        pytest.param(4, [1, 3], SequenceReport(lost=2), id="lost"),
        pytest.param(3, [], SequenceReport(lost=3), id="all-lost"),
        pytest.param(3, [1, 2, 2, 3, 3], SequenceReport(duplicated=2), id="duplicated"),
        pytest.param(3, [2, 1, 3], SequenceReport(reordered=1), id="swapped"),
        pytest.param(4, [4, 1, 2, 3], SequenceReport(reordered=3), id="last-first"),
        pytest.param(4, [2, 1, 2, 4], SequenceReport(1, 1, 1), id="lost-duplicated-reordered"),
        # a replay after a reconnect sends an old number again: a duplicate, not a reordering
        pytest.param(3, [1, 2, 3, 2], SequenceReport(duplicated=1), id="replayed-again"),
    ],
)
def test_sequence_check_counts_lost_duplicated_and_reordered(sent, received, expected):
    assert chat_fanout.check_sequence(sent, received) == expected


def test_sequence_reports_add_up():
    total = SequenceReport(1, 2, 3) + SequenceReport(4, 5, 6)
    assert total == SequenceReport(lost=5, duplicated=7, reordered=9)


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        pytest.param(list(range(1, 101)), 0.99, 99, id="p99-of-100"),
        pytest.param(list(range(1, 101)), 0.5, 50, id="p50-of-100"),
        pytest.param([4, 1, 3, 2], 0.5, 2, id="unsorted"),
        pytest.param([7.0], 0.99, 7.0, id="one-value"),
        pytest.param([1, 2, 3], 1.0, 3, id="max"),
        pytest.param([1, 2, 3], 0.0, 1, id="min"),
    ],
)
def test_percentile_is_the_nearest_rank(values, share, expected):
    assert chat_fanout.percentile(values, share) == expected


def test_percentile_of_nothing_is_not_a_number():
    assert math.isnan(chat_fanout.percentile([], 0.99))
    assert chat_fanout.latency_line([]) == "no messages"


def test_message_text_round_trips_and_other_runs_are_foreign():
    text = chat_fanout.message_text("ab12", 7, "doctor", 42)
    assert chat_fanout.parse_text("ab12", text) == (7, "doctor", 42)
    assert chat_fanout.parse_text("ffff", text) is None
    for other in (None, 5, "", "hello", "cf ab12 7 nurse 1", "cf ab12 x doctor 1", text + " 1"):
        assert chat_fanout.parse_text("ab12", other) is None


def _pair(number: int):
    return chat_fanout.Pair(number, 100 + number, f"p{number}", f"d{number}")


def test_odd_pairs_cross_processes_and_even_pairs_share_one():
    specs = chat_fanout.chat_endpoints([_pair(n) for n in range(4)], [8001, 8002])
    by_key = {(spec["pair"], spec["side"]): spec for spec in specs}
    assert len(specs) == 8
    for number in (1, 3):
        patient, doctor = by_key[(number, "patient")], by_key[(number, "doctor")]
        assert patient["cross"] and doctor["cross"]
        assert patient["url"] == f"ws://127.0.0.1:8001/ws/consultations/{100 + number}"
        assert doctor["url"] == f"ws://127.0.0.1:8002/ws/doctor/consultations/{100 + number}"
        assert (patient["token"], doctor["token"]) == (f"p{number}", f"d{number}")
    same_ports = []
    for number in (0, 2):
        patient, doctor = by_key[(number, "patient")], by_key[(number, "doctor")]
        assert not patient["cross"] and not doctor["cross"]
        port = patient["url"].split(":")[2].split("/")[0]
        assert doctor["url"].startswith(f"ws://127.0.0.1:{port}/ws/doctor/")
        same_ports.append(port)
    assert same_ports == ["8001", "8002"]  # same-process pairs alternate between the processes


def test_a_received_message_counts_once_for_latency_and_every_time_for_the_sequence():
    specs = chat_fanout.chat_endpoints([_pair(0)], [8001, 8002])
    client = chat_fanout.ChatClient({"nonce": "n1", "endpoints": specs})
    patient, doctor = client.by_key[(0, "patient")], client.by_key[(0, "doctor")]
    client.due[(0, "patient", 1)] = 10.0
    text = chat_fanout.message_text("n1", 0, "patient", 1)
    client.on_message(patient, text, 10.001)  # the sender's own copy
    client.on_message(doctor, text, 10.020)
    client.on_message(doctor, text, 10.500)  # a repeat
    client.on_message(doctor, chat_fanout.message_text("other", 0, "patient", 1), 10.6)
    client.on_message(doctor, chat_fanout.message_text("n1", 9, "patient", 1), 10.7)
    assert patient.received == []
    assert doctor.received == [1, 1]
    assert client.latencies == {(0, "patient", 1): pytest.approx(0.020)}
    assert client.foreign == 2
    assert chat_fanout.check_sequence(1, doctor.received) == SequenceReport(duplicated=1)
