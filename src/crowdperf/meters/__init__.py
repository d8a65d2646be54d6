"""Power and energy meters: what the devices of a run draw while LoadGen's test runs.

    base.py        the interface: ``Meter`` (applies to some devices, opens) -> ``OpenMeter``
                   (channels, ``read()`` -> one ``ChannelValue`` per channel, ``close()``),
                   or ``Unavailable`` with the reason; ``MeterRole``
    nvml_meter.py  ``nvml``: NVIDIA GPU board power and energy, every GPU the run uses
    rapl.py        ``rapl``: CPU package and DRAM energy from /sys/class/powercap/intel-rapl*
    registry.py    the meters by name; ``open_meters(devices)`` picks what applies and is readable
    sampler.py     ``PowerSampler``: a background thread reading every open meter at 20 Hz around
                   the timed window -> one ``MeterTrace`` per meter (raw samples)
    readings.py    the maths: traces over LoadGen's window -> ``MeterReading`` (joules, mean/min/
                   max W, J per sample) and the run's headline ``PowerSummary``
    record.py      ``power.json`` (schema ``crowdperf.power/1``) and ``power_samples.csv``

Nothing is guessed: a meter that cannot read says why (``Unavailable``), and a run whose devices
no meter can read records ``power: unavailable (reason)``, never a zero. These are software
meters (the boards' and the CPU's own counters), not MLPerf power, which is the wall power a SPEC
PTDaemon analyser logs into ``spl.txt``: the two are never presented as one.

Layer: below the harness (``crowdperf.mlperf`` samples in the child that runs LoadGen), above
``crowdperf.system`` (devices; NVML is called only in ``system/nvml.py``).
"""
