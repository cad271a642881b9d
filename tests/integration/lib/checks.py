# SPDX-License-Identifier: Apache-2.0
"""The one way the integration cases and checkers record their expectations.

A missed expectation is recorded with its message and the run goes on, so that one output
shows every fault, not only the first; result() then prints the verdict with the count,
the failures under it, and gives the exit status (0 only when nothing failed).

    checks = Checks()
    checks.expect(rc == 0, "convert exits 0 (got %d)" % rc)
    checks.fail("level-0.dcm", "PI RGB, expected YBR_FULL_422")   # "level-0.dcm: PI ..."
    return checks.result()

A message given in parts is joined with ": ", the first part naming what is at fault."""
import os
import traceback
from pathlib import Path

SHOW = ("all", "failures", "none")

# Set by tests/CMakeLists.txt on every test of a sanitizer build.
SANITIZER_BUILD = "S2D_SANITIZER_BUILD"


def output_checked_in_release():
    """True in a sanitizer build's run of a test. There the conversions run for what the
    sanitizer sees; the output checkers (check_conversion.py, check_passthrough.py) pass
    without looking, since the release build's run of the same test, on the same input,
    checks the same bytes (the golden sums hold the builds to that). Their Python checks
    are most of a test's time and would find nothing a sanitizer adds."""
    if os.environ.get(SANITIZER_BUILD) == "1":
        print("output not checked in a sanitizer build: the release build's run checks it")
        return True
    return False


class Checks:
    """The failed expectations of one run, in the order they were found.

    show: "all" prints every expectation as it is met or missed ("ok   ..." / "FAIL ...",
    for messages that read as the expectation); "failures" only the missed ones (for
    messages that describe the fault); "none" nothing before result() (the checkers,
    whose findings a caller may collect to see that a planted fault is caught)."""

    def __init__(self, show="all"):
        if show not in SHOW:
            raise ValueError("show %r, expected one of %s" % (show, SHOW))
        self.show = show
        self.failures = []

    def expect(self, holds, *message):
        """Records the message as a failure unless `holds`; returns `holds` as a bool."""
        holds = bool(holds)
        if holds:
            self.ok(*message)
        else:
            self.fail(*message)
        return holds

    def fail(self, *message):
        text = ": ".join(str(part) for part in message)
        self.failures.append(text)
        if self.show != "none":
            print("FAIL " + text, flush=True)

    def ok(self, *message):
        """An expectation met (or a step passed); printed only when showing all."""
        if self.show == "all":
            print("ok   " + ": ".join(str(part) for part in message), flush=True)

    @staticmethod
    def info(message=""):
        """A line of information (what was found, measured), printed whatever `show`."""
        print(message, flush=True)

    def guard(self, name, what, function, *args):
        """Runs function(*args); a crash (a malformed file a check did not foresee) becomes a
        failure of `name` instead of a traceback that hides the other results. Returns the
        function's result, or None after a crash."""
        try:
            return function(*args)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self.fail(name, "%s could not complete: %s: %s (at %s:%d)"
                      % (what, type(exc).__name__, exc, Path(where.filename).name, where.lineno))
            return None

    def result(self):
        """Prints the verdict and the failures under it; returns the exit status."""
        return verdict(self.failures)


def verdict(failures):
    """Prints "RESULT: PASS", or "RESULT: FAIL" with the count and the failures (a list of
    messages) under it; returns the exit status: 0 without failures, 1 otherwise."""
    if not failures:
        print("RESULT: PASS", flush=True)
        return 0
    print("RESULT: FAIL, %d failure(s):" % len(failures), flush=True)
    for line in failures:
        print(line, flush=True)
    return 1
