"""Sampling: DDIM with classifier-free guidance, and the closed-loop controller (paper Alg. 1)."""
