"""Automation: recipes that detect or install what the benchmark needs, and the artifact cache.

registry.py       finds recipes by name/tags (built-ins and plugins via entry points)
recipe.py         Recipe, Artifact, VariationGroup, Dependency, RecipeOption, RecipeContext
versions.py       --version / --version-min / --version-max
cache.py          SQLite store + file lock; stale entries detected, never used
resolve.py        get_artifact(): cache hit -> detect -> staged install -> record
cache_ops.py      show / find / rm
cm_syntax.py      parse MLCommons CM's command line
cm_translate.py   CM commands -> native crowdperf argv
recipes/          the built-in recipes
"""
