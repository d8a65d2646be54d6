"""A tiny recipe plugin, installed the way pip installs one: a package plus a ``.dist-info`` with a
``crowdperf.recipes`` entry point, on sys.path (and PYTHONPATH for subprocesses)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

PLUGIN_SOURCE = textwrap.dedent(
    '''
    """A test plugin: ``demo-tool`` detects a file whose content is its version, or installs one."""
    import time
    from pathlib import Path

    from crowdperf.automation.recipe import Artifact, Recipe, RecipeOption, VariationGroup
    from crowdperf.automation.resolve import promote
    from crowdperf.errors import RecipeError


    class DemoTool(Recipe):
        name = "demo-tool"
        tags = frozenset({"get", "demo-tool", "demo"})
        variation_groups = (VariationGroup("color", ("red", "blue"), default="red"),)
        options = (
            RecipeOption("path", "file holding the version", is_path=True),
            RecipeOption("install_version", "install this version into the cache"),
            RecipeOption("delay", "seconds to spend installing", in_cache_key=False),
            RecipeOption("interrupt", "raise KeyboardInterrupt", in_cache_key=False, is_flag=True),
        )

        def detect(self, ctx):
            path = ctx.option("path")
            if not path or not Path(path).is_file():
                raise RecipeError(f"demo-tool not found at {path}")
            return Artifact(self.name, Path(path).read_text().strip(), {"file": Path(path)},
                            tuple(sorted(self.tags)), tuple(sorted(ctx.variations)), {}, "system")

        def prefers_install(self, ctx):
            return ctx.option("install_version") is not None

        def can_install(self, ctx):
            return ctx.option("install_version") is not None

        def install(self, ctx):
            version = ctx.option("install_version")
            staged = ctx.work_dir / "demo"
            staged.mkdir()
            (staged / "VERSION").write_text(version)
            time.sleep(float(ctx.option("delay") or 0))
            if ctx.flag("interrupt"):
                raise KeyboardInterrupt
            final = promote(staged, ctx.settings.cache_dir / "installs" / f"demo-{version}")
            return Artifact(self.name, version, {"file": final / "VERSION"}, tuple(sorted(self.tags)),
                            tuple(sorted(ctx.variations)), {}, "cache-install")


    def register(registry):
        registry.add(DemoTool())
    '''
)


@pytest.fixture
def recipe_plugin(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path_factory.mktemp("plugin-site")
    package = site / "crowdperf_demo_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN_SOURCE)
    dist_info = site / "crowdperf_demo_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: crowdperf-demo-plugin\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        "[crowdperf.recipes]\ndemo = crowdperf_demo_plugin:register\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    return site
