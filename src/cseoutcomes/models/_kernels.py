"""Fused kernels for the costliest terms of the PyMC graph, as PyTensor Ops that carry their own gradient.

Written as elementwise PyTensor expressions, the closure term of the joint drop-out
model (``_pymc._closure_potential``) cost more than the ordinal likelihood of every
assessment: each of its broadcast (young people x reasons) steps and their gradients
is a separate loop in the compiled graph, and every exponential was taken again in the
backward pass. Here each term is one loop over young people (or assessments) that
takes every exponential once and accumulates the value and its gradient together.

Each Op returns the value and its gradient with respect to every parameter input; its
``pullback`` hands those outputs back, so the sampler's value-and-gradient function computes
the kernel once per leapfrog step. The kernels are Numba functions: the Op runs them
directly (``perform``) in PyTensor's C and Python modes and as compiled code in its
Numba mode (which nutpie uses). JAX samplers (numpyro, blackjax) get the elementwise
expressions instead (``_pymc.build_pymc_model(fused=False)``); tests hold the two to
each other and to ``_numeric``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

# error_model="numpy": a division by zero at an extreme point of the warm-up gives inf or nan (a
# rejected step), not an exception that would stop the sampler; the one division that can meet a zero
# (a category's probability) is guarded as well, so the kernel does not depend on the flag.
SERIES_BELOW = 1e-3
"""|c L| below which (e^{cL} - 1) / c and its derivative in c come from their series (four terms: relative
error below 1e-14), not from the difference of two nearly equal numbers."""


@numba.njit(cache=True, error_model="numpy")
def closure_value_and_grad(rates, effect, trend, eta0, slope, followup, length, starts, period, event, centre):
    """Log-likelihood of the closures and its gradient (see ``_numeric.closure_loglik``, the reference).

    Young person i, reason r, period k: hazard exp(rates[r, k] + trend[r] * (t - centre) + effect[r] *
    (eta0[i] + slope[i] * t)); ``length[i, k]``: time i spent in period k (starting at ``starts[k]``),
    ``period[i]``: the period of i's follow-up's end, ``event[i]``: the reason i's case closed for
    (-1: open, or a padding young person). Returns (value, d rates, d effect, d trend, d eta0, d slope).
    """
    R, K = rates.shape
    P = eta0.shape[0]
    mid = centre[()]
    w = np.exp(rates)
    d_rates = np.zeros((R, K))
    d_effect = np.zeros(R)
    d_trend = np.zeros(R)
    d_eta0 = np.zeros(P)
    d_slope = np.zeros(P)
    total = 0.0
    for i in range(P):
        e = event[i]
        if e >= 0:  # log hazard of the reason the case closed for, at closure
            total += (rates[e, period[i]] + trend[e] * (followup[i] - mid)
                      + effect[e] * (eta0[i] + slope[i] * followup[i]))
            d_rates[e, period[i]] += 1.0
            d_trend[e] += followup[i] - mid
            d_effect[e] += eta0[i] + slope[i] * followup[i]
            d_eta0[i] += effect[e]
            d_slope[i] += effect[e] * followup[i]
        if length[i, 0] <= 0.0:  # no follow-up (or padding): no cumulative hazard
            continue
        for r in range(R):
            c = effect[r] * slope[i] + trend[r]  # growth of the log hazard per time unit
            inv = 1.0 / c if c != 0.0 else 0.0  # used only where |c L| >= SERIES_BELOW
            base = math.exp(effect[r] * eta0[i] - trend[r] * mid)
            grown = 1.0  # e^{c t_k} at the start of period k
            S = 0.0  # sum over periods of w_k e^{c t_k} (e^{c L_k} - 1) / c
            dS = 0.0  # its derivative in c
            for k in range(K):
                L = length[i, k]
                if L <= 0.0:  # later periods not reached
                    break
                x = c * L
                m = math.expm1(x)
                if abs(x) < SERIES_BELOW:
                    Q = L * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x / 24.0)))
                    dQ = L * L * (0.5 + x * (1.0 / 3.0 + x * (0.125 + x / 30.0)))
                else:
                    Q = m * inv
                    dQ = (L * (1.0 + m) - Q) * inv
                part = w[r, k] * grown
                S += part * Q
                d_rates[r, k] -= base * part * Q
                dS += part * (starts[k] * Q + dQ)
                grown *= 1.0 + m
            H = base * S
            dH = base * dS
            total -= H
            d_effect[r] -= H * eta0[i] + dH * slope[i]
            d_trend[r] -= dH - H * mid
            d_eta0[i] -= H * effect[r]
            d_slope[i] -= dH * effect[r]
    return np.array(total, dtype=np.float64), d_rates, d_effect, d_trend, d_eta0, d_slope


@numba.njit(cache=True, error_model="numpy")
def _logistic_pair(x):
    """(F(x), F(-x)) of the standard logistic, each with full relative precision: one exponential."""
    if x >= 0.0:
        e = math.exp(-x)
        return 1.0 / (1.0 + e), e / (1.0 + e)
    e = math.exp(x)
    return e / (1.0 + e), 1.0 / (1.0 + e)


@numba.njit(cache=True, error_model="numpy")
def ordinal_value_and_grad(eta, cutpoints, y):
    """Cumulative-logit log-likelihood of every assessment, summed, and its gradient.

    P(y = k) = F(c_k - eta) - F(c_{k-1} - eta), F logistic, c_{-1} = -inf and c_{K-1} = +inf for K
    categories (``_numeric.ordinal_logp`` is the reference). Where both boundaries lie above eta the
    difference is taken in the upper tail, F(eta - c_{k-1}) - F(eta - c_k), so that no digits are lost;
    each boundary's exponential gives F at both signs and the density F(x) F(-x), which the gradient
    needs. Returns (value, d eta, d cutpoints).
    """
    N = eta.shape[0]
    top = cutpoints.shape[0]  # index of the last category
    d_eta = np.zeros(N)
    d_cut = np.zeros(top)
    total = 0.0
    for n in range(N):
        k = y[n]
        if k == 0:  # P = F(a)
            a = cutpoints[0] - eta[n]
            fa, fma = _logistic_pair(a)
            total += math.log(fa)
            da = fma  # d log F(a) / da = F(-a)
            d_cut[0] += da
            d_eta[n] -= da
        elif k == top:  # P = F(-b)
            b = cutpoints[top - 1] - eta[n]
            fb, fmb = _logistic_pair(b)
            total += math.log(fmb)
            db = -fb  # d log F(-b) / db = -F(b)
            d_cut[top - 1] += db
            d_eta[n] -= db
        else:
            a = cutpoints[k] - eta[n]
            b = cutpoints[k - 1] - eta[n]
            fa, fma = _logistic_pair(a)
            fb, fmb = _logistic_pair(b)
            p = fmb - fma if a + b > 0.0 else fa - fb
            if p <= 0.0:  # cutpoints equal to rounding, or |c - eta| past 745 (an extreme step): log 0
                total = -math.inf
                d_eta[n] = math.nan
                continue
            total += math.log(p)
            da = fa * fma / p
            db = -fb * fmb / p
            d_cut[k] += da
            d_cut[k - 1] += db
            d_eta[n] -= da + db
    return np.array(total, dtype=np.float64), d_eta, d_cut


class _ValueAndGrad(Op):
    """An Op whose first output is a scalar term and whose next outputs are its gradient in the first inputs."""

    __props__ = ()
    n_params = 0
    kernel = None

    def make_node(self, *inputs):
        inputs = [pt.as_tensor_variable(x) for x in inputs]
        grads = [pt.tensor(dtype="float64", shape=(None,) * x.ndim) for x in inputs[: self.n_params]]
        return Apply(self, inputs, [pt.tensor(dtype="float64", shape=()), *grads])

    def perform(self, node, inputs, output_storage):
        for store, value in zip(output_storage, type(self).kernel(*inputs), strict=True):
            store[0] = np.asarray(value, dtype=np.float64)

    def infer_shape(self, node, input_shapes):
        return [(), *input_shapes[: self.n_params]]

    def pullback(self, inputs, outputs, cotangents):
        if any(not isinstance(g.type, DisconnectedType) for g in cotangents[1:]):
            raise NotImplementedError(f"{type(self).__name__} has no second derivatives")
        return [cotangents[0] * g for g in outputs[1:]] + [disconnected_type() for _ in inputs[self.n_params:]]

    def connection_pattern(self, node):
        params = [[True] * len(node.outputs)] * self.n_params
        data = [[False] * len(node.outputs)] * (len(node.inputs) - self.n_params)
        return params + data


class ClosureLogLik(_ValueAndGrad):
    """Closure log-likelihood of the joint drop-out model: inputs as :func:`closure_value_and_grad`."""

    n_params = 5  # rates, effect, trend, eta0, slope
    kernel = staticmethod(closure_value_and_grad)


class OrdinalLogLik(_ValueAndGrad):
    """Summed cumulative-logit log-likelihood: inputs as :func:`ordinal_value_and_grad`."""

    n_params = 2  # eta, cutpoints
    kernel = staticmethod(ordinal_value_and_grad)


def _register_numba() -> None:
    """Teach PyTensor's Numba backend the Ops. Its on-disk cache is keyed by this file's bytes, so a
    changed kernel is compiled afresh (a key from the Op class alone kept serving the old code)."""
    import hashlib
    from pathlib import Path

    from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_and_cache_key

    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    for op_type in (ClosureLogLik, OrdinalLogLik):
        kernel = op_type.kernel

        def funcify(op, node=None, _kernel=kernel, **kwargs):
            @numba_njit
            def value_and_grad(*inputs):
                return _kernel(*inputs)

            return value_and_grad, f"cseoutcomes._kernels.{type(op).__name__}:{source}"

        register_funcify_and_cache_key(op_type)(funcify)


_register_numba()
closure_loglik = ClosureLogLik()
ordinal_loglik = OrdinalLogLik()
