"""The progress bar (terminal only), and selftest's failure path."""

import io

from asciivideo import selftest as selftest_module
from asciivideo.progress import ProgressBar


def test_progress_bar_draws_on_a_terminal_only():
    quiet = io.StringIO()
    bar = ProgressBar(100, stream=quiet)  # StringIO is no terminal
    bar.update(50, force=True)
    bar.close(100)
    assert quiet.getvalue() == ""
    loud = io.StringIO()
    bar = ProgressBar(100, stream=loud, enabled=True)
    bar.update(50, force=True)
    bar.close(100)
    text = loud.getvalue()
    assert "\r" in text and " 50% 50/100 frames" in text and "100% 100/100" in text
    assert text.endswith("\n")


def test_progress_bar_without_a_known_total():
    assert ProgressBar(0, enabled=True).line(42, 2.0) == "converting 42 frames 21 frames/s"


def test_selftest_passes():
    ok, message = selftest_module.selftest(2, frames=40, size=(64, 48))
    assert ok, message
    assert message.startswith("selftest ok: 40 frames, 2 workers, ")


def test_selftest_reports_a_difference(monkeypatch):
    """Simulated: a converter whose multi-worker output differs must fail the selftest."""
    real_convert = selftest_module.convert

    def broken_convert(video, out, workers=1, **kwargs):
        result = real_convert(video, out, workers=workers, **kwargs)
        if workers > 1:
            with open(out, "ab") as handle:
                handle.write(b"x")
        return result

    monkeypatch.setattr(selftest_module, "convert", broken_convert)
    ok, message = selftest_module.selftest(2, frames=40, size=(64, 48))
    assert not ok
    assert message == "selftest FAILED: output with 2 workers differs from 1 worker"
