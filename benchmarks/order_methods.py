"""Order methods that lost to the product's precedence annealing (solver/reorder.py), kept
for benchmarks/bench_order.py.

The pairing is fixed: an order is the inp class at each position, and the out class at
position k is ``pairing[order[k]]``. Every method is
``method(m, pairing, limit, rng, on_best) -> best order`` where ``m`` is an engine model
on the search rows only, ``limit`` is seconds and ``on_best(order)`` is called with each
order better (on the search rows) than any before.

  exact_annealing        simulated annealing over swaps, insertions and short reversals,
                         each proposal evaluated exactly from the cached prefix states
  cross_entropy          the cross-entropy method over block x position probabilities,
                         samples drawn as Gumbel-perturbed minimum-cost assignments
  gumbel_sinkhorn        a soft permutation (Sinkhorn of Gumbel-perturbed logits, the
                         temperature annealed) fit by Adam (torch, CPU), rounded by
                         assignment, repaired by cold exact annealing (its reversals are
                         2-opt moves)
  iterated_local_search  first-improvement descent over insertions, kicked by shuffling
                         a few short windows of the best
"""
from __future__ import annotations

import math
import time

import numpy as np

from solver.search import engine
from solver.search.assignment import assign

EXACT = 1e-9  # relative MSE under this is float32 rounding: the answer


class Clock:
    def __init__(self, limit: float):
        self.t0, self.limit = time.perf_counter(), limit

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def over(self) -> bool:
        return self.elapsed >= self.limit


def relative(m: engine.Model, final_state) -> float:
    """MSE / var(pred): comparable across puzzles."""
    return engine.loss(m, final_state) / m.pred_var


def order_loss(m: engine.Model, pairing, order) -> float:
    return relative(m, engine.run_blocks(m, order, pairing[order], m.x))


class Chain:
    """An order with its cached states: a proposal that first differs at position ``lo``
    runs only blocks lo..N-1."""

    def __init__(self, m: engine.Model, pairing, order):
        self.m, self.pairing = m, pairing
        self.order = np.array(order)
        self.S = engine.states(m, self.order, pairing[self.order])
        self.loss = relative(m, self.S[-1])
        self._buf = np.empty_like(self.S)

    def try_(self, new, lo: int) -> float:
        self._buf[lo] = self.S[lo]
        engine.refresh_states(self.m, new, self.pairing[new], self._buf, lo)
        return relative(self.m, self._buf[-1])

    def accept(self, new, lo: int, loss: float):
        # the states before lo are the same; copy, not swap, so S keeps its prefix
        self.S[lo + 1:] = self._buf[lo + 1:]
        self.order, self.loss = new, loss


def insertion(order, a: int, b: int):
    """The block at a moved to b, the others shifted."""
    new = np.delete(order, a)
    return np.insert(new, b, order[a])


def propose(order, rng, reach: int):
    """A random swap, insertion or reversal within ``reach``; (new order, first changed)."""
    n = len(order)
    a = int(rng.integers(0, n))
    b = int(np.clip(a + rng.integers(1, reach + 1) * rng.choice((-1, 1)), 0, n - 1))
    if a == b:
        return None, 0
    lo, hi = min(a, b), max(a, b)
    kind = rng.random()
    if kind < 0.4:
        new = order.copy()
        new[a], new[b] = order[b], order[a]
    elif kind < 0.85:
        new = insertion(order, a, b)
    else:  # a 2-opt move: the segment reversed
        new = order.copy()
        new[lo:hi + 1] = order[lo:hi + 1][::-1]
    return new, lo


def exact_annealing(m, pairing, limit, rng, on_best, start=None, t0=0.1, t1=0.002, reach=8):
    """Metropolis on log relative MSE; the temperature falls geometrically with the time
    used, so the schedule depends on the budget (not an anytime method)."""
    clock = Clock(limit)
    chain = Chain(m, pairing, rng.permutation(m.n_blocks) if start is None else start)
    best = (chain.loss, chain.order)
    on_best(chain.order)
    while best[0] > EXACT and not clock.over():
        temp = t0 * (t1 / t0) ** (clock.elapsed / limit)
        new, lo = propose(chain.order, rng, reach)
        if new is None:
            continue
        loss = chain.try_(new, lo)
        if loss < chain.loss or rng.random() < math.exp(-math.log(loss / chain.loss) / temp):
            chain.accept(new, lo, loss)
            if loss < best[0]:
                best = (loss, new)
                on_best(new)
    return best[1]


def gumbel(rng, shape):
    return -np.log(-np.log(rng.random(shape)))


def cross_entropy(m, pairing, limit, rng, on_best, population=40, elite=0.15, smoothing=0.3):
    """Q[b, k] = probability of block b at position k. Each sample is a hard permutation
    (the assignment maximising log Q + Gumbel noise) and costs one forward pass; the
    elite refit Q, smoothed so that it does not collapse at once."""
    clock = Clock(limit)
    n = m.n_blocks
    Q = np.full((n, n), 1.0 / n)
    best = (np.inf, None)
    n_elite = max(2, round(elite * population))
    while best[0] > EXACT and not clock.over():
        logq = np.log(Q + 1e-6)
        samples = []
        while len(samples) < population and not clock.over():
            order = np.argsort(assign(-(logq + gumbel(rng, (n, n)))))  # position -> block
            samples.append((order_loss(m, pairing, order), order))
        samples.sort(key=lambda s: s[0])
        if samples and samples[0][0] < best[0]:
            best = samples[0]
            on_best(best[1])
        F = np.zeros((n, n))
        for _, order in samples[:n_elite]:
            F[order, np.arange(n)] += 1.0 / n_elite
        Q = (1 - smoothing) * Q + smoothing * F
    return best[1]


def iterated_local_search(m, pairing, limit, rng, on_best, reach=4, windows=2, width=6):
    """Descend from a random order; then kick the best (a few short windows shuffled),
    descend again, and keep the result if it is better."""
    clock = Clock(limit)
    n = m.n_blocks
    best = descend(Chain(m, pairing, rng.permutation(n)), rng, reach, clock, on_best)
    while best.loss > EXACT and not clock.over():
        kicked = best.order.copy()
        for _ in range(windows):
            a = int(rng.integers(0, n - width))
            kicked[a:a + width] = kicked[a:a + width][rng.permutation(width)]
        chain = descend(Chain(m, pairing, kicked), rng, reach, clock)
        if chain.loss < best.loss:
            best = chain
            on_best(best.order)
    return best.order


def descend(chain: Chain, rng, reach: int, clock: Clock, on_better=lambda order: None) -> Chain:
    """First-improvement descent over insertions within ``reach`` until none helps."""
    n = len(chain.order)
    on_better(chain.order)
    improved = True
    while improved and not clock.over():
        improved = False
        for a in rng.permutation(n):
            if clock.over():
                break
            for b in range(max(0, a - reach), min(n, a + reach + 1)):
                if b == a:
                    continue
                new = insertion(chain.order, a, b)
                loss = chain.try_(new, min(a, b))
                if loss < chain.loss:
                    chain.accept(new, min(a, b), loss)
                    on_better(new)
                    improved = True
                    break
    return chain


# ---------------------------------------------------------------- Gumbel-Sinkhorn

def gumbel_sinkhorn(m, pairing, limit, rng, on_best, relax_share=0.6):
    """Relax for ``relax_share`` of the time, round by assignment on the logits, then
    repair by cold exact annealing for the rest."""
    clock = Clock(limit)
    theta = sinkhorn_relax(m, pairing, relax_share * limit, rng)
    order = assign(-theta)  # theta is (position, block): the block at each position
    on_best(order)
    left = limit - clock.elapsed
    if left > 1:
        order = exact_annealing(m, pairing, left, rng, on_best, start=order, t0=0.02, t1=0.001)
    return order


def sinkhorn(logp, iters: int):
    """Log-space Sinkhorn: rows and columns normalised in turn (doubly stochastic)."""
    import torch
    for _ in range(iters):
        logp = logp - torch.logsumexp(logp, dim=1, keepdim=True)
        logp = logp - torch.logsumexp(logp, dim=0, keepdim=True)
    return logp.exp()


def sinkhorn_relax(m, pairing, seconds, rng, batch=32, top_k=8, lr=0.05, tau0=1.0, tau1=0.03,
                   noise=0.3, iters=20):
    """theta[k, b]: logit of block b at position k. P = Sinkhorn((theta + noise * Gumbel)
    / tau); the soft network x_{k+1} = x_k + sum_b P[k, b] f_b(x_k) is fit to pred on
    minibatches, tau annealed geometrically. Returns theta (numpy)."""
    import torch
    torch.set_num_threads(1)
    net = [torch.tensor(a) for a in (m.w1, m.b1, m.w2[pairing], m.b2[pairing])]
    x_all, y_all = torch.tensor(m.x), torch.tensor(m.target[:, 0])
    wl, bl, scale = torch.tensor(m.wl[:, 0]), float(m.bl[0]), m.pred_var
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 31)))
    n = m.n_blocks
    theta = (0.01 * torch.randn(n, n, generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=lr)
    clock = Clock(seconds)
    while not clock.over():
        tau = tau0 * (tau1 / tau0) ** (clock.elapsed / seconds)
        u = torch.rand(n, n, generator=gen).clamp_(1e-9, 1 - 1e-9)
        P = sinkhorn((theta - noise * torch.log(-torch.log(u))) / tau, iters)
        idx = torch.randint(0, x_all.shape[0], (batch,), generator=gen)
        x = soft_forward(net, P, x_all[idx], top_k)
        loss = torch.mean((x @ wl + bl - y_all[idx]) ** 2) / scale
        opt.zero_grad()
        loss.backward()
        opt.step()
    return theta.detach().numpy()


def soft_forward(net, P, x, top_k: int):
    """Each position runs only its ``top_k`` likeliest blocks (the rest of P's mass is
    dropped: all N would cost N times more for little)."""
    import torch
    W1, B1, W2, B2 = net
    top = torch.topk(P.detach(), top_k, dim=1).indices
    for k in range(P.shape[0]):
        sel = top[k]
        w = P[k, sel]
        hid = torch.relu(torch.einsum("bd,kdh->kbh", x, W1[sel]) + B1[sel][:, None, :])
        x = x + torch.einsum("kbh,khd,k->bd", hid, W2[sel], w) + w @ B2[sel]
    return x
