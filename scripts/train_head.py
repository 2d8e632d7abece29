#!/usr/bin/env python3
"""Train the cell head of the learned object map (jaxstyle head). See --help."""
import sys

try:
    from jaxstyle.cli import script
except ModuleNotFoundError as e:  # run from a clone without `pip install -e .`
    from pathlib import Path
    sys.exit(f"error: {e.name} is not installed; run: pip install -e {Path(__file__).resolve().parents[1]}")

script("head")
