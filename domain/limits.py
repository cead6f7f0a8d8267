"""Size limits of the chat rules, in one place so the API docs and the UI can quote them."""

from typing import Final

MAX_TEXT_CHARS: Final = 4000
MAX_NAME_CHARS: Final = 100
MAX_ID_CHARS: Final = 128
MAX_ATTACHMENTS: Final = 10
MAX_ROOM_MEMBERS: Final = 1000
MAX_INITIAL_MEMBERS: Final = 100
PREVIEW_CHARS: Final = 140
