"""Offline stand-in for ansible-test's pip bootstrap script.

ansible-test creates an empty virtual environment per sanity test and runs a cached ``get-pip`` script in it,
downloading that script from a host outside the package index when it is not cached. This script installs pip
from the interpreter's bundled wheel (``ensurepip``) and then installs the pip version ansible-test asks for
from the package index, so sanity runs where only the package index is reachable.
"""

import subprocess
import sys

# get-pip.py options that plain ``pip install`` does not take.
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main(argv):
    """Install pip, then run ``pip install`` with the options ansible-test passed to get-pip."""
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    pip_args = [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + pip_args)


if __name__ == "__main__":
    main(sys.argv[1:])
