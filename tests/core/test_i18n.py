import re
from pathlib import Path

from medreach.core.i18n import MESSAGES, message

SRC = Path(__file__).resolve().parents[2] / "src" / "medreach"


def test_every_raised_code_has_both_messages():
    raised = set()
    for path in SRC.rglob("*.py"):
        raised |= set(re.findall(r'AppError\(\s*\d+,\s*"([A-Z_]+)"', path.read_text(encoding="utf-8")))
    assert raised and raised <= set(MESSAGES), sorted(raised - set(MESSAGES))
    for code, (zh, en) in MESSAGES.items():
        assert zh and en, code


def test_messages_fill_their_parameters():
    assert message("OUT_OF_STOCK", "zh-CN", product="T-1") == "库存不足：T-1"
    assert message("LOGIN_TAKEN", "en", field="phone") == "This phone is already registered"
