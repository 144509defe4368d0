"""The built-in e-mail templates, keyed by Kratos' file layout (`<name>/<valid|invalid>/email.*.gotmpl`).

Texts follow Kratos' built-in templates. They are jinja2: variables carry Kratos' Go names
(`VerificationCode`, `RecoveryURL`, `ExpiresInMinutes`...). The HTML bodies extend `_layout.html`.
"""

from __future__ import annotations

_EXPIRES = "{% if ExpiresInMinutes %} This WHAT expires in {{ ExpiresInMinutes }} minutes.{% endif %}"
_CODE_HTML = '<p class="code"><strong style="font-size:1.6em;letter-spacing:.2em">{{ VAR }}</strong></p>'
_LINK_HTML = '<p><a href="{{ VAR }}">{{ VAR }}</a></p>'
_IGNORE = "If this was not you, do nothing."


def _layout() -> str:
    return """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{% block title %}{% endblock %}</title></head>
<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;line-height:1.5;color:#1f2328">
{% block content %}{% endblock %}
</body>
</html>
"""


def _html(title: str, content: str) -> str:
    return ('{% extends "_layout.html" %}{% block title %}' + title + "{% endblock %}\n{% block content %}\n"
            + content + "\n{% endblock %}\n")


def _code(name: str, subject: str, intro: str, var: str, what: str = "code", link: str = "") -> dict[str, str]:
    expires = _EXPIRES.replace("WHAT", what)
    text = intro + "\n\n{{ " + var + " }}\n"
    html = f"<p>{intro}</p>\n" + _CODE_HTML.replace("VAR", var)
    if link:
        text += "{% if " + link + " %}\nor clicking the following link:\n\n{{ " + link + " }}\n{% endif %}"
        html += ("\n{% if " + link + " %}<p>or clicking the following link:</p>\n"
                 + _LINK_HTML.replace("VAR", link) + "{% endif %}")
    text += f"\n{_IGNORE}{expires}\n"
    html += f"\n<p>{_IGNORE}{expires}</p>"
    return {
        f"{name}/email.subject.gotmpl": subject,
        f"{name}/email.body.plaintext.gotmpl": text,
        f"{name}/email.body.gotmpl": _html(subject, html),
    }


def _link(name: str, subject: str, intro: str, var: str) -> dict[str, str]:
    expires = _EXPIRES.replace("WHAT", "link")
    return {
        f"{name}/email.subject.gotmpl": subject,
        f"{name}/email.body.plaintext.gotmpl": intro + "\n\n{{ " + var + " }}\n\n" + _IGNORE + expires + "\n",
        f"{name}/email.body.gotmpl": _html(subject, f"<p>{intro}</p>\n" + _LINK_HTML.replace("VAR", var)
                                           + f"\n<p>{_IGNORE}{expires}</p>"),
    }


def _invalid(name: str, subject: str, paragraphs: tuple[str, ...]) -> dict[str, str]:
    return {
        f"{name}/email.subject.gotmpl": subject,
        f"{name}/email.body.plaintext.gotmpl": "\n\n".join(paragraphs) + "\n",
        f"{name}/email.body.gotmpl": _html(subject, "\n".join(f"<p>{p}</p>" for p in paragraphs)),
    }


_RECOVERY_UNKNOWN = (
    "Hi,",
    "you (or someone else) entered this email address when trying to recover access to an account.",
    "However, this email address is not on our database of registered users and therefore the attempt has failed.",
    "If this was you, check if you signed up using a different address.",
    "If this was not you, please ignore this email.",
)
_VERIFICATION_UNKNOWN = (
    "Hi,",
    "someone asked to verify this email address, but we were unable to find an account for this address.",
    "If this was you, check if you signed up using a different address.",
    "If this was not you, please ignore this email.",
)

TEMPLATES: dict[str, str] = {
    "_layout.html": _layout(),
    **_code("verification_code/valid", "Use code {{ VerificationCode }} to verify your account",
            "Verify your account with the following code:", "VerificationCode", "code / link", "VerificationURL"),
    **_invalid("verification_code/invalid", "Someone tried to verify this email address", _VERIFICATION_UNKNOWN),
    **_link("verification/valid", "Please verify your email address",
            "Verify your account by opening the following link:", "VerificationURL"),
    **_invalid("verification/invalid", "Someone tried to verify this email address", _VERIFICATION_UNKNOWN),
    **_code("recovery_code/valid", "Use code {{ RecoveryCode }} to recover access to your account",
            "Recover access to your account by entering the following code:", "RecoveryCode"),
    **_invalid("recovery_code/invalid", "Account access attempted", _RECOVERY_UNKNOWN),
    **_link("recovery/valid", "Recover access to your account",
            "Recover access to your account by clicking the following link:", "RecoveryURL"),
    **_invalid("recovery/invalid", "Account access attempted", _RECOVERY_UNKNOWN),
    **_code("login_code/valid", "Use code {{ LoginCode }} to log in",
            "Login to your account with the following code:", "LoginCode"),
    **_code("registration_code/valid", "Use code {{ RegistrationCode }} to complete your account registration",
            "Complete your account registration with the following code:", "RegistrationCode"),
}
