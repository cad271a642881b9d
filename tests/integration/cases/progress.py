#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Progress a user reads (issue 19), under a pseudo-terminal 100 columns wide
(lib/terminal.py plays the bytes back as a terminal would), and off a terminal.

usage: progress.py CASE SLIDE2DCM MAKE_SVS TESTDATA WORKDIR
CASE is one of:
  batch    a slow slide (16-pixel tiles, one thread), a broken one and one under a long path:
           while the slow one converts its tiles move, at least once a second, with MP/s
           above 0 and an ETA in h:mm:ss; every status line fits the width; afterwards the
           screen holds a line per finished or failed slide, the totals and the summary, and
           nothing else (no fragment of an older line). Off a terminal: a line per slide,
           no status lines, no control characters.
  convert  the level / tiles / tiles/s / ETA h:mm:ss line, the last one left above the
           summary, nothing else on the screen; a plain TIFF stack's pages N/M line
  send     to a fake STOW-RS archive that reads slowly: "sent X of Y MB", MB/s and ETA in
           h:mm:ss while a file is in flight; afterwards a "stored" line per file, the
           totals and the summary. Off a terminal: a line per file.
Prints "ok ..." or "FAIL ..." lines (lib/checks.py); exit status 0 only without failures."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import numpy
import tifffile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import Checks  # noqa: E402
import terminal  # noqa: E402
from pacs import FakeStow, answer, posted_uids, read_body, store_response  # noqa: E402

CASE, BIN, MAKE_SVS, DATA, WORK = sys.argv[1:6]
BIN, MAKE_SVS, DATA, WORK = (os.path.abspath(a) for a in (BIN, MAKE_SVS, DATA, WORK))
COLS = 100
DURATION = r"\d+:\d\d:\d\d"
checks = Checks()


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def pieces(chunks):
    """What each redraw wrote: the raw output cut at every erase (ESC[J), each piece's
    lines without the escapes."""
    out = []
    for piece in terminal.raw(chunks).split(b"\x1b[J"):
        text = re.sub(rb"\x1b\[\d*[A-Za-z]", b"", piece).decode(errors="replace")
        out.append([line for line in re.split(r"[\r\n]+", text) if line])
    return out


def slow_slide(path, width, height):
    subprocess.run([MAKE_SVS, path, "--width", str(width), "--height", str(height), "--levels",
                    "1", "--no-macro", "--no-label"], check=True, stdout=subprocess.DEVNULL)


def case_batch():
    d = fresh(os.path.join(WORK, "in"))
    slow_slide(os.path.join(d, "slow.svs"), 2400, 1800)
    shutil.copyfile(os.path.join(DATA, "negative/histolab_broken.svs"), os.path.join(d, "broken.svs"))
    deep = os.path.join(d, "a-folder-with-a-rather-long-name", "and-another-one-below-it-as-well")
    os.makedirs(deep)
    shutil.copyfile(os.path.join(DATA, "aperio/small.svs"),
                    os.path.join(deep, "a small slide with a name long enough to pass the width.svs"))
    out = os.path.join(WORK, "out-tty")
    shutil.rmtree(out, ignore_errors=True)
    rc, chunks = terminal.run_on_pty([BIN, "batch", d, "-o", out, "--tile-size", "16",
                                      "--threads", "1"], cols=COLS)
    checks.expect(rc == 1, "batch exits 1, a slide failed (got %d)" % rc)

    tiles = re.compile(r"^  (\d+)/(\d+) tiles +(\d+)% +(\S.*)$")
    status = re.compile(r"^slides: (\d+) done, (\d+) failed, (\d+) left  (\d+\.\d\d?) MP/s  ETA (-|%s)$" % DURATION)
    moving, live, long_lines, bad_status = set(), [], [], []
    for lines in pieces(chunks):
        slow = None
        for line in lines:
            m = tiles.match(line)
            if m or line.startswith("  starting") or line.startswith("slides:"):
                if len(line) > COLS - 1:
                    long_lines.append(line)
            if line.startswith("slides:") and not status.match(line):
                bad_status.append(line)
            if m and m.group(4).endswith("slow.svs") and 0 < int(m.group(1)) < int(m.group(2)):
                slow = int(m.group(1))
                moving.add(slow)
            s = status.match(line)
            if s and slow is not None:
                live.append((slow, float(s.group(4)), s.group(5)))
    checks.expect(len(moving) >= 3, "the slow slide's tiles move on the screen: %d distinct counts" % len(moving))
    checks.expect(live and all(mp > 0 and eta != "-" for _, mp, eta in live[len(live) // 4:]) and
                  any(eta != "0:00:00" for _, _, eta in live[:len(live) // 2]),
                  "while it converts: MP/s above 0 and an ETA in h:mm:ss, not 0 halfway %s" % live[:3])
    checks.expect(not bad_status, "every totals line has ETA h:mm:ss: %s" % bad_status[:2])
    checks.expect(not long_lines, "status lines fit %d columns: %s" % (COLS, long_lines[:1]))
    # At least once a second while the slow slide converts: its redraws counted in what the
    # batch wrote (not by when the test read it, which a loaded machine delays), against
    # how long the slide took by its own line.
    redraws = sum(1 for lines in pieces(chunks)
                  if any(line.startswith("  ") and line.endswith("slow.svs") for line in lines))
    took = re.search(r"slow\.svs \(\d+\.\d MP in (\d+):(\d\d):(\d\d)\)", terminal.raw(chunks).decode(errors="replace"))
    seconds = int(took.group(1)) * 3600 + int(took.group(2)) * 60 + int(took.group(3)) if took else 0
    checks.expect(took and redraws >= max(3, seconds - 1),
                  "redrawn at least once a second: %d redraws in the slow slide's %d s" % (redraws, seconds))

    screen = terminal.screen(terminal.raw(chunks), COLS)
    expected = [
        (r"^slide2dcm: converted: %s/a-folder.*long enough to pass the width\.svs \(\d+\.\d MP in %s\)$" % (re.escape(d), DURATION), 1),
        (r"^slide2dcm: failed: %s/broken\.svs: \S.*$" % re.escape(d), 1),
        (r"^slide2dcm: converted: %s/slow\.svs \(4\.3 MP in %s\)$" % (re.escape(d), DURATION), 1),
        (r"^slides: 2 done, 1 failed, 0 left  \d+\.\d\d? MP/s  ETA 0:00:00$", 1),
        (r"^slide2dcm batch: 3 slides: 2 converted, 0 already done, 1 failed; .* report .*$", 1),
        (r"^  failed: %s/broken\.svs: \S.*$" % re.escape(d), 1),
    ]
    counts = [sum(1 for line in screen if re.match(p, line)) for p, _ in expected]
    stray = [line for line in screen if not any(re.match(p, line) for p, _ in expected)]
    checks.expect(counts == [n for _, n in expected] and not stray,
                  "the screen afterwards: a line per slide, the totals, the summary and nothing else",
                  "\n    " + "\n    ".join(screen))

    # Off a terminal: the same lines per slide, nothing rewritten.
    p = subprocess.run([BIN, "batch", d, "-o", out, "--force", "--tile-size", "64"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = p.stderr.splitlines()
    checks.expect(p.returncode == 1 and not re.search(r"[\r\x1b]", p.stderr) and
                  sum(line.startswith("slide2dcm: converted: ") for line in lines) == 2 and
                  sum(line.startswith("slide2dcm: failed: ") for line in lines) == 1 and
                  not any("tiles" in line or line.startswith("slides:") for line in lines),
                  "off a terminal: a line per finished slide, no status line", p.stderr)


def case_convert():
    d = fresh(os.path.join(WORK, "convert"))
    slide = os.path.join(d, "slow.svs")
    slow_slide(slide, 1600, 1200)
    out = os.path.join(d, "out")
    rc, chunks = terminal.run_on_pty([BIN, "convert", slide, "-o", out, "--tile-size", "16",
                                      "--threads", "1"], cols=COLS)
    line_re = re.compile(r"^level \d+  tiles (\d+)/(\d+)  \d+ tiles/s  ETA (-|%s)$" % DURATION)
    seen, bad = [], []
    for lines in pieces(chunks):
        for line in lines:
            if line.startswith("level "):
                m = line_re.match(line)
                if m:
                    seen.append((int(m.group(1)), int(m.group(2)), m.group(3)))
                else:
                    bad.append(line)
    checks.expect(rc == 0, "convert exits 0 (got %d)" % rc)
    checks.expect(len(seen) >= 3 and not bad and any(0 < a < b and eta != "-" for a, b, eta in seen),
                  "tiles and ETA in h:mm:ss while it converts (%d lines, bad %s)" % (len(seen), bad[:2]))
    screen = terminal.screen(terminal.raw(chunks), COLS)
    checks.expect(len(screen) == 2 and re.match(r"^level \d+  tiles (\d+)/\1  \d+ tiles/s  ETA 0:00:00$", screen[0])
                  and re.match(r"^slide2dcm: .*slow\.svs: \d+ files, [\d.]+ MB in .*, [\d.]+ s$", screen[1]),
                  "the screen afterwards: the last progress line and the summary", screen)

    # A plain TIFF's pages: counted as pages, not tiles of a level.
    stack = os.path.join(d, "stack.tif")
    rng = numpy.random.default_rng(7)
    tifffile.imwrite(stack, rng.integers(0, 4096, (48, 512, 512), dtype=numpy.uint16))
    rc, chunks = terminal.run_on_pty([BIN, "convert", stack, "-o", os.path.join(d, "stack"),
                                      "--codec", "j2k", "--threads", "1"], cols=COLS)
    pages_re = re.compile(r"^pages (\d+)/48  [\d.]+ pages/s  ETA (-|%s)$" % DURATION)
    seen = [pages_re.match(line) for lines in pieces(chunks) for line in lines
            if line.startswith("pages ")]
    checks.expect(rc == 0 and len(seen) >= 2 and all(seen) and int(seen[-1].group(1)) == 48 and
                  any(0 < int(m.group(1)) < 48 for m in seen),
                  "plain TIFF: pages N/48 and ETA while it converts (%d lines: %s)"
                  % (len(seen), [m.group(0) if m else None for m in seen][:3]))


def slow_archive():
    """A STOW-RS studies resource that reads a request 16 KiB every 10 ms (1.6 MB/s), then
    confirms the instance."""

    def on_post(request, posts):
        body = read_body(request, chunk=16384, pause=0.01)
        answer(request, 200, store_response([posted_uids(body, request.headers["Content-Type"])]))

    return FakeStow(on_post)


def case_send():
    d = fresh(os.path.join(WORK, "send"))
    out = os.path.join(d, "out")
    subprocess.run([BIN, "convert", os.path.join(DATA, "aperio/CMU-1-Small-Region.svs"), "-o", out,
                    "-q"], check=True)
    files = sorted(f for f in os.listdir(out) if f.endswith(".dcm"))
    total = sum(os.path.getsize(os.path.join(out, f)) for f in files) / 1e6
    archive = slow_archive()
    rc, chunks = terminal.run_on_pty([BIN, "send", out, "--stow", archive.url], cols=COLS)
    sent_re = re.compile(r"^sent (\d+\.\d) of (\d+\.\d) MB  (\d+\.\d) MB/s  ETA (-|%s)$" % DURATION)
    seen, bad = [], []
    for lines in pieces(chunks):
        for line in lines:
            if line.startswith("sent "):
                m = sent_re.match(line)
                if m:
                    seen.append((float(m.group(1)), float(m.group(2)), float(m.group(3)), m.group(4)))
                else:
                    bad.append(line)
    checks.expect(rc == 0, "send exits 0 (got %d)" % rc)
    checks.expect(not bad and any(0 < s < t and rate > 0 and eta != "-" for s, t, rate, eta in seen)
                  and all(abs(t - total) < 0.06 for _, t, _, _ in seen),
                  "bytes sent of %.1f MB, MB/s and ETA in h:mm:ss while sending (%d lines, bad %s)"
                  % (total, len(seen), bad[:2]))
    screen = terminal.screen(terminal.raw(chunks), COLS)
    stored = [line for line in screen if re.match(r"^slide2dcm: %s/\S+\.dcm: stored$" % re.escape(out), line)]
    final = [line for line in screen if re.match(r"^sent (\d+\.\d) of \1 MB  \d+\.\d MB/s  ETA 0:00:00$", line)]
    summary = [line for line in screen if line == "slide2dcm: %s: %d of %d files stored" % (archive.url, len(files), len(files))]
    checks.expect(len(stored) == len(files) and len(final) == 1 and len(summary) == 1 and
                  len(screen) == len(files) + 2,
                  "the screen afterwards: a line per file, the totals, the summary, nothing else",
                  "\n    " + "\n    ".join(screen))
    # C-STORE to dcmtk's storescp: with every transfer syntax accepted all is sent; without,
    # the JPEG files are refused before any byte of them goes out, and none counts as sent.
    for accept, expected in ((["+xa"], "%.1f" % total), ([], "0.0")):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        scp = subprocess.Popen(["storescp", *accept, "-od", fresh(os.path.join(d, "scp")), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        try:
            rc, chunks = terminal.run_on_pty([BIN, "send", out, "--cstore", "127.0.0.1:%d" % port,
                                              "--max-pdu", "4096"], cols=COLS)
        finally:
            scp.kill()
            scp.wait()
        screen = terminal.screen(terminal.raw(chunks), COLS)
        final = [line for line in screen if line.startswith("sent ")]
        checks.expect(rc == (0 if accept else 4) and len(final) == 1 and
                      final[0].startswith("sent %s of %.1f MB" % (expected, total)),
                      "C-STORE %s: the totals say %s MB sent" % ("accepted" if accept else "refused", expected),
                      final)
    # batch --send-stow: the slide's line says how much of it is sent, then that it is stored.
    d_in = fresh(os.path.join(d, "in"))
    shutil.copyfile(os.path.join(DATA, "aperio/CMU-1-Small-Region.svs"), os.path.join(d_in, "a.svs"))
    rc, chunks = terminal.run_on_pty([BIN, "batch", d_in, "-o", os.path.join(d, "outroot"),
                                      "--send-stow", archive.url], cols=COLS)
    sending = set()
    for lines in pieces(chunks):
        for line in lines:
            m = re.match(r"^  sending (\d+\.\d)/(\d+\.\d) MB +\S*a\.svs$", line)
            if m and 0 < float(m.group(1)) < float(m.group(2)):
                sending.add(m.group(1))
    screen = terminal.screen(terminal.raw(chunks), COLS)
    checks.expect(rc == 0 and sending and
                  any(re.match(r"^slide2dcm: converted: \S*a\.svs \(", line) for line in screen) and
                  any(re.match(r"^slide2dcm: stored: \S*a\.svs \(%s\)$" % DURATION, line) for line in screen),
                  "batch --send-stow: MB sent of the slide while sending (%s), then stored" % sorted(sending),
                  "\n    " + "\n    ".join(screen))
    p = subprocess.run([BIN, "send", out, "--stow", archive.url], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    lines = p.stderr.splitlines()
    checks.expect(p.returncode == 0 and not re.search(r"[\r\x1b]", p.stderr) and
                  len(lines) == len(files) + 1 and all(line.endswith(": stored") for line in lines[:-1]),
                  "off a terminal: a line per file and the summary", p.stderr)


{"batch": case_batch, "convert": case_convert, "send": case_send}[CASE]()
sys.exit(checks.result())
