"""Policy-generating methods: ELDT (GE + Q-learned leaves), typed GP, PPO."""
