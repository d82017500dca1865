"""A picture of the routing: the interview from start to closing as an SVG a
person can read, and its Mermaid source.

Questions and grids stand in one vertical column in interview order. Each
branch is an edge labelled with its condition: an option's ``goto`` (a skip
edge on the left), an option's ``end`` (to an end box on the right), and the
conditions of ``ask if`` and ``if`` blocks (read from ``kvpspec.semantics.routing``: the
edge into a conditional run is labelled with its condition, and a bypass edge
labelled "ellers" goes around it). Every box also shows the question's full
guard from ``kvpspec.semantics.routing.slots``, the one meaning of routing. A roster is
drawn once, as a loop (``generators.roster_view``): a framed header, its questions
once in the roster's names, an edge back to the header and one past it when done.
Layout is computed here, deterministically, with no external tool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generators.base import Generator, fill_plain, jinja_env
from generators.common import heading_number, text_of, words
from generators.roster_view import RosterView, loop_text, roster_words
from kvpspec import model as m
from kvpspec.semantics.describe import Describer
from kvpspec.semantics.routing import code_in, slots
from kvpspec.semantics.variables import expr_refs

TEMPLATES = Path(__file__).parent / "templates"

BOX_W = 420
LINE_H = 15
PAD = 9
GAP = 34
END_W = 250
LANE_W = 20
LOOP_W = 18  # between the loop lines of nested rosters
LABEL_CHAR_W = 6.4  # a character of the 10.5px monospace edge labels
WRAP = 54


@dataclass
class Node:
    id: str
    kind: str  # start, question, grid, roster, done, end
    lines: list[str]
    guard: list[str] = field(default_factory=list)


@dataclass
class Frame:
    """A roster in the main column: its header's row and its body's last row."""

    roster: m.Roster
    header: int
    last: int
    depth: int  # 1 for a roster not inside another


@dataclass
class Edge:
    source: str
    target: str
    label: str
    kind: str  # next, skip, end, loop (back to a roster's header)


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

        rv = self.rosters = RosterView(spec, low)
        if rv:
            describe.variables = rv.variables()
        self.ids: dict[str, str] = {}  # an unrolled first iteration's name -> its node's id
        self.frames: list[Frame] = []

        main: list[Node] = [Node("start", "start", [w["start"]])]
        ends: list[Node] = []
        edges: list[Edge] = []
        # the if / ask-if conditions of each main node, in words and as written
        local: list[tuple[str, ...]] = [()]
        terms: list[list[m.Expr]] = [[]]
        shown = [s for s in ss if not rv.later_iteration(s)] if rv else ss
        open_: list[Frame] = []
        for s in shown:
            item = s.item
            name = rv.name(s) if rv else None
            path = rv.path[name] if name is not None else ()
            while open_ and (len(open_) > len(path) or open_[-1].roster is not path[len(open_) - 1]):
                open_.pop().last = len(main) - 1
            for r in path[len(open_):]:
                frame = Frame(r, len(main), len(main), len(open_) + 1)
                open_.append(frame)
                self.frames.append(frame)
                main.append(self.visit_Roster(r))
                local.append(())  # set below: what every question in it shares
                terms.append([])
            if name is not None:
                self.ids[item.name] = name
                main.append(self.visit(rv.written[name], rv.guard(s)))
                conds = rv.terms(s, ("if", "else", "ask"))
            else:
                main.append(self.visit(item, s.guard))
                conds = [expr for expr, origin, _ in s.terms if origin in ("if", "else", "ask")]
            local.append(tuple(describe(c) for c in conds))
            terms.append(conds)
        while open_:
            open_.pop().last = len(main) - 1
        for frame in self.frames:
            # the loop is entered under the conditions all its questions share
            # that read nothing asked in a roster
            inner = [k for j, k in enumerate(local[frame.header + 1 : frame.last + 1], frame.header + 1)
                     if main[j].kind != "roster"]
            words_of = {describe(t): t for j in range(frame.header + 1, frame.last + 1) for t in terms[j]}
            local[frame.header] = tuple(
                k for k in (inner[0] if inner else ())
                if all(k in key for key in inner[1:]) and not set(expr_refs(words_of[k])) & set(rv.path)
            )
        closing = self._closing_text(spec, lang)
        main.append(Node("done", "done", wrap(closing or w["done"], WRAP, 2)))
        local.append(())

        # option routes: goto and end
        routed: set[str] = set()
        for s in shown:
            item = s.item
            if not isinstance(item, m.Question):
                continue
            source = self.ids.get(item.name, item.name)
            by_goto: dict[str, list[int]] = {}
            for o in low.question_options(item):
                if o.goto:
                    by_goto.setdefault(self.ids.get(o.goto, o.goto), []).append(o.code)
                if o.end is not None:
                    disposition = dispositions.get(o.end)
                    end_id = f"end_{source}_{o.code}"
                    text = f"{w['end']} {o.end}" + (f": {text_of(disposition, lang)}" if disposition else "")
                    ends.append(Node(end_id, "end", wrap(text, 36, 2)))
                    edges.append(Edge(source, end_id, describe(code_in(source, [o.code])), "end"))
                    routed.add(source)
            for target, codes in by_goto.items():
                edges.append(Edge(source, target, describe(code_in(source, codes)), "skip"))
                routed.add(source)

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

        routes = len(edges)  # the option routes above: a goto out of a roster leaves its loop
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
        if self.frames:
            self._loops(main, edges, routes)
        self.main_ids = [n.id for n in main]
        return main + ends, edges

    def _loops(self, main: list[Node], edges: list[Edge], routes: int) -> None:
        """A roster as one loop: its header leaves for what follows it when every
        iteration is done; an edge leaving its body goes back to the header instead
        (the innermost roster's, so a nested roster's "done" goes to the next
        iteration of the outer one). An option's goto (the first ``routes`` edges)
        is left as it is: one out of the roster leaves the loop."""
        rw = roster_words(self.ctx.main_language)
        for f in self.frames:
            edges.append(Edge(main[f.header].id, main[f.last + 1].id, rw["done"], "skip"))
        row = {n.id: k for k, n in enumerate(main)}
        for e in edges[routes:]:
            if e.source not in row or e.target not in row:
                continue
            a, b = row[e.source], row[e.target]
            around = [f for f in self.frames if f.header < a <= f.last < b]
            if not around:
                continue
            f = max(around, key=lambda f: f.header)
            nxt = f"{rw['next']} {fill_plain('{' + f.roster.name + '}')}"
            e.label = f"{e.label}, {nxt}" if e.label and e.label != rw["done"] else nxt
            e.target, e.kind = main[f.header].id, "loop"

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

    def visit_Roster(self, r: m.Roster) -> Node:
        """A roster's header: its title, then "For hver <CHILD> (1 til c1, høyst 10)"."""
        lang = self.ctx.main_language
        title = wrap(fill_plain(text_of(r.label, lang)), WRAP, 1)
        loop = wrap(fill_plain(loop_text(r, lang, self.describe)), WRAP, 2)
        return Node(f"roster_{r.name}", "roster", title + loop)

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
        # rosters: each loop's line right of the column (an inner one nearer), the
        # loops' labels right of them all; ends move right by as much
        frames = self.frames
        depth = max([f.depth for f in frames] + [0])
        loops = [e for e in edges if e.kind == "loop"]
        loop_w = 0
        if frames:
            loop_w = LOOP_W * depth + 8 + max([int(len(e.label) * LABEL_CHAR_W) for e in loops] + [0]) + 12

        def loop_x(f: Frame) -> int:
            return x0 + BOX_W + 12 + LOOP_W * (depth - f.depth)

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
                ex = x0 + BOX_W + loop_w + end_gap
                pos[end.id] = (ex, ey, END_W, eh)
                end_boxes.append({"node": end, "x": ex, "y": ey, "w": END_W, "h": eh})
                ey += eh + 8
            y += row_h + GAP
        height = y - GAP + 20
        width = x0 + BOX_W + loop_w + (end_gap + END_W + 20 if end_boxes else 40)
        header_of = {main[f.header].id: f for f in frames}
        frame_boxes = []
        for f in frames:
            k = depth - f.depth
            _, top, _, _ = pos[main[f.header].id]
            _, ly, _, lh = pos[main[f.last].id]
            left = x0 - 6 - 4 * k
            frame_boxes.append({"x": left, "y": top - 6 - 2 * k, "w": loop_x(f) + 6 - left,
                                "h": ly + lh + 6 + 4 * k - (top - 6 - 2 * k)})

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
                bend = sx + sw + 20 + loop_w
                d = f"M{sx + sw},{y1} L{bend},{y1} L{bend},{y2} L{tx},{y2}"
                paths.append({"d": d, "kind": e.kind, "label": e.label, "lx": tx - 8, "ly": y2 - 4, "anchor": "end"})
            elif e.kind == "loop":
                lx = loop_x(header_of[e.target])
                y1 = sy + sh - 8
                y2 = ty + th // 2
                d = f"M{sx + sw},{y1} L{lx},{y1} L{lx},{y2} L{tx + BOX_W},{y2}"
                paths.append({"d": d, "kind": e.kind, "label": e.label,
                              "lx": x0 + BOX_W + 12 + LOOP_W * depth + 8, "ly": y2 + 14, "anchor": "start"})
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
            "frames": frame_boxes,
            "line_h": LINE_H,
            "pad": PAD,
            "title": text_of(self.ctx.spec.title, self.ctx.main_language),
        }

    # ------------------------------------------------------------ Mermaid

    def mermaid(self, nodes: list[Node], edges: list[Edge]) -> str:
        lines = ["%% " + _mm_escape(text_of(self.ctx.spec.title, self.ctx.main_language)), "flowchart TD"]
        shapes = {"start": ('(["', '"])'), "done": ('(["', '"])'), "end": ('[/"', '"/]'),
                  "question": ('["', '"]'), "grid": ('[["', '"]]'), "roster": ('{{"', '"}}')}
        # a roster is a subgraph around its header and its questions
        opens = {f.header: f for f in self.frames}
        closes = [f.last for f in self.frames]
        indent = "  "
        for k, n in enumerate(nodes):
            if k in opens:
                r = opens[k].roster
                lines.append(f'{indent}subgraph r_{r.name} ["{_mm_escape(text_of(r.label, self.ctx.main_language))}"]')
                indent += "  "
            open_, close = shapes[n.kind]
            text = "<br>".join(_mm_escape(line) for line in n.lines + n.guard)
            lines.append(f"{indent}n_{n.id}{open_}{text}{close}")
            for _ in range(closes.count(k)):
                indent = indent[:-2]
                lines.append(f"{indent}end")
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
