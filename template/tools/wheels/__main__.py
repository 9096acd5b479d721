"""`python tools/wheels`: runs the command line of this folder's package (cli.py)."""

import sys
from pathlib import Path

# Run as a folder, Python puts the folder itself on sys.path; its parent (tools/) lets the
# modules import each other as one package, `wheels`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wheels.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
