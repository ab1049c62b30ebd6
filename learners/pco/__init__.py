"""Periodic Collaborative Optimization (paper sec. 4.3): one closed-loop cycle in-process."""
