/**
 * @hsa/moe: mixture-of-experts layers (router, GPU dispatch, grouped expert matmul, shared expert,
 * auxiliary-loss-free balancing). A skeleton for now: see README.md for what it will hold.
 */
export {};
