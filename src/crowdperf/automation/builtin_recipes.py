"""Registers the built-in recipes; reached through the ``crowdperf.recipes`` entry point ``builtin``
exactly like a plugin's ``register(registry)``."""

from __future__ import annotations

from crowdperf.automation.recipes.bert_assets import BertLargeModelRecipe, SquadDatasetRecipe
from crowdperf.automation.recipes.cuda import CudaRecipe
from crowdperf.automation.recipes.cuda_devices import CudaDevicesRecipe
from crowdperf.automation.recipes.cuda_stack import CudaStackRecipe
from crowdperf.automation.recipes.frameworks import LoadgenRecipe, OnnxruntimeRecipe, TorchRecipe
from crowdperf.automation.recipes.nvidia_libs import CudnnRecipe, TensorrtRecipe
from crowdperf.automation.recipes.python_venv import PythonVenvRecipe
from crowdperf.automation.recipes.sys_utils import SysUtilsRecipe
from crowdperf.automation.registry import RecipeRegistry

BUILTIN = (
    CudaRecipe,
    CudaDevicesRecipe,
    CudnnRecipe,
    TensorrtRecipe,
    CudaStackRecipe,
    PythonVenvRecipe,
    SysUtilsRecipe,
    LoadgenRecipe,
    OnnxruntimeRecipe,
    TorchRecipe,
    BertLargeModelRecipe,
    SquadDatasetRecipe,
)


def register(registry: RecipeRegistry) -> None:
    for recipe_class in BUILTIN:
        registry.add(recipe_class(), source="builtin")
