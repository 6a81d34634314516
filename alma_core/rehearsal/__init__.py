"""Offline rehearsal of the paper/released profiles: tiny stand-ins under the real names (DESIGN.md, 'Proving the
paper-scale paths'): small data in the real formats (`data`), the one scale override (`scale`), the run (`run`)
and the SLURM stand-in (`slurm/`).

May import: everything (it is the top layer). Must not import: nothing is above it, and no other part of
alma_core imports it.
"""

import os
from pathlib import Path


def slurm_path() -> Path:
    """The folder of the SLURM stand-in (`sbatch`, `srun`, `scontrol`); put it first on PATH to run sbatch scripts
    locally."""
    folder = Path(__file__).resolve().parent / "slurm"
    for tool in ("sbatch", "srun", "scontrol"):
        script = folder / tool
        if not script.is_file():
            raise FileNotFoundError(
                f"{script}: SLURM stand-in missing. Fix: reinstall alma-core (package data rehearsal/slurm/*)"
            )
        if not os.access(script, os.X_OK) and os.access(script, os.W_OK):
            script.chmod(script.stat().st_mode | 0o111)  # a wheel may drop the executable bit
    return folder
