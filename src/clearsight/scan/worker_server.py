"""The fork server that scan workers are forked from, startable before anything else.

A fork server imports the fingerprinting modules (decoders, OpenCV, the origin
detectors) once; each worker, including the replacement for one killed at the time
limit, is then a cheap fork of a single-threaded process. Those imports take about a
second, as long as the command's own imports (the case store), so ``clearsight scan``
starts the server first (:func:`start_worker_server`) and the two proceed side by side
on two cores. This module imports nothing of the project's own for that reason.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import signal

# The units' module and the decoders it imports only where a file needs them (written
# out here, not imported: clearsight.scan.fingerprint.PIXEL_MODULES, held equal by a test).
PRELOAD = ["clearsight.scan.work", "clearsight.scan.pixels", "clearsight.scan.video_fingerprint"]
# The thread pools of OpenBLAS (numpy's matrix products), OpenMP and OpenCV, kept to
# one thread in each worker: the pool has a process per core, so a worker's threads
# only wait on the others' (a 341x512 product took 50 ms on a busy machine with
# OpenBLAS's threads, 0.5 ms without).
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def start_worker_server() -> multiprocessing.context.ForkServerContext:
    """The context workers are forked from; its server is started (without waiting for
    its imports) on the first call.

    The server and its workers write nowhere: C decoders chatter on stderr, and a
    worker still starting when a short scan's pool closes prints a harmless traceback.
    Failures that matter reach the parent through each unit's future and become error
    rows.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_environment = {name: os.environ.get(name) for name in SINGLE_THREADED}
    try:
        os.dup2(devnull, 2)
        # Read by the libraries as the server imports them.
        os.environ.update(SINGLE_THREADED)
        multiprocessing.forkserver.ensure_running()
    finally:
        for name, value in saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return context


def prepare_worker() -> None:
    """A pool's initializer, in each worker forked from the server: leave Ctrl-C to the
    parent, which commits what is done and stops the workers; die of ``SIGALRM``, the
    per-unit limit on decoding; and keep OpenCV to one thread."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    import cv2  # already imported by the fork server, with the fingerprinting modules

    cv2.setNumThreads(1)
