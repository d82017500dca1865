"""A picture of the routing: the interview from start to closing as an SVG a
person can read, and its Mermaid source.

Questions and grids stand in one vertical column in interview order. Each
branch is an edge labelled with its condition: an option's ``goto`` (a skip
edge on the left), an option's ``end`` (to an end box on the right), and the
conditions of ``ask if`` and ``if`` blocks (read from ``kvpspec.semantics.routing``: the
edge into a conditional run is labelled with its condition, and a bypass edge
labelled "ellers" goes around it). Every box also shows the question's full
guard from ``kvpspec.semantics.routing.slots``, the one meaning of routing. Layout is computed here,
deterministically, with no external tool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generators.base import Generator, fill_plain, jinja_env
from generators.common import heading_number, text_of, words
from kvpspec import model as m
from kvpspec.semantics.describe import Describer
from kvpspec.semantics.routing import code_in, slots

TEMPLATES = Path(__file__).parent / "templates"

BOX_W = 420
LINE_H = 15
PAD = 9
GAP = 34
END_W = 250
LANE_W = 20
LABEL_CHAR_W = 6.4  # a character of the 10.5px monospace edge labels
WRAP = 54


@dataclass
class Node:
    id: str
    kind: str  # start, question, grid, done, end
    lines: list[str]
    guard: list[str] = field(default_factory=list)


@dataclass
class Edge:
    source: str
    target: str
    label: str
    kind: str  # next, skip, end


def wrap(text: str, width: int = WRAP, max_lines: int = 3) -> list[str]:
    words_ = text.split()
    lines: list[str] = []
    current = ""
    for w in words_:
        while len(w) > width:  # a word longer than a line is cut
            if current:
                lines.append(current)
                current = ""
            lines.append(w[:width])
            w = w[width:]
        if current and len(current) + 1 + len(w) > width:
            lines.append(current)
            current = w
        else:
            current = f"{current} {w}" if current else w
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines or [""]


class FlowGenerator(Generator):
    name = "flow"
    description = "the routing as a readable SVG and as Mermaid source"

    def generate(self) -> dict[str, bytes]:
        nodes, edges = self.graph()
        env = jinja_env(TEMPLATES)
        svg = env.get_template("routing.svg").render(**self.layout(nodes, edges))
        return {
            "flow/routing.svg": svg.encode("utf-8"),
            "flow/routing.mmd": self.mermaid(nodes, edges).encode("utf-8"),
        }

    # ------------------------------------------------------------ graph

    def graph(self) -> tuple[list[Node], list[Edge]]:
        spec = self.ctx.spec
        low = self.ctx.lowered
        lang = self.ctx.main_language
        w = words(lang)
        self.w = w
        self.describe = describe = Describer(low, lang)
        dispositions = {d.code: d.label for d in (spec.fieldwork.dispositions if spec.fieldwork else ())}
        ss = slots(low)

        main: list[Node] = [Node("start", "start", [w["start"]])]
        ends: list[Node] = []
        edges: list[Edge] = []
        local: list[tuple[str, ...]] = []  # the if / ask-if conditions of each main node
        for s in ss:
            item = s.item
            main.append(self.visit(item, s.guard))
            conds = [expr for expr, origin, _ in s.terms if origin in ("if", "else", "ask")]
            local.append(tuple(describe(c) for c in conds))
        closing = self._closing_text(spec, lang)
        main.append(Node("done", "done", wrap(closing or w["done"], WRAP, 2)))
        local = [()] + local + [()]

        # option routes: goto and end
        routed: set[str] = set()
        for s in ss:
            item = s.item
            if not isinstance(item, m.Question):
                continue
            by_goto: dict[str, list[int]] = {}
            for o in low.question_options(item):
                if o.goto:
                    by_goto.setdefault(o.goto, []).append(o.code)
                if o.end is not None:
                    disposition = dispositions.get(o.end)
                    end_id = f"end_{item.name}_{o.code}"
                    text = f"{w['end']} {o.end}" + (f": {text_of(disposition, lang)}" if disposition else "")
                    ends.append(Node(end_id, "end", wrap(text, 36, 2)))
                    edges.append(Edge(item.name, end_id, describe(code_in(item.name, [o.code])), "end"))
                    routed.add(item.name)
            for target, codes in by_goto.items():
                edges.append(Edge(item.name, target, describe(code_in(item.name, codes)), "skip"))
                routed.add(item.name)

        # the main column, with the conditions of ask-if and if blocks
        def label_of(key: tuple[str, ...]) -> str:
            text = f" {describe.w['and']} ".join(
                f"({k})" if len(key) > 1 and f" {describe.w['or']} " in k else k for k in key
            )
            return f"{w['if'].lower()} {text}"

        def run_end(i: int) -> int:
            """The last node of the conditional run that starts at ``i``."""
            j = i
            while j + 1 < len(main) and local[j + 1] == local[i]:
                j += 1
            return j

        i = 1
        while i < len(main):
            prev = main[i - 1]
            key = local[i]
            if key and key != local[i - 1]:
                edges.append(Edge(prev.id, main[i].id, label_of(key), "next"))
                # "otherwise" goes past every following run that is skipped too
                # (one nested in this one), and names the condition of one that
                # may be asked, with a further "otherwise" past it
                t = run_end(i) + 1
                while True:
                    nxt = local[t]
                    if nxt and set(key) <= set(nxt):
                        t = run_end(t) + 1
                        continue
                    if not nxt:
                        edges.append(Edge(prev.id, main[t].id, w["otherwise"], "skip"))
                        break
                    edges.append(Edge(prev.id, main[t].id, f"{w['otherwise']}, {label_of(nxt)}", "skip"))
                    t = run_end(t) + 1
            else:
                label = w["otherwise"] if prev.id in routed else ""
                edges.append(Edge(prev.id, main[i].id, label, "next"))
            i += 1
        self.main_ids = [n.id for n in main]
        return main + ends, edges

    def _closing_text(self, spec: m.Spec, lang: str) -> str:
        for item in spec.interview.items if spec.interview else ():
            if isinstance(item, m.Closing):
                for sub in item.items:
                    if isinstance(sub, m.Say):
                        return fill_plain(text_of(sub.text, lang))
        return ""

    def _guard(self, guard: m.Expr | None) -> list[str]:
        if guard is None:
            return []
        return wrap(f"{self.w['asked_if']}: {self.describe(guard)}", WRAP + 6, 2)

    def visit_Question(self, q: m.Question, guard: m.Expr | None) -> Node:
        text = f"{heading_number(q)} {fill_plain(text_of(q.label, self.ctx.main_language))}"
        return Node(q.name, "question", wrap(text), self._guard(guard))

    def visit_Grid(self, g: m.Grid, guard: m.Expr | None) -> Node:
        lang = self.ctx.main_language
        stem = fill_plain(text_of(g.label, lang)) if g.label else ""
        items = ", ".join(g.name + gi.name for gi in g.items)
        text = f"{heading_number(g)} {stem}".strip()
        lines = wrap(text, WRAP, 2) + wrap(f"[{items}]", WRAP, 1)
        return Node(g.name, "grid", lines, self._guard(guard))

    # ------------------------------------------------------------ layout

    def layout(self, nodes: list[Node], edges: list[Edge]) -> dict[str, Any]:
        by_id = {n.id: n for n in nodes}
        main = [by_id[i] for i in self.main_ids]
        row_of = {n.id: k for k, n in enumerate(main)}
        ends_of: dict[str, list[Node]] = {}
        for e in edges:
            if e.kind == "end":
                ends_of.setdefault(e.source, []).append(by_id[e.target])

        skips = [e for e in edges if e.kind == "skip"]
        # lanes: skip edges that overlap get lanes of their own
        lanes: list[list[tuple[int, int]]] = []
        lane_of: dict[int, int] = {}
        order = sorted(range(len(skips)), key=lambda k: (row_of[skips[k].target] - row_of[skips[k].source], row_of[skips[k].source]))
        for k in order:
            a, b = row_of[skips[k].source], row_of[skips[k].target]
            for li, used in enumerate(lanes):
                if all(b <= ua or a >= ub for ua, ub in used):
                    used.append((a, b))
                    lane_of[k] = li
                    break
            else:
                lanes.append([(a, b)])
                lane_of[k] = len(lanes) - 1
        label_w = max([int(len(e.label) * LABEL_CHAR_W) for e in skips] + [0])
        end_gap = 40 + max([int(len(e.label) * LABEL_CHAR_W) for e in edges if e.kind == "end"] + [0])
        x0 = 24 + label_w + 12 + len(lanes) * LANE_W + 16

        boxes, end_boxes = [], []
        y = 20
        pos: dict[str, tuple[int, int, int, int]] = {}
        for n in main:
            h = PAD * 2 + LINE_H * (len(n.lines) + len(n.guard))
            end_list = ends_of.get(n.id, [])
            end_h = [PAD * 2 + LINE_H * len(e.lines) for e in end_list]
            row_h = max([h] + [sum(end_h) + 8 * (len(end_h) - 1)])
            pos[n.id] = (x0, y, BOX_W, h)
            boxes.append({"node": n, "x": x0, "y": y, "w": BOX_W, "h": h,
                          "rx": 18 if n.kind in ("start", "done") else 4})
            ey = y
            for end, eh in zip(end_list, end_h):
                ex = x0 + BOX_W + end_gap
                pos[end.id] = (ex, ey, END_W, eh)
                end_boxes.append({"node": end, "x": ex, "y": ey, "w": END_W, "h": eh})
                ey += eh + 8
            y += row_h + GAP
        height = y - GAP + 20
        width = x0 + BOX_W + (end_gap + END_W + 20 if end_boxes else 40)

        paths: list[dict[str, Any]] = []
        for e in edges:
            sx, sy, sw, sh = pos[e.source]
            tx, ty, _, th = pos[e.target]
            if e.kind == "next":
                x = sx + sw // 2
                d = f"M{x},{sy + sh} L{x},{ty}"
                paths.append({"d": d, "kind": e.kind, "label": e.label, "lx": x + 6, "ly": (sy + sh + ty) // 2 + 4, "anchor": "start"})
            elif e.kind == "end":
                y1 = sy + sh // 2
                y2 = ty + th // 2
                bend = sx + sw + 20
                d = f"M{sx + sw},{y1} L{bend},{y1} L{bend},{y2} L{tx},{y2}"
                paths.append({"d": d, "kind": e.kind, "label": e.label, "lx": tx - 8, "ly": y2 - 4, "anchor": "end"})
            else:
                lane = lane_of[skips.index(e)]
                lx = x0 - 16 - lane * LANE_W
                y1 = sy + sh // 2
                y2 = ty + th // 2
                d = f"M{sx},{y1} L{lx},{y1} L{lx},{y2} L{tx},{y2}"
                paths.append({"d": d, "kind": e.kind, "label": e.label, "lx": lx - 6, "ly": (y1 + y2) // 2 + 4, "anchor": "end"})
        for p in paths:
            p["lw"] = int(len(p["label"]) * LABEL_CHAR_W) + 6
            p["bx"] = p["lx"] - (p["lw"] - 3 if p["anchor"] == "end" else 3)
        return {
            "width": width,
            "height": height,
            "boxes": boxes,
            "end_boxes": end_boxes,
            "paths": paths,
            "line_h": LINE_H,
            "pad": PAD,
            "title": text_of(self.ctx.spec.title, self.ctx.main_language),
        }

    # ------------------------------------------------------------ Mermaid

    def mermaid(self, nodes: list[Node], edges: list[Edge]) -> str:
        lines = ["%% " + _mm_escape(text_of(self.ctx.spec.title, self.ctx.main_language)), "flowchart TD"]
        shapes = {"start": ('(["', '"])'), "done": ('(["', '"])'), "end": ('[/"', '"/]'),
                  "question": ('["', '"]'), "grid": ('[["', '"]]')}
        for n in nodes:
            open_, close = shapes[n.kind]
            text = "<br>".join(_mm_escape(line) for line in n.lines + n.guard)
            lines.append(f"  n_{n.id}{open_}{text}{close}")
        for e in edges:
            arrow = "-.->" if e.kind == "skip" else "-->"
            label = f'|"{_mm_escape(e.label)}"|' if e.label else ""
            lines.append(f"  n_{e.source} {arrow}{label} n_{e.target}")
        lines.append("  classDef stop fill:#fde,stroke:#a33")
        end_ids = [f"n_{n.id}" for n in nodes if n.kind == "end"]
        if end_ids:
            lines.append("  class " + ",".join(end_ids) + " stop")
        return "\n".join(line for line in lines if line) + "\n"


_MM_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:?!-_/'+*=…–")


def _mm_escape(text: str) -> str:
    """Mermaid label text: anything that is not plainly safe is an entity code (``#60;``)."""
    return "".join(c if c in _MM_SAFE or (ord(c) > 127 and c.isalpha()) else f"#{ord(c)};" for c in text.replace("\n", " "))
