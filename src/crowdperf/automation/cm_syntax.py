"""Parse MLCommons CM's command line (``cm <action> <target> [tags] --key=value ...``) into a typed
:class:`CmCommand`. CM's grammar (``cmind/cli.py::parse``): ``--key=value``, bare ``--flag`` (true),
``--adr.<dep>.<key>=value`` (settings for a named dependency), ``--env.KEY=value``; tags come from
``--tags=a,b,_var`` or from a quoted positional ``"get cuda"``; ``_x`` tags are variations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crowdperf.errors import UsageError


@dataclass(frozen=True)
class CmCommand:
    action: str  # run | show | find | rm | pull
    target: str  # script | cache | repo
    tags: tuple[str, ...] = ()
    variations: tuple[str, ...] = ()  # without the leading "_"
    flags: Mapping[str, str] = field(default_factory=dict)  # key with "-" -> "_": value ("true" for bare)
    adr: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    positionals: tuple[str, ...] = ()

    def tag_text(self) -> str:
        return ",".join((*self.tags, *("_" + v for v in self.variations)))

    def flag(self, *names: str) -> str | None:
        for name in names:
            if name in self.flags:
                return self.flags[name]
        return None


SHORT_FLAGS = {"-f": "force", "-v": "verbose", "-s": "silent", "-j": "json"}


def _split_tags(text: str) -> list[str]:
    return [w.strip() for w in text.replace(" ", ",").split(",") if w.strip()]


def parse_cm(argv: Sequence[str]) -> CmCommand:
    args = list(argv)
    if args and args[0] in {"cm", "cmr", "mlc", "mlcr"}:
        shortcut = args.pop(0)
        if shortcut in {"cmr", "mlcr"}:
            args[:0] = ["run", "script"]
    if len(args) < 2 or args[0].startswith("-") or args[1].startswith("-"):
        raise UsageError(
            "expected `crowdperf cm <action> <target> ...`",
            hint='e.g. crowdperf cm run script "get cuda" --out=json',
        )
    action, target, rest = args[0], args[1], args[2:]
    words: list[str] = []
    flags: dict[str, str] = {}
    adr: dict[str, dict[str, str]] = {}
    env: dict[str, str] = {}
    positionals: list[str] = []
    for arg in rest:
        if arg in SHORT_FLAGS:
            flags[SHORT_FLAGS[arg]] = "true"
        elif arg.startswith("--"):
            key, has_value, value = arg[2:].partition("=")
            value = value if has_value else "true"
            if key.startswith("adr."):
                dep, _, sub = key[4:].partition(".")
                adr.setdefault(dep, {})[sub.replace("-", "_")] = value
            elif key.startswith("env."):
                env[key[4:]] = value
            elif key == "tags":
                words.extend(_split_tags(value))
            else:
                flags[key.replace("-", "_")] = value
        elif arg.startswith("-"):
            raise UsageError(f"CM option {arg!r} is not understood", hint="CM options look like --key=value")
        elif target in {"script", "cache"}:
            words.extend(_split_tags(arg))
        else:
            positionals.append(arg)
    tags = tuple(dict.fromkeys(w for w in words if not w.startswith("_")))
    variations = tuple(dict.fromkeys(w[1:] for w in words if w.startswith("_")))
    return CmCommand(action, target, tags, variations, flags, adr, env, tuple(positionals))
