"""Data: tf.data-style pipelines, ArrayDataset, DataLoader, normalisation, sources by name.

```python
ds = mt.data.load_source("digits")                       # or spirals, moons, mnist, csv, ...
train, val, test = mt.data.train_val_test_split(ds, val=0.1, test=0.1, seed=0)
norm = mt.data.Normalizer("scale", scale=16).fit(train)
loader = mt.data.DataLoader(norm(train), batch_size=64, shuffle=True, seed=0)

pipeline = mt.data.Dataset.from_tensor_slices((x, y)).shuffle(1024).batch(64)   # as tf.data
```

``Dataset`` is tf.data's Dataset; the in-memory (features, labels) dataset of the sources,
splits and DataLoader is one kind of it, ``ArrayDataset``, which ``Dataset(features, labels)``
still builds (pipeline.py says why).
"""
# files, images, synthetic, text: imported for their effect, each registers its sources by name
from . import experimental, files, images, synthetic, text  # noqa: F401
from .dataset import ArrayDataset, split_sizes, train_val_test_split
from .idx import parse_idx, read_idx
from .loader import DataLoader
from .normalize import Normalizer
from .pipeline import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from .registry import available_sources, load_source, register_source

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "ArrayDataset",
           "DataLoader", "Dataset", "Normalizer", "available_sources", "experimental",
           "load_source", "parse_idx", "read_idx", "register_source", "split_sizes",
           "train_val_test_split"]
