"""How identity numbers look by default. Dependency-free, so models can use it too."""


def mask_number(value: str | None) -> str | None:
    """NIK/KK as shown by default: the first 6 and last 4 digits (UU PDP practice)."""
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"
