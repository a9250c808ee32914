"""The Markdown tables of docs/benchmarks.md, from the mode-collapse benchmarks'
``results.json`` files (``ganjax.evaluation.mode_collapse``)."""


def results_table(all_results: list[dict]) -> str:
    """A Markdown table of ``results.json`` contents, ours beside the paper's anchor."""
    lines = ['| benchmark | variant | modes (ours) | modes (paper) | high quality (ours) '
             '| high quality (paper) | KL (ours) | seeds × steps | sampled from, BatchNorm '
             '| high quality by BatchNorm: standing / running / batch | runtime | command |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in sorted(all_results, key=lambda r: (r['mixture'], r['variant'])):
        mean, err, paper, protocol = r['mean'], r['stderr'], r['paper'], r['protocol']
        lines.append(
            f"| {r['mixture']} ({protocol['num_modes']} modes) | {r['variant']} "
            f"| {mean['modes']:.1f} ± {err['modes']:.1f} | {paper['modes']} "
            f"| {100 * mean['high_quality']:.1f} ± {100 * err['high_quality']:.1f} % "
            f"| {100 * paper['high_quality']:.1f} % "
            f"| {mean['kl']:.3f} ± {err['kl']:.3f} "
            f"| {len(protocol['seeds'])} ({protocol['seeds'][0]}–{protocol['seeds'][-1]}) "
            f"× {protocol['total_steps']} "
            f"| {protocol['sampled_from']}, {protocol.get('batch_norm', 'running')} "
            f"| {_high_quality_by_batch_norm(r)} "
            f"| {r['runtime_s'] / 60:.1f} min | `{r['command']}` |")
    return '\n'.join(lines) + '\n'


def _high_quality_by_batch_norm(results: dict) -> str:
    """'92.1 / 91.6 / 90.8 %' from ``by_batch_norm``; '—' for runs from before it."""
    by_mode = results.get('by_batch_norm')
    if not by_mode:
        return '—'
    return ' / '.join(f"{100 * by_mode[m]['high_quality']:.1f}"
                      for m in ('standing', 'running', 'batch')) + ' %'


def stacked_mnist_table(all_results: list[dict]) -> str:
    """A Markdown table of Stacked MNIST ``results.json`` contents beside the paper's."""
    lines = ['| variant | modes of 1000, EMA / raw (ours) | modes (paper) '
             '| KL, EMA / raw (ours) | KL (paper) | real data: modes, KL '
             '| steps × batch | runtime | command |',
             '|---|---|---|---|---|---|---|---|---|']
    for r in sorted(all_results, key=lambda r: r['variant']):
        ema, raw = r['final'].get('ema', {}), r['final'].get('raw', {})
        paper = r['paper'] or {'modes': '–', 'kl': '–'}
        lines.append(
            f"| {r['variant']} | {ema.get('modes', '–')} / {raw.get('modes', '–')} "
            f"| {paper['modes']:g} | {ema.get('kl', float('nan')):.3f} / "
            f"{raw.get('kl', float('nan')):.3f} | {paper['kl']:g} "
            f"| {r['real_data']['modes']}, {r['real_data']['kl']:.3f} "
            f"| {r['protocol']['total_steps']} × {r['protocol']['batch_size']} "
            f"| {r['runtime_s'] / 60:.1f} min | `{r['command']}` |")
    return '\n'.join(lines) + '\n'
