"""The learned object map's heads: the cell head (cellhead), its training cells from image-labelled
pools (cellpool), and the patch judge (patchjudge)."""
