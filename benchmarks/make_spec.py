"""Write a deterministic synthetic kvpspec spec of N questions.

The shape is that of a typical large form: one shared 5-point scale, and per
block of ten items six single-choice questions on that scale, two integer
questions (range 0..120), one text question and one interviewer note. Every
10th item is a question asked only if an earlier single-choice (``== 2``) or
integer (``> 30``) question allows it.

    python benchmarks/make_spec.py 2000 -o /tmp/q2000.survey

``items(n)`` is shared with make_xlsform.py, so both files have the same shape.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass

SEED = 2009
BLOCK = ["single"] * 6 + ["integer"] * 2 + ["text", "note"]

SCALE_TITLE = "Hvor enig eller uenig er du"
SCALE = [
    ("1", "Helt enig"),
    ("2", "Litt enig"),
    ("3", "Litt uenig"),
    ("4", "Helt uenig"),
    ("5", "Vet ikke"),
]

OPENERS = {
    "single": ["Hvor enig er du i at", "Vil du si at", "Mener du at", "Synes du at"],
    "integer": ["Hvor mange ganger har", "Hvor mange timer i uka har", "Hvor mange år har"],
    "text": ["Beskriv med egne ord hvordan", "Fortell kort hva", "Skriv ned hvorfor"],
    "note": [
        "Til intervjuer: Les opp",
        "Til intervjuer: Vis kortet og les",
        "Til intervjuer: Noter",
    ],
}
WORDS = (
    "du deg din ditt dine vi NAV kommunen tjenesten tilbudet veilederen hjelpen "
    "fått mottatt brukt siste året måneden arbeid jobb helse økonomi familien "
    "hjemmet nærmiljøet skolen opplæring tiltaket programmet kontoret møtet "
    "svært ganske litt godt dårlig nyttig viktig enkelt vanskelig tydelig "
    "i på for med om av til fra når hvor etter før under og eller men også"
).split()


@dataclass
class Item:
    """One row of the form: kind, number, text and optional condition."""

    kind: str  # single | integer | text | note
    number: int  # 1-based position; questions are named q<number>, notes n<number>
    text: str
    cond_on: int | None = None  # number of the earlier question this one depends on
    cond_kind: str | None = None  # kind of that earlier question (single | integer)

    @property
    def name(self) -> str:
        return f"{'n' if self.kind == 'note' else 'q'}{self.number}"


def _text(rng: random.Random, kind: str) -> str:
    opener = rng.choice(OPENERS[kind]).split()
    words = opener + [rng.choice(WORDS) for _ in range(rng.randint(8, 20) - len(opener))]
    return " ".join(words) + ("." if kind == "note" else "?")


def items(n: int, seed: int = SEED) -> list[Item]:
    """The N items of the form, the same for the same N and seed."""
    rng = random.Random(seed)
    out: list[Item] = []
    earlier: list[Item] = []  # single and integer questions seen so far
    for start in range(0, n, 10):
        block = BLOCK[:]
        rng.shuffle(block)
        if block[-1] == "note":  # the 10th item must be a question to carry a condition
            j = rng.randrange(9)
            block[j], block[-1] = block[-1], block[j]
        for kind in block[: n - start]:
            item = Item(kind, len(out) + 1, _text(rng, kind))
            if item.number % 10 == 0 and earlier:
                dep = rng.choice(earlier[-50:])
                item.cond_on, item.cond_kind = dep.number, dep.kind
            if kind in ("single", "integer"):
                earlier.append(item)
            out.append(item)
    return out


def render(n: int, seed: int = SEED) -> str:
    """The spec text."""
    lines = [
        f'survey synth{n} "Syntetisk undersøkelse med {n} spørsmål"',
        "",
        "study {",
        f'  title "Syntetisk brukerundersøkelse, {n} spørsmål"',
        "}",
        "",
        f'scale agree "{SCALE_TITLE}" {{',
    ]
    for code, label in SCALE:
        lines.append(f'  {code} "{label}"' + (" missing dont_know" if code == "5" else ""))
    lines += ["}", "", "interview {"]
    for it in items(n, seed):
        if it.kind == "note":
            lines.append(f'  instruction "{it.text}"')
            continue
        head = {
            "single": f'question {it.name} "{it.text}" scale agree',
            "integer": f'question {it.name} integer "{it.text}"',
            "text": f'question {it.name} text "{it.text}"',
        }[it.kind]
        body = ["range 0..120"] if it.kind == "integer" else []
        if it.cond_on:
            op = "== 2" if it.cond_kind == "single" else "> 30"
            body.append(f"ask if q{it.cond_on} {op}")
        if body:
            lines.append(f"  {head} {{")
            lines += [f"    {b}" for b in body]
            lines.append("  }")
        else:
            lines.append(f"  {head}")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of items (questions and notes)")
    ap.add_argument("-o", "--output", help="file to write (default: stdout)")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    text = render(args.n, args.seed)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
