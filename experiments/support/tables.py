"""The Markdown tables of docs/benchmarks.md, from the benchmarks' ``results.json`` files
(``ganjax.evaluation.mode_collapse`` for the 2-D mixtures, ``ganjax.evaluation.run_results``
for MNIST and Stacked MNIST) and the speed reports of ``experiments.benchmark``."""
import re
import shlex

from ganjax.evaluation import mnist_metrics
from ganjax.evaluation import mode_collapse
from ganjax.evaluation import run_results
from ganjax.train import sweep

# A command's config override: what a run changed from its config file's variant.
_OVERRIDE = re.compile(r'--config\.([^=]+)=(.*)')


def results_table(all_results: list[dict]) -> str:
    """A Markdown table of ``results.json`` contents, ours beside the paper's anchor."""
    lines = ['| benchmark | variant | modes (ours) | modes (paper) | high quality (ours) '
             '| high quality (paper) | KL (ours) | KL (paper) | seeds × steps '
             '| sampled from, BatchNorm | high quality by BatchNorm: standing / running / batch '
             '| runtime | command |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in sorted(all_results, key=lambda r: (r['mixture'], r['variant'])):
        mean, err, protocol = r['mean'], r['stderr'], r['protocol']
        # The anchors are the benchmark's, not the run's (runs before 2026-11-28 recorded
        # the best row for every variant).
        paper = mode_collapse.paper_row(r['mixture'], r['variant'])
        lines.append(
            f"| {r['mixture']} ({protocol['num_modes']} modes) | {r['variant']} "
            f"| {mean['modes']:.1f} ± {err['modes']:.1f} "
            f"| {paper['modes']:.1f} ± {paper['stderr']['modes']:.1f} ({paper['row']}) "
            f"| {100 * mean['high_quality']:.1f} ± {100 * err['high_quality']:.1f} % "
            f"| {100 * paper['high_quality']:.1f} ± {100 * paper['stderr']['high_quality']:.1f} % "
            f"| {_kl_text(mean['kl'])} ± {_kl_text(err['kl'])} "
            f"| {paper['kl']:.2f} ± {paper['stderr']['kl']:.2f} "
            f"| {len(protocol['seeds'])} ({protocol['seeds'][0]}–{protocol['seeds'][-1]}) "
            f"× {protocol['total_steps']} "
            f"| {protocol['sampled_from']}, {protocol.get('batch_norm', 'running')} "
            f"| {_high_quality_by_batch_norm(r)} "
            f"| {_runtime(r)} | `{_shell(r['command'])}` |")
    return '\n'.join(lines) + '\n'


def _high_quality_by_batch_norm(results: dict) -> str:
    """'92.1 / 91.6 / 90.8 %' from ``by_batch_norm``; '—' for runs from before it."""
    by_mode = results.get('by_batch_norm')
    if not by_mode:
        return '—'
    return ' / '.join(f"{100 * by_mode[m]['high_quality']:.1f}"
                      for m in ('standing', 'running', 'batch')) + ' %'


def ablation_table(all_results: list[dict]) -> str:
    """A Markdown table of one benchmark's ablation runs: a row per run (per value of a
    sweep), labelled by what its command changed from the config's variant: its
    ``--config.<key>=`` overrides (but the seeds' and the sweep's own) and the swept
    keys at the row's value."""
    lines = ['| variant | change | modes | high quality | KL | seeds × steps | runtime '
             '| command |', '|---|---|---|---|---|---|---|---|']
    rows = []
    for r in all_results:
        swept = sweep.split_keys(r['sweep']['key']) if 'sweep' in r else []
        changes = _overrides(r['command'], swept)
        for group in r.get('by_value') or [dict(r, value=None)]:
            change = changes + [f"{key}={group['value']:g}" for key in swept]
            rows.append((r['variant'], ', '.join(change) or _UNCHANGED, group, r))
    for variant, change, group, r in sorted(rows, key=lambda row: row[:2]):
        mean, err, protocol = group['mean'], group['stderr'], r['protocol']
        runtime = _runtime(r, ' (all values)' if 'sweep' in r else '')
        lines.append(
            f"| {variant} | {change} | {mean['modes']:.1f} ± {err['modes']:.1f} "
            f"| {100 * mean['high_quality']:.1f} ± {100 * err['high_quality']:.1f} % "
            f"| {_kl_text(mean['kl'])} ± {_kl_text(err['kl'])} "
            f"| {len(protocol['seeds'])} ({protocol['seeds'][0]}–{protocol['seeds'][-1]}) "
            f"× {protocol['total_steps']} | {runtime} "
            f"| `{_shell(r['command'])}` |")
    return '\n'.join(lines) + '\n'


_UNCHANGED = '(as the config file has it)'


def _shell(command: str | None) -> str:
    """A recorded command as a shell takes it: records written before commands were
    quoted (``cli.typed_command``) hold overrides such as ``--config.x=(1,2)`` bare.
    A run started without one (``mode_collapse.run``'s default) shows as None."""
    return shlex.join(shlex.split(command)) if command else str(command)


def _overrides(command: str | None, excluded: list[str] = ()) -> list[str]:
    """The ``key=value`` config overrides of a command: what a run changed from its
    config file's variant (but the seeds', the sweep's and the keys ``excluded``)."""
    overrides = [m.groups() for m in map(_OVERRIDE.fullmatch, shlex.split(command or '')) if m]
    return [f'{key}={value}' for key, value in overrides
            if key not in excluded and not key.startswith(('sweep.', 'first_seed', 'num_seeds'))]


def _runtime(results: dict, note: str = '') -> str:
    """'4.1 min' and, for runs that recorded it, the CPU they ran on (without the cores
    and vector extensions that ``machine.cpu_description`` adds): runtimes compare
    only on one machine."""
    cpu = results.get('cpu')
    return (f"{results['runtime_s'] / 60:.1f} min{note}"
            + (f", {cpu.split(',')[0]}" if cpu else ''))


def _kl_text(value) -> str:
    """A KL: three decimals, four below 0.01 (the ring's finite-sample floor is 0.0014);
    '—' where it could not be computed."""
    if value is None:
        return '—'
    return f'{value:.4f}' if abs(value) < 0.01 else f'{value:.3f}'


def _head(columns: list[str], ablation: bool) -> list[str]:
    """A table's header and rule; ``ablation`` adds a 'change' column after the first."""
    columns = columns[:1] + ['change'] * ablation + columns[1:]
    return ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]


def _change_cell(command: str | None, ablation: bool) -> str:
    """The 'change' cell of an ablation row (see ``_head``), '' in a results table."""
    return f" {', '.join(_overrides(command)) or _UNCHANGED} |" if ablation else ''


def stacked_mnist_table(all_results: list[dict], ablation: bool = False) -> str:
    """A Markdown table of Stacked MNIST ``results.json`` contents beside the paper's;
    ``ablation`` adds a column of what each command changed from its variant."""
    lines = _head(['variant', 'modes of 1000, EMA / raw (ours)', 'modes (paper)',
                   'KL, EMA / raw (ours)', 'KL (paper)', "each channel's KL, R / G / B (EMA)",
                   f"digits drawn clearly (p ≥ {mnist_metrics.CONFIDENT}), R / G / B (EMA; real)",
                   'real data: modes, KL', 'steps × batch', 'runtime', 'command'], ablation)
    for r in sorted(all_results, key=lambda r: (r['variant'], r['command'] or '')):
        ema, raw = r['final'].get('ema', {}), r['final'].get('raw', {})
        # The anchors are the benchmark's, not the run's: a run recorded before its
        # variant had one still gets it.
        paper = run_results.PAPER_STACKED.get(r['variant'])
        change = _change_cell(r['command'], ablation)
        lines.append(
            f"| {r['variant']} |{change} {ema.get('modes', '–')} / {raw.get('modes', '–')} "
            f"| {_anchor(paper, 'modes')} | {ema.get('kl', float('nan')):.3f} / "
            f"{raw.get('kl', float('nan')):.3f} | {_anchor(paper, 'kl')} "
            f"| {_channel_kls(ema)} | {_clear_digits(ema, r['real_data'])} "
            f"| {r['real_data']['modes']}, {r['real_data']['kl']:.3f} "
            f"| {r['protocol']['total_steps']} × {r['protocol']['batch_size']} "
            f"| {_runtime(r)} | `{_shell(r['command'])}` |")
    return '\n'.join(lines) + '\n'


def _channel_kls(metrics: dict) -> str:
    """'0.056 / 0.034 / 0.072', or '–' for a run from before ``channel_kl``."""
    return ' / '.join(f'{kl:.3f}' for kl in metrics.get('channel_kl', ())) or '–'


def _clear_digits(generated: dict, real: dict) -> str:
    """The generator's and the real digits' ``channel_confident`` in whole percent,
    'R / G / B % (real: R / G / B %)', or '–' for a run from before it."""
    if 'channel_confident' not in generated:
        return '–'

    def percents(metrics: dict) -> str:
        return ' / '.join(f'{100 * share:.0f}' for share in metrics['channel_confident']) + ' %'

    return f'{percents(generated)} (real: {percents(real)})'


def _anchor(paper: dict | None, key: str) -> str:
    return '–' if paper is None else f'{paper[key]:g}'


# The config a command ran (its --config argument), e.g. 'mnist_dcgan' or 'toy2d:ring'.
_CONFIG = re.compile(r'--config=(?:.*/)?(\w+)\.py(:.+)?')


def mnist_table(all_results: list[dict], ablation: bool = False) -> str:
    """A Markdown table of MNIST runs' ``results.json`` (``ganjax.evaluation.run_results``):
    the last evaluation of the EMA and the raw generator; ``ablation`` adds a column of
    what each command changed from its config."""
    lines = _head(['config', 'MNIST score, EMA / raw', 'FID, EMA / raw',
                   'coverage of each class, lowest / mean (EMA)',
                   'label accuracy of each class, lowest (EMA)', 'real digits: MNIST score',
                   'steps × batch', 'runtime', 'command'], ablation)
    for r in sorted(all_results, key=lambda r: r['command']):
        ema, raw = r['final']['ema'], r['final'].get('raw', {})
        coverage = ema['class_coverage']
        asked = [a for a in ema.get('label_accuracy_by_class', ()) if a is not None]
        label_accuracy = (f"{100 * min(asked):.1f} %"
                          if r['conditional'] else '—')
        arguments = shlex.split(r['command'])
        name, arg = next(m for m in map(_CONFIG.fullmatch, arguments) if m).groups()
        change = _change_cell(r['command'], ablation)
        lines.append(
            f"| {name}{arg or ''} |{change} {_pair(ema, raw, 'mnist_score', 2)} "
            f"| {_pair(ema, raw, 'fid', 1)} "
            f"| {min(coverage):.2f} / {sum(coverage) / len(coverage):.2f} | {label_accuracy} "
            f"| {r['protocol']['real_data_mnist_score']:.2f} "
            f"| {r['protocol']['total_steps']} × {r['protocol']['batch_size']} "
            f"| {_runtime(r)} | `{_shell(r['command'])}` |")
    return '\n'.join(lines) + '\n'


def _pair(ema: dict, raw: dict, key: str, digits: int) -> str:
    return ' / '.join(f'{m[key]:.{digits}f}' if key in m else '—' for m in (ema, raw))


def speed_table(all_results: list[dict]) -> str:
    """A Markdown table of ``python -m experiments.benchmark --out=…`` results: ganjax's
    compiled step (or a 2-D config's vmapped training) beside PyTorch eager's, on the
    CPU each was measured on."""
    lines = _head(['config', 'CPU', 'ganjax', 'PyTorch eager', 'ganjax / PyTorch',
                   'first step (compiling)', 'command'], ablation=False)
    for r in sorted(all_results, key=lambda r: (r['cpu'], r['command'])):
        if 'seed_steps_per_sec' in r:
            ours = (f"{r['seed_steps_per_sec']:.0f} seed-steps/s ({r['num_seeds']} seeds; "
                    f"{r['gflops']:.0f} GFLOP/s, {100 * r['of_matmul_peak']:.0f} % of the "
                    f"matrix product's {r['xla_matmul_gflops']:.0f})")
            theirs = r.get('torch_seed_steps_per_sec')
            theirs = f'{theirs:.0f} seed-steps/s' if theirs else 'no twin'
            first = r['compile_s']
        else:
            ours = f"{r['step_ms']:.0f} ms ({r['images_per_sec']:.0f} images/s)"
            theirs = f"{r['torch_step_ms']:.0f} ms" if 'torch_step_ms' in r else 'no twin'
            first = r['first_step_s']
        ratio = f"{r['speedup_vs_torch']:.2f}×" if 'speedup_vs_torch' in r else '—'
        config = r['config'].replace('experiments/configs/', '')
        lines.append(f"| {config} | {r['cpu']} | {ours} | {theirs} | {ratio} "
                     f"| {first:.1f} s | `{_shell(r['command'])}` |")
    return '\n'.join(lines) + '\n'
