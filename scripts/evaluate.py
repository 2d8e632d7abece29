#!/usr/bin/env python3
"""Score object-only stylization on masked photos (jaxstyle evaluate). See --help."""
import sys

try:
    from jaxstyle.cli import script
except ModuleNotFoundError as e:  # run from a clone without `pip install -e .`
    from pathlib import Path
    sys.exit(f"error: {e.name} is not installed; run: pip install -e {Path(__file__).resolve().parents[1]}")

script("evaluate")
