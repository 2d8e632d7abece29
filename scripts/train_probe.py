#!/usr/bin/env python3
"""Train a class probe for the object map (jaxstyle probe). See --help."""
import sys

try:
    from jaxstyle.cli import script
except ModuleNotFoundError as e:  # run from a clone without `pip install -e .`
    from pathlib import Path
    sys.exit(f"error: {e.name} is not installed; run: pip install -e {Path(__file__).resolve().parents[1]}")

script("probe")
