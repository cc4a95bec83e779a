#!/usr/bin/env python3
"""Train the sample BASED language model (Moby-Dick + State of the Union) and export it for EdgeRuntime.

The model is written in plain PyTorch in the HazyResearch/based layout (tensor names and config.json as
../shared/golden/based-tiny has them), so the exported directory loads in the runtime unchanged:
  - BaseConv: in_proj -> causal depthwise short conv over the first half -> silu(conv) * second half -> out_proj
  - LinearAttention with the TaylorExp feature map (feature_dim 16), "quadratic" parallel form:
      y_i = sum_{j<=i} A_ij v_j / (sum_{j<=i} A_ij + eps),  A_ij = 1 + s + s^2/2,  s = q_i.k_j / sqrt(f)
  - SlidingAttention: softmax attention over keys i-w/2 .. i, NeoX rotary on the full head dim, scale head_dim^-0.5
  - GatedMlp (SwiGLU), RMSNorm, prenorm blocks, tied embeddings, vocabulary padded to a multiple of 8.

Outputs (in --out): config.json, model.safetensors (2-D weight matrices stored as F16, the rest F32), tokenizer.json,
vocab.json, merges.txt, golden.safetensors (long, for the checkpoint), golden-short.safetensors (short, shipped
beside the GGUF), metrics.json and train_log.jsonl. The goldens are a float64 forward of exactly the exported weights.

Usage (GPU machine, data from fetch_data.sh):
  python3 train_based.py --data data --out out/based-moby --minutes 5
  python3 train_based.py --data data --out out/smoke --smoke          # tiny config, a few steps: checks the export
"""
import argparse
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------------------------
# Data


def natural_key(name):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def load_corpus(data_dir, heldout_every=20, heldout_offset=10):
    """Documents of Moby-Dick (one per chapter, plus etymology/extracts/epilogue) and the SOTU addresses.

    Held-out split (deterministic): Moby-Dick chapters n with n % 20 == 10 (10, 30, ..., 130) and every 20th address
    in file order starting at index 10. Chapter 1 ("Call me Ishmael") is in the training split.
    """
    moby_dir = os.path.join(data_dir, "moby-dick", "data")
    sotu_dir = os.path.join(data_dir, "sotu", "data")
    train, val = [], []
    moby = sorted((f for f in os.listdir(moby_dir) if f.endswith(".txt") and f not in ("data.txt", "contents.txt")), key=natural_key)
    for f in moby:
        text = open(os.path.join(moby_dir, f), encoding="utf-8").read().strip()
        m = re.match(r"chapter_(\d+)\.txt$", f)
        held = m is not None and int(m.group(1)) % heldout_every == heldout_offset
        (val if held else train).append(("moby-dick/" + f, text))
    sotu = sorted((f for f in os.listdir(sotu_dir) if f.endswith(".txt")), key=natural_key)
    for i, f in enumerate(sotu):
        text = open(os.path.join(sotu_dir, f), encoding="utf-8").read().strip()
        (val if i % heldout_every == heldout_offset else train).append(("sotu/" + f, text))
    return train, val


def train_tokenizer(texts, vocab_size, out_dir):
    """Byte-level BPE with GPT-2's pre-tokenizer regex (HF tokenizers), <|endoftext|> = id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    save_tokenizer(tok, out_dir)
    return tok


def save_tokenizer(tok, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    tok.model.save(out_dir)  # vocab.json + merges.txt (GPT-2 layout), read by the runtime and the GGUF converter


def load_tokenizer(path):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(path, "tokenizer.json"))


def encode_docs(tok, docs, eos):
    ids = []
    for enc in tok.encode_batch([t for _, t in docs], add_special_tokens=False):
        ids.extend(enc.ids)
        ids.append(eos)
    return np.asarray(ids, dtype=np.int64)


# ----------------------------------------------------------------------------------------------------------------
# Model (HazyResearch/based layout)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        dt = torch.promote_types(x.dtype, torch.float32)
        xf = x.to(dt)
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight.to(dt)).to(x.dtype)


class ShortConvolution(nn.Module):
    def __init__(self, channels, kernel_size):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(channels, channels, kernel_size, groups=channels, padding=kernel_size - 1, bias=False)

    def forward(self, x):  # x (B, L, C)
        L = x.shape[1]
        return self.conv(x.transpose(1, 2))[..., :L].transpose(1, 2)


class BaseConv(nn.Module):
    def __init__(self, d, expand_proj, kernel_size):
        super().__init__()
        self.inner = expand_proj * d // 2
        self.in_proj = nn.Linear(d, expand_proj * d, bias=True)
        self.conv = ShortConvolution(self.inner, kernel_size)
        self.out_proj = nn.Linear(self.inner, d, bias=True)

    def forward(self, x):
        u = self.in_proj(x)
        u1, u2 = u[..., :self.inner], u[..., self.inner:]
        return self.out_proj(F.silu(self.conv(u1)) * u2)


class LinearAttention(nn.Module):
    def __init__(self, d, num_heads, feature_dim, eps=1e-12):
        super().__init__()
        self.h, self.f, self.hd, self.eps = num_heads, feature_dim, d // num_heads, eps
        self.proj_q = nn.Linear(d, feature_dim * num_heads, bias=False)
        self.proj_k = nn.Linear(d, feature_dim * num_heads, bias=False)
        self.proj_v = nn.Linear(d, num_heads * self.hd, bias=False)
        self.out_proj = nn.Linear(num_heads * self.hd, d, bias=False)

    def forward(self, x):
        B, L, _ = x.shape
        q = self.proj_q(x).view(B, L, self.h, self.f).transpose(1, 2)
        k = self.proj_k(x).view(B, L, self.h, self.f).transpose(1, 2)
        v = self.proj_v(x).view(B, L, self.h, self.hd).transpose(1, 2)
        dt = torch.promote_types(q.dtype, torch.float32)  # the Taylor kernel in at least fp32
        q, k, v = q.to(dt), k.to(dt), v.to(dt)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.f)
        a = 1 + s + 0.5 * s * s  # = phi(q).phi(k) of TaylorExp
        a = torch.tril(a)
        y = (a @ v) / (a.sum(-1, keepdim=True) + self.eps)
        y = y.transpose(1, 2).reshape(B, L, self.h * self.hd).to(x.dtype)
        return self.out_proj(y)


def rotary_neox(x, base):  # x (B, H, L, D), positions 0..L-1, full head dim
    L, D = x.shape[-2], x.shape[-1]
    half = D // 2
    inv = 1.0 / (base ** (torch.arange(0, half, device=x.device, dtype=torch.float64) * 2.0 / D))
    ang = torch.arange(L, device=x.device, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class SlidingAttention(nn.Module):
    def __init__(self, d, num_heads, window_size, rotary_base):
        super().__init__()
        self.h, self.hd, self.w, self.base = num_heads, d // num_heads, window_size, rotary_base
        self.Wqkv = nn.Linear(d, 3 * d, bias=False)
        self.out_proj = nn.Linear(d, d, bias=False)
        self._mask = {}

    def mask(self, L, device):
        key = (L, str(device))
        if key not in self._mask:
            i = torch.arange(L, device=device)
            self._mask[key] = (i[None, :] <= i[:, None]) & (i[None, :] >= i[:, None] - self.w // 2)
        return self._mask[key]

    def forward(self, x):
        B, L, d = x.shape
        qkv = self.Wqkv(x).view(B, L, 3, self.h, self.hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q, k = rotary_neox(q, self.base), rotary_neox(k, self.base)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask(L, x.device), scale=self.hd ** -0.5)
        return self.out_proj(y.transpose(1, 2).reshape(B, L, d))


class GatedMlp(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1 = nn.Linear(d, 2 * hidden, bias=False)
        self.fc2 = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        y, gate = self.fc1(x).chunk(2, dim=-1)
        return self.fc2(y * F.silu(gate))


class Block(nn.Module):
    def __init__(self, cfg, i, dropout):
        super().__init__()
        d, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        self.norm1, self.norm2 = RMSNorm(d, eps), RMSNorm(d, eps)
        if i in cfg["alt_mixer_2_layers"]:
            m = cfg["alt_mixer_2"]
            self.mixer = SlidingAttention(d, cfg["n_head"], m["window_size"], cfg["rotary_emb_base"])
        elif i in cfg["alt_mixer_layers"]:
            m = cfg["alt_mixer"]
            self.mixer = LinearAttention(d, m["num_heads"], m["feature_dim"])
        else:
            m = cfg["mixer"]
            self.mixer = BaseConv(d, m["expand_proj"], m["kernel_sizes"])
        hidden = (cfg["n_inner"] + 255) // 256 * 256
        self.mlp = GatedMlp(d, hidden)
        self.drop = nn.Dropout(dropout)

    def forward(self, r):
        r = r + self.drop(self.mixer(self.norm1(r)))
        return r + self.drop(self.mlp(self.norm2(r)))


class BasedLM(nn.Module):
    def __init__(self, cfg, dropout=0.0):
        super().__init__()
        self.cfg = cfg
        padded = (cfg["vocab_size"] + cfg["pad_vocab_size_multiple"] - 1) // cfg["pad_vocab_size_multiple"] * cfg["pad_vocab_size_multiple"]
        self.transformer = nn.Module()
        self.transformer.embeddings = nn.Module()
        self.transformer.embeddings.word_embeddings = nn.Embedding(padded, cfg["n_embd"])
        self.transformer.layers = nn.ModuleList(Block(cfg, i, dropout) for i in range(cfg["n_layer"]))
        self.transformer.ln_f = RMSNorm(cfg["n_embd"], cfg["layer_norm_epsilon"])
        self.drop = nn.Dropout(dropout)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2 style scaled init of the residual projections
            if name.endswith("out_proj.weight") or name.endswith("fc2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg["n_layer"]))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids):
        wte = self.transformer.embeddings.word_embeddings.weight
        r = self.drop(F.embedding(ids, wte))
        for layer in self.transformer.layers:
            r = layer(r)
        h = self.transformer.ln_f(r)
        return h @ wte.to(h.dtype).t()  # tied head; logits over the padded vocabulary


def make_config(vocab_size, d, n_layer, n_head, n_inner, window, lin_heads, feature_dim=16, expand_proj=4, kernel=3):
    conv = [i for i in range(n_layer) if i % 3 == 0]
    lin = [i for i in range(n_layer) if i % 3 == 1]
    slide = [i for i in range(n_layer) if i % 3 == 2]
    assert conv and lin and slide
    return {
        "_target_": "based.models.gpt.GPT2MixerConfig",
        "model_type": "gpt2",
        "architectures": ["GPTLMHeadModel"],
        "vocab_size": vocab_size,
        "pad_vocab_size_multiple": 8,
        "n_embd": d,
        "n_head": n_head,
        "n_layer": n_layer,
        "n_inner": n_inner,
        "n_positions": 2048,
        "max_position_embeddings": 0,
        "layer_norm_epsilon": 1e-5,
        "rms_norm": True,
        "residual_in_fp32": True,
        "activation_function": "swiglu",
        "rotary_emb_fraction": 1,
        "rotary_emb_base": 10000.0,
        "rotary_emb_interleaved": False,
        "scale_attn_weights": True,
        "mlp_fc1_bias": False,
        "mlp_fc2_bias": False,
        "qkv_proj_bias": False,
        "out_proj_bias": False,
        "tie_word_embeddings": True,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "alt_mixer_layers": lin,
        "alt_mixer_2_layers": slide,
        "mixer": {"_target_": "based.models.mixers.convolution.BaseConv", "l_max": 2048, "use_bias": True,
                  "expand_proj": expand_proj, "kernel_sizes": kernel},
        "alt_mixer": {"_target_": "based.models.mixers.linear_attention.LinearAttention", "l_max": 2048,
                      "feature_map": {"_target_": "based.models.mixers.linear_attention.TaylorExp", "input_dim": feature_dim},
                      "feature_dim": feature_dim, "num_heads": lin_heads, "parallel_implementation": "quadratic"},
        "alt_mixer_2": {"_target_": "based.models.mixers.slide_attention.SlidingAttention", "window_size": window,
                        "num_heads": n_head, "causal": True},
    }


# ----------------------------------------------------------------------------------------------------------------
# Export


def export_state(model):
    """The checkpoint tensors: 2-D weight matrices rounded to F16 (so the f32 checkpoint fits the transfer limits and
    the Q8_0 conversion starts from them), everything else F32. Returns (tensors to save, float64 copies for goldens)."""
    out, exact = {}, {}
    for name, p in model.state_dict().items():
        t = p.detach().float().cpu()
        if t.dim() == 2 and name.endswith(".weight"):
            t = t.half()
        out[name] = t.contiguous()
        exact[name] = t.double()
    return out, exact


@torch.no_grad()
def golden(model64, tokens, prompt_len, gen_len, penalty, vocab, device):
    """Teacher-forced logits of `tokens`, then greedy and penalized-greedy generation after prompt_len tokens."""
    ids = torch.tensor(tokens, device=device)[None]
    logits = model64(ids)[0]
    out = {"tokens": torch.tensor(tokens, dtype=torch.int32), "logits": logits.float().cpu()}
    min_gap = {}
    for key, pen in (("gen", 1.0), ("penalized_gen", penalty)):
        seq = list(tokens[:prompt_len])
        toks, rows, gaps = [], [], []
        for _ in range(gen_len):
            row = model64(torch.tensor(seq, device=device)[None])[0, -1]
            rows.append(row.float().cpu())
            lg = row[:vocab].clone()
            if pen != 1.0:
                for t in set(seq):
                    lg[t] = lg[t] / pen if lg[t] > 0 else lg[t] * pen
            top2 = torch.topk(lg, 2).values
            gaps.append(float(top2[0] - top2[1]))
            nxt = int(torch.argmax(lg))
            toks.append(nxt)
            seq.append(nxt)
        out[key + "_tokens"] = torch.tensor(toks, dtype=torch.int32)
        out[key + "_logits"] = torch.stack(rows)
        min_gap[key] = min(gaps)
    return out, min_gap


def save_golden(path, g, prompt_len, penalty):
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in g.items()}, path, metadata={
        "family": "based", "prompt_len": str(prompt_len), "repetition_penalty": str(penalty),
        "reference": "firmware-tools/training/train_based.py BasedLM forward, float64, from the exported weights"})


# ----------------------------------------------------------------------------------------------------------------
# Training


@torch.no_grad()
def evaluate(model, data, seq, batch, device, autocast):
    """Mean next-token loss over non-overlapping windows of `seq` tokens covering `data`."""
    model.eval()
    n = (len(data) - 1) // seq
    total, count = 0.0, 0
    for s in range(0, n, batch):
        idx = np.arange(s, min(n, s + batch)) * seq
        x = torch.from_numpy(np.stack([data[i:i + seq] for i in idx])).to(device)
        y = torch.from_numpy(np.stack([data[i + 1:i + 1 + seq] for i in idx])).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum")
        total += float(loss)
        count += y.numel()
    model.train()
    return total / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", help="directory with tokenizer.json to reuse (default: train one on the training split)")
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--d-model", type=int, default=384)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--lin-heads", type=int, default=6)
    ap.add_argument("--inner", type=int, default=1024)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--epochs", type=float, default=10.0, help="schedule length in passes over the training tokens")
    ap.add_argument("--minutes", type=float, default=5.0, help="wall-clock cap; the LR schedule shrinks to fit it")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--golden-len", type=int, default=300, help="tokens of the long golden (prompt: the first 2/3)")
    ap.add_argument("--smoke", action="store_true", help="tiny model, few steps: checks training, export and goldens")
    ap.add_argument("--tokenizer-only", action="store_true", help="train the tokenizer into --out and stop")
    ap.add_argument("--bench", action="store_true", help="train for --minutes, print throughput and memory, export nothing")
    args = ap.parse_args()
    if args.smoke:
        args.d_model, args.layers, args.heads, args.lin_heads, args.inner, args.window = 128, 6, 4, 4, 256, 32
        args.batch, args.seq, args.minutes, args.epochs, args.eval_every, args.golden_len = 8, 256, 0.3, 0.01, 20, 160

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    train_docs, val_docs = load_corpus(args.data)
    if args.tokenizer:
        tok = load_tokenizer(args.tokenizer)
        save_tokenizer(tok, args.out)
    else:
        tok = train_tokenizer([t for _, t in train_docs], args.vocab, args.out)
    eos = tok.token_to_id("<|endoftext|>")
    assert eos == 0
    if args.tokenizer_only:
        print(f"tokenizer: {tok.get_vocab_size()} tokens -> {args.out}", flush=True)
        return
    vocab = tok.get_vocab_size()
    train_ids, val_ids = encode_docs(tok, train_docs, eos), encode_docs(tok, val_docs, eos)
    train_bytes = sum(len(t.encode("utf-8")) for _, t in train_docs)
    val_bytes = sum(len(t.encode("utf-8")) for _, t in val_docs)
    print(f"data: {len(train_docs)} train docs ({len(train_ids)} tokens, {train_bytes} bytes), {len(val_docs)} held-out docs "
          f"({len(val_ids)} tokens, {val_bytes} bytes), vocab {vocab}, tokenizer {time.time() - t0:.1f}s", flush=True)

    cfg = make_config(vocab, args.d_model, args.layers, args.heads, args.inner, args.window, args.lin_heads)
    model = BasedLM(cfg, args.dropout).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "conv" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "conv" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), fused=device == "cuda")
    tokens_per_step = args.batch * args.seq
    total_steps = max(1, int(args.epochs * len(train_ids) / tokens_per_step))
    warmup = max(1, min(200, total_steps // 20))
    autocast = device == "cuda"
    train_t = torch.from_numpy(train_ids)
    log = open(os.path.join(args.out, "train_log.jsonl"), "w")
    best = (float("inf"), None, 0)
    t_train = time.time()
    step = 0
    while True:
        # Schedule position: steps done, or the share of the time cap used, whichever is further.
        progress = min(1.0, max(step / total_steps, (time.time() - t_train) / (args.minutes * 60)))
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train_ids) - args.seq - 1, (args.batch,))
        x = torch.stack([train_t[s:s + args.seq] for s in starts]).to(device, non_blocking=True)
        y = torch.stack([train_t[s + 1:s + 1 + args.seq] for s in starts]).to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        done = step >= total_steps or time.time() - t_train >= args.minutes * 60
        if step % args.eval_every == 0 or done:
            # Model selection on the first 200 held-out windows (the final numbers use the whole held-out split).
            vl = evaluate(model, val_ids[: 200 * args.seq + 1], args.seq, 64, device, autocast)
            rec = {"step": step, "tokens": step * tokens_per_step, "epochs": step * tokens_per_step / len(train_ids),
                   "train_loss": float(loss), "val_loss_subset": vl, "lr": lr, "grad_norm": float(gn),
                   "seconds": time.time() - t_train}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
            if vl < best[0]:
                best = (vl, {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
        if done:
            break
    train_seconds = time.time() - t_train
    if args.bench:
        print(json.dumps({"bench_steps": step, "seconds": train_seconds, "tokens_per_second": step * tokens_per_step / train_seconds,
                          "max_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0}), flush=True)
        return
    model.load_state_dict(best[1])
    model.eval()

    # Export exactly what the runtime will load.
    from safetensors.torch import save_file
    tensors, exact = export_state(model)
    save_file(tensors, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)

    # Final metrics with the exported weights (f16-rounded matrices), float32, whole held-out split.
    model32 = BasedLM(cfg).to(device)
    model32.load_state_dict({k: v.float() for k, v in exact.items()})
    model32.eval()
    val_loss = evaluate(model32, val_ids, args.seq, 64, device, autocast=False)
    train_loss = evaluate(model32, train_ids[: 400 * args.seq + 1], args.seq, 64, device, autocast=False)

    # Goldens: float64 forward of the exported weights.
    model64 = BasedLM(cfg).to(device).double()
    model64.load_state_dict(exact)
    model64.eval()
    prompt = "Call me Ishmael"
    ishmael = tok.encode("Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, "
                         "and nothing particular to interest me on shore, I thought I would sail about a little and see the "
                         "watery part of the world.", add_special_tokens=False).ids
    p_short = len(tok.encode(prompt, add_special_tokens=False).ids)
    short_len, short_gen = (48, 16) if not args.smoke else (32, 8)
    g_short, gap_short = golden(model64, ishmael[:short_len], p_short, short_gen, 1.5, vocab, device)
    save_golden(os.path.join(args.out, "golden-short.safetensors"), g_short, p_short, 1.5)
    long_tokens = (ishmael + [eos] + val_ids[:args.golden_len].tolist())[:args.golden_len]
    p_long = 2 * len(long_tokens) // 3
    g_long, gap_long = golden(model64, long_tokens, p_long, 32 if not args.smoke else 8, 1.5, vocab, device)
    save_golden(os.path.join(args.out, "golden.safetensors"), g_long, p_long, 1.5)
    sample = tok.decode(g_short["gen_tokens"].tolist())
    sample_pen = tok.decode(g_short["penalized_gen_tokens"].tolist())

    # Tokenizer parity samples for the runtime's tests (HF encodings of a few texts).
    parity_texts = ["Call me Ishmael.", "  The whale — white, “immense”, 1851!\n\nMr. Speaker, ladies and gentlemen: the state of our Union is strong.",
                    "naïve café 😀 tab\tend"]
    parity = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in parity_texts]

    metrics = {
        "parameters": n_params, "vocab_size": vocab, "train_tokens": int(len(train_ids)), "val_tokens": int(len(val_ids)),
        "train_bytes": train_bytes, "val_bytes": val_bytes, "train_docs": len(train_docs),
        "val_docs": [n for n, _ in val_docs], "steps": step, "best_step": best[2], "tokens_per_step": tokens_per_step,
        "epochs_seen": step * tokens_per_step / len(train_ids), "train_seconds": train_seconds,
        "total_seconds": time.time() - t0, "val_loss": val_loss, "val_perplexity": math.exp(val_loss),
        "val_bits_per_byte": val_loss * len(val_ids) / val_bytes / math.log(2), "train_loss_sample": train_loss,
        "train_perplexity_sample": math.exp(train_loss), "golden_min_top2_gap": {"short": gap_short, "long": gap_long},
        "golden_short_prompt_len": p_short, "greedy_sample": prompt + sample, "penalized_sample": prompt + sample_pen,
        "tokenizer_parity": parity, "args": vars(args), "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, ensure_ascii=False)
    print(json.dumps({k: metrics[k] for k in ("parameters", "steps", "best_step", "val_loss", "val_perplexity",
                                               "val_bits_per_byte", "train_seconds", "golden_min_top2_gap", "greedy_sample",
                                               "penalized_sample")}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
