"""Image pools and their batching: folder and multi-source pools (pools), TFDS pools (tfds_pool),
cropping and batches (batching), the train / held-out split of the masked photos (masksplit), and the
masked photos the map's evaluation scores (maskedphotos)."""
