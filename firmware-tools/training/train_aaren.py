#!/usr/bin/env python3
"""Train the sample Aaren forecaster on the Suthaharan single-hop sensor network readings and export it for EdgeRuntime.

Layout of ../shared/golden/README.md ("Aaren checkpoint layout"): per step t, h = input_proj(x_t); per layer
h += out_proj(Aaren(norm1(h))), h += mlp.fc2(gelu(mlp.fc1(norm2(h)))); y_t = head(final_norm(h)). Aaren per head:
s_t = query[h] . k_t[h] (no scaling), output = softmax over s_1..s_t applied to v_1..v_t (computed here as the exact
masked prefix softmax). Exact erf GELU; LayerNorms with weight and bias.

Data: 4 TelosB motes (humidity %, temperature C, one reading every 5 s, 6 hours), readings labelled 1 during an
introduced event. Training motes 1 (indoor, one event) and 3 (outdoor); held-out motes 2 (indoor) and 4 (outdoor,
one event). Inputs per step (input_dim 5), with the constants written into config.json under "preprocessing":
  [(humidity - mean_h)/std_h, (temperature - mean_t)/std_t, clip((humidity - previous humidity)/delta_h, +-10),
   clip((temperature - previous temperature)/delta_t, +-10), indoor (1 or 0)]   (the change is 0 at a stream's first step)
Outputs (output_dim 2): the predicted change to the NEXT reading, [(h_next - h)/delta_h, (t_next - t)/delta_t];
the forecast is reading + output * delta. The head starts at zero (= the last-value forecast).
Training: L1 loss (the forecast's MAE) on random crops of 64..2048 steps of the first 80% of each training mote, not
counted on labelled event steps; each crop's two level features get one random offset (--level-aug, in std units) so
the model cannot key on a mote's absolute level. The clip keeps an event's huge jumps (hundreds of deltas) from
swamping the attention history. (Earlier runs without the clip, with less weight decay and no level offsets, lost to
last-value on the held-out motes; see the model card.) --keep final (default) exports the last checkpoint; the
validation tail (last 20% of the training motes) is reported and, with --keep best, picks the checkpoint.

Anomaly score of reading t+1: |forecast error| / delta summed over both channels, averaged over the last `window`
readings; flagged when above `threshold`. Both are chosen on the training motes (best F1) and written to config.json.

Outputs (in --out): config.json, model.safetensors, golden.safetensors, heldout.csv (held-out motes, for the runtime's
test and the SensorForecast sample), metrics.json, train_log.jsonl.

Usage: python3 train_aaren.py --data data --out out/aaren-motes [--steps 3000] [--smoke]
"""
import argparse
import csv
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TRAIN_MOTES = (1, 3)
HELDOUT_MOTES = (2, 4)


def load_motes(data_dir):
    path = os.path.join(data_dir, "suthaharan-single-hop", "data", "data.csv")
    motes = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            m = motes.setdefault(int(r["mote_id"]), {"reading": [], "indoor": int(r["indoor"]), "h": [], "t": [], "label": []})
            m["reading"].append(int(r["reading"]))
            m["h"].append(float(r["humidity"]))
            m["t"].append(float(r["temperature"]))
            m["label"].append(int(r["label"]))
    for m in motes.values():
        order = np.argsort(m["reading"])
        for k in ("h", "t", "label"):
            m[k] = np.asarray(m[k])[order]
        m["x"] = np.stack([m["h"], m["t"]], axis=1)  # (T, 2) raw readings
    return motes


def normalization(motes):
    xs, ds = [], []
    for i in TRAIN_MOTES:
        m = motes[i]
        normal = m["label"] == 0
        xs.append(m["x"][normal])
        step_ok = normal[1:] & normal[:-1]
        ds.append(np.diff(m["x"], axis=0)[step_ok])
    xs, ds = np.concatenate(xs), np.concatenate(ds)
    return {"mean": xs.mean(0).round(4).tolist(), "std": xs.std(0).round(4).tolist(), "delta": ds.std(0).round(5).tolist()}


def features(x, indoor, norm):
    """Model inputs (T, 5) from raw readings (T, 2); the change features are clipped to +-norm["clip"]."""
    mean, std, delta = (np.asarray(norm[k]) for k in ("mean", "std", "delta"))
    d = np.zeros_like(x)
    d[1:] = np.diff(x, axis=0)
    f = np.concatenate([(x - mean) / std, np.clip(d / delta, -norm["clip"], norm["clip"]), np.full((len(x), 1), float(indoor))], axis=1)
    return f


def targets(x, norm):
    delta = np.asarray(norm["delta"])
    y = np.zeros_like(x)
    y[:-1] = np.diff(x, axis=0) / delta
    return y


class AarenAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.hd = heads, d // heads
        self.query = nn.Parameter(torch.randn(heads, self.hd) * 0.5)
        self.k_proj, self.v_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, z):  # z (B, T, d)
        B, T, d = z.shape
        k = self.k_proj(z).view(B, T, self.h, self.hd)
        v = self.v_proj(z).view(B, T, self.h, self.hd).transpose(1, 2)  # (B, H, T, hd)
        s = torch.einsum("bthd,hd->bht", k, self.query.to(k.dtype))     # (B, H, T): score of each key
        causal = torch.ones(T, T, dtype=torch.bool, device=z.device).tril()
        scores = s[:, :, None, :].expand(B, self.h, T, T).masked_fill(~causal, float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v                           # output t: softmax over keys 0..t
        return self.out_proj(o.transpose(1, 2).reshape(B, T, d))


class Mlp(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact erf GELU


class Layer(nn.Module):
    def __init__(self, d, heads, hidden, eps):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.attn, self.mlp = AarenAttention(d, heads), Mlp(d, hidden)

    def forward(self, h):
        h = h + self.attn(self.norm1(h))
        return h + self.mlp(self.norm2(h))


class Aaren(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["d_model"], cfg["layer_norm_epsilon"]
        self.input_proj = nn.Linear(cfg["input_dim"], d)
        self.layers = nn.ModuleList(Layer(d, cfg["n_head"], cfg["mlp_hidden"], eps) for _ in range(cfg["n_layer"]))
        self.final_norm = nn.LayerNorm(d, eps=eps)
        self.head = nn.Linear(d, cfg["output_dim"])
        nn.init.zeros_(self.head.weight)  # start at the last-value forecast (change 0)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        h = self.input_proj(x)
        for layer in self.layers:
            h = layer(h)
        return self.head(self.final_norm(h))


@torch.no_grad()
def predict(model, feats, device, dtype=torch.float32):
    x = torch.from_numpy(feats).to(device, dtype)[None]
    return model(x)[0].double().cpu().numpy()


def forecast_errors(model, motes, ids, norm, device):
    """Per mote: forecast and last-value absolute errors (T-1, 2) in original units, and next-reading labels."""
    out = {}
    delta = np.asarray(norm["delta"])
    for i in ids:
        m = motes[i]
        y = predict(model, features(m["x"], m["indoor"], norm), device)
        pred = m["x"][:-1] + y[:-1] * delta
        out[i] = {"model": np.abs(pred - m["x"][1:]), "naive": np.abs(m["x"][1:] - m["x"][:-1]), "label": m["label"][1:]}
    return out


def mae_report(errs):
    rep = {}
    for scope in ("all", "normal"):
        mod, nai = [], []
        for e in errs.values():
            keep = np.ones(len(e["label"]), bool) if scope == "all" else e["label"] == 0
            mod.append(e["model"][keep])
            nai.append(e["naive"][keep])
        mod, nai = np.concatenate(mod), np.concatenate(nai)
        rep[scope] = {"steps": int(len(mod)), "model_mae": mod.mean(0).tolist(), "last_value_mae": nai.mean(0).tolist(),
                      "model_mae_mean": float(mod.mean()), "last_value_mae_mean": float(nai.mean()),
                      "improvement": float(1 - mod.mean() / nai.mean())}
    return rep


def scores(err, delta, window):
    s = (err / delta).sum(1)
    c = np.cumsum(np.concatenate([[0.0], s]))
    idx = np.arange(1, len(s) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def prf(pred, label):
    tp = int((pred & (label == 1)).sum())
    fp = int((pred & (label == 0)).sum())
    fn = int((~pred & (label == 1)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}


def events(pred, label):
    """Labelled events with at least one flagged reading, and flagged runs that touch no event (false alarms)."""
    def runs(mask):
        r, start = [], None
        for i, v in enumerate(mask):
            if v and start is None:
                start = i
            if not v and start is not None:
                r.append((start, i))
                start = None
        if start is not None:
            r.append((start, len(mask)))
        return r
    ev = runs(label == 1)
    detected = sum(1 for a, b in ev if pred[a:b].any())
    false_runs = sum(1 for a, b in runs(pred) if not (label[a:b] == 1).any())
    return {"events": len(ev), "detected": detected, "false_alarm_runs": false_runs}


def detection(errs_train, errs_test, delta, key):
    best = None
    for w in (1, 3, 6, 12, 24, 48):
        tr = [(scores(e[key], delta, w), e["label"]) for e in errs_train.values()]
        allsc = np.concatenate([s for s, _ in tr])
        for thr in np.unique(np.quantile(allsc, np.linspace(0.80, 0.9995, 400))):
            pred = np.concatenate([s > thr for s, _ in tr])
            f1 = prf(pred, np.concatenate([l for _, l in tr]))["f1"]
            if best is None or f1 > best[0]:
                best = (f1, w, float(thr))
    _, w, thr = best
    res = {"window": w, "threshold": thr}
    for name, errs in (("train", errs_train), ("heldout", errs_test)):
        sc = [(scores(e[key], delta, w) > thr, e["label"]) for e in errs.values()]
        pred, lab = np.concatenate([p for p, _ in sc]), np.concatenate([l for _, l in sc])
        res[name] = prf(pred, lab)
        ev = [events(p, l) for p, l in sc]
        res[name]["events"] = {k: sum(e[k] for e in ev) for k in ev[0]}
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mlp", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seconds", type=float, default=120.0, help="wall-clock cap")
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--level-aug", type=float, default=0.5, help="std of the random level offset per training crop")
    ap.add_argument("--val-frac", type=float, default=0.2, help="tail of each training mote used to pick the checkpoint")
    ap.add_argument("--select-every", type=int, default=100)
    ap.add_argument("--clip", type=float, default=10.0, help="clip of the change features (units of delta)")
    ap.add_argument("--keep", choices=("final", "best"), default="final",
                    help="final: the last checkpoint; best: the lowest validation ratio (step 0 = last-value included)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.steps, args.seconds, args.select_every = 30, 20, 10
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False  # small model: keep fp32 exact
    os.makedirs(args.out, exist_ok=True)

    motes = load_motes(args.data)
    norm = normalization(motes)
    norm["clip"] = args.clip
    cfg = {"model_type": "aaren", "input_dim": 5, "d_model": args.d_model, "n_layer": args.layers, "n_head": args.heads,
           "mlp_hidden": args.mlp, "activation": "gelu", "layer_norm_epsilon": 1e-5, "output_dim": 2, "task": "forecast"}
    model = Aaren(cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())

    # Training part: the first (1 - val_frac) of each training mote; the rest is the validation part that picks the
    # checkpoint (the held-out motes are never looked at before the final report).
    train, val = [], []
    for i in TRAIN_MOTES:
        m = motes[i]
        f, y = features(m["x"], m["indoor"], norm), targets(m["x"], norm)
        ok = np.zeros(len(y), bool)
        ok[:-1] = (m["label"][:-1] == 0) & (m["label"][1:] == 0)  # no loss on steps into or inside an event
        cut = int(len(y) * (1 - args.val_frac))
        val_ok = ok.copy()
        val_ok[:cut] = False
        ok[cut:] = False
        train.append((torch.tensor(f, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), torch.tensor(ok), cut))
        val.append((f, y, val_ok))

    @torch.no_grad()
    def val_ratio():
        """Validation L1 of the model over the last-value forecast's (|target|): below 1 beats last-value."""
        model.eval()
        num = den = 0.0
        for f, y, ok in val:
            out = predict(model, f, device)
            num += float(np.abs(out - y).sum(1)[ok].sum())
            den += float(np.abs(y).sum(1)[ok].sum())
        model.train()
        return num / den

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    log = open(os.path.join(args.out, "train_log.jsonl"), "w")
    t0 = time.time()
    step = 0
    lengths = (64, 256, 1024, 2048)
    best = (val_ratio(), {k: v.detach().clone() for k, v in model.state_dict().items()}, 0)  # step 0: exactly last-value
    while step < args.steps and time.time() - t0 < args.seconds:
        progress = min(1.0, max(step / args.steps, (time.time() - t0) / args.seconds))
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))
        for g in opt.param_groups:
            g["lr"] = lr
        L = int(rng.choice(lengths))
        xb, yb, mb = [], [], []
        for _ in range(args.batch if L <= 256 else max(4, args.batch // 4)):
            f, y, ok, cut = train[int(rng.integers(len(train)))]
            start = 0 if rng.random() < 0.25 else int(rng.integers(0, cut - L))
            x = f[start:start + L].clone()
            # Level augmentation: shift the two level features of the crop by one random offset each, so the model
            # cannot key on a mote's absolute level (4 motes only); the change features are untouched.
            x[:, :2] += torch.randn(2) * args.level_aug
            xb.append(x)
            yb.append(y[start:start + L])
            mb.append(ok[start:start + L])
        x, y, ok = torch.stack(xb).to(device), torch.stack(yb).to(device), torch.stack(mb).to(device)
        out = model(x)
        loss = (out - y).abs().sum(-1)[ok].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % args.select_every == 0 or step == args.steps:
            vr = val_ratio()
            rec = {"step": step, "length": L, "loss": loss.item(), "val_ratio": vr, "lr": lr, "seconds": time.time() - t0}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if step % (5 * args.select_every) == 0:
                print(json.dumps(rec), flush=True)
            if vr < best[0]:
                best = (vr, {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
    train_seconds = time.time() - t0
    if args.keep == "best":
        model.load_state_dict(best[1])
    else:
        best = (val_ratio(), None, step)
    model.eval()

    from safetensors.torch import save_file
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    model.load_state_dict(state)  # exactly the exported numbers

    delta = np.asarray(norm["delta"])
    errs_train = forecast_errors(model, motes, TRAIN_MOTES, norm, device)
    errs_test = forecast_errors(model, motes, HELDOUT_MOTES, norm, device)
    det = detection(errs_train, errs_test, delta, "model")
    det_naive = detection(errs_train, errs_test, delta, "naive")

    cfg["preprocessing"] = {
        "features": ["(humidity - mean[0]) / std[0]", "(temperature - mean[1]) / std[1]",
                     "clip((humidity - previous humidity) / delta[0], -clip_changes, clip_changes)",
                     "clip((temperature - previous temperature) / delta[1], -clip_changes, clip_changes)",
                     "indoor (1 indoor mote, 0 outdoor)"],
        "outputs": ["(next humidity - humidity) / delta[0]", "(next temperature - temperature) / delta[1]"],
        "units": ["% relative humidity", "degrees Celsius"],
        "mean": norm["mean"], "std": norm["std"], "delta": norm["delta"], "clip_changes": norm["clip"],
        "first_step_change": 0.0,
    }
    cfg["anomaly"] = {"score": "sum over channels of |forecast - reading| / delta, averaged over the last `window` readings",
                      "window": det["window"], "threshold": det["threshold"]}
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)

    # Golden: float64 forward from the exported weights, on 400 held-out steps of mote 4 around its event.
    m4 = motes[4]
    g_in = features(m4["x"], m4["indoor"], norm)[2200:2600]
    model64 = Aaren(cfg).to(device).double()
    model64.load_state_dict({k: v.double() for k, v in state.items()})
    g_in32 = torch.tensor(g_in, dtype=torch.float32)
    g_out = predict(model64, g_in32.double().numpy(), device, torch.float64)  # exactly model(stored inputs)
    save_file({"inputs": g_in32, "outputs": torch.tensor(g_out, dtype=torch.float32)},
              os.path.join(args.out, "golden.safetensors"),
              metadata={"family": "aaren", "reference": "firmware-tools/training/train_aaren.py masked prefix softmax, float64, from the exported weights",
                        "source": "held-out mote 4, readings 2201..2600 (features of config.json preprocessing)"})

    with open(os.path.join(args.out, "heldout.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mote_id", "indoor", "humidity", "temperature", "label"])
        for i in HELDOUT_MOTES:
            m = motes[i]
            for k in range(len(m["label"])):
                w.writerow([i, m["indoor"], f"{m['h'][k]:.2f}", f"{m['t'][k]:.2f}", int(m["label"][k])])

    metrics = {"parameters": n_params, "steps": step, "best_step": best[2], "val_ratio": best[0], "train_seconds": train_seconds, "train_motes": TRAIN_MOTES,
               "heldout_motes": HELDOUT_MOTES, "normalization": norm,
               "mae_heldout": mae_report(errs_test), "mae_train": mae_report(errs_train),
               "anomaly_model_error": det, "anomaly_last_value_error": det_naive,
               "args": vars(args), "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print(json.dumps({"parameters": n_params, "steps": step, "best_step": best[2], "val_ratio": best[0], "mae_heldout": metrics["mae_heldout"], "anomaly": det}), flush=True)


if __name__ == "__main__":
    main()
