# SPDX-License-Identifier: Apache-2.0
"""The memory bound of sending: a 2 GB instance goes out by C-STORE (to dcmtk's storescp)
and by STOW-RS (to Orthanc) while slide2dcm's peak resident memory stays under 100 MB.
The peak is the kernel's high-water mark of the process's resident set, as GNU time reports
it (%M), not a sample. (Not wait4 from here: Linux keeps the high-water mark across exec, so
the figure would be Python's own.)

usage: send_memory.py SLIDE2DCM LEVEL.dcm WORKDIR [MEGABYTES]"""
import os
import shutil
import subprocess
import sys

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
sys.path.insert(0, LIB)
from pacs import Orthanc, StoreSCP  # noqa: E402

import pydicom  # noqa: E402

LIMIT_KB = 100 * 1000


def peak_rss_kb(args):
    """Runs args; returns (exit status, peak RSS in kB)."""
    out = f"{os.environ.get('TMPDIR', '/tmp')}/send_memory.{os.getpid()}.rss"
    rc = subprocess.run(["/usr/bin/time", "-o", out, "-f", "%M", *args]).returncode
    with open(out) as f:
        rss = int(f.read().split()[-1])
    os.unlink(out)
    return rc, rss


def main(slide2dcm, level, work, megabytes="2100"):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    big = f"{work}/big.dcm"
    subprocess.run([sys.executable, f"{LIB}/make_big_instance.py", level, big, megabytes],
                   check=True)
    size = os.path.getsize(big)
    uid = str(pydicom.dcmread(big, stop_before_pixels=True).SOPInstanceUID)
    assert size >= int(megabytes) * 1000 * 1000 * 0.95, size

    with StoreSCP(work) as scp:
        rc, rss = peak_rss_kb([slide2dcm, "send", big, "--cstore", f"127.0.0.1:{scp.port}",
                               "--aec", scp.aet, "-q"])
        print(f"C-STORE of {size / 1e9:.2f} GB: exit {rc}, peak RSS {rss / 1000:.1f} MB")
        assert rc == 0
        received = os.listdir(scp.dir)
        assert len(received) == 1 and uid in received[0], received
        # storescp writes its own meta group: same size give or take that group's padding.
        assert abs(os.path.getsize(f"{scp.dir}/{received[0]}") - size) < 64
        assert rss < LIMIT_KB, f"C-STORE peak RSS {rss} kB"
        shutil.rmtree(scp.dir)

    with Orthanc(work) as orthanc:
        # Orthanc answers once the 2 GB are stored and indexed: on a busy 2-core machine that
        # silence has passed the default 60 s. This test measures memory, not that limit.
        rc, rss = peak_rss_kb([slide2dcm, "send", big, "--stow",
                               f"{orthanc.url}/dicom-web/studies", "-q", "--timeout", "600"])
        print(f"STOW-RS of {size / 1e9:.2f} GB: exit {rc}, peak RSS {rss / 1000:.1f} MB")
        assert rc == 0
        stored = orthanc.instances()
        assert list(stored) == [uid], stored
        assert orthanc.get_json(f"/instances/{stored[uid]}")["FileSize"] == size
        assert rss < LIMIT_KB, f"STOW-RS peak RSS {rss} kB"
    shutil.rmtree(work)


if __name__ == "__main__":
    main(*sys.argv[1:])
