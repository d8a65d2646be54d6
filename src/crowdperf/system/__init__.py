"""The one inventory of this host (CPU, memory, OS, accelerators) and the devices a run uses.

Every layer that needs a fact about the machine asks here: provenance, ``system describe``, the
submission's system description, the results' system name and the hub. Nothing here imports
another crowdperf layer except ``errors``.

    cpu.py           CPU model name, sockets, physical and logical cores, clock
    nvml.py          the one module that calls NVML: driver and every GPU of the host
    inventory.py     HostInventory: all of the above, detected once per process
    devices.py       DeviceSelection (what --device asked for), UsedDevice (what a run used)
    accelerators.py  CUDA's view of the inventory's GPUs; resolve(selection) -> devices used
"""
