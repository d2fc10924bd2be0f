"""Names and defaults shared by the CLI, the client and the server process."""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_VARIABLE = "EKS_HA_SANDBOX_DIR"
PROCESS_FILE = "sandbox.json"
DEFAULT_TIME_SCALE = 0.05


def default_state_dir() -> Path:
    """``$EKS_HA_SANDBOX_DIR``, else ``.sandbox`` in the current directory."""
    return Path(os.environ.get(STATE_DIR_VARIABLE) or ".sandbox")
