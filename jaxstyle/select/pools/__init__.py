"""Image pools and their batching: folder and multi-source pools (pools), TFDS pools (tfds_pool),
cropping and batches (batching), and the train / held-out split of the masked photos (masksplit)."""
