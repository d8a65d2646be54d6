"""Built-in recipes, one module per concern; registered by ``crowdperf.automation.builtin_recipes``."""
