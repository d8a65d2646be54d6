"""Finds recipes by name or tags. Built-ins register exactly like plugins: an entry point in the group
``crowdperf.recipes`` names a ``register(registry)`` function (see pyproject's ``builtin`` entry;
the one plugin mechanism is ``crowdperf.plugins``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from crowdperf import plugins
from crowdperf.automation.recipe import Recipe
from crowdperf.errors import RecipeError, UsageError


@dataclass(frozen=True)
class TagQuery:
    """``get,cuda,_toolkit`` -> tags {get, cuda} and variations (toolkit,)."""

    tags: frozenset[str]
    variations: tuple[str, ...]

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> TagQuery:
        items = text.replace(" ", ",").split(",") if isinstance(text, str) else list(text)
        words = [w.strip() for w in items if w.strip()]
        tags = frozenset(w for w in words if not w.startswith("_"))
        variations = tuple(w[1:] for w in words if w.startswith("_"))
        return cls(tags=tags, variations=variations)


class RecipeRegistry:
    def __init__(self) -> None:
        self._recipes: dict[str, Recipe] = {}
        self.sources: dict[str, str] = {}  # recipe name -> entry point that registered it

    def add(self, recipe: Recipe, *, source: str = "direct") -> None:
        if recipe.name in self._recipes:
            raise RecipeError(
                f"recipe {recipe.name!r} registered twice ({self.sources[recipe.name]} and {source})"
            )
        self._recipes[recipe.name] = recipe
        self.sources[recipe.name] = source

    def names(self) -> list[str]:
        return sorted(self._recipes)

    def recipes(self) -> list[Recipe]:
        return [self._recipes[n] for n in self.names()]

    def by_name(self, name: str) -> Recipe:
        if name in self._recipes:
            return self._recipes[name]
        matches = self._matching(frozenset({name}))
        if len(matches) == 1:
            return matches[0]
        raise self._unknown(name)

    def by_tags(self, query: TagQuery) -> Recipe:
        """The recipe whose tags contain all of the query's; the most specific one when several do."""
        if not query.tags:
            raise UsageError("no tags given", hint="e.g. --tags get,cuda")
        matches = self._matching(query.tags)
        if not matches:
            raise self._unknown(",".join(sorted(query.tags - {"get", "install"})) or ",".join(query.tags))
        exact = [r for r in matches if r.name in query.tags]
        if len(exact) == 1:
            return exact[0]
        matches.sort(key=lambda r: len(r.all_tags() - query.tags))
        if len(matches) > 1 and len(matches[0].all_tags() - query.tags) == len(
            matches[1].all_tags() - query.tags
        ):
            names = ", ".join(r.name for r in matches)
            raise UsageError(f"tags {','.join(sorted(query.tags))} match several recipes: {names}")
        return matches[0]

    def _matching(self, tags: frozenset[str]) -> list[Recipe]:
        return [r for r in self._recipes.values() if tags <= r.all_tags()]

    def _unknown(self, what: str) -> UsageError:
        vocabulary = set(self._recipes) | {t for r in self._recipes.values() for t in r.tags}
        close = difflib.get_close_matches(what, sorted(vocabulary), n=4, cutoff=0.5)
        recipes = list(dict.fromkeys(self.by_name_or_tag(c) for c in close))  # best match first
        hint = f"closest recipes: {', '.join(recipes)}" if recipes else f"recipes: {', '.join(self.names())}"
        return UsageError(f"no recipe for {what!r}", hint=hint)

    def by_name_or_tag(self, word: str) -> str:
        if word in self._recipes:
            return word
        return next(r.name for r in self.recipes() if word in r.tags)


def load_registry() -> RecipeRegistry:
    """Every ``crowdperf.recipes`` entry point's recipes, crowdperf's own (``builtin``) included:
    built-ins and plugins are found the same way (a new one appears after ``pip install -e .``)."""
    registry = RecipeRegistry()
    for name, ref in plugins.entries(plugins.RECIPES).items():
        before = set(registry.names())
        try:
            register = plugins.resolve(ref, plugins.RECIPES)
            register(registry)  # type: ignore[operator]
        except RecipeError:
            raise
        except Exception as exc:
            raise RecipeError(
                f"recipe plugin {name!r} ({ref}) failed to load: {exc}",
                hint="fix or uninstall that plugin",
            ) from exc
        if name != "builtin":
            for recipe in set(registry.names()) - before:
                registry.sources[recipe] = f"plugin {name} ({ref})"
    if not registry.names():
        raise RecipeError("no recipes are installed", hint=plugins.REINSTALL_HINT)
    return registry
