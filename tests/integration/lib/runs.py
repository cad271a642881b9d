"""slide2dcm run the way the cases run it."""
import subprocess


def convert(binary, slide, out, report, extra):
    """slide2dcm convert of a TIFF written by synthetic_tiff (no pixel size in it: --mpp 0.5),
    quiet, with a JSON report; `extra` the case's own options. None when it succeeds, else
    its exit status and error."""
    run = subprocess.run([binary, "convert", str(slide), "-o", str(out), "--mpp", "0.5",
                          "--quiet", "--json-report", str(report)] + extra,
                         capture_output=True, text=True)
    return None if run.returncode == 0 else "exit %d: %s" % (run.returncode, run.stderr.strip())
