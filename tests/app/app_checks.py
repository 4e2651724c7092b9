"""What every AppTest run of the explorer must show, and small element finders."""
from __future__ import annotations


def ok(at, errors: bool = False) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert any("id='tfe-ready'" in m.value for m in at.markdown), "the sentinel is missing"
    if not errors:
        assert not at.error, [e.value for e in at.error]


def button(at, label: str):
    return next(b for b in at.button if label in b.label)


def headline(at) -> str:
    return at.metric[0].value


def verdict(at) -> str:
    return next(m.value for m in at.markdown if "data-tfe='verdict'" in m.value)


def views(at) -> list[dict]:
    """The 3D views on the page (``app.plot_view`` components), each as its plotly figure dict."""
    import json

    return [json.loads(json.loads(e.proto.json)) for e in at.get("bidi_component")
            if e.proto.component_name == "tfe_plot_view" and e.proto.json]  # not the empty preload element
