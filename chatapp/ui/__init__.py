"""The Textual UI: it renders and dispatches; the logic lives in chatapp.core."""

import os

# Textual draws a changed screen at its next frame tick: at its default 60 a second a
# typed key waits up to 17 ms for one, on top of any drawing under way; at 240, 4 ms.
# Frames are only drawn when something changed, so idle costs nothing more. Textual reads
# this when textual.constants is first imported: set here, before any UI module imports it.
os.environ.setdefault("TEXTUAL_FPS", "240")
