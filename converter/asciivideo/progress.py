"""A small progress bar on stderr, drawn only when stderr is a terminal."""

import sys
import time


class ProgressBar(object):
    def __init__(self, total, label="converting", stream=None, enabled=None, interval=0.1):
        # type: (int, str, object, object, float) -> None
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = isatty() if enabled is None else bool(enabled)
        self.interval = interval
        self._last = 0.0
        self._start = time.monotonic()
        self._drawn = False

    def update(self, done, force=False):
        # type: (int, bool) -> None
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.stream.write("\r" + self.line(done, now - self._start))  # type: ignore
        self.stream.flush()  # type: ignore
        self._drawn = True

    def line(self, done, elapsed):
        # type: (int, float) -> str
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.total > 0:
            fraction = min(1.0, done / float(self.total))
            filled = int(fraction * 30)
            return "%s [%s%s] %3d%% %d/%d frames %.0f frames/s" % (
                self.label,
                "#" * filled,
                "." * (30 - filled),
                fraction * 100,
                done,
                self.total,
                rate,
            )
        return "%s %d frames %.0f frames/s" % (self.label, done, rate)

    def close(self, done=None):
        # type: (object) -> None
        if self.enabled and (self._drawn or done is not None):
            if done is not None:
                self.update(done, force=True)  # type: ignore
            self.stream.write("\n")  # type: ignore
            self.stream.flush()  # type: ignore
