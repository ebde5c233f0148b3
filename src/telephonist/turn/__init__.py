"""The end-of-turn decision: features, the Smart Turn model, its batcher and the rule."""
