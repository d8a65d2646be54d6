"""The one inventory of this host (CPU, memory, OS, accelerators) and the devices a run uses.

Every layer that needs a fact about the machine asks here: provenance, ``system describe``, the
submission's system description, the results' system name and the hub. Nothing here imports
another crowdperf layer except ``errors``.
"""
