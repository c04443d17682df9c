"""configs/charlm.yaml's transformer in PyTorch CPU, trained for the same wall time on the same
windows: what the same model reaches, beside minitrain's run.

    python benchmarks/charlm_torch.py [--seconds 540] [--threads 1]

The data is minitrain's own (the text source and the config's split, by position), the model
the config's: token embedding and learned positions, blocks of pre-norm causal self-attention
and a GELU MLP, a final LayerNorm and a logit per character; AdamW with the config's settings,
batch and clipping. It trains for ``--seconds`` (default: the time minitrain's run took, as
the README quotes it), validating after every epoch as minitrain's run does, then prints the
best validation loss in nats per character beside the unigram baseline.
"""
import argparse
import time

from timing import pin_blas_threads

THREADS = pin_blas_threads()  # before numpy loads its BLAS

import numpy as np  # noqa: E402

from minitrain.config import build, load_config  # noqa: E402


def torch_model(vocab, width, window, blocks, heads, hidden):
    import torch
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.attention = nn.MultiheadAttention(width, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(),
                                     nn.Linear(hidden, width))

        def forward(self, x, causal):
            h = self.norm1(x)
            x = x + self.attention(h, h, h, attn_mask=causal, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.positions = nn.Embedding(vocab, width), nn.Embedding(window, width)
            self.blocks = nn.ModuleList(Block() for _ in range(blocks))
            self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)
            self.register_buffer("causal", torch.triu(torch.ones(window, window,
                                                                 dtype=torch.bool), 1))

        def forward(self, tokens):
            t = tokens.shape[1]
            x = self.embed(tokens) + self.positions(torch.arange(t))
            for block in self.blocks:
                x = block(x, self.causal[:t, :t])
            return self.head(self.norm(x))
    return CharLM()


def evaluate(model, loader):
    import torch
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(torch.from_numpy(np.asarray(x, np.int64)))
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1),
                                                     torch.from_numpy(np.asarray(
                                                         y, np.int64)).flatten())
            total, count = total + float(loss) * len(x), count + len(x)
    return total / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=540.0)
    parser.add_argument("--config", default="configs/charlm.yaml")
    parser.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    experiment = build(load_config(args.config))
    config, preprocessing = experiment.config, experiment.preprocessing
    vocab, window = len(preprocessing["class_names"]), preprocessing["feature_shape"][0]
    model = torch_model(vocab, width=128, window=window, blocks=2, heads=4, hidden=512)
    spec = config["optimizer"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec["learning_rate"],
                                  weight_decay=spec.get("weight_decay", 0.004))
    start, steps, epochs, history = time.perf_counter(), 0, 0, []
    while time.perf_counter() - start < args.seconds:
        model.train()
        for x, y in experiment.train:
            logits = model(torch.from_numpy(np.asarray(x, np.int64)))
            loss = torch.nn.functional.cross_entropy(
                logits.flatten(0, 1), torch.from_numpy(np.asarray(y, np.int64)).flatten())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.get("global_clipnorm", 1e9))
            optimizer.step()
            steps += 1
            if time.perf_counter() - start >= args.seconds:
                break
        epochs += 1
        model.eval()  # validated after every epoch, as minitrain's run is, in the same time
        history.append(evaluate(model, experiment.validation))
    baseline, best = preprocessing["unigram_loss"]["val"], min(history)
    print(f"PyTorch CPU, {THREADS} thread(s): {steps} steps ({epochs} epochs begun) in "
          f"{time.perf_counter() - start:.0f} s; best val_loss {best:.4f} nats/character "
          f"(epoch {history.index(best) + 1}; last {history[-1]:.4f}), unigram baseline "
          f"{baseline:.4f} (ratio {best / baseline:.2f})")


if __name__ == "__main__":
    main()
