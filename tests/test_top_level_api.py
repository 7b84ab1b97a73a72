"""A learner imports what a notebook needs from one place, without paying for the widget stack."""

from __future__ import annotations

import subprocess
import sys


def test_the_panel_comes_from_the_top_level_lazily():
    code = (
        "import sys, voicenb\n"
        "assert 'ipywidgets' not in sys.modules, 'import voicenb pulled in the widgets'\n"
        "from voicenb import ControlPanel, SummaryPolicy, VoiceSession, live_session_config\n"
        "from voicenb.widgets import ControlPanel as Panel\n"
        "assert ControlPanel is Panel and 'ipywidgets' in sys.modules\n"
        "assert set(voicenb.__all__) <= set(dir(voicenb)) | {'ControlPanel'}\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    import voicenb

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        voicenb.Nope  # noqa: B018
