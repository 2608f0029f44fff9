"""`MicroBatcher`: concurrent requests share one model call, a full queue refuses whole requests, one bad
input fails only its own request; and the batched embedder gives the model's own vectors."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from aurola_qdrant.serve.batching import MicroBatcher, QueueFullError
from aurola_qdrant.serve.models import BatchedEmbedder
from aurola_qdrant.serve.stages import collect


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the batcher"
        time.sleep(0.005)


def _rows(
    calls: list[list[int]], gate: threading.Event | None = None, entered: threading.Event | None = None
):
    def run(items: list[int]) -> np.ndarray:
        if entered is not None:
            entered.set()
        if gate is not None:
            gate.wait(10)
        if any(i < 0 for i in items):
            raise ValueError(f"negative item in {items}")
        calls.append(list(items))
        return np.array([[i, i * i] for i in items], dtype=np.float32)

    return run


def test_concurrent_requests_share_one_call():
    calls: list[list[int]] = []
    gate, entered = threading.Event(), threading.Event()
    batcher = MicroBatcher({"n": _rows(calls, gate, entered)}, max_batch=8, wait_s=0.05, max_queue=64)
    try:
        results: dict[int, np.ndarray] = {}
        first = threading.Thread(target=lambda: results.__setitem__(0, batcher.run("n", [0])))
        first.start()  # its model call blocks on the gate, so the next eight requests queue up meanwhile
        _until(entered.is_set)
        threads = [
            threading.Thread(target=lambda i=i: results.__setitem__(i, batcher.run("n", [i])))
            for i in range(1, 9)
        ]
        for t in threads:
            t.start()
        _until(lambda: batcher.depth == 8)
        gate.set()
        for t in [first, *threads]:
            t.join(10)
        assert len(calls) == 2 and calls[0] == [0] and sorted(calls[1]) == list(range(1, 9))
        for i in range(9):
            np.testing.assert_array_equal(results[i], [[i, i * i]])
    finally:
        batcher.close()


def test_without_batching_each_item_is_its_own_call():
    calls: list[list[int]] = []
    batcher = MicroBatcher({"n": _rows(calls)}, max_batch=1, wait_s=0.0)
    try:
        threads = [threading.Thread(target=batcher.run, args=("n", [i])) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert sorted(calls) == [[0], [1], [2], [3], [4]]
    finally:
        batcher.close()


def test_full_queue_refuses_the_whole_request():
    calls: list[list[int]] = []
    gate, entered = threading.Event(), threading.Event()
    batcher = MicroBatcher({"n": _rows(calls, gate, entered)}, max_batch=1, wait_s=0.0, max_queue=3)
    try:
        busy = threading.Thread(target=batcher.run, args=("n", [1]))
        busy.start()
        _until(entered.is_set)  # the worker took it and now waits on the gate
        waiting = threading.Thread(target=batcher.run, args=("n", [2, 3]))
        waiting.start()
        _until(lambda: batcher.depth == 2)
        with pytest.raises(QueueFullError, match="at most 3"):
            batcher.run("n", [4, 5])  # 2 waiting + 2 > 3: refused, nothing enqueued
        assert batcher.depth == 2
        gate.set()
        busy.join(10)
        waiting.join(10)
        assert sorted(i for call in calls for i in call) == [1, 2, 3]
    finally:
        batcher.close()


def test_a_bad_item_fails_only_its_request():
    calls: list[list[int]] = []
    gate = threading.Event()
    batcher = MicroBatcher({"n": _rows(calls, gate)}, max_batch=8, wait_s=0.2)
    try:
        outcome: dict[str, object] = {}

        def ask(name: str, items: list[int]) -> None:
            try:
                outcome[name] = batcher.run("n", items)
            except ValueError as err:
                outcome[name] = err

        threads = [
            threading.Thread(target=ask, args=(n, i))
            for n, i in (("good", [3]), ("bad", [-1]), ("also", [4]))
        ]
        for t in threads:
            t.start()
        gate.set()
        for t in threads:
            t.join(10)
        assert isinstance(outcome["bad"], ValueError)
        np.testing.assert_array_equal(outcome["good"], [[3, 9]])
        np.testing.assert_array_equal(outcome["also"], [[4, 16]])
    finally:
        batcher.close()


def test_batched_embedder_equals_the_model_and_times_its_stages(tiny_embedder, clips):
    batcher = MicroBatcher(BatchedEmbedder.runners(tiny_embedder), max_batch=4, wait_s=0.001)
    try:
        batched = BatchedEmbedder(tiny_embedder, batcher)
        assert (batched.dim, batched.vector_name) == (tiny_embedder.dim, tiny_embedder.vector_name)
        with collect() as stages:
            texts = batched.embed_text(["a dog barks", "rain"])
        np.testing.assert_allclose(texts, tiny_embedder.embed_text(["a dog barks", "rain"]), atol=1e-6)
        assert stages["embed"] > 0 and "queue" in stages and stages["total"] >= stages["embed"]
        np.testing.assert_allclose(
            batched.embed_audio(clips[:2]), tiny_embedder.embed_audio(clips[:2]), atol=1e-6
        )
    finally:
        batcher.close()
