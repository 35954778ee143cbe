"""Find, load and validate the pipeline YAML.

Loading composes the YAML into nodes (which keep their line numbers), then walks them
once, collecting every problem instead of stopping at the first: the user fixes the file
in one pass. Only plain scalars, lists and mappings are accepted; no object is constructed.
"""

from __future__ import annotations

import os
import posixpath
import re
from decimal import Decimal
from pathlib import Path

import yaml

from pipecli.errors import InvalidConfig, NotFound, Problem
from pipecli.money import check_currency, parse_rate
from pipecli.models import REQUIRABLE_FIELDS, Pipeline, Stage, Workspace

DEFAULT_NAME = "pipeline.yaml"
MAX_BYTES = 1_000_000
KINDS = ("b2b", "b2c")
GROUPS = ("tofu", "mofu", "bofu")
OUTCOMES = ("won", "lost")
STORE_SUFFIXES = {".csv": "csv", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq",
                                                   "map")}

PIPELINE_KEYS = ("name", "label", "kind", "currency", "rates", "store", "store_outside",
                 "stages", "lost_reasons", "next_step", "costs", "qualified_stage")
TOP_KEYS_MULTI = ("store", "store_outside", "currency", "rates", "costs", "pipelines")
STAGE_KEYS = ("key", "label", "probability", "group", "rot_days", "requires", "sla_hours",
              "handoff", "next_step", "outcome")
NEXT_STEP_RULES = ("required", "optional")


def find_pipeline_file(explicit: str | None = None, start: Path | None = None) -> Path:
    """The pipeline file: --file / PIPE_FILE, else pipeline.yaml here or in a parent folder."""
    chosen = explicit or os.environ.get("PIPE_FILE")
    if chosen:
        path = Path(chosen).expanduser()
        if path.is_dir():
            path = path / DEFAULT_NAME
        if not path.is_file():
            raise NotFound(f"pipeline file {path} does not exist")
        return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_NAME
        if candidate.is_file():
            return candidate
    raise NotFound(f"no {DEFAULT_NAME} in {here} or any parent folder; run `pipe init` "
                   f"or pass --file")


def load_workspace(path: Path) -> Workspace:
    """Load and validate a pipeline file; raises InvalidConfig listing every problem."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InvalidConfig([Problem(str(path), 0, f"the file is {size:,} bytes; a pipeline "
                                                     f"definition is at most {MAX_BYTES:,}")])
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidConfig([Problem(str(path), 0, f"not UTF-8 text ({e.reason} at byte "
                                                 f"{e.start})")]) from None
    except OSError as e:
        raise InvalidConfig([Problem(str(path), 0, f"cannot read the file: {e.strerror}")]) \
            from None
    return parse_workspace(text, path)


def parse_workspace(text: str, path: Path) -> Workspace:
    """Validate YAML text as a pipeline file located at path."""
    walker = _Walker(str(path))
    try:
        root = yaml.compose(text, Loader=_loader_class())
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 0
        message = f"YAML syntax error: {e.problem}"
        if e.context and e.context_mark and e.context_mark.line + 1 != line:
            message += f" ({e.context} on line {e.context_mark.line + 1})"
        raise InvalidConfig([Problem(str(path), line, message)]) from None
    except yaml.YAMLError as e:
        raise InvalidConfig([Problem(str(path), 0, f"YAML error: {e}")]) from None
    if root is None:
        raise InvalidConfig([Problem(str(path), 1, "the file is empty")])
    workspace = walker.workspace(root, path)
    if walker.problems:
        raise InvalidConfig(sorted(walker.problems, key=lambda p: p.line))
    return workspace


def _loader_class():
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Walker:
    """Turns composed YAML nodes into a Workspace, recording problems as it goes."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []
        self._handoffs: list = []  # (node, where, (pipeline, stage)): checked once all load
        self._constructor = yaml.constructor.SafeConstructor()

    def problem(self, node, message: str) -> None:
        found = Problem(self.path, node.start_mark.line + 1, message)
        if found not in self.problems:  # top-level rates are checked once per pipeline
            self.problems.append(found)

    def plain(self, node, where: str) -> bool:
        """False (with a problem) for a node carrying a tag other than YAML's plain types."""
        if node.tag in _PLAIN_TAGS:
            return True
        self.problem(node, f"{where} has an unsupported tag {node.tag!r}; only plain text, "
                           f"numbers, lists and mappings are allowed")
        return False

    # -- node helpers --------------------------------------------------------------------
    def mapping(self, node, where: str, allowed: tuple[str, ...]) -> dict | None:
        """{key: (key_node, value_node)} of a mapping; flags duplicates and unknown keys."""
        if not self.plain(node, where):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{where} must be a mapping of keys to values")
            return None
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, f"{where} has a key that is not plain text")
                continue
            key = key_node.value
            if key in out:
                self.problem(key_node, f"{where} has the key {key!r} twice")
            elif key not in allowed:
                self.problem(key_node, f"{where} has an unknown key {key!r} "
                                       f"(allowed: {', '.join(allowed)})")
            else:
                out[key] = value_node
        return out

    def scalar(self, node, where: str):
        if not self.plain(node, where):
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{where} must be a single value, not a list or mapping")
            return None
        try:
            return self._constructor.construct_object(node)
        except yaml.YAMLError:
            self.problem(node, f"{where} has an unsupported tag {node.tag!r}")
            return None

    def text(self, node, where: str, pattern: re.Pattern | None = None, hint: str = ""):
        value = self.scalar(node, where)
        if value is None:
            if isinstance(node, yaml.ScalarNode) and node.tag in _PLAIN_TAGS:
                self.problem(node, f"{where} must not be empty")
            return None
        if not isinstance(value, str):
            value = str(value) if isinstance(value, (int, float)) and pattern is None else value
        if not isinstance(value, str) or not value.strip():
            self.problem(node, f"{where} must be text")
            return None
        if pattern and not pattern.match(value):
            self.problem(node, f"{where} {value!r} is not valid{hint}")
            return None
        return value

    def integer(self, node, where: str, low: int):
        value = self.scalar(node, where)
        if isinstance(value, bool) or not isinstance(value, int):
            if value is not None or (isinstance(node, yaml.ScalarNode)
                                     and node.tag in _PLAIN_TAGS):
                self.problem(node, f"{where} must be a whole number")
            return None
        if value < low:
            self.problem(node, f"{where} must be at least {low}")
            return None
        return value

    def text_list(self, node, where: str) -> list[tuple[str, object]]:
        if not self.plain(node, where):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{where} must be a list")
            return []
        out = []
        for item in node.value:
            value = self.text(item, f"an item of {where}")
            if value is not None:
                out.append((value, item))
        return out

    # -- the schema ----------------------------------------------------------------------
    def workspace(self, root, path: Path) -> Workspace | None:
        if isinstance(root, yaml.MappingNode) and any(
                isinstance(k, yaml.ScalarNode) and k.value == "pipelines" for k, _ in root.value):
            top = self.mapping(root, "the file", TOP_KEYS_MULTI) or {}
            if "pipelines" not in top:
                return None
            default_currency = self.currency(top["currency"]) if "currency" in top else None
            default_rates = self.rates(top["rates"]) if "rates" in top else {}
            default_costs = self.costs_path(top["costs"]) if "costs" in top else None
            items = top["pipelines"]
            if not self.plain(items, "pipelines"):
                return None
            if not isinstance(items, yaml.SequenceNode) or not items.value:
                self.problem(items, "pipelines must be a non-empty list of pipelines")
                return None
            pipelines = [self.pipeline(item, f"pipeline {i + 1}", default_currency,
                                       default_rates, in_multi=True,
                                       default_costs=default_costs)
                         for i, item in enumerate(items.value)]
            seen: set[str] = set()
            for item in items.value:
                name = next((v.value for k, v in getattr(item, "value", ())
                             if isinstance(item, yaml.MappingNode) and k.value == "name"
                             and isinstance(v, yaml.ScalarNode)), None)
                if name and name.lower() in seen:
                    self.problem(item, f"pipeline name {name!r} is used twice")
                elif name:
                    seen.add(name.lower())
        else:
            top = self.mapping(root, "the file", PIPELINE_KEYS) or {}
            pipelines = [self.pipeline(root, "the pipeline", None, {}, in_multi=False,
                                       fields=top)]
        store_path = self.store(top, root, path)
        if all(pipelines):
            self.check_handoffs(pipelines)
        if self.problems or store_path is None or not all(pipelines):
            return None
        return Workspace(path=path, store_path=store_path, pipelines=tuple(pipelines))

    def check_handoffs(self, pipelines) -> None:
        by_name = {p.name: p for p in pipelines}
        for node, where, (name, stage) in self._handoffs:
            target = by_name.get(name)
            if target is None:
                self.problem(node, f"{where} hands off to pipeline {name!r}, which this file "
                                   f"does not define")
            elif stage is not None and (target.stage(stage) is None
                                        or target.stage(stage).outcome):
                self.problem(node, f"{where} hands off to {name}:{stage}, which is not an "
                                   f"open stage of {name!r}")

    def store(self, top: dict, root, path: Path) -> Path | None:
        if "store" not in top:
            self.problem(root, "the file has no `store:` (e.g. store: deals)")
            return None
        store = self.text(top["store"], "store")
        if store is None:
            return None
        suffix = Path(store).suffix.lower()
        if suffix and suffix not in STORE_SUFFIXES or store.strip("/. ") == "":
            self.problem(top["store"], f"store {store!r} must be a folder name (the event "
                                       f"log, e.g. deals) or end in .sqlite / .db (SQLite "
                                       f"store)")
            return None
        located = path.parent / store
        outside = not located.resolve().is_relative_to(path.parent.resolve())
        allowed = "store_outside" in top and self.scalar(top["store_outside"],
                                                        "store_outside") is True
        if outside and not allowed:
            self.problem(top["store"], f"store {store!r} is outside the folder of "
                                       f"{path.name}; add `store_outside: true` if that is "
                                       f"intended")
            return None
        return located

    def pipeline(self, node, where: str, default_currency, default_rates, *, in_multi: bool,
                 fields=None, default_costs: str | None = None):
        allowed = tuple(k for k in PIPELINE_KEYS if k not in ("store", "store_outside")) \
            if in_multi else PIPELINE_KEYS
        f = fields if fields is not None else self.mapping(node, where, allowed)
        if f is None:
            return None
        for required in ("name", "kind", "stages"):
            if required not in f:
                self.problem(node, f"{where} has no `{required}:`")
        if "currency" not in f and not default_currency:
            self.problem(node, f"{where} has no `currency:` (an ISO 4217 code such as USD)")
        name = self.text(f["name"], "name", _NAME, " (use lowercase letters, digits, - and _)") \
            if "name" in f else None
        label = self.text(f["label"], "label") if "label" in f else name
        kind = self.text(f["kind"], "kind") if "kind" in f else None
        if kind is not None and kind not in KINDS:
            self.problem(f["kind"], f"kind {kind!r} must be one of: {', '.join(KINDS)}")
        currency = self.currency(f["currency"]) if "currency" in f else default_currency
        # Top-level rates are into the file's currency: a pipeline counting in another one
        # does not take them (they would be read as rates into its own), only its own.
        inherited = default_rates if currency == default_currency else {}
        rates = {**inherited, **(self.rates(f["rates"]) if "rates" in f else {})}
        for code, (rate, key_node) in list(rates.items()):
            if code == currency:  # the identity says nothing: dropped, unless it is wrong
                del rates[code]
                if rate != 1:
                    self.problem(key_node, f"rates give {code} as {rate}, but {code} is the "
                                           f"currency of {name or where}; its rate can only "
                                           f"be 1")
        reasons = tuple(v for v, _ in self.text_list(f["lost_reasons"], "lost_reasons")) \
            if "lost_reasons" in f else ()
        stages = self.stages(f["stages"]) if "stages" in f else None
        next_rule = self.next_step_rule(f["next_step"], "next_step") \
            if "next_step" in f else "optional"
        costs = self.costs_path(f["costs"]) if "costs" in f else default_costs
        qualified = self.qualified_stage(f["qualified_stage"], stages, name or where) \
            if "qualified_stage" in f else None
        if None in (name, kind, currency, stages, next_rule) or kind not in KINDS:
            return None
        return Pipeline(name=name, label=label or name, kind=kind, currency=currency,
                        stages=stages, lost_reasons=reasons,
                        rates=tuple((code, rates[code][0]) for code in sorted(rates)),
                        next_step_required=next_rule == "required", costs=costs,
                        qualified_stage=qualified)

    def costs_path(self, node) -> str | None:
        """`costs:` — the costs file of `pipe costs`, a .csv path relative to the pipeline
        file's folder that stays inside it (the workspace may be a folder someone sent:
        it cannot point pipe at files elsewhere). Returned normalized (`./a/../c.csv` is
        `c.csv`); symbolic links on the way are refused when the file is read."""
        from pipecli.values import CONTROL

        text = self.text(node, "costs")
        if text is None:
            return None
        folder = f"the folder of {Path(self.path).name}"
        if CONTROL.search(text) or "\\" in text:
            self.problem(node, "costs contains control characters or a backslash; write the "
                               "path with / (e.g. marketing/costs.csv)")
            return None
        if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", text):
            self.problem(node, f"costs {text!r} must be a path relative to {folder} "
                               f"(e.g. costs.csv), not an absolute one")
            return None
        normal = posixpath.normpath(text)
        if normal == ".." or normal.startswith("../"):
            self.problem(node, f"costs {text!r} leads outside {folder}; keep the costs file "
                               f"inside it")
            return None
        if not normal.lower().endswith(".csv"):
            self.problem(node, f"costs {text!r} must name a .csv file (columns period, "
                               f"source, amount)")
            return None
        return normal

    def qualified_stage(self, node, stages, pipeline: str) -> str | None:
        """`qualified_stage:` — the open stage at which a lead counts as qualified."""
        key = self.text(node, "qualified_stage")
        if key is None or stages is None:
            return None
        stage = next((s for s in stages if s.key == key), None)
        if stage is None or stage.outcome:
            opens = ", ".join(s.key for s in stages if s.outcome is None)
            self.problem(node, f"qualified_stage {key!r} is not an open stage of {pipeline!r} "
                               f"(open stages: {opens})")
            return None
        return key

    def next_step_rule(self, node, where: str) -> str | None:
        """`next_step: required` or `optional` (whether an open deal without one needs
        attention)."""
        rule = self.text(node, where)
        if rule is not None and rule not in NEXT_STEP_RULES:
            self.problem(node, f"{where} {rule!r} must be required or optional (a stage may "
                               f"also give a default step: {{text: ..., due: +2d}})")
            return None
        return rule

    def stage_next_step(self, node, where: str) -> tuple[bool | None, tuple | None]:
        """A stage's `next_step:` — required, optional, or a default step {text, due} that a
        deal entering the stage without one gets (and that makes it required)."""
        if isinstance(node, yaml.MappingNode):
            f = self.mapping(node, where, ("text", "due")) or {}
            if "text" not in f:
                self.problem(node, f"{where} needs a `text:` (the step, e.g. \"Send the "
                                   f"proposal\")")
                return None, None
            text = self.step_text(f["text"], f"{where} text")
            due = self.text(f["due"], f"{where} due") if "due" in f else "today"
            if due is not None:
                from datetime import datetime, timezone

                from pipecli import dates
                from pipecli.models import Due

                try:
                    Due(dates.parse(due, datetime(2026, 1, 1, tzinfo=timezone.utc)).date()
                        ).checked()
                except ValueError:  # a DateError, or a day pipe cannot keep
                    self.problem(f["due"], f"{where} due {due!r} is not a date word or offset "
                                           f"(e.g. +2d, +1w, tomorrow, friday)")
                    return None, None
            return (True, (text, due)) if text else (None, None)
        rule = self.next_step_rule(node, where)
        return (None if rule is None else rule == "required"), None

    def step_text(self, node, where: str) -> str | None:
        """A default next step's text, held to what `--next` takes: it is written into
        deals' history as it is, and a log line pipe wrote must read back (no control
        characters — terminal escapes —, at most MAX_TEXT characters)."""
        from pipecli.store.codec import MAX_TEXT
        from pipecli.values import CONTROL

        text = self.text(node, where)
        if text is None:
            return None
        text = text.strip()
        if CONTROL.search(text):
            self.problem(node, f"{where} contains control characters (such as escape codes "
                               f"or line breaks); use plain text")
            return None
        if len(text) > MAX_TEXT:
            self.problem(node, f"{where} is {len(text)} characters long; the limit is "
                               f"{MAX_TEXT}")
            return None
        return text

    def stages(self, node) -> tuple[Stage, ...] | None:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, "stages must be a non-empty list of stages")
            return None
        stages, seen, ok = [], {}, True
        first_closing = None
        for i, item in enumerate(node.value):
            stage = self.stage(item, i + 1)
            if stage is None:
                ok = False
                continue
            if stage.key in seen:
                self.problem(item, f"stage key {stage.key!r} is used twice (first on line "
                                   f"{seen[stage.key]})")
                ok = False
            seen.setdefault(stage.key, item.start_mark.line + 1)
            if stage.outcome and first_closing is None:
                first_closing = stage
            if stage.outcome is None and first_closing is not None:
                self.problem(item, f"open stage {stage.key!r} is listed after closing stage "
                                   f"{first_closing.key!r}; list the open stages first")
                ok = False
            stages.append(stage)
        if ok:
            outcomes = {s.outcome for s in stages}
            if "won" not in outcomes:
                self.problem(node, "stages need a won stage (a stage with `outcome: won`)")
                ok = False
            if "lost" not in outcomes:
                self.problem(node, "stages need a lost stage (a stage with `outcome: lost`)")
                ok = False
            if not any(s.outcome is None for s in stages):
                self.problem(node, "stages need at least one open stage (without `outcome:`)")
                ok = False
        return tuple(stages) if ok else None

    def stage(self, node, number: int) -> Stage | None:
        where = f"stage {number}"
        f = self.mapping(node, where, STAGE_KEYS)
        if f is None:
            return None
        before = len(self.problems)
        for required in ("key", "probability"):
            if required not in f:
                self.problem(node, f"{where} has no `{required}:`")
        key = self.text(f["key"], f"{where} key", _KEY,
                        " (use lowercase letters, digits and _, starting with a letter)") \
            if "key" in f else None
        where = f"stage {key!r}" if key else where
        label = self.text(f["label"], f"{where} label") if "label" in f else key
        probability = self.probability(f["probability"], where) if "probability" in f else None
        group = self.text(f["group"], f"{where} group") if "group" in f else None
        if group is not None and group not in GROUPS:
            self.problem(f["group"], f"{where} group {group!r} must be one of: "
                                     f"{', '.join(GROUPS)}")
        outcome = self.text(f["outcome"], f"{where} outcome") if "outcome" in f else None
        if outcome is not None and outcome not in OUTCOMES:
            self.problem(f["outcome"], f"{where} outcome {outcome!r} must be won or lost")
        rot_days = self.integer(f["rot_days"], f"{where} rot_days", 1) \
            if "rot_days" in f else None
        sla_hours = self.integer(f["sla_hours"], f"{where} sla_hours", 1) \
            if "sla_hours" in f else None
        requires = []
        for value, item in (self.text_list(f["requires"], f"{where} requires")
                            if "requires" in f else []):
            if value not in REQUIRABLE_FIELDS:
                self.problem(item, f"{where} requires unknown field {value!r} "
                                   f"(fields: {', '.join(REQUIRABLE_FIELDS)})")
            requires.append(value)
        handoff = None
        if "handoff" in f:
            target = self.mapping(f["handoff"], f"{where} handoff", ("pipeline", "stage"))
            if target is not None and "pipeline" not in target:
                self.problem(f["handoff"], f"{where} handoff needs a `pipeline:`")
            elif target is not None:
                handoff = (self.text(target["pipeline"], f"{where} handoff pipeline"),
                           self.text(target["stage"], f"{where} handoff stage")
                           if "stage" in target else None)
                self._handoffs.append((f["handoff"], where, handoff))
        needs_next, default_next = self.stage_next_step(f["next_step"], f"{where} next_step") \
            if "next_step" in f else (None, None)
        if outcome in OUTCOMES:
            for name in ("rot_days", "sla_hours", "requires", "handoff", "next_step"):
                if name in f:
                    self.problem(f[name], f"{where} is a closing stage and cannot have {name}")
        if len(self.problems) > before or key is None or probability is None:
            return None
        return Stage(key=key, label=label or key, probability=probability, group=group,
                     rot_days=rot_days, requires=tuple(requires), sla_hours=sla_hours,
                     outcome=outcome, handoff=handoff, needs_next_step=needs_next,
                     default_next_step=default_next)

    def probability(self, node, where: str) -> Decimal | None:
        value = self.scalar(node, f"{where} probability")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if value is not None or (isinstance(node, yaml.ScalarNode)
                                     and node.tag in _PLAIN_TAGS):
                self.problem(node, f"{where} probability must be a number from 0 to 100")
            return None
        number = Decimal(str(value))
        if not number.is_finite() or not 0 <= number <= 100:
            self.problem(node, f"{where} probability {value} must be between 0 and 100")
            return None
        return number

    def currency(self, node, where: str = "currency") -> str | None:
        """An ISO 4217 code pipe can keep deals in, upper-cased (money.check_currency)."""
        value = self.text(node, where)
        try:
            return check_currency(value, what=where) if value is not None else None
        except ValueError as e:
            self.problem(node, str(e))
            return None

    def rates(self, node, where: str = "rates") -> dict:
        """{CODE: (rate, key node)}: 1 unit of CODE is worth `rate` units of the pipeline's
        currency, read from the scalar's text (never through a float)."""
        out: dict = {}
        if self.plain(node, where) and not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{where} must be a mapping of currency codes to rates "
                               f"(e.g. EUR: 1.0850)")
        for key_node, value_node in node.value if isinstance(node, yaml.MappingNode) else ():
            code = self.currency(key_node, f"{where} key")
            if code in out:
                self.problem(key_node, f"{where} give {code} twice")
            elif code and self.text(value_node, f"the rate of {code}") is not None:
                try:
                    out[code] = (parse_rate(value_node.value, what=f"the rate of {code}"),
                                 key_node)
                except ValueError as e:
                    self.problem(value_node, str(e))
        return out
