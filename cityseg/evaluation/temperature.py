"""Temperature scaling (Guo et al., ICML 2017): one scalar ``T``, fitted on held-out pixels by
minimising the NLL of ``softmax(z / T)``; the argmax, hence every IoU, is unchanged."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 100) -> float:
    """The temperature minimising ``cross_entropy(logits / T, labels)``.

    Args:
        logits: ``N x C`` logits of ``N`` pixels (at temperature 1).
        labels: ``N`` true classes (void pixels already removed).
        max_iter: L-BFGS iterations.

    ``log T`` is optimised, which keeps ``T`` positive; the NLL is convex in ``1 / T``, so
    L-BFGS from ``T = 1`` finds its minimum.
    """
    if logits.ndim != 2 or labels.shape != logits.shape[:1] or not len(labels):
        raise ValueError(f'fit_temperature needs N x C logits and N labels with N > 0, got '
                         f'{tuple(logits.shape)} and {tuple(labels.shape)}')
    logits = logits.detach().double()
    labels = labels.detach().long()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter,
                                  line_search_fn='strong_wolfe')

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = float(log_t.detach().exp())
    if not math.isfinite(temperature):
        raise ValueError('the temperature fit diverged (are the logits finite?)')
    return temperature
