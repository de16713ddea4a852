"""Same-run PyTorch baseline for bench/moe: a straightforward MoE layer (loop over experts, f32,
TF32 off), Ling-2.0 routing (sigmoid scores, top-k, weights normalized), one shared expert; forward
and forward + backward (x and every weight get gradients; loss = sum(out * r)). CUDA events, warm-up,
median of 10. Checked against float64 on sampled tokens before timing.
Usage: moe_torch.py OUT.json [--small]"""
import json, sys, torch
import torch.nn.functional as F
from torch_timing import timed

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"
small = "--small" in sys.argv
T, E, K, D, FW, SH = (512, 8, 2, 128, 64, 1) if small else (16384, 64, 4, 2048, 704, 1)


def params():
    g = torch.Generator(device=dev).manual_seed(0)
    r = lambda *s, scale: ((torch.rand(*s, device=dev, generator=g) * 2 - 1) * scale).requires_grad_()
    a, b, fs = D ** -0.5, FW ** -0.5, FW * SH
    return {
        "gate": r(E, D, scale=4 * a), "wg": r(E, FW, D, scale=a), "wu": r(E, FW, D, scale=a), "wd": r(E, D, FW, scale=b),
        "sg": r(fs, D, scale=a), "su": r(fs, D, scale=a), "sd": r(D, fs, scale=fs ** -0.5),
    }


def moe(x, p):
    """The straightforward layer: route, then for each expert gather its tokens, SwiGLU, scatter-add."""
    scores = torch.sigmoid(x @ p["gate"].t())
    _, idx = torch.topk(scores.detach(), K, dim=-1)  # bias 0: selection by the scores
    w = scores.gather(1, idx)
    w = w / w.sum(-1, keepdim=True)
    out = torch.zeros_like(x)
    for e in range(E):
        tok, slot = torch.where(idx == e)
        if tok.numel() == 0:
            continue
        h = x[tok]
        y = (F.silu(h @ p["wg"][e].t()) * (h @ p["wu"][e].t())) @ p["wd"][e].t()
        out = out.index_add(0, tok, y * w[tok, slot, None])
    shared = (F.silu(x @ p["sg"].t()) * (x @ p["su"].t())) @ p["sd"].t()
    return out + shared


def check(x, p, out):
    with torch.no_grad():
        xd = x.double()
        pd = {k: v.double() for k, v in p.items()}
        rows = [0, T // 2, T - 1]
        ref = moe(xd[rows], pd)
        err = (out[rows].double() - ref).abs().max().item()
        assert err < 1e-3 * ref.abs().max().item(), err
        return err


res = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "shapes": {"T": T, "E": E, "k": K, "d": D, "F": FW, "shared": SH},
       "call": "loop over experts: torch.where(idx == e), x[tok] @ W.t() (f32, allow_tf32 = False), index_add"}
p = params()
x = ((torch.rand(T, D, device=dev) * 2 - 1)).requires_grad_()
r = torch.rand(T, D, device=dev) * 2 - 1
res["checkMaxAbsErr"] = check(x, p, moe(x, p))
with torch.no_grad():
    res["forwardMs"] = timed(lambda: moe(x, p), 3)


def fwd_bwd():
    for t in [x, *p.values()]:
        t.grad = None
    (moe(x, p) * r).sum().backward()


res["forwardBackwardMs"] = timed(fwd_bwd, 3)
flops = 2 * T * ((K + SH) * 3 * FW * D + E * D)
res["tflopsForward"] = flops / (res["forwardMs"] * 1e-3) / 1e12
src = torch.empty(2 ** 28, device=dev)  # 1 GiB
dst = torch.empty_like(src)
res["copyTBps"] = 2 * src.numel() * 4 / (timed(lambda: dst.copy_(src), 20) * 1e-3) / 1e12
print(json.dumps(res, indent=2))
out = [a for a in sys.argv[1:] if not a.startswith("--")]
if out:
    json.dump(res, open(out[0], "w"), indent=2)
