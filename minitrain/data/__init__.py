"""Data: Dataset, DataLoader, normalisation, and sources loaded by name.

```python
ds = mt.data.load_source("digits")                       # or spirals, moons, mnist, csv, ...
train, val, test = mt.data.train_val_test_split(ds, val=0.1, test=0.1, seed=0)
norm = mt.data.Normalizer("scale", scale=16).fit(train)
loader = mt.data.DataLoader(norm(train), batch_size=64, shuffle=True, seed=0)
```
"""
# imported for their effect: each source module registers its sources by name
from . import files, images, synthetic  # noqa: F401
from .dataset import Dataset, split_sizes, train_val_test_split
from .idx import parse_idx, read_idx
from .loader import DataLoader
from .normalize import Normalizer
from .registry import available_sources, load_source, register_source

__all__ = ["DataLoader", "Dataset", "Normalizer", "available_sources", "load_source",
           "parse_idx", "read_idx", "register_source", "split_sizes", "train_val_test_split"]
