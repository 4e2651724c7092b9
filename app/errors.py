"""The page never shows a traceback: every user-facing step runs inside :func:`step`."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from tensorframes_core.data.cloud import InputError

log = logging.getLogger("tensorframes_explorer")


@dataclass
class Outcome:
    """Whether the guarded step finished; ``message`` is what the user was shown otherwise."""

    ok: bool = True
    message: str = ""


@contextmanager
def step(what: str, hint: str = "Change a setting or press “Reset” in the sidebar.") -> Iterator[Outcome]:
    """Run a block; on any exception show ``st.error`` in plain words (details go to the server log).

    Streamlit's own control flow (``st.rerun``, ``st.stop``) derives from BaseException and passes through.
    """
    outcome = Outcome()
    try:
        yield outcome
    except InputError as exc:
        outcome.ok, outcome.message = False, str(exc)
        st.error(f"**Could not use this input.** {exc}  \nTry another file, or pick a shape from the gallery.",
                 icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 - the page must stay usable whatever fails
        log.exception("failed while %s", what)
        outcome.ok, outcome.message = False, f"{type(exc).__name__}: {exc}"
        st.error(f"**Something went wrong while {what}.** {type(exc).__name__}: {str(exc)[:300]}  \n{hint}",
                 icon=":material/error:")
