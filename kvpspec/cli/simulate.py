"""``kvpspec simulate SPEC -n N -o DATA.csv [--sample SAMPLE.csv]``: routing-consistent synthetic data."""

from __future__ import annotations

import click

from kvpspec.cli.common import guard, load_clean
from kvpspec.synth.simulate import simulate_batches, write_simulation


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("-n", "count", type=click.IntRange(min=0), required=True, help="How many interviews.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same file).")
@click.option("-o", "--output", metavar="DATA.csv", required=True, help="Where to write the data.")
@click.option("--sample", "sample_path", metavar="SAMPLE.csv", help="Also write a sample file with dispositions.")
@click.option("--allow-warnings", is_flag=True,
              help="Draw every row independently, even when it trips a soft check (`warn`).")
@guard
def simulate(spec: str, count: int, seed: int, output: str, sample_path: str | None, allow_warnings: bool) -> None:
    """Write N synthetic interviews that follow the routing of SPEC.

    The first rows take every route of the interview (or every branch, when
    the routes are too many); the rest are random. Rows that trip a soft
    check (`warn`) are redrawn a few times; those that still do are kept and
    counted. --allow-warnings draws every row independently instead. A row
    that trips a hard check (`error`) is always redrawn, never written.
    Exit 0 on success, 1 when the spec has errors, 2 on usage or I/O errors.
    """
    compiled = load_clean(spec)
    # written batch by batch: memory holds one batch, whatever N
    batches = simulate_batches(compiled, count, seed, with_sample=sample_path is not None, soft_checks=not allow_warnings)
    sim = write_simulation(batches, output, sample_path)
    what = "branch (each condition both ways, each end)" if sim.per_branch else "route"
    note = f"; the first {sim.witnesses} take every {what}" if sim.witnesses else ""
    if compiled.spec.warnings:
        rows = "row trips" if sim.warned == 1 else "rows trip"
        if allow_warnings:
            note += f"; {sim.warned} {rows} a soft check (--allow-warnings)"
        elif sim.warned:
            note += f"; {sim.warned} {rows} a soft check after redrawing (kept)"
        else:
            note += "; no row trips a soft check"
    if any(w.hard for w in compiled.spec.warnings):
        # a row that trips a hard check is never written: say how many were drawn again
        if sim.hard_redrawn:
            rows = "row" if sim.hard_redrawn == 1 else "rows"
            note += f"; {sim.hard_redrawn} {rows} redrawn for tripping a hard check (none written)"
        else:
            note += "; no row drawn tripped a hard check"
    click.echo(f"wrote {count} interviews to {output}{note}", err=True)
    if sample_path is not None:
        click.echo(f"wrote {sim.n_sample} sample records to {sample_path}", err=True)
