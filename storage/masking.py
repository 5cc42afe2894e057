"""Personal data masked before free text is stored or logged.

E-mail addresses are redacted; phone numbers keep their last 3 digits and card numbers their last 4,
the masking practice of the compliance template in the seed ``004_2f2c4376859c72f8.txt``.
"""

import logging
import re

# Bounded parts (RFC 5321: 64-char local part, 63-char labels) and a start only where a local part can
# begin, so the engine tries a bounded number of steps at each position: linear in the text's length.
# Unbounded `[\w.+-]+@` backtracked over the rest of the text at every position (quadratic: a 1 MiB
# description held the database's write lock for hours).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# 13 to 19 digits, optionally grouped by spaces or dashes.
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# An optional +country code, then 7 to 12 more digits with spaces, dots, dashes or brackets between.
# Not ISO dates (2025-09-15), nor digits inside a word such as a hex model version (0123456789ab): every log
# record is masked, and those name versions and ids.
PHONE = re.compile(r"(?<![\w])(?!\d{4}-\d{2}-\d{2}(?!\d))\+?\(?\d(?:[\s.()-]{0,2}\d){6,13}(?![\w])")


def _keep_last(match, keep, label):
    digits = re.sub(r"\D", "", match.group(0))
    return f"[{label} ending {digits[-keep:]}]"


def mask(text):
    """``text`` with e-mails redacted and phone and card numbers cut to their last digits."""
    if not text:
        return text
    if "@" in text:
        text = EMAIL.sub("[email redacted]", text)
    text = CARD.sub(lambda m: _keep_last(m, 4, "card"), text)
    return PHONE.sub(lambda m: _keep_last(m, 3, "phone"), text)


def mask_record(record):
    """Mask ``record`` in place: its message, and its traceback and stack, which handlers format later."""
    try:
        record.msg = mask(record.getMessage())
        record.args = None
    except (TypeError, ValueError):  # a malformed call to the logger: leave it for the handler to report
        return record
    if record.exc_info and not record.exc_text:
        # Formatted now so the masked text is what every handler prints (Formatter reuses exc_text).
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


class MaskingFilter(logging.Filter):
    """A logging filter that masks each record's message before any handler writes it."""

    def filter(self, record):
        mask_record(record)
        return True


def install():
    """Mask every log record this process creates, whatever its logger: the app's, the classifier's, the
    delivery worker's, werkzeug's and gunicorn's (a filter on one logger misses records of the others, and
    exception texts that quote the input). Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks", False):
        return

    def masked_record(*args, **kwargs):
        return mask_record(factory(*args, **kwargs))

    masked_record.masks = True
    logging.setLogRecordFactory(masked_record)
