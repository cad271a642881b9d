"""The one way the integration cases and checkers record their expectations.

A missed expectation is recorded with its message and the run goes on, so that one output
shows every fault, not only the first; result() then prints the verdict with the count,
the failures under it, and gives the exit status (0 only when nothing failed).

    checks = Checks()
    checks.expect(rc == 0, "convert exits 0 (got %d)" % rc)
    checks.fail("level-0.dcm", "PI RGB, expected YBR_FULL_422")   # "level-0.dcm: PI ..."
    return checks.result()

A message given in parts is joined with ": ", the first part naming what is at fault."""

SHOW = ("all", "failures", "none")


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

    def result(self):
        """Prints the verdict and the failures under it; returns the exit status: 0 when
        every expectation held, 1 otherwise."""
        if not self.failures:
            print("RESULT: PASS", flush=True)
            return 0
        print("RESULT: FAIL, %d failure(s):" % len(self.failures), flush=True)
        for line in self.failures:
            print(line, flush=True)
        return 1
