#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The output folder is all or nothing (issue 20, defects 6 and 7): a conversion killed with
SIGKILL at any moment leaves -o as it was (absent, or the earlier conversion) or complete,
never a partial pyramid under final names; the next run on the same -o, with and without
--overwrite, succeeds (or, without --overwrite over a complete conversion, refuses with
exit 2) and leaves nothing hidden behind, in -o or beside it.

usage: commit_crash.py SLIDE2DCM MAKE_SVS WORKDIR

Kills come from strace's fault injection, `-e inject=SYSCALL:signal=SIGKILL:when=N`, for
every N that a conversion calls SYSCALL (counted first by an uninjected run under strace):
rename and renameat2 (the renames inside the staging folder and its publication), mkdir
(the staging folder) and unlink and rmdir (the lock's removal, the earlier folder's
removal). Each into a new -o and, with --overwrite, over an earlier conversion made with
another --quality. Then one kill of the whole process mid-write. Outputs are compared by
name and SHA-256 (deterministic UIDs, a fixed clock) with uninterrupted runs."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402

BIN, MAKE_SVS, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
ENV = dict(os.environ, SOURCE_DATE_EPOCH="1000000000", TZ="UTC")
NEW = ["--deterministic-uids", "--quiet"]
OLD = NEW + ["--quality", "80"]
SYSCALLS = ["rename", "renameat2", "mkdir", "unlink", "rmdir"]
checks = Checks()


def convert(slide, out, args, strace=None):
    cmd, env = [BIN, "convert", slide, "-o", out, *args], ENV
    if strace:
        cmd = ["strace", "-f", "-qq", "-o", "/dev/null", *strace, *cmd]
        # LeakSanitizer cannot work in a traced process (the ASan run of the suite).
        asan = os.environ.get("ASAN_OPTIONS")
        env = dict(ENV, ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, timeout=600)
    return p.returncode, p.stderr.strip()


def contents(out):
    """{name: sha256} of the folder, or None when it does not exist."""
    if not os.path.isdir(out):
        return None
    found = {}
    for name in os.listdir(out):
        with open(os.path.join(out, name), "rb") as f:
            found[name] = hashlib.sha256(f.read()).hexdigest()
    return found


def hidden(case):
    """Names starting with a dot in the case folder (beside -o) and in -o."""
    left = [n for n in os.listdir(case) if n.startswith(".")]
    out = os.path.join(case, "out")
    if os.path.isdir(out):
        left += ["out/" + n for n in os.listdir(out) if n.startswith(".")]
    return left


def calls(slide, case, args):
    """How often an uninjected run calls each of SYSCALLS."""
    trace = os.path.join(WORK, "trace")
    rc, err = convert(slide, os.path.join(case, "out"), args,
                      ["-o", trace, "-e", "trace=" + ",".join(SYSCALLS)])
    checks.expect(rc == 0, "traced run: exit %d %s" % (rc, err))
    with open(trace) as f:
        text = f.read()
    return {s: text.count(" %s(" % s) + text.count("]%s(" % s) for s in SYSCALLS}


def setup(case, slide, earlier):
    shutil.rmtree(case, ignore_errors=True)
    os.makedirs(case)
    if earlier:
        rc, err = convert(slide, os.path.join(case, "out"), OLD)
        checks.expect(rc == 0, "earlier conversion: exit %d %s" % (rc, err))


def after_kill(what, case, slide, earlier, new, old):
    """-o is as before or complete; re-runs without and with --overwrite."""
    out = os.path.join(case, "out")
    state = contents(out)
    allowed = [new, old] if earlier else [None, new]
    checks.expect(state in allowed, "%s: -o is %s" % (
        what, "as before or complete" if state in allowed else "a mix: %s" % sorted(state or {})))
    rc, err = convert(slide, out, NEW)
    want = 0 if state is None else 2
    checks.expect(rc == want and (rc != 0 or contents(out) == new) and not hidden(case),
                  "%s: re-run without --overwrite exits %d (want %d), hidden: %s %s"
                  % (what, rc, want, hidden(case), err if rc != want else ""))
    rc, err = convert(slide, out, NEW + ["--overwrite"])
    checks.expect(rc == 0 and contents(out) == new and not hidden(case),
                  "%s: re-run with --overwrite exits %d, complete: %s, hidden: %s %s"
                  % (what, rc, contents(out) == new, hidden(case), err))


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    slide = os.path.join(WORK, "slide.svs")
    subprocess.run([MAKE_SVS, slide, "--width", "2000", "--height", "1500", "--levels", "1"],
                   check=True)
    reference = os.path.join(WORK, "reference")
    os.makedirs(reference)
    convert(slide, os.path.join(reference, "new"), NEW)
    convert(slide, os.path.join(reference, "old"), OLD)
    new, old = contents(os.path.join(reference, "new")), contents(os.path.join(reference, "old"))
    checks.expect(new and old and len(new) >= 6 and new.keys() == old.keys() and new != old,
                  "reference conversions: %d files, the earlier one different" % len(new or {}))

    for earlier in (False, True):
        label = "over an earlier conversion" if earlier else "into a new folder"
        case = os.path.join(WORK, "case")
        setup(case, slide, earlier)
        args = NEW + (["--overwrite"] if earlier else [])
        counted = calls(slide, case, args)
        kills = 0
        for syscall in SYSCALLS:
            for n in range(1, counted[syscall] + 1):
                setup(case, slide, earlier)
                what = "%s, kill at %s #%d" % (label, syscall, n)
                rc, err = convert(slide, os.path.join(case, "out"), args,
                                  ["-e", "inject=%s:signal=SIGKILL:when=%d" % (syscall, n)])
                checks.expect(rc == -signal.SIGKILL or rc == 128 + signal.SIGKILL,
                              "%s: killed (exit %d %s)" % (what, rc, err))
                kills += 1
                after_kill(what, case, slide, earlier, new, old)
        checks.expect(counted["rename"] >= len(new) + (0 if earlier else 1) and
                      (counted["renameat2"] >= 1 or not earlier),
                      "%s: %d kills, at every call of %s" % (label, kills, counted))

    # SIGKILL while a file is being written: a bigger slide, killed once the staging
    # folder holds a temporary file with data in it.
    big = os.path.join(WORK, "big.svs")
    subprocess.run([MAKE_SVS, big, "--width", "4000", "--height", "3000", "--levels", "1",
                    "--no-macro", "--no-label"], check=True)
    big_new = os.path.join(reference, "big")
    convert(big, big_new, NEW + ["--tile-size", "16", "--threads", "1"])
    for earlier in (False, True):
        case = os.path.join(WORK, "case")
        shutil.rmtree(case, ignore_errors=True)
        os.makedirs(case)
        out = os.path.join(case, "out")
        if earlier:
            convert(slide, out, NEW)
        before = contents(out)
        p = subprocess.Popen([BIN, "convert", big, "-o", out, *NEW, "--tile-size", "16",
                              "--threads", "1"] + (["--overwrite"] if earlier else []),
                             env=ENV, stderr=subprocess.DEVNULL)
        deadline, writing = time.monotonic() + 60, False
        while p.poll() is None and time.monotonic() < deadline and not writing:
            for stage in (n for n in os.listdir(case) if ".staging-" in n):
                path = os.path.join(case, stage)
                try:
                    writing = any(".partial-" in f and os.path.getsize(os.path.join(path, f)) > 0
                                  for f in os.listdir(path))
                except FileNotFoundError:
                    pass
            time.sleep(0.01)
        p.send_signal(signal.SIGKILL)
        p.wait()
        what = "kill mid-write %s" % ("over an earlier conversion" if earlier else "into a new folder")
        checks.expect(writing and contents(out) == before,
                      "%s: -o unchanged (%s)" % (what, "writing" if writing else "never saw a write"))
        rc, err = convert(big, out, NEW + ["--tile-size", "16", "--threads", "1", "--overwrite"])
        checks.expect(rc == 0 and contents(out) == contents(big_new) and not hidden(case),
                      "%s: the re-run exits %d, complete, hidden: %s %s"
                      % (what, rc, hidden(case), err))
    return checks.result()


if __name__ == "__main__":
    sys.exit(main())
