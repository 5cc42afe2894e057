"""Talking to the SMTP server with the standard library: connecting, building each message, and what a
failure means for the next attempt."""

import email.utils
import smtplib
import ssl
from email.message import EmailMessage

SECURITY = ("starttls", "ssl", "none")


class SmtpSettingsError(ValueError):
    """An ``SMTP_*`` setting has a value the sender cannot use."""


def check_settings(config):
    """Refuse, at start-up, settings that would fail every e-mail.

    :raises SmtpSettingsError: naming the setting and the values it takes.
    """
    if not config.get("SMTP_HOST"):
        return
    if str(config["SMTP_SECURITY"]).lower() not in SECURITY:
        raise SmtpSettingsError(f"INTAKE_SMTP_SECURITY is {config.get('SMTP_SECURITY')!r}; use one of "
                                f"{', '.join(SECURITY)}.")
    try:
        port = int(config.get("SMTP_PORT"))
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise SmtpSettingsError(f"INTAKE_SMTP_PORT is {config.get('SMTP_PORT')!r}; use a TCP port number.")
    if "@" not in str(config.get("SMTP_FROM") or ""):
        raise SmtpSettingsError(f"INTAKE_SMTP_FROM is {config.get('SMTP_FROM')!r}; use an e-mail address.")


def domain(config):
    """The domain of the From address, for Message-IDs."""
    return str(config["SMTP_FROM"]).rsplit("@", 1)[-1] or "localhost"


def message_id(config, key):
    """A Message-ID fixed when the e-mail is queued, so a copy re-sent after a crash can be recognised."""
    return email.utils.make_msgid(idstring=key.replace(":", ".").replace("@", "."), domain=domain(config))


def connect(config):
    """An SMTP connection, secured and signed in as configured."""
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    timeout = float(config["SMTP_TIMEOUT_SECONDS"])
    security = str(config["SMTP_SECURITY"]).lower()
    if security == "ssl":
        conn = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = smtplib.SMTP(host, port, timeout=timeout)
        if security == "starttls":
            conn.starttls(context=ssl.create_default_context())
    if config.get("SMTP_USERNAME"):
        # Environment values are read as JSON where they parse: a numeric password arrives as a number.
        conn.login(str(config["SMTP_USERNAME"]), str(config.get("SMTP_PASSWORD") or ""))
    return conn


def build(row, config):
    """The message for one outbox row."""
    msg = EmailMessage()
    msg["From"] = config["SMTP_FROM"]
    msg["To"] = row["recipient"]
    msg["Subject"] = row["subject"]
    msg["Date"] = email.utils.formatdate(usegmt=True)
    msg["Message-ID"] = row["message_id"]
    # RFC 3834: auto-responders must not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    if row.get("case_id"):
        msg["X-Intake-Case"] = str(row["case_id"])
    msg.set_content(row["body"])
    return msg


def failure(exc):
    """``(error, permanent, connection_lost)`` for an exception from :func:`connect` or ``send_message``.

    Only a 5xx refusal of the message or its recipient is permanent; anything else (server down, 4xx,
    timeouts, TLS or sign-in trouble that a fixed setting cures) is retried.
    """
    if isinstance(exc, ValueError):
        return f"The message could not be built: {exc}", True, False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return f"Recipient refused (SMTP {', '.join(map(str, codes))}).", all(c >= 500 for c in codes), False
    if isinstance(exc, smtplib.SMTPDataError):
        return f"Message refused (SMTP {exc.smtp_code}).", exc.smtp_code >= 500, False
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"SMTP sign-in refused ({exc.smtp_code}): check INTAKE_SMTP_USERNAME and _PASSWORD.", False, True
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP server answered {exc.smtp_code}.", False, True
    if isinstance(exc, ssl.SSLError):
        return "TLS error: the SMTP server's certificate or handshake was refused.", False, True
    if isinstance(exc, TimeoutError):
        return "Timed out talking to the SMTP server.", False, True
    return "Connection failed: the SMTP server could not be reached or closed the connection.", False, True
