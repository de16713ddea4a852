"""The weights and tokens of bench/train-step, bit-identical to bench/train-step-model.ts (numpy only):
murmur3's fmix32 of (i + seed·0x9E3779B9) mod 2³², its top 24 bits as a uniform in [−1, 1), times
a = f32(√3·std) in f32. Parameters come in paramSpecs order with seeds 1, 2, ...; norms are ones."""
import math
import numpy as np

M32 = 0xFFFFFFFF
INIT_STD = 0.02


def fmix32(n, seed):
    x = (np.arange(n, dtype=np.uint64) + np.uint64((seed * 0x9E3779B9) & M32)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    return x


def hash_uniform(n, seed, std):
    a = np.float32(math.sqrt(3) * std)
    u = ((fmix32(n, seed) >> np.uint64(8)).astype(np.float64) * 2.0 ** -23 - 1).astype(np.float32)
    return u * a


def hash_tokens(n, seed, vocab):
    return (fmix32(n, seed) % np.uint64(vocab)).astype(np.int64)


def param_specs(c):
    d, f, v = c["d"], c["ffn"], c["vocab"]
    out = [("embed", (v, d), False)]
    for l in range(c["layers"]):
        out.append((f"l{l}.attnNorm", (d,), True))
        out += [(f"l{l}.{w}", (d, d), False) for w in ("wq", "wk", "wv", "wo")]
        out.append((f"l{l}.mlpNorm", (d,), True))
        out += [(f"l{l}.wGate", (f, d), False), (f"l{l}.wUp", (f, d), False), (f"l{l}.wDown", (d, f), False)]
    out += [("finalNorm", (d,), True), ("lmHead", (v, d), False)]
    return out


def init_params(c):
    """[(name, f32 array, is_norm)] in creation order."""
    res = []
    for i, (name, shape, norm) in enumerate(param_specs(c)):
        n = int(np.prod(shape))
        data = np.ones(n, np.float32) if norm else hash_uniform(n, i + 1, INIT_STD)
        res.append((name, data.reshape(shape), norm))
    return res
