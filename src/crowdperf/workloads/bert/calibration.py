"""The features FP8 scales are calibrated on: MLPerf's BERT calibration set, never a scored split.

MLPerf fixes the calibration data of each benchmark. For BERT it is 100 features of SQuAD v1.1
dev (``calibration/SQuAD-v1.1/bert_calibration_features.txt`` in mlcommons/inference: indices
into the features ``convert_examples_to_features`` makes with doc_stride 128 and max_seq_len 384,
the ones crowdperf's QSL uses; "use at most 1 calibration file from this folder"). The indices
are data, listed here as that file has them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from crowdperf.workloads.bert.dataset import SquadFeatures

MLPERF_CALIBRATION_FEATURES = (
    4547,
    9556,
    2033,
    2181,
    10376,
    6995,
    5480,
    2096,
    4211,
    458,
    8812,
    4365,
    6025,
    9277,
    6287,
    5469,
    3426,
    7483,
    8462,
    6584,
    8969,
    4659,
    5045,
    2875,
    6314,
    4506,
    6466,
    10086,
    9957,
    3453,
    7249,
    3947,
    3855,
    1500,
    491,
    8767,
    598,
    7199,
    2581,
    2076,
    735,
    1418,
    8000,
    1400,
    9433,
    7771,
    5483,
    1574,
    5430,
    5166,
    3718,
    3232,
    10247,
    1417,
    2018,
    4838,
    6570,
    4923,
    4400,
    10121,
    6256,
    206,
    118,
    9143,
    9911,
    788,
    3320,
    7383,
    1250,
    5784,
    1436,
    9861,
    4930,
    5387,
    10414,
    7388,
    7624,
    7641,
    4775,
    911,
    1171,
    6714,
    381,
    3627,
    8220,
    7779,
    5264,
    1185,
    6846,
    9735,
    4947,
    2857,
    1965,
    3222,
    2764,
    7509,
    561,
    5789,
    797,
    10432,
)


def calibration_rows(features: SquadFeatures) -> tuple[int, ...]:
    """MLPerf's calibration features that this dataset has; all features of a dataset smaller
    than every listed index (the embedded tiny set: an open run, nothing official is scored)."""
    rows = tuple(i for i in MLPERF_CALIBRATION_FEATURES if i < features.count)
    return rows or tuple(range(min(features.count, len(MLPERF_CALIBRATION_FEATURES))))


def unpadded_batches(features: SquadFeatures, rows: Sequence[int]) -> Iterator[tuple[np.ndarray, ...]]:
    """One feature per batch, cut to its real length: calibration sees no padding token."""
    for row in rows:
        batch = features.gather([row])
        yield batch.input_ids, batch.input_mask, batch.segment_ids
