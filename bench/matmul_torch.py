"""Same-run PyTorch baseline for bench/matmul: cuBLAS f32 GEMM with TF32 off, bf16 matrix-vector
product, and the card's device-to-device copy bandwidth. CUDA events, warm-up, median of 10."""
import json, sys, torch
from torch_timing import timed

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"


res = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "gemm": []}
for name, M, N, K in [("gemm-4096", 4096, 4096, 4096), ("gemm-llm", 8192, 5632, 2048)]:
    a = torch.randn(M, K, device=dev); b = torch.randn(K, N, device=dev)
    ref = (a.double() @ b.double()).float()
    assert torch.allclose(a @ b, ref, rtol=1e-4, atol=1e-3), name
    ms = timed(lambda: torch.mm(a, b), 10)
    res["gemm"].append({"name": name, "M": M, "N": N, "K": K, "medianMs": ms, "tflops": 2 * M * N * K / (ms * 1e-3) / 1e12})
x = torch.randn(1, 4096, device=dev)
w = torch.randn(14336, 4096, device=dev).bfloat16()
ms = timed(lambda: torch.nn.functional.linear(x.bfloat16(), w), 200)
res["decodeMatvec"] = {"call": "F.linear(x.bfloat16(), w_bf16)", "medianMs": ms, "weightTBps": w.numel() * 2 / (ms * 1e-3) / 1e12}
src = torch.empty(2 ** 28, device=dev)  # 1 GiB
dst = torch.empty_like(src)
ms = timed(lambda: dst.copy_(src), 20)
res["copyTBps"] = 2 * src.numel() * 4 / (ms * 1e-3) / 1e12
print(json.dumps(res, indent=2))
if len(sys.argv) > 1:
    json.dump(res, open(sys.argv[1], "w"), indent=2)
