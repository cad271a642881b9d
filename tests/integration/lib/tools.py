# SPDX-License-Identifier: Apache-2.0
"""Where the shared verification tools are, found one way for every case and checker."""
import os
import shutil
from pathlib import Path

# ../shared/tools beside the project (tests/integration/lib/ is three levels below it).
DEFAULT_TOOLS = Path(__file__).resolve().parents[3].parent / "shared" / "tools"


def verify_wsm_frames():
    """Path of verify-wsm-frames: in $S2D_TOOLS (CTest sets it), else ../shared/tools beside
    the project, else on PATH; the first candidate when it is nowhere (running it then
    fails, and the check with it)."""
    candidate = Path(os.environ.get("S2D_TOOLS") or DEFAULT_TOOLS) / "verify-wsm-frames"
    if candidate.is_file():
        return str(candidate)
    return shutil.which("verify-wsm-frames") or str(candidate)
