"""Numbers of `check`'s options: parsed the same way on the command line and in code."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from typing import Any


def finite_number(text: str, wanted: str) -> float:
    """Return `text` as a finite float; `wanted` says what to give instead.

    Raises:
        argparse.ArgumentTypeError: not a number, or not finite.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number: give {wanted}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number: give {wanted}")
    return value


def out_of_range(text: str, wanted: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{text!r} is out of range: give {wanted}")


def whole_number(text: str, wanted: str) -> int:
    """Return `text` as an int, 0 or more; `wanted` says what to give instead.

    Raises:
        argparse.ArgumentTypeError: not a whole number, or negative.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number: give {wanted}") from None
    if value < 0:
        raise out_of_range(text, wanted)
    return value


def validate(checks: Iterable[tuple[str, Any, Callable[[str], object]]]) -> None:
    """Run each (name, value, option parser) as the command line would, for callers in code.

    Raises:
        ValueError: the first value its parser refuses, named.
    """
    for name, value, parse in checks:
        try:
            parse(str(value))
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{name}: {exc}") from None
