"""The input side: the Phase 3 contract, its external asset specs, the loader and the demo season."""
