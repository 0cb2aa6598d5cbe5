"""NoGAN training: one module per stage, chained by `recipe`."""
