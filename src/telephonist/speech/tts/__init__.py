"""Speech synthesis providers."""
