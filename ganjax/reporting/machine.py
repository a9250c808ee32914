"""The machine a run or a timing ran on, as its results record it."""
import os
import platform


def cpu_description() -> str:
    """This machine's CPU as timings need it said: model, family/model numbers and the
    vector extensions that change XLA's and PyTorch's speeds (Linux's /proc/cpuinfo;
    the platform's processor string elsewhere)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            fields = dict(line.split(':', 1) for line in f.read().split('\n\n')[0].splitlines()
                          if ':' in line)
    except OSError:
        return platform.processor() or platform.machine()
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get('flags', '').split())
    isa = ('AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags else 'no AVX2'
           ) + (', AMX' if 'amx_tile' in flags else '')
    return (f"{fields.get('model name', '?')} (family {fields.get('cpu family', '?')} model "
            f"{fields.get('model', '?')}), {os.cpu_count()} cores, {isa}")
