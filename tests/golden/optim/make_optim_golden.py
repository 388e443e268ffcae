"""Writes the PyTorch golden files that tests/optim/ checks nabla's optimizers, LR schedules and
gradient clipping against.

Rerun from the repository root with

    bash scripts/setup-peers.sh        # once: installs torch, numpy, safetensors
    python3 tests/golden/optim/make_optim_golden.py

Reruns are byte-identical (fixed per-case seeds, sorted JSON headers). Files, in
tests/golden/optim/data/:

optimizer_<case>.safetensors — 20 steps of one torch.optim optimizer (single-tensor path, f32):
    param.<j>            the initial parameters
    grad.<t>.<j>         the gradient of parameter j for step t, 0-based (absent: grad is None, the
                         step skips the parameter)
    expected.<t>.<j>     PyTorch's parameter j after step t
  metadata "config": JSON {"optimizer": "sgd" | "adam" | ..., "defaults": {constructor kwargs,
  betas split into beta1/beta2}, "groups": [{"params": [j...], plus per-group overrides}], "steps"}.

schedulers.safetensors — metadata only: "cases" is a JSON list of {"name", "scheduler", "args",
  "group_lrs", "optimizer", "lrs": [[lr per group] after construction, then after each step],
  and for OneCycleLR "momentum" (the cycled momentum / beta1 per group, same indexing), for
  ReduceLROnPlateau "metrics" (the value passed to each step)}. Floats are Python reprs, so the
  JSON carries every double exactly.

clip_<case>.safetensors — one torch.nn.utils.clip_grad_norm_ / clip_grad_value_ call:
    grad.<j>             gradients before, clipped.<j> after (a missing grad.<j>: grad is None)
  metadata "config": JSON {"function", "max_norm" / "clip_value", "norm_type" (a number or "inf"),
  "total_norm" (PyTorch's returned norm, as a float)}.
"""

import json
import math
import pathlib
import sys

import torch
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # tests/golden, for golden_io
from golden_io import case_seed, save_file

DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
STEPS = 20
PARAM_SHAPES = [(6, 7), (7,), (3,)]  # the last one has no gradient on some steps






# ----------------------------------------------------------------------------- optimizers

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


def torch_kwargs(options):
    """nabla's flat option names -> torch's (beta1/beta2 -> betas)."""
    kwargs = {k: v for k, v in options.items() if k not in ("beta1", "beta2")}
    if "beta1" in options or "beta2" in options:
        kwargs["betas"] = (options.get("beta1", 0.9), options.get("beta2", 0.999))
    return kwargs


def optimizer_case(name, optimizer, defaults, groups=None):
    torch.manual_seed(case_seed(name))
    params = [torch.randn(shape) for shape in PARAM_SHAPES]
    # Gradients of varying scale; the last parameter has none on every fourth step.
    grads = []
    for t in range(STEPS):
        scale = float(torch.empty(()).uniform_(0.1, 3.0))
        grads.append([None if (j == len(params) - 1 and t % 4 == 2) else torch.randn(p.shape) * scale
                      for j, p in enumerate(params)])

    groups = groups or [{"params": list(range(len(params)))}]
    leaves = [p.clone().requires_grad_() for p in params]
    torch_groups = [dict(torch_kwargs({k: v for k, v in g.items() if k != "params"}),
                         params=[leaves[j] for j in g["params"]]) for g in groups]
    kwargs = dict(torch_kwargs(defaults), foreach=False)  # the single-tensor path (CPU's default anyway)
    opt = OPTIMIZERS[optimizer](torch_groups, **kwargs)

    tensors = {f"param.{j}": p.contiguous() for j, p in enumerate(params)}
    for t in range(STEPS):
        for j, leaf in enumerate(leaves):
            leaf.grad = None if grads[t][j] is None else grads[t][j].clone()
            if grads[t][j] is not None:
                tensors[f"grad.{t}.{j}"] = grads[t][j].contiguous()
        opt.step()
        for j, leaf in enumerate(leaves):
            tensors[f"expected.{t}.{j}"] = leaf.detach().clone().contiguous()

    config = {"optimizer": optimizer, "defaults": defaults, "groups": groups, "steps": STEPS}
    save_file(tensors, DATA_DIR / f"optimizer_{name}.safetensors", {"config": json.dumps(config, sort_keys=True)})


def optimizer_cases():
    optimizer_case("sgd_plain", "sgd", {"lr": 0.1})
    optimizer_case("sgd_momentum", "sgd", {"lr": 0.05, "momentum": 0.9})
    optimizer_case("sgd_dampening", "sgd", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3})
    optimizer_case("sgd_nesterov", "sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True})
    optimizer_case("sgd_weight_decay", "sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01})
    optimizer_case("sgd_nesterov_weight_decay", "sgd",
                   {"lr": 0.02, "momentum": 0.95, "nesterov": True, "weight_decay": 0.1})
    optimizer_case("sgd_groups", "sgd", {"lr": 0.05, "momentum": 0.9},
                   groups=[{"params": [0], "lr": 0.1, "weight_decay": 0.05},
                           {"params": [1, 2], "momentum": 0.5, "nesterov": True}])

    optimizer_case("adagrad_default", "adagrad", {})
    optimizer_case("adagrad_all_options", "adagrad",
                   {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-6})

    optimizer_case("rmsprop_default", "rmsprop", {})
    optimizer_case("rmsprop_alpha", "rmsprop", {"lr": 0.005, "alpha": 0.9, "eps": 1e-6})
    optimizer_case("rmsprop_momentum", "rmsprop", {"lr": 0.005, "momentum": 0.9})
    optimizer_case("rmsprop_centered", "rmsprop", {"lr": 0.005, "centered": True})
    optimizer_case("rmsprop_centered_momentum_weight_decay", "rmsprop",
                   {"lr": 0.003, "centered": True, "momentum": 0.8, "weight_decay": 0.05, "alpha": 0.95})

    optimizer_case("adam_default", "adam", {})
    optimizer_case("adam_lr_betas_eps", "adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6})
    optimizer_case("adam_weight_decay", "adam", {"lr": 0.01, "weight_decay": 0.1})
    optimizer_case("adam_amsgrad", "adam", {"lr": 0.01, "amsgrad": True})
    optimizer_case("adam_amsgrad_weight_decay", "adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05})
    optimizer_case("adam_groups", "adam", {"lr": 0.01},
                   groups=[{"params": [0, 2], "weight_decay": 0.1}, {"params": [1], "lr": 0.05, "beta1": 0.5}])

    optimizer_case("adamw_default", "adamw", {})
    optimizer_case("adamw_lr_weight_decay", "adamw", {"lr": 0.01, "weight_decay": 0.1})
    optimizer_case("adamw_amsgrad", "adamw", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.2, "beta2": 0.95})


# ----------------------------------------------------------------------------- schedulers

def scheduler_run(name, scheduler, args, steps, optimizer="sgd", group_lrs=(0.1, 0.02), metrics=None):
    """Builds the PyTorch scheduler on a two-group optimizer and records its lrs step by step."""
    sched = torch.optim.lr_scheduler
    params = [torch.zeros(1, requires_grad=True) for _ in group_lrs]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, group_lrs)]
    if optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    elif optimizer == "adam":
        opt = torch.optim.Adam(groups, lr=0.1)
    else:
        raise ValueError(optimizer)

    if scheduler == "StepLR":
        s = sched.StepLR(opt, step_size=args["step_size"], gamma=args["gamma"])
    elif scheduler == "ExponentialLR":
        s = sched.ExponentialLR(opt, gamma=args["gamma"])
    elif scheduler == "CosineWithWarmup":
        # The common transformer schedule as PyTorch users write it: a LambdaLR of the base lr.
        warmup, total, min_lr = args["warmup_steps"], args["total_steps"], args["min_lr"]

        def factor(base):
            def f(step):
                if step < warmup:
                    return step / warmup
                progress = min(1.0, (step - warmup) / (total - warmup)) if total > warmup else 1.0
                return (min_lr + (base - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))) / base
            return f

        s = sched.LambdaLR(opt, [factor(lr) for lr in group_lrs])
    elif scheduler == "OneCycleLR":
        s = sched.OneCycleLR(opt, **args)
    elif scheduler == "ReduceLROnPlateau":
        s = sched.ReduceLROnPlateau(opt, **args)
    else:
        raise ValueError(scheduler)

    def momentum():
        return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]

    lrs, momenta = [[g["lr"] for g in opt.param_groups]], [momentum()]
    for t in range(steps):
        opt.step()
        if metrics is not None:
            s.step(metrics[t])
        else:
            s.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        momenta.append(momentum())

    case = {"name": name, "scheduler": scheduler, "args": args, "group_lrs": list(group_lrs),
            "optimizer": optimizer, "lrs": lrs}
    if scheduler == "OneCycleLR":
        case["momentum"] = momenta
    if metrics is not None:
        case["metrics"] = metrics
    return case


def scheduler_cases():
    cases = [
        scheduler_run("step_lr", "StepLR", {"step_size": 7, "gamma": 0.5}, 40),
        scheduler_run("step_lr_every_step", "StepLR", {"step_size": 1, "gamma": 0.9}, 20),
        scheduler_run("exponential_lr", "ExponentialLR", {"gamma": 0.95}, 60),
        scheduler_run("cosine_with_warmup", "CosineWithWarmup",
                      {"warmup_steps": 10, "total_steps": 50, "min_lr": 1e-4}, 60),
        scheduler_run("cosine_no_warmup", "CosineWithWarmup", {"warmup_steps": 0, "total_steps": 30, "min_lr": 0.0},
                      40),
        scheduler_run("one_cycle", "OneCycleLR", {"max_lr": 1.0, "total_steps": 100}, 100),
        scheduler_run("one_cycle_linear_three_phase", "OneCycleLR",
                      {"max_lr": [0.5, 0.1], "total_steps": 60, "pct_start": 0.25, "anneal_strategy": "linear",
                       "three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0}, 60),
        scheduler_run("one_cycle_adam", "OneCycleLR",
                      {"max_lr": 0.01, "total_steps": 50, "base_momentum": 0.8, "max_momentum": 0.9}, 50,
                      optimizer="adam"),
    ]
    # Metrics with improvements, plateaus, small (sub-threshold) gains and noise.
    g = torch.Generator().manual_seed(case_seed("plateau"))
    loss = [1.0]
    for t in range(59):
        kind = (t // 8) % 3
        step = [-0.05, 0.0, -0.00001][kind] + 0.01 * float(torch.randn((), generator=g)) * (kind == 1)
        loss.append(loss[-1] + step)
    loss = [float(v) for v in loss]
    cases.append(scheduler_run("plateau_min", "ReduceLROnPlateau",
                               {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 1e-3, "cooldown": 1,
                                "min_lr": 0.004}, 60, metrics=loss))
    accuracy = [1.0 - v for v in loss]
    cases.append(scheduler_run("plateau_max_abs", "ReduceLROnPlateau",
                               {"mode": "max", "factor": 0.3, "patience": 3, "threshold": 0.01,
                                "threshold_mode": "abs", "cooldown": 2, "min_lr": 0.0}, 60, metrics=accuracy))
    cases.append(scheduler_run("plateau_default", "ReduceLROnPlateau", {}, 60, metrics=loss))
    save_file({}, DATA_DIR / "schedulers.safetensors", {"cases": json.dumps(cases, sort_keys=True)})


# ----------------------------------------------------------------------------- clipping

def clip_case(name, function, grad_scales, **args):
    torch.manual_seed(case_seed(name))
    shapes = [(5, 4), (9,), (2, 3, 2), (4,)]
    params = [torch.zeros(s, requires_grad=True) for s in shapes]
    tensors = {}
    for j, (p, scale) in enumerate(zip(params, grad_scales)):
        if scale is None:
            continue
        p.grad = torch.randn(p.shape) * scale
        tensors[f"grad.{j}"] = p.grad.clone()
    config = {"function": function}
    if function == "clip_grad_norm_":
        total = torch.nn.utils.clip_grad_norm_(params, max_norm=args["max_norm"], norm_type=args["norm_type"],
                                               foreach=False)
        config.update(max_norm=args["max_norm"],
                      norm_type="inf" if math.isinf(args["norm_type"]) else args["norm_type"],
                      total_norm=float(total))
    else:
        torch.nn.utils.clip_grad_value_(params, clip_value=args["clip_value"], foreach=False)
        config.update(clip_value=args["clip_value"])
    for j, p in enumerate(params):
        if p.grad is not None:
            tensors[f"clipped.{j}"] = p.grad.clone()
    save_file(tensors, DATA_DIR / f"clip_{name}.safetensors", {"config": json.dumps(config, sort_keys=True)})


def clip_cases():
    clip_case("norm2_clipped", "clip_grad_norm_", [1.0, 2.0, 0.5, 3.0], max_norm=1.0, norm_type=2.0)
    clip_case("norm2_not_clipped", "clip_grad_norm_", [0.01, 0.02, 0.01, 0.03], max_norm=5.0, norm_type=2.0)
    clip_case("norm1_with_missing_grad", "clip_grad_norm_", [1.0, None, 0.5, 2.0], max_norm=2.0, norm_type=1.0)
    clip_case("norm_inf", "clip_grad_norm_", [1.0, 4.0, 0.5, 1.0], max_norm=0.5, norm_type=math.inf)
    clip_case("norm3", "clip_grad_norm_", [1.0, 1.0, 2.0, 0.1], max_norm=0.7, norm_type=3.0)
    clip_case("value", "clip_grad_value_", [1.0, 2.0, 0.5, 3.0], clip_value=0.8)


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for stale in DATA_DIR.glob("*.safetensors"):
        stale.unlink()
    optimizer_cases()
    scheduler_cases()
    clip_cases()
    files = sorted(DATA_DIR.glob("*.safetensors"))
    total = sum(p.stat().st_size for p in files)
    print(f"{len(files)} files, {total / 1024:.1f} KiB in {DATA_DIR}")


if __name__ == "__main__":
    main()
