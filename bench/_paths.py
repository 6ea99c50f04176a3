"""Importing this puts the repository root on sys.path, so a bench run as
`python bench/x.py` imports chatapp and tests.fixtures as the test suite does."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
