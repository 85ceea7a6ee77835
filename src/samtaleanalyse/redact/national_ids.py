"""National identity numbers: Norwegian fødselsnummer and D-number (mod 11, stdnum.no.fodselsnummer),
Swedish personnummer and samordningsnummer (Luhn over a date), Danish CPR (a date, with or without the mod-11
check Denmark gave up in 2007)."""
from __future__ import annotations

import datetime
import re

from stdnum import luhn
from stdnum.dk import cpr
from stdnum.no import fodselsnummer

from .context import NEUTRAL
from .numbers import Scan
from .spans import Candidate

_ID = re.compile(r"(?<!\d)(?P<a>\d{6,8})(?P<sep>[-+ ]?)(?P<b>\d{4,5})(?!\d)")


def find_national_ids(scan: Scan) -> list[Candidate]:
    found = []
    for m in _ID.finditer(scan.text):
        start, end = m.span()
        if not scan.plain_number(start, end):
            continue
        near = scan.context.nearest(start, end)
        if near not in (None, NEUTRAL, "national_id"):
            continue  # an order number, or one the context calls an account, card or phone number
        sep = m.group("sep")
        d = m.group("a") + m.group("b")
        if sep:
            shape = (len(m.group("a")), len(m.group("b")))
            if shape not in ((6, 5), (6, 4), (8, 4)):
                continue
        if near == "national_id":
            if _has_birth_date(d):
                found.append(Candidate(start, end, "national_id", True))
        elif _checked(d, sep):
            found.append(Candidate(start, end, "national_id"))
    return found


def _checked(d: str, sep: str) -> bool:
    if len(d) == 11:
        return fodselsnummer.is_valid(d)
    if len(d) == 12:
        return d[:2] in ("19", "20") and luhn.is_valid(d[2:]) and _se_date(d[2:], d[:2], "-") is not None
    if len(d) == 10:
        if luhn.is_valid(d) and _se_date(d, None, sep) is not None:
            return True
        # Danish CPR: the dash form with a real date is enough; without it, the old mod-11 check must hold.
        return _dk_date(d) is not None and (sep == "-" or cpr.checksum(d) == 0)
    return False


def _has_birth_date(d: str) -> bool:
    """For a number that a context word calls an ID: any reading of it as a birth date will do."""
    if len(d) == 11:
        dd, mm, yy = int(d[:2]) % 40, int(d[2:4]) % 40, int(d[4:6])
        return _real_date(1900 + yy, mm, dd) or _real_date(2000 + yy, mm, dd)
    if len(d) == 12:
        return _se_date(d[2:], d[:2], "-") is not None
    return len(d) == 10 and (_se_date(d, None, "-") is not None or _dk_date(d) is not None)


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _se_date(d10: str, century: str | None, sep: str) -> datetime.date | None:
    yy, mm, dd = int(d10[:2]), int(d10[2:4]), int(d10[4:6])
    if dd > 60:
        dd -= 60  # samordningsnummer
    today = datetime.date.today()
    if century:
        year = int(century) * 100 + yy
    else:
        year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
        if sep == "+":  # a hundred years old or more
            year -= 100
    try:
        born = datetime.date(year, mm, dd)
    except ValueError:
        return None
    return born if born <= today else None


def _dk_date(d10: str) -> datetime.date | None:
    try:
        born = cpr.get_birth_date(d10)
    except Exception:  # stdnum raises its ValidationError subclasses, and ValueError on odd digits
        return None
    return born if born <= datetime.date.today() else None
