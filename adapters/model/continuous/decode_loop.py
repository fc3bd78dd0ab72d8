"""The decode loop: requests join the running decode at the next step and leave when done.

One thread runs it. Each turn it admits waiting requests while the KV cache has rows for them
(first come, first served; a prompt is run into its rows at once), then runs one step for every
running row, then lets each request choose its tokens; a request that ended (a stop token,
max_new_tokens, a stop string, its stream closed) leaves, and its rows are filled from the end."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

import torch

from tinktalker.adapters.model.continuous.beam_search import Beam, BeamSearch, Continuation
from tinktalker.adapters.model.continuous.gpt2_forward import Joining, step
from tinktalker.adapters.model.continuous.gpt2_weights import Gpt2Weights
from tinktalker.adapters.model.continuous.job import Job
from tinktalker.adapters.model.continuous.kv_cache import KvCache
from tinktalker.adapters.model.continuous.token_choice import Row, best_candidates, draw

log = logging.getLogger(__name__)
PREFILL_TOKENS = 512


class DecodeLoop:
    """`build` runs on the loop's thread too: every torch call of the model stays on one thread
    (torch's OpenMP pool is per thread: a second thread's pool fights the first for the cores;
    measured 1.3-1.7x slower steps on 2 cores)."""

    def __init__(self, build: Callable[[], tuple[Gpt2Weights, KvCache]]) -> None:
        self._build = build
        self._ready = threading.Event()
        self._setup_error: BaseException | None = None
        self._waiting: deque[Job] = deque()
        self._running: list[Job] = []
        self._joining: list[Job] = []  # admitted, their prompts in this step
        self._rows: list[Beam] = []  # row i of the cache: whose beam
        self._wake = threading.Condition()
        self._closed = False
        self.steps = 0  # decode steps run
        self.peak_rows = 0  # most rows of the KV cache in use at once
        self._thread = threading.Thread(target=self._run, name="decode-loop", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._setup_error is not None:
            self._thread.join()
            raise self._setup_error

    @property
    def cache(self) -> KvCache:
        return self._cache

    @property
    def weights(self) -> Gpt2Weights:
        return self._weights

    def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            if job.width > self._cache.rows:  # the caller hears: the reply is unavailable, why
                raise RuntimeError(
                    f"{job.width} beams need more rows than the KV cache has "
                    f"({self._cache.rows}); raise continuous.max_sequences or lower num_beams"
                )
        with self._wake:
            if self._closed:
                raise RuntimeError("the decode loop is closed")
            self._waiting.extend(jobs)
            self._wake.notify()

    @property
    def rows_in_use(self) -> int:
        return len(self._rows)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        try:
            with torch.inference_mode():
                self._weights, self._cache = self._build()
        except BaseException as error:  # noqa: BLE001 - raised again on the opening thread
            self._setup_error = error
            return
        finally:
            self._ready.set()
        while True:
            with self._wake:
                while not self._closed and not self._waiting and not self._running:
                    self._wake.wait()
                if self._closed:
                    break
            try:
                with torch.inference_mode():
                    self._turn()
            except Exception as error:  # noqa: BLE001 - every caller hears of it, the loop goes on
                log.exception("the decode loop failed; its requests fail")
                for job in [*self._running, *self._joining, *self._drain()]:
                    job.finish(error=RuntimeError(str(error)))  # the caller says "the model failed"
                self._running, self._rows, self._joining = [], [], []
        for job in [*self._running, *self._drain()]:
            job.finish(error=RuntimeError("the model was closed"))

    def _drain(self) -> list[Job]:
        with self._wake:
            jobs = list(self._waiting)
            self._waiting.clear()
        return jobs

    def _turn(self) -> None:
        self._joining = joining = self._admitted()
        running = list(zip(self._owners(), self._rows, strict=True))
        if not running and not joining:
            return
        first = len(self._rows)
        starts = [first + sum(j.width for j in joining[:k]) for k in range(len(joining))]
        logits = step(
            self._weights,
            self._cache,
            [beam.ids[-1] for _, beam in running],
            [job.length - 1 for job, _ in running],
            [Joining(row, job.prompt) for row, job in zip(starts, joining, strict=True)],
        )
        self.steps += 1
        before = list(self._running)
        for row, job in zip(starts, joining, strict=True):
            self._join(job, row)
        self._joining = []
        rows = [self._row(job, beam) for job, beam in running]
        rows += [self._row(job, job.beams[0]) for job in joining]
        scores, ids = best_candidates(logits, rows)
        # rows move as requests leave: each request's candidates are picked before any leaves
        picked = [(job, [beam.row for beam in job.beams], False) for job in before]
        picked += [(job, [len(running) + k] * job.width, True) for k, job in enumerate(joining)]
        for job, at, new in picked:
            self._choose(job, scores[at], ids[at], first=new)

    @staticmethod
    def _row(job: Job, beam: Beam) -> Row:
        return Row(job.choice, job.prompt + beam.ids, len(beam.ids))

    def _owners(self) -> list[Job]:
        owner = {id(beam): job for job in self._running for beam in job.beams}
        return [owner[id(beam)] for beam in self._rows]

    def _admitted(self) -> list[Job]:
        """Waiting requests that fit, first come first served; their prompts at most
        PREFILL_TOKENS a step (one prompt always) so a crowd joining stalls the others little."""
        jobs: list[Job] = []
        free = self._cache.rows - len(self._rows)
        tokens = 0
        with self._wake:
            while self._waiting and self._waiting[0].width <= free:
                job = self._waiting[0]
                if jobs and tokens + len(job.prompt) > PREFILL_TOKENS:
                    break
                self._waiting.popleft()
                if job.given_up():
                    job.finish(reply=[])
                    continue
                jobs.append(job)
                free -= job.width
                tokens += len(job.prompt)
        return jobs

    def _join(self, job: Job, first: int) -> None:
        job.beams = [Beam(first + i) for i in range(job.width)]
        for beam in job.beams[1:]:
            self._cache.move(first, beam.row, len(job.prompt))
        if job.width > 1:
            job.search = BeamSearch(job.choice)
        self._rows.extend(job.beams)
        self.peak_rows = max(self.peak_rows, len(self._rows))
        self._running.append(job)

    def _choose(self, job: Job, scores: torch.Tensor, ids: torch.Tensor, first: bool) -> None:
        if job.search is None:
            beam = job.beams[0]
            token = int(ids[0, draw(job.choice, scores[0], 1)[0]])
            beam.ids.append(token)
            if job.push is not None:
                job.push(token)
            if self._ended(job, token):
                self._leave(job, beam.ids)
            return
        continuations = job.search.step(job.beams, scores, ids, first)
        if continuations:
            self._regroup(job, continuations)
        limit = job.choice.decoding.max_new_tokens
        if not continuations or job.search.done(job.beams) or len(job.beams[0].ids) >= limit:
            self._leave(job, job.search.best(job.beams if continuations else []))
        elif job.given_up():
            self._leave(job, [])

    def _ended(self, job: Job, token: int) -> bool:
        ids = job.beams[0].ids
        return (
            token in job.choice.stop_ids
            or len(ids) >= job.choice.decoding.max_new_tokens
            or job.given_up()
            or job.stopped(ids)
        )

    def _regroup(self, job: Job, continuations: list[Continuation]) -> None:
        rows = [beam.row for beam in job.beams]
        # fewer candidates than beams (a tiny vocabulary): the best one again, never chosen
        while len(continuations) < len(rows):
            best = continuations[0]
            continuations.append(Continuation(best.parent, best.token, -float("inf")))
        rows = _rows_for(continuations, rows)
        self._cache.regroup(rows, [c.parent.row for c in continuations], job.length)
        job.beams = [
            Beam(row, [*c.parent.ids, c.token], c.score)
            for row, c in zip(rows, continuations, strict=True)
        ]
        for beam in job.beams:
            self._rows[beam.row] = beam

    def _leave(self, job: Job, reply: list[int]) -> None:
        self._running.remove(job)
        self._release(job.beams)
        job.finish(reply=reply)

    def _release(self, beams: list[Beam]) -> None:
        """Frees the beams' rows; the last running rows move into them."""
        for hole in sorted((beam.row for beam in beams), reverse=True):
            last = self._rows.pop()
            if last.row != hole:
                owner = next(j for j in self._running for b in j.beams if b is last)
                self._cache.move(last.row, hole, owner.length)
                last.row = hole
                self._rows[hole] = last


def _rows_for(continuations: list[Continuation], rows: list[int]) -> list[int]:
    """A row for each continuation: its parent's own where it is the first from that parent (no
    copy), one of the rows left over otherwise (a copy of the parent's)."""
    claimed: dict[int, int] = {}
    for index, c in enumerate(continuations):
        claimed.setdefault(c.parent.row, index)
    spare = iter(row for row in rows if row not in claimed)
    chosen = {index: row for row, index in claimed.items()}
    return [chosen[i] if i in chosen else next(spare) for i in range(len(continuations))]
