"""The engine: what the events imply (fold) and every figure, as SQL over it (facts,
report). Both stores hold the same tables, so one engine serves both."""
