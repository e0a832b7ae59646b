"""The worker processes of one conversion: started with Ctrl-C deferred, results in job order,
stopped at once on any exit.

Why not multiprocessing.Pool: its workers share the task and result queues' locks, and
Pool.terminate() SIGTERMs workers wherever they are. One killed while sending its result
(holding the result queue's write lock) hangs terminate() for ever: the pool's task-handler
thread then waits for that lock (seen with Python 3.6.15 after a Ctrl-C). Here each worker
has its own pipe and shares no lock with anyone, the parent runs no extra thread, and
stopping is SIGTERM plus waiting for the processes: a worker killed mid-send only leaves a
truncated message on its own pipe, which nobody reads any more.

Worker k runs jobs k, k+n, k+2n, ... (n workers) in order and sends each result on its pipe;
the parent reads whichever pipe is ready and hands results out in job order.
"""

import contextlib
import os
import signal
from multiprocessing import connection

from asciivideo import worker
from asciivideo.errors import AsciiVideoError

# What a starting worker must not act on before worker.init_worker has set its dispositions.
STARTUP_SIGNALS = worker.STARTUP_SIGNALS


@contextlib.contextmanager
def startup_signals_blocked():
    # type: () -> object
    """Block STARTUP_SIGNALS in this thread while it starts workers; restore the mask after.

    A forked child starts with its parent's handlers: Python's KeyboardInterrupt for SIGINT,
    the CLI's for SIGTERM. Until init_worker replaces them, a Ctrl-C sent to the process group,
    or the SIGTERM that stops workers, raises KeyboardInterrupt inside the child's start-up
    (threading._after_fork, Process._bootstrap) and prints a traceback. A child inherits the
    signal mask of the thread that forks it (fork(2)), so the workers started here begin with
    both signals blocked: one sent meanwhile stays pending until init_worker has set the
    dispositions. A fork server started here inherits the mask too (execve(2) keeps it), and
    so do the workers it forks. CPython does the same when it starts its resource tracker
    (bpo-33613, Lib/multiprocessing/resource_tracker.py, Python 3.8+).

    Leaving restores the previous mask (SIG_SETMASK, not SIG_UNBLOCK, so a caller's own
    blocked signals stay blocked: python/cpython#127586); a signal that arrived meanwhile is
    handled right then (pthread_sigmask runs the due Python handlers), so KeyboardInterrupt is
    raised on leaving. One already due on entry is raised on entry, before anything starts.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())  # changes nothing; may raise
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, STARTUP_SIGNALS)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class WorkerSet(object):
    """Context manager: `count` worker processes (multiprocessing `context`) run `jobs`
    (worker.Job, in plan order); results() yields their worker.ChunkResult in that order;
    leaving stops every worker (SIGTERM) and waits for it. `progress`: a lock-free shared
    array of `count` frame counters, slot k written by worker k only."""

    def __init__(self, context, jobs, count, progress):
        # type: (object, list, int, object) -> None
        self.context = context
        self.jobs = jobs
        self.count = count
        self.progress = progress
        self.processes = []  # type: list
        self.pipes = []  # type: list  # parent's (reading) end, one per worker

    def __enter__(self):
        # type: () -> WorkerSet
        try:
            with startup_signals_blocked():
                for slot in range(self.count):
                    self._start(slot)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        # type: (object) -> None
        self.stop()

    def _start(self, slot):
        # type: (int) -> None
        reader, writer = self.context.Pipe(duplex=False)  # type: ignore
        self.pipes.append(reader)
        process = self.context.Process(  # type: ignore
            target=worker.serve,
            args=(self.jobs[slot :: self.count], writer, self.progress, slot, os.getpid()),
            name="asciivideo-worker-%d" % slot,
            daemon=True,
        )
        try:
            process.start()
            self.processes.append(process)
        finally:
            writer.close()  # the worker's end: EOF here once it exits, and no later worker has it

    def results(self, wait=0.1, on_wait=None):
        # type: (float, object) -> object
        """Yield each job's ChunkResult in job order; a worker's exception is re-raised here.
        on_wait() is called every `wait` seconds while no result arrives (progress)."""
        received = {}  # type: dict  # job index -> result not yet handed out
        sent = [0] * self.count  # results received from each worker so far
        due = [len(self.jobs[slot :: self.count]) for slot in range(self.count)]
        for index in range(len(self.jobs)):
            while index not in received:
                busy = [self.pipes[k] for k in range(self.count) if sent[k] < due[k]]
                ready = connection.wait(busy, timeout=wait)
                for pipe in ready:
                    slot = self.pipes.index(pipe)
                    result = self._receive(slot)
                    received[slot + sent[slot] * self.count] = result
                    sent[slot] += 1
                if not ready and on_wait is not None:
                    on_wait()  # type: ignore
            yield received.pop(index)

    def _receive(self, slot):
        # type: (int) -> worker.ChunkResult
        try:
            kind, value = self.pipes[slot].recv()
        except EOFError:
            process = self.processes[slot]
            process.join()
            raise AsciiVideoError(
                "worker %d died before finishing its frames (%s)"
                % (slot, _how_it_ended(process.exitcode))
            ) from None
        if kind == "error":
            raise value
        return value

    def stop(self):
        # type: () -> None
        """SIGTERM every worker still running (pending until it has set its dispositions, if it
        is still starting), wait for all of them, close the pipes. Never blocks on a lock."""
        for process in self.processes:
            if process.exitcode is None:
                process.terminate()
        for process in self.processes:
            process.join()
        for pipe in self.pipes:
            pipe.close()


def _how_it_ended(exitcode):
    # type: (object) -> str
    if exitcode is not None and exitcode < 0:  # type: ignore
        return "killed by signal %d" % -exitcode  # type: ignore
    return "exit status %s" % exitcode
